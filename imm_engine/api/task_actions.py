"""ListTasks: a project's tasks of the last 7 days, filtered, sorted and paged."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from imm_engine.api.params import Params
from imm_engine.api.project_actions import require_project
from imm_engine.state.query import MAX_MAX_RESULTS, build_query, encode_token
from imm_engine.tasktypes.base import project_name

if TYPE_CHECKING:
    from imm_engine.api.services import Services


def list_tasks(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    name = project_name(params)
    query = build_query(
        task_types=params.get_json("TaskTypes", list, max_bytes=8192),
        status=params.get_str("Status", max_bytes=32),
        start_range=params.get_json("StartTimeRange", dict, max_bytes=1024),
        end_range=params.get_json("EndTimeRange", dict, max_bytes=1024),
        tag_selector=params.get_str("TagSelector", max_bytes=4096),
        sort=params.get_str("Sort", max_bytes=32),
        order=params.get_str("Order", max_bytes=16),
        max_results=params.get_int("MaxResults", lo=0, hi=MAX_MAX_RESULTS),
        next_token=params.get_str("NextToken", max_bytes=4096),
        with_definition=params.get_bool("RequestDefinition"),
    )
    project = require_project(services, name)
    index = services.store.index
    index.trim(name, time.time())
    page = index.page(name, query, not_before=project.create_ts)
    body: dict[str, Any] = {
        "ProjectName": name,
        "MaxResults": str(len(page.records)),
        "Tasks": [rec.task_info(with_definition=query.with_definition) for rec in page.records],
    }
    if page.next_token_cursor is not None:
        body["NextToken"] = encode_token(page.next_token_cursor)
    return body


ACTIONS = {"ListTasks": list_tasks}
