"""One typed settings object (pydantic-settings), built from `IMM_*` environment variables.

Nothing else reads the environment: entry points call `Settings.from_env(os.environ)`; code and
tests may also build `Settings(field=value, ...)`, which reads no variable at all. Every field
names its variable (validation alias) and parses it with imm_engine/config/fields.py; the JSON
sections are typed too: `storage` (IMM_STORAGE_CONFIG, imm_engine/storage/config.py) and
`notify_routes` (IMM_NOTIFY_TOPICS / IMM_NOTIFY_CONFIG, imm_engine/notify/routes.py), whose
`<option>_env` indirections are read from the same variables (imm_engine/config/env_refs.py).
Secrets are `SecretStr`: their value is read with `.get_secret_value()` where it is used.
Every variable is documented in README.md ("Configuration") with its default.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    BeforeValidator,
    Field,
    InstanceOf,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from imm_engine.config.fields import (
    Refused,
    SettingsError,
    choice,
    flag,
    ident,
    integer,
    number,
    on_off,
    redis_address,
    settings_error,
)
from imm_engine.config.source import Variables
from imm_engine.notify.routes import Routes, parse_routes
from imm_engine.state import connection
from imm_engine.storage.config import StorageConfig, parse_storage_config

__all__ = ["DEFAULT_ACCESS_KEY_ID", "DEFAULT_ACCESS_KEY_SECRET", "Settings", "SettingsError"]

DEFAULT_ACCESS_KEY_ID = "imm-local"
DEFAULT_ACCESS_KEY_SECRET = "imm-local-secret"
FLOWER_MIN_PASSWORD = 8
#: The variables `Settings.from_env` is reading, for its source and the sections' `*_env`.
_FROM_ENV: ContextVar[Mapping[str, str] | None] = ContextVar("imm_settings_env", default=None)
DAY = 86400


def _default_keys() -> dict[str, SecretStr]:
    return {DEFAULT_ACCESS_KEY_ID: SecretStr(DEFAULT_ACCESS_KEY_SECRET)}


def _var(default: Any, name: str) -> Any:
    """A field read from the variable `name` (its validation alias)."""
    return Field(default, validation_alias=name)


def _host_list(value: Any) -> Any:
    """`host[:port]` names (or URLs), comma- or space-separated; `*` alone means any."""
    if not isinstance(value, str):
        return value
    return tuple(h for h in value.replace(",", " ").split() if h)


def _flower_logins(value: Any) -> Any:
    """`user:password[,user:password]`, Flower's own format (a password holds no ',')."""
    if not isinstance(value, str):
        return value
    logins = tuple(p.strip() for p in value.split(","))
    for login in logins:
        user, sep, password = login.partition(":")
        if not sep or not user or not password:
            raise Refused(
                " must look like 'user:password' (several: 'user1:password1,user2:password2')"
            )
        if len(password) < FLOWER_MIN_PASSWORD:
            raise Refused(
                f": the password of {user!r} is shorter than {FLOWER_MIN_PASSWORD} characters"
            )
    return logins


_PROJECT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")


def _project_names(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        if not _PROJECT.match(name):
            raise Refused(
                f": {name!r} is not a project name (1-128 letters, digits, "
                "'-' and '_', starting with a letter or '_')"
            )
    return names


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,
        populate_by_name=True,
        validate_default=False,
        extra="forbid",
    )
    #: Variables that do not map to one field: `_combine` turns them into field values.
    COMBINED: ClassVar[tuple[str, ...]] = (
        "IMM_ACCESS_KEY_ID",
        "IMM_ACCESS_KEY_SECRET",
        "IMM_ACCESS_KEYS",
        "IMM_NOTIFY_CONFIG",
        "IMM_NOTIFY_TOPICS",
    )

    api_host: str = _var("127.0.0.1", "IMM_API_HOST")
    api_port: Annotated[int, integer(0, 65535)] = _var(8080, "IMM_API_PORT")
    #: Redis for task state (and the broker unless `broker_url` is set). Empty: none configured.
    redis_url: Annotated[str, redis_address()] = _var("", "IMM_REDIS_URL")
    broker_url: Annotated[str, redis_address()] = _var("", "IMM_BROKER_URL")
    #: Password of the Sentinels of a `redis+sentinel://` URL (the URL's own password is the
    #: data nodes'); imm_engine/state/connection.py.
    redis_sentinel_password: SecretStr = _var(SecretStr(""), "IMM_REDIS_SENTINEL_PASSWORD")
    #: Replicas that must hold a new task before Create*Task answers (WAIT); -1: 1 on
    #: Sentinel, 0 on a plain URL. docs/architecture.md, "Accepted means durable".
    redis_wait_replicas: Annotated[int, integer(-1, 16)] = _var(-1, "IMM_REDIS_WAIT_REPLICAS")
    redis_wait_timeout_ms: Annotated[int, integer(1, 60_000)] = _var(1000, "IMM_REDIS_WAIT_TIMEOUT")
    #: Prefix of every Redis key and queue name, so several deployments can share one Redis.
    key_prefix: Annotated[str, ident()] = _var("imm", "IMM_KEY_PREFIX")
    data_dir: Path = _var(Path("var"), "IMM_DATA_DIR")
    #: Default: `storage` under `data_dir` (when read from the variables).
    storage_root: Path = _var(Path("var/storage"), "IMM_STORAGE_ROOT")
    #: AccessKey id -> secret (IMM_ACCESS_KEY_ID/IMM_ACCESS_KEY_SECRET and IMM_ACCESS_KEYS).
    access_keys: Mapping[str, SecretStr] = Field(default_factory=_default_keys)
    access_keys_default: bool = True
    region: str = _var("local", "IMM_REGION")
    account_id: str = _var("0", "IMM_ACCOUNT_ID")
    signature_max_skew_s: Annotated[int, integer(1, DAY)] = _var(900, "IMM_SIGNATURE_MAX_SKEW")
    task_ttl_s: Annotated[int, integer(60, 10 * 365 * DAY)] = _var(7 * DAY, "IMM_TASK_TTL")
    max_source_bytes: Annotated[int, integer(1, 1 << 40)] = _var(
        200 * 1024 * 1024, "IMM_MAX_SOURCE_BYTES"
    )
    max_request_bytes: Annotated[int, integer(1024, 1 << 30)] = _var(
        1024 * 1024, "IMM_MAX_REQUEST_BYTES"
    )
    #: 0: one per CPU.
    worker_concurrency: Annotated[int, integer(0, 256)] = _var(0, "IMM_WORKER_CONCURRENCY")
    soffice_path: str = _var("", "IMM_SOFFICE_PATH")
    soffice_restart_after: Annotated[int, integer(0, 1_000_000)] = _var(
        200, "IMM_SOFFICE_RESTART_AFTER"
    )
    soffice_start_timeout_s: Annotated[float, number(1, 3600)] = _var(
        60.0, "IMM_SOFFICE_START_TIMEOUT"
    )
    convert_timeout_s: Annotated[float, number(1, DAY)] = _var(300.0, "IMM_CONVERT_TIMEOUT")
    # --- notifications ---
    #: Where each MNS / RocketMQ topic name is delivered (see imm_engine/notify/routes.py);
    #: from IMM_NOTIFY_CONFIG and IMM_NOTIFY_TOPICS.
    notify_routes: InstanceOf[Routes] = Field(default_factory=Routes)
    notify_unknown_topic: Annotated[str, choice("reject", "ignore")] = _var(
        "reject", "IMM_NOTIFY_UNKNOWN_TOPIC"
    )
    notify_max_attempts: Annotated[int, integer(1, 1000)] = _var(12, "IMM_NOTIFY_MAX_ATTEMPTS")
    notify_max_backoff_s: Annotated[float, number(0.01, DAY)] = _var(
        300.0, "IMM_NOTIFY_MAX_BACKOFF"
    )
    log_level: Annotated[str, choice("debug", "info", "warning", "error")] = _var(
        "info", "IMM_LOG_LEVEL"
    )
    # --- projects ---
    #: Projects the API creates at start when they do not exist.
    default_projects: Annotated[tuple[str, ...], BeforeValidator(_project_names)] = _var(
        (), "IMM_DEFAULT_PROJECTS"
    )
    # --- task types (archives, images, media) ---
    #: Most entries an archive may hold (FileUncompression, ArchiveFileInspection).
    archive_max_entries: Annotated[int, integer(1, 10_000_000)] = _var(
        80_000, "IMM_ARCHIVE_MAX_ENTRIES"
    )
    #: Most bytes an archive may expand to, in total (FileUncompression).
    archive_max_bytes: Annotated[int, integer(1, 1 << 50)] = _var(
        10 * 1024**3, "IMM_ARCHIVE_MAX_BYTES"
    )
    #: Largest uncompressed/compressed ratio past 1 MiB (zip bombs).
    archive_max_ratio: Annotated[int, integer(2, 1_000_000)] = _var(500, "IMM_ARCHIVE_MAX_RATIO")
    #: Most files and bytes FileCompression packs into one zip.
    compress_max_files: Annotated[int, integer(1, 10_000_000)] = _var(
        80_000, "IMM_COMPRESS_MAX_FILES"
    )
    compress_max_bytes: Annotated[int, integer(1, 1 << 50)] = _var(
        10 * 1024**3, "IMM_COMPRESS_MAX_BYTES"
    )
    #: Seconds all the ffmpeg runs of one MediaConvert task may take together.
    media_timeout_s: Annotated[float, number(1, DAY)] = _var(240.0, "IMM_MEDIA_TIMEOUT")
    # --- soffice faults ---
    #: LibreOffice crashes/hangs on one document before it is quarantined (0: never).
    quarantine_after: Annotated[int, integer(0, 100)] = _var(2, "IMM_QUARANTINE_AFTER")
    quarantine_ttl_s: Annotated[int, integer(60, 365 * DAY)] = _var(7 * DAY, "IMM_QUARANTINE_TTL")
    # --- split page rendering (workers/split/, docs/architecture.md) ---
    #: Documents with at least this many selected pages are rendered by range sub-tasks on
    #: every worker (0: never split).
    split_min_pages: Annotated[int, integer(0, 1_000_000)] = _var(40, "IMM_SPLIT_MIN_PAGES")
    #: Pages per range sub-task.
    split_range_pages: Annotated[int, integer(1, 100_000)] = _var(20, "IMM_SPLIT_RANGE_PAGES")
    #: Bucket of the temporary PDF the ranges share (empty: the task's target bucket), kept
    #: under the reserved prefix `.imm-engine/split/`.
    split_bucket: str = _var("", "IMM_SPLIT_BUCKET")
    #: Lifetime of that PDF when nothing touches it (an orphan after crashes), in seconds.
    split_scratch_ttl_s: Annotated[int, integer(60, 30 * DAY)] = _var(
        6 * 3600, "IMM_SPLIT_SCRATCH_TTL"
    )
    #: GetTask shows `WrittenPages` of running OfficeConversion tasks (imm-engine extension).
    early_pages: Annotated[bool, flag()] = _var(False, "IMM_EARLY_PAGES")
    # --- sandbox and memory bounds (docs/security.md) ---
    #: How LibreOffice runs: "bwrap" (a bubblewrap sandbox) or "off" (unsafe, trusted input only).
    sandbox: Annotated[str, choice("bwrap", "off")] = _var("bwrap", "IMM_SANDBOX")
    #: Memory (RLIMIT_DATA, MiB) each LibreOffice, ffmpeg and pool process may use; 0: unbounded.
    max_process_memory_mib: Annotated[int, integer(0, 1 << 24)] = _var(
        2048, "IMM_MAX_PROCESS_MEMORY"
    )
    #: The XML parts of an OOXML/ODF package may expand to this many times the file's size
    #: (at least MIN_XML_BYTES in workers/soffice/sniff.py); 0: no check.
    max_xml_ratio: Annotated[int, integer(0, 1_000_000)] = _var(100, "IMM_MAX_XML_RATIO")
    # --- storage ---
    #: Backends, bucket routing and roles (imm_engine/storage/config.py).
    storage: InstanceOf[StorageConfig] = Field(
        default_factory=StorageConfig, validation_alias="IMM_STORAGE_CONFIG"
    )
    # --- fault tolerance (faults-worker) ---
    #: Overrides of the derived run limits (0: derived from `convert_timeout_s`).
    task_time_limit_override_s: Annotated[int, integer(0, 30 * DAY)] = _var(
        0, "IMM_TASK_TIME_LIMIT"
    )
    task_soft_time_limit_override_s: Annotated[int, integer(0, 30 * DAY)] = _var(
        0, "IMM_TASK_SOFT_TIME_LIMIT"
    )
    visibility_timeout_override_s: Annotated[int, integer(0, 30 * DAY)] = _var(
        0, "IMM_VISIBILITY_TIMEOUT"
    )
    # --- metrics (docs/metrics.md) ---
    #: Bearer token required by GET /metrics (API and worker endpoint); empty: no token.
    metrics_token: SecretStr = _var(SecretStr(""), "IMM_METRICS_TOKEN")
    #: Address and port of the worker group's metrics endpoint (port 0: none).
    metrics_host: str = _var("127.0.0.1", "IMM_METRICS_HOST")
    worker_metrics_port: Annotated[int, integer(0, 65535)] = _var(9464, "IMM_WORKER_METRICS_PORT")
    #: Where the worker group's processes write their metrics (one directory per group);
    #: default: `metrics` under `data_dir` (when read from the variables).
    metrics_dir: Path = _var(Path("var/metrics"), "IMM_METRICS_DIR")
    # --- the built-in MNS (docs/mns.md) ---
    #: Serve the MNS API (/queues, /topics) on the API port too (IMM_MNS=on|off).
    mns_enabled: Annotated[bool, on_off()] = _var(True, "IMM_MNS")
    #: Port of `imm-engine mns` (the MNS API alone), on IMM_API_HOST.
    mns_port: Annotated[int, integer(0, 65535)] = _var(8081, "IMM_MNS_PORT")
    # --- monitoring ---
    #: Flower's logins, `user:password` each; none: Flower refuses to start.
    flower_basic_auth: Annotated[tuple[SecretStr, ...], BeforeValidator(_flower_logins)] = _var(
        (), "IMM_FLOWER_BASIC_AUTH"
    )
    # --- IMM 2017-09-06 (docs/legacy-2017.md) ---
    #: `host[:port]` names that a 2017 NotifyEndpoint may use for this server's MNS service,
    #: besides the host the request was sent to; `*` accepts every endpoint.
    legacy_mns_endpoints: Annotated[tuple[str, ...], BeforeValidator(_host_list)] = _var(
        (), "IMM_LEGACY_MNS_ENDPOINTS"
    )
    #: Longest wait of the synchronous ConvertOfficeFormat (the old Python SDK gives up at 10 s).
    legacy_convert_wait_s: Annotated[float, number(0.5, 300)] = _var(8.0, "IMM_LEGACY_CONVERT_WAIT")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Built in code, settings take only the values given; in `from_env`, the variables."""
        env = _FROM_ENV.get()
        if env is None:
            return (init_settings,)
        return (init_settings, Variables(settings_cls, env, cls.COMBINED))

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise settings_error(exc, type(self)) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings the `IMM_*` variables of `env` give (the others are ignored)."""
        token = _FROM_ENV.set(env)
        try:
            return cls()
        finally:
            _FROM_ENV.reset(token)

    @model_validator(mode="before")
    @classmethod
    def _combine(cls, data: Any) -> Any:
        """Variables that make one field together, and directories that default under
        IMM_DATA_DIR. Values given in code by field name pass through."""
        if not isinstance(data, dict):
            return data
        values = dict(data)
        keys = _access_keys(
            values.pop("IMM_ACCESS_KEY_ID", None),
            values.pop("IMM_ACCESS_KEY_SECRET", None),
            values.pop("IMM_ACCESS_KEYS", None),
        )
        if keys:
            values["access_keys"], values["access_keys_default"] = keys, False
        topics = _notify_topics(values.pop("IMM_NOTIFY_CONFIG", None))
        topics.update(_inline_topics(values.pop("IMM_NOTIFY_TOPICS", None)))
        if topics:
            values["notify_routes"] = topics
        data_dir = values.get("IMM_DATA_DIR")
        if data_dir is not None:
            values.setdefault("IMM_STORAGE_ROOT", str(Path(data_dir) / "storage"))
            values.setdefault("IMM_METRICS_DIR", str(Path(data_dir) / "metrics"))
        return values

    @field_validator("notify_routes", mode="before")
    @classmethod
    def _routes(cls, value: Any) -> Any:
        """Parsed now, so that a bad destination stops the service at start, not at delivery."""
        if isinstance(value, Routes):
            return value
        try:
            return parse_routes(value, _env_of())
        except ValueError as exc:
            raise SettingsError(f"notification topics: {exc}") from None

    @field_validator("storage", mode="before")
    @classmethod
    def _storage(cls, value: Any) -> Any:
        """IMM_STORAGE_CONFIG: inline JSON (starting with `{`) or the path of a JSON file."""
        if not isinstance(value, str):
            return value
        inline = value.startswith("{")
        try:
            document = json.loads(value if inline else Path(value).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise Refused(f" {'(inline JSON)' if inline else repr(value)}: {exc}") from None
        try:
            return parse_storage_config(document, _env_of())
        except ValueError as exc:
            raise Refused(f": {exc}") from None

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        check_time_limits(self)
        check_key_grants(self)
        return self

    def plain_access_keys(self) -> dict[str, str]:
        """AccessKey id -> secret in clear, for the code that checks signatures with them."""
        return {key_id: secret.get_secret_value() for key_id, secret in self.access_keys.items()}

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def durable_replicas(self) -> int:
        """Replicas a new task must reach before Create*Task answers with its TaskId."""
        if self.redis_wait_replicas >= 0:
            return self.redis_wait_replicas
        return 1 if connection.is_sentinel_url(self.redis_url) else 0

    @property
    def concurrency(self) -> int:
        return self.worker_concurrency or os.cpu_count() or 1

    @property
    def task_time_limit_s(self) -> int:
        """Hard limit of one task run: the conversion timeout plus room to fetch and store."""
        return self.task_time_limit_override_s or int(self.convert_timeout_s) + 300

    @property
    def task_soft_time_limit_s(self) -> int:
        """Soft limit: the run is told to stop (and fails) 30 s before the hard limit."""
        return self.task_soft_time_limit_override_s or self.task_time_limit_s - 30

    @property
    def visibility_timeout_s(self) -> int:
        """How long the broker waits before re-delivering an unacknowledged task.

        Above the hard time limit, so a task still running is never delivered twice.
        """
        return self.visibility_timeout_override_s or self.task_time_limit_s + 300


def _env_of() -> Mapping[str, str]:
    """The variables `<option>_env` indirections read: those given to `from_env`, else none."""
    return _FROM_ENV.get() or {}


def check_time_limits(s: Settings) -> None:
    """visibility timeout > hard limit > soft limit > conversion timeout, or SettingsError.

    A message is re-delivered when it has been unacknowledged for the visibility timeout; a run
    is killed at the hard limit. With this order a run still going is never handed to a second
    worker, and LibreOffice's own watchdog and the soft limit act before the kill."""
    order = [
        ("IMM_VISIBILITY_TIMEOUT", float(s.visibility_timeout_s)),
        ("IMM_TASK_TIME_LIMIT", float(s.task_time_limit_s)),
        ("IMM_TASK_SOFT_TIME_LIMIT", float(s.task_soft_time_limit_s)),
        ("IMM_CONVERT_TIMEOUT", s.convert_timeout_s),
    ]
    for (upper, above), (lower, below) in itertools.pairwise(order):
        if not above > below:
            raise SettingsError(
                f"{upper} ({above:g} s) must be greater than {lower} ({below:g} s): "
                "visibility timeout > task time limit > soft time limit > conversion timeout"
            )


def check_key_grants(s: Settings) -> None:
    """Every AccessKey has a grant (IMM_STORAGE_CONFIG "keys"), or SettingsError naming it.

    A single key without a "keys" section may do everything; see docs/security.md."""
    problem = s.storage.key_grants.problem(list(s.access_keys))
    if problem:
        raise SettingsError(f"IMM_STORAGE_CONFIG: {problem}")


def _access_keys(
    ak: str | None, secret: str | None, extra: str | None
) -> dict[str, SecretStr] | None:
    """IMM_ACCESS_KEY_ID + IMM_ACCESS_KEY_SECRET and IMM_ACCESS_KEYS; None: none given."""
    keys: dict[str, SecretStr] = {}
    if (ak is None) != (secret is None):
        raise SettingsError("set both IMM_ACCESS_KEY_ID and IMM_ACCESS_KEY_SECRET, or neither")
    if ak and secret:
        keys[ak] = SecretStr(secret)
    for pair in extra.split(",") if extra else ():
        key_id, sep, key_secret = pair.strip().partition(":")
        if not sep or not key_id or not key_secret:
            raise SettingsError("IMM_ACCESS_KEYS must look like 'id1:secret1,id2:secret2'")
        keys[key_id] = SecretStr(key_secret)
    return keys or None


def _notify_topics(path: str | None) -> dict[str, Any]:
    """The routes of the file IMM_NOTIFY_CONFIG names: its `topics` object, or all of it."""
    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"IMM_NOTIFY_CONFIG={path!r}: {exc}") from None
    if not isinstance(document, dict):
        raise SettingsError(f"IMM_NOTIFY_CONFIG={path!r}: expected a JSON object")
    section = document.get("topics", document)
    if not isinstance(section, dict):
        raise SettingsError(f"IMM_NOTIFY_CONFIG={path!r}: 'topics' must be a JSON object")
    return dict(section)


def _inline_topics(text: str | None) -> dict[str, Any]:
    """IMM_NOTIFY_TOPICS: routes given inline; they override the file's."""
    if not text:
        return {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"IMM_NOTIFY_TOPICS is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise SettingsError("IMM_NOTIFY_TOPICS must be a JSON object of topic -> destination")
    return document
