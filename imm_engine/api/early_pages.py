"""GetTask's `WrittenPages` (an imm-engine extension, off unless IMM_EARLY_PAGES is set): the
document pages whose output a running OfficeConversion task has already written, so a
previewer can show them before the task ends. The SDK ignores fields it does not know."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imm_engine.api.services import redis_store
from imm_engine.models import TaskRecord
from imm_engine.state.split import SplitStore, page_ranges

if TYPE_CHECKING:
    from imm_engine.api.services import Services


def written_pages(services: Services, rec: TaskRecord) -> dict[str, Any]:
    """`{"WrittenPages": {"Count": n, "Pages": "1-20,41-60"}}` while the task runs; empty
    when the extension is off, the task is final, or it is not an OfficeConversion."""
    if not services.early_pages or rec.finished or rec.task_type != "OfficeConversion":
        return {}
    store = redis_store(services)
    pages = SplitStore(store.r, store.keys, 60).written(rec.task_id)
    return {"WrittenPages": {"Count": len(pages), "Pages": page_ranges(pages)}}
