"""Whether a conversion is split, and into which ranges (pure)."""

from __future__ import annotations

from imm_engine.settings import Settings
from imm_engine.state.split import PageOut
from imm_engine.tasktypes.office.formats import IMAGE_TARGETS
from imm_engine.tasktypes.office_conversion import OfficeJob

#: Page-wise targets whose pages can be written independently of each other.
SPLIT_TARGETS = frozenset(IMAGE_TARGETS) | {"txt"}


def applies(settings: Settings, job: OfficeJob, pages: int, single: bool) -> bool:
    """Split when the task writes one object per page (png, jpg, txt; not LongPicture, not
    LongText, not FirstPage) and has at least IMM_SPLIT_MIN_PAGES pages, more than one range."""
    if not settings.split_min_pages or pages < settings.split_min_pages:
        return False
    if pages <= settings.split_range_pages:  # one range: nothing to share
        return False
    if single or job.target_type not in SPLIT_TARGETS:
        return False
    if job.first_page:
        return False
    return not (job.target_type in IMAGE_TARGETS and job.long_picture)


def chunk(outs: list[PageOut], size: int) -> list[list[PageOut]]:
    """Consecutive ranges of `size` pages (the last may be shorter)."""
    return [outs[i : i + size] for i in range(0, len(outs), size)]
