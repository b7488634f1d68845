"""Settings from `IMM_*` variables (imm_engine/settings.py), read from a plain dict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imm_engine.settings import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    Settings,
    SettingsError,
)

HOOK = {"type": "webhook", "url": "https://example.com/imm"}


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert (s.api_host, s.api_port) == ("127.0.0.1", 8080)
    assert (s.redis_url, s.broker_url, s.effective_broker_url) == ("", "", "")
    assert s.key_prefix == "imm"
    assert s.data_dir == Path("var")
    assert s.storage_root == Path("var/storage")
    assert s.plain_access_keys() == {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET}
    assert s.access_keys_default is True
    assert (s.region, s.account_id) == ("local", "0")
    assert s.signature_max_skew_s == 900
    assert s.task_ttl_s == 7 * 24 * 3600
    assert s.max_request_bytes == 1024 * 1024
    assert s.convert_timeout_s == 300.0
    assert s.task_time_limit_s == 600
    assert s.visibility_timeout_s == 900
    assert dict(s.notify_routes.by_key) == {}
    assert s.notify_unknown_topic == "reject"
    assert s.notify_max_attempts == 12
    assert s.log_level == "info"


def test_other_environment_variables_are_ignored() -> None:
    assert Settings.from_env({"PATH": "/bin", "imm_api_port": "x", "HOME": "/root"}) == Settings()


VALUES = [
    # (env, attribute, value)
    pytest.param({"IMM_API_PORT": "9000"}, "api_port", 9000, id="port"),
    pytest.param({"IMM_API_PORT": " 9000 "}, "api_port", 9000, id="port-padded"),
    pytest.param({"IMM_API_PORT": ""}, "api_port", 8080, id="empty-is-default"),
    pytest.param({"IMM_API_PORT": "   "}, "api_port", 8080, id="blank-is-default"),
    pytest.param({"IMM_DATA_DIR": "/data"}, "storage_root", Path("/data/storage"),
                 id="storage-under-data-dir"),
    pytest.param({"IMM_DATA_DIR": "/data", "IMM_STORAGE_ROOT": "/oss"}, "storage_root",
                 Path("/oss"), id="storage-root-explicit"),
    pytest.param({"IMM_REDIS_URL": "redis://r:6379/0"}, "effective_broker_url",
                 "redis://r:6379/0", id="broker-defaults-to-redis"),
    pytest.param({"IMM_REDIS_URL": "redis://r/0", "IMM_BROKER_URL": "redis://b/1"},
                 "effective_broker_url", "redis://b/1", id="broker-explicit"),
    pytest.param({"IMM_KEY_PREFIX": "imm-prod_2"}, "key_prefix", "imm-prod_2", id="key-prefix"),
    pytest.param({"IMM_LOG_LEVEL": "DEBUG"}, "log_level", "debug", id="choice-lower-cased"),
    pytest.param({"IMM_NOTIFY_UNKNOWN_TOPIC": "ignore"}, "notify_unknown_topic", "ignore",
                 id="unknown-topic-ignore"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "30.5"}, "convert_timeout_s", 30.5, id="float"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "30"}, "task_time_limit_s", 330, id="time-limit"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "30"}, "visibility_timeout_s", 630,
                 id="visibility-above-time-limit"),
    pytest.param({"IMM_WORKER_CONCURRENCY": "3"}, "concurrency", 3, id="concurrency"),
    pytest.param({"IMM_NOTIFY_MAX_BACKOFF": "0.01"}, "notify_max_backoff_s", 0.01,
                 id="number-at-lo"),
    pytest.param({"IMM_API_PORT": "65535"}, "api_port", 65535, id="int-at-hi"),
    pytest.param({}, "sandbox", "bwrap", id="sandbox-default"),
    pytest.param({"IMM_SANDBOX": "OFF"}, "sandbox", "off", id="sandbox-off"),
    pytest.param({}, "max_process_memory_mib", 2048, id="memory-default"),
    pytest.param({"IMM_MAX_PROCESS_MEMORY": "0"}, "max_process_memory_mib", 0,
                 id="memory-unbounded"),
    pytest.param({}, "max_xml_ratio", 100, id="xml-ratio-default"),
    pytest.param({"IMM_MAX_XML_RATIO": "0"}, "max_xml_ratio", 0, id="xml-ratio-off"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "attr", "value"), VALUES)
def test_values(env: dict[str, str], attr: str, value: Any) -> None:
    assert getattr(Settings.from_env(env), attr) == value


REFUSED = [
    # (env, the message must contain)
    pytest.param({"IMM_API_PORT": "abc"}, "IMM_API_PORT='abc' is not an integer", id="bad-int"),
    pytest.param({"IMM_API_PORT": "80.5"}, "IMM_API_PORT='80.5' is not an integer",
                 id="float-for-int"),
    pytest.param({"IMM_API_PORT": "70000"}, "IMM_API_PORT=70000 is outside 0..65535",
                 id="int-too-big"),
    pytest.param({"IMM_TASK_TTL": "59"}, "IMM_TASK_TTL=59 is outside", id="int-too-small"),
    pytest.param({"IMM_WORKER_CONCURRENCY": "-1"}, "IMM_WORKER_CONCURRENCY=-1 is outside",
                 id="negative"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "fast"}, "IMM_CONVERT_TIMEOUT='fast' is not a number",
                 id="bad-number"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "0"}, "IMM_CONVERT_TIMEOUT=0.0 is outside",
                 id="number-too-small"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "nan"}, "IMM_CONVERT_TIMEOUT=nan is outside", id="nan"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "inf"}, "IMM_CONVERT_TIMEOUT=inf is outside", id="inf"),
    pytest.param({"IMM_LOG_LEVEL": "verbose"}, "IMM_LOG_LEVEL='verbose': choose one of",
                 id="bad-choice"),
    pytest.param({"IMM_NOTIFY_UNKNOWN_TOPIC": "drop"}, "IMM_NOTIFY_UNKNOWN_TOPIC='drop'",
                 id="bad-unknown-topic"),
    pytest.param({"IMM_KEY_PREFIX": "imm:prod"}, "IMM_KEY_PREFIX='imm:prod': use letters",
                 id="key-prefix-colon"),
    pytest.param({"IMM_KEY_PREFIX": "-"}, "IMM_KEY_PREFIX='-'", id="key-prefix-only-hyphen"),
    pytest.param({"IMM_ACCESS_KEY_ID": "ak"},
                 "set both IMM_ACCESS_KEY_ID and IMM_ACCESS_KEY_SECRET", id="id-without-secret"),
    pytest.param({"IMM_ACCESS_KEY_SECRET": "s"}, "set both IMM_ACCESS_KEY_ID",
                 id="secret-without-id"),
    pytest.param({"IMM_ACCESS_KEY_ID": "ak", "IMM_ACCESS_KEY_SECRET": " "}, "set both",
                 id="blank-secret"),
    pytest.param({"IMM_ACCESS_KEYS": "a:b,c"}, "IMM_ACCESS_KEYS must look like",
                 id="keys-no-colon"),
    pytest.param({"IMM_ACCESS_KEYS": "a:b,"}, "IMM_ACCESS_KEYS must look like",
                 id="keys-trailing-comma"),
    pytest.param({"IMM_ACCESS_KEYS": ":b"}, "IMM_ACCESS_KEYS must look like", id="keys-no-id"),
    pytest.param({"IMM_ACCESS_KEYS": "a:"}, "IMM_ACCESS_KEYS must look like", id="keys-no-secret"),
    pytest.param({"IMM_ACCESS_KEYS": "a:b,c:d"}, "the AccessKey(s) a, c have no grant",
                 id="several-keys-without-grants"),
    pytest.param({"IMM_ACCESS_KEYS": "a:b,c:d",
                  "IMM_STORAGE_CONFIG": '{"keys": {"a": {"projects": ["*"]}}}'},
                 "the AccessKey(s) c have no grant", id="one-of-several-keys-without-grant"),
    pytest.param({"IMM_ACCESS_KEYS": "a:b",
                  "IMM_STORAGE_CONFIG": '{"keys": {"b": {"projects": ["*"]}}}'},
                 '"keys" grants the AccessKey(s) b, which', id="grant-for-an-unknown-key"),
    pytest.param({"IMM_STORAGE_CONFIG": '{"keys": {"imm-local": {"projects": "bad name"}}}'},
                 "IMM_STORAGE_CONFIG: keys: imm-local: 'projects' entry 'bad name'",
                 id="bad-project-pattern"),
    pytest.param({"IMM_NOTIFY_TOPICS": "{not json"}, "IMM_NOTIFY_TOPICS is not valid JSON",
                 id="topics-bad-json"),
    pytest.param({"IMM_NOTIFY_TOPICS": "[]"}, "IMM_NOTIFY_TOPICS must be a JSON object",
                 id="topics-array"),
    pytest.param({"IMM_NOTIFY_TOPICS": json.dumps({"t": {"url": "ftp://x/"}})},
                 "notification topics: t: url 'ftp://x/' must be an http:// or https:// URL",
                 id="topics-bad-url"),
    pytest.param({"IMM_NOTIFY_TOPICS": json.dumps({"t": {"url": "not a url"}})},
                 "notification topics: t: url", id="topics-not-a-url"),
    pytest.param({"IMM_NOTIFY_TOPICS": json.dumps({"t": {**HOOK, "type": "sqs"}})},
                 "notification topics: t: type 'sqs'", id="topics-bad-type"),
    pytest.param({"IMM_NOTIFY_CONFIG": "/nonexistent/imm-topics.json"},
                 "IMM_NOTIFY_CONFIG='/nonexistent/imm-topics.json'", id="config-file-missing"),
    pytest.param({"IMM_SANDBOX": "firejail"}, "IMM_SANDBOX='firejail': choose one of bwrap, off",
                 id="sandbox-unknown"),
    pytest.param({"IMM_MAX_PROCESS_MEMORY": "-1"}, "IMM_MAX_PROCESS_MEMORY", id="memory-negative"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "fragment"), REFUSED)
def test_refused(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert fragment in str(err.value)


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


ACCESS_KEYS = [
    # (env, keys)
    pytest.param({"IMM_ACCESS_KEY_ID": "ak", "IMM_ACCESS_KEY_SECRET": "sk"}, {"ak": "sk"},
                 id="one-pair"),
    pytest.param({"IMM_ACCESS_KEYS": "a:b,c:d"}, {"a": "b", "c": "d"}, id="list"),
    pytest.param({"IMM_ACCESS_KEYS": " a:b , c:d "}, {"a": "b", "c": "d"}, id="list-padded"),
    pytest.param({"IMM_ACCESS_KEYS": "a:b:c"}, {"a": "b:c"}, id="colon-in-secret"),
    pytest.param({"IMM_ACCESS_KEY_ID": "ak", "IMM_ACCESS_KEY_SECRET": "sk",
                  "IMM_ACCESS_KEYS": "a:b"}, {"ak": "sk", "a": "b"}, id="both-merged"),
]  # fmt: skip


#: Several keys need grants (docs/security.md); this one lets every key do everything.
GRANT_ALL_KEYS = json.dumps({"keys": {"*": {"projects": ["*"], "roles": ["*"]}}})


@pytest.mark.parametrize(("env", "keys"), ACCESS_KEYS)
def test_access_keys(env: dict[str, str], keys: dict[str, str]) -> None:
    s = Settings.from_env({**env, "IMM_STORAGE_CONFIG": GRANT_ALL_KEYS})
    assert s.plain_access_keys() == keys
    assert s.access_keys_default is False


def test_notify_topics_inline() -> None:
    topics = {"imm-topic": {**HOOK, "secret": "s3cret"}, "*": [HOOK, HOOK]}
    routes = Settings.from_env({"IMM_NOTIFY_TOPICS": json.dumps(topics)}).notify_routes
    assert set(routes.by_key) == {"imm-topic", "*"}
    assert routes.by_key["imm-topic"][0].secret.get_secret_value() == "s3cret"
    assert [d.name for d in routes.by_key["*"]] == ["*#1", "*#2"]


@pytest.mark.parametrize(
    ("document", "keys"),
    [
        pytest.param({"topics": {"a": HOOK}}, {"a"}, id="under-topics"),
        pytest.param({"a": HOOK}, {"a"}, id="bare-object"),
    ],
)
def test_notify_config_file(tmp_path: Path, document: dict[str, Any], keys: set[str]) -> None:
    path = tmp_path / "topics.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    routes = Settings.from_env({"IMM_NOTIFY_CONFIG": str(path)}).notify_routes
    assert set(routes.by_key) == keys


def test_inline_topics_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "topics.json"
    path.write_text(json.dumps({"a": HOOK, "b": HOOK}), encoding="utf-8")
    inline = {"b": {**HOOK, "url": "https://inline.example.com/"}}
    routes = Settings.from_env(
        {"IMM_NOTIFY_CONFIG": str(path), "IMM_NOTIFY_TOPICS": json.dumps(inline)}
    ).notify_routes
    assert routes.by_key["a"][0].url == HOOK["url"]
    assert routes.by_key["b"][0].url == "https://inline.example.com/"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        # (file content, fragment)
        pytest.param("{oops", "IMM_NOTIFY_CONFIG=", id="bad-json"),
        pytest.param("[1]", "expected a JSON object", id="array"),
        pytest.param('{"topics": 5}', "'topics' must be a JSON object", id="topics-number"),
        pytest.param('{"topics": null}', "'topics' must be a JSON object", id="topics-null"),
        pytest.param('{"topics": "abc"}', "'topics' must be a JSON object", id="topics-string"),
        pytest.param(
            '{"topics": [["a", {"url": "https://x/"}]]}',
            "'topics' must be a JSON object",
            id="topics-pairs",
        ),
        pytest.param(
            '{"topics": {"a": {"url": "ftp://x/"}}}',
            "notification topics: a: url",
            id="bad-destination",
        ),
    ],
)
def test_notify_config_file_refused(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "topics.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"IMM_NOTIFY_CONFIG": str(path)})
    assert fragment in str(err.value)


# --- soffice faults ---
@pytest.mark.parametrize(
    ("env", "after", "ttl"),
    [
        pytest.param({}, 2, 7 * 24 * 3600, id="defaults"),
        pytest.param({"IMM_QUARANTINE_AFTER": "0"}, 0, 7 * 24 * 3600, id="disabled"),
        pytest.param({"IMM_QUARANTINE_AFTER": "3", "IMM_QUARANTINE_TTL": "3600"}, 3, 3600,
                     id="set"),
    ],
)  # fmt: skip
def test_quarantine_settings(env: dict[str, str], after: int, ttl: int) -> None:
    settings = Settings.from_env(env)
    assert (settings.quarantine_after, settings.quarantine_ttl_s) == (after, ttl)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"IMM_QUARANTINE_AFTER": "-1"}, "IMM_QUARANTINE_AFTER=-1 is outside"),
        ({"IMM_QUARANTINE_TTL": "10"}, "IMM_QUARANTINE_TTL=10 is outside"),
        ({"IMM_QUARANTINE_AFTER": "two"}, "IMM_QUARANTINE_AFTER='two' is not an integer"),
    ],
)
def test_quarantine_settings_refused(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert fragment in str(err.value)


def test_settings_built_in_code_read_no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMM_API_PORT", "9999")
    assert Settings().api_port == 8080
    assert Settings(api_port=9000).api_port == 9000


def test_secrets_are_not_shown() -> None:
    env = {
        "IMM_ACCESS_KEY_ID": "ak",
        "IMM_ACCESS_KEY_SECRET": "key-secret",
        "IMM_REDIS_SENTINEL_PASSWORD": "sentinel-secret",
        "IMM_METRICS_TOKEN": "token-secret",
        "IMM_FLOWER_BASIC_AUTH": "ops:flower-secret",
        "IMM_NOTIFY_TOPICS": json.dumps({"t": {**HOOK, "secret": "hook-secret"}}),
    }
    shown = repr(Settings.from_env(env))
    for value in ("key-secret", "sentinel-secret", "token-secret", "flower-secret", "hook-secret"):
        assert value not in shown


def test_sections_read_their_secrets_from_the_same_variables() -> None:
    topics = {"t": {**HOOK, "secret_env": "HOOK_SECRET"}}
    env = {"IMM_NOTIFY_TOPICS": json.dumps(topics), "HOOK_SECRET": "from-env"}
    (dest,) = Settings.from_env(env).notify_routes.by_key["t"]
    assert dest.secret.get_secret_value() == "from-env"
    with pytest.raises(SettingsError, match="notification topics: t: 'secret_env' names"):
        Settings.from_env({"IMM_NOTIFY_TOPICS": json.dumps(topics)})


def test_errors_name_the_variable_when_built_in_code() -> None:
    with pytest.raises(SettingsError, match=r"IMM_API_PORT=70000 is outside 0\.\.65535"):
        Settings(api_port=70000)
