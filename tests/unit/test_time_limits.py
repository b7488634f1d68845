"""The run limits: visibility timeout > hard limit > soft limit > conversion timeout."""

from __future__ import annotations

import pytest

from imm_engine.broker import celery_config, restore_options
from imm_engine.settings import Settings, SettingsError

VALID = [
    # (env, (convert, soft, hard, visibility))
    pytest.param({}, (300, 570, 600, 900), id="defaults"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "30"}, (30, 300, 330, 630), id="derived-from-convert"),
    pytest.param({"IMM_TASK_TIME_LIMIT": "1000"}, (300, 970, 1000, 1300), id="hard-moves-all"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "10", "IMM_TASK_SOFT_TIME_LIMIT": "15",
                  "IMM_TASK_TIME_LIMIT": "20", "IMM_VISIBILITY_TIMEOUT": "30"},
                 (10, 15, 20, 30), id="all-short"),
    pytest.param({"IMM_VISIBILITY_TIMEOUT": "3600"}, (300, 570, 600, 3600), id="longer-visibility"),
    pytest.param({"IMM_TASK_SOFT_TIME_LIMIT": "301"}, (300, 301, 600, 900), id="soft-just-above"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "", "IMM_TASK_TIME_LIMIT": ""}, (300, 570, 600, 900),
                 id="empty-is-default"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "limits"), VALID)
def test_limits(env: dict[str, str], limits: tuple[int, int, int, int]) -> None:
    s = Settings.from_env(env)
    got = (s.convert_timeout_s, s.task_soft_time_limit_s, s.task_time_limit_s)
    assert (*got, s.visibility_timeout_s) == limits
    conf = celery_config(Settings.from_env({**env, "IMM_REDIS_URL": "redis://127.0.0.1/0"}))
    assert conf["task_soft_time_limit"] == limits[1]
    assert conf["task_time_limit"] == limits[2]
    assert conf["broker_transport_options"]["visibility_timeout"] == limits[3]


INVALID = [
    # (env, words the message must contain)
    pytest.param({"IMM_VISIBILITY_TIMEOUT": "600"},
                 ("IMM_VISIBILITY_TIMEOUT", "IMM_TASK_TIME_LIMIT"),
                 id="visibility-equal-hard"),
    pytest.param({"IMM_VISIBILITY_TIMEOUT": "100"}, ("IMM_VISIBILITY_TIMEOUT",),
                 id="visibility-below-hard"),
    pytest.param({"IMM_TASK_TIME_LIMIT": "320"},
                 ("IMM_TASK_SOFT_TIME_LIMIT", "IMM_CONVERT_TIMEOUT"),
                 id="derived-soft-below-convert"),
    pytest.param({"IMM_TASK_SOFT_TIME_LIMIT": "600"},
                 ("IMM_TASK_TIME_LIMIT", "IMM_TASK_SOFT_TIME_LIMIT"),
                 id="soft-equal-hard"),
    pytest.param({"IMM_TASK_SOFT_TIME_LIMIT": "300"}, ("IMM_TASK_SOFT_TIME_LIMIT",),
                 id="soft-equal-convert"),
    pytest.param({"IMM_CONVERT_TIMEOUT": "1000", "IMM_TASK_TIME_LIMIT": "900"},
                 ("IMM_CONVERT_TIMEOUT",), id="convert-above-hard"),
    pytest.param({"IMM_TASK_TIME_LIMIT": "ten"}, ("IMM_TASK_TIME_LIMIT", "integer"), id="not-int"),
    pytest.param({"IMM_VISIBILITY_TIMEOUT": "-5"}, ("IMM_VISIBILITY_TIMEOUT",), id="negative"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "words"), INVALID)
def test_refused(env: dict[str, str], words: tuple[str, ...]) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    for word in words:
        assert word in str(info.value)


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(SettingsError):
        Settings(convert_timeout_s=10, task_time_limit_override_s=5)


@pytest.mark.parametrize(
    ("visibility", "interval"), [(900, 10), (3600, 10), (30, 3), (5, 1), (99, 9)]
)
def test_restore_sweep(visibility: int, interval: int) -> None:
    assert restore_options(visibility) == {
        "unacked_restore_interval": interval,
        "unacked_restore_throttle": 1,
    }
