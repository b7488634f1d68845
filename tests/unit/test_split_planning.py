"""When a conversion is split and into which ranges (workers/split/planning.py), the
settings that steer it, and the page list GetTask's WrittenPages shows."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.settings import Settings, SettingsError
from imm_engine.state.split import PageOut, page_ranges
from imm_engine.tasktypes.office_conversion import OfficeJob
from workers.split import planning
from workers.split.ranges import message_id, parent_of

SETTINGS = Settings(split_min_pages=60, split_range_pages=20)


def job(target: str = "png", **extra: Any) -> OfficeJob:
    return OfficeJob(source="oss://b/a.docx", source_type="docx", target_type=target, **extra)


@pytest.mark.parametrize("target", ["png", "jpg", "txt"])
def test_large_page_wise_targets_split(target: str) -> None:
    assert planning.applies(SETTINGS, job(target), 60, single=False)
    assert not planning.applies(SETTINGS, job(target), 59, single=False)


@pytest.mark.parametrize(
    ("the_job", "single"),
    [
        (job("pdf"), True),  # one object
        (job("txt", long_text=True), True),  # one object
        (job("png", long_picture=True), False),  # one image of all pages
        (job("jpg", first_page=True), False),  # one page
    ],
)
def test_single_object_targets_never_split(the_job: OfficeJob, single: bool) -> None:
    assert not planning.applies(SETTINGS, the_job, 10_000, single=single)


def test_off_and_one_range() -> None:
    assert not planning.applies(Settings(split_min_pages=0), job(), 10_000, single=False)
    one_range = Settings(split_min_pages=2, split_range_pages=20)
    assert not planning.applies(one_range, job(), 20, single=False)
    assert planning.applies(one_range, job(), 21, single=False)


def test_chunks_cover_every_page_in_order() -> None:
    outs = [PageOut(n, n - 1, f"oss://b/{n}.png") for n in range(1, 46)]
    ranges = planning.chunk(outs, 20)
    assert [len(r) for r in ranges] == [20, 20, 5]
    assert [o for r in ranges for o in r] == outs


def test_settings_from_env() -> None:
    s = Settings.from_env(
        {
            "IMM_SPLIT_MIN_PAGES": "10",
            "IMM_SPLIT_RANGE_PAGES": "8",
            "IMM_SPLIT_BUCKET": "scratch",
            "IMM_SPLIT_SCRATCH_TTL": "600",
            "IMM_EARLY_PAGES": "true",
        }
    )
    assert (s.split_min_pages, s.split_range_pages, s.split_bucket) == (10, 8, "scratch")
    assert (s.split_scratch_ttl_s, s.early_pages) == (600, True)
    defaults = Settings.from_env({})
    assert (defaults.split_min_pages, defaults.early_pages) == (40, False)
    with pytest.raises(SettingsError, match="IMM_EARLY_PAGES"):
        Settings.from_env({"IMM_EARLY_PAGES": "maybe"})
    with pytest.raises(SettingsError, match="IMM_SPLIT_RANGE_PAGES"):
        Settings.from_env({"IMM_SPLIT_RANGE_PAGES": "0"})


def test_page_ranges() -> None:
    assert page_ranges([]) == ""
    assert page_ranges([4]) == "4"
    assert page_ranges([1, 2, 3, 5, 7, 8]) == "1-3,5,7-8"


def test_range_message_ids_name_their_task() -> None:
    task_id = "OfficeConversion-0b1e-4c.x_y"
    assert parent_of(message_id(task_id, 7)) == task_id
    assert parent_of(task_id) is None
