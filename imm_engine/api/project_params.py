"""The parameters of CreateProject / UpdateProject / ListProjects, validated (pure).

Names and ranges are IMM's (CreateProject, Project in SDK 5.0.3). Dataset limits and
`TemplateId` are stored and shown back; this server has no datasets or workflows, so they
limit nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import invalid

MAX_TAGS = 20
MAX_DESCRIPTION_CHARS = 256
DEFAULT_LIST_RESULTS = 100
MAX_LIST_RESULTS = 200
_ROLE = re.compile(r"^(?:acs:ram::\d*:role/)?[A-Za-z0-9._@-]{1,64}$")

#: Integer fields: wire name -> (Project attribute, lowest, highest).
LIMITS: dict[str, tuple[str, int, int]] = {
    "ProjectMaxDatasetCount": ("project_max_dataset_count", 1, 1_000_000_000),
    "DatasetMaxBindCount": ("dataset_max_bind_count", 1, 10),
    "DatasetMaxFileCount": ("dataset_max_file_count", 1, 10_000_000_000),
    "DatasetMaxEntityCount": ("dataset_max_entity_count", 1, 10**12),
    "DatasetMaxRelationCount": ("dataset_max_relation_count", 1, 10**12),
    "DatasetMaxTotalFileSize": ("dataset_max_total_file_size", 1, 2**63 - 1),
}


@dataclass(frozen=True)
class ListProjectsQuery:
    prefix: str
    max_results: int
    next_token: str | None
    tags: list[dict[str, str]]


def project_fields(params: Params) -> dict[str, Any]:
    """The Project attributes that CreateProject/UpdateProject set (only those given)."""
    out: dict[str, Any] = {}
    role = params.get_str("ServiceRole", max_bytes=256)
    if role is not None:
        if not _ROLE.match(role):
            raise invalid(
                "ServiceRole",
                "use a role name of 1-64 letters, digits, '.', '@', '-' and '_' "
                "(e.g. AliyunIMMDefaultRole)",
            )
        out["service_role"] = role
    description = params.get_str("Description", max_bytes=4 * MAX_DESCRIPTION_CHARS)
    if description is not None:
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise invalid("Description", f"it is longer than {MAX_DESCRIPTION_CHARS} characters")
        out["description"] = description
    template = params.get_str("TemplateId", max_bytes=256)
    if template is not None:
        out["template_id"] = template
    for wire, (attr, lo, hi) in LIMITS.items():
        value = params.get_int(wire, lo=lo, hi=hi)
        if value is not None:
            out[attr] = value
    tags = parse_tag_list(params, "Tag")
    if tags is not None:
        out["tags"] = tags
    return out


def parse_tag_list(params: Params, name: str) -> list[dict[str, str]] | None:
    """`[{"Key": "k", "Value": "v"}, ...]` (IMM's resource tags)."""
    raw = params.get_json(name, list)
    if raw is None:
        return None
    if len(raw) > MAX_TAGS:
        raise invalid(name, f"more than {MAX_TAGS} tags")
    tags: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            raise invalid(name, 'each tag must be an object {"Key": "...", "Value": "..."}')
        key = item["Key"]
        value = item.get("Value", "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise invalid(name, f"the Value of tag {key!r} must be a string")
        if not 1 <= len(key) <= 128 or len(value) > 128:
            raise invalid(name, "tag keys are 1-128 characters and values at most 128")
        if key in seen:
            raise invalid(name, f"tag {key!r} is given twice")
        seen.add(key)
        tags.append({"Key": key, "Value": value})
    return tags


def list_projects_query(params: Params) -> ListProjectsQuery:
    prefix = params.get_str("Prefix", max_bytes=128) or ""
    count = params.get_int("MaxResults", lo=0, hi=MAX_LIST_RESULTS) or DEFAULT_LIST_RESULTS
    token = params.get_str("NextToken", max_bytes=256)
    return ListProjectsQuery(prefix, count, token, parse_tag_list(params, "Tag") or [])
