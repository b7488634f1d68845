"""IMM projects in Redis: one hash per project and a sorted set of their names.

Creating, updating and deleting are single Lua steps, so two API processes creating the same
name at once give one project and one `ResourceAlreadyExists`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

import redis

from imm_engine.models import iso_time
from imm_engine.state.decode import text as _s
from imm_engine.state.keys import Keys

DEFAULT_SERVICE_ROLE = "AliyunIMMDefaultRole"

_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

_DELETE = """
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
"""


@dataclass
class Project:
    name: str
    create_ts: float
    update_ts: float
    service_role: str = DEFAULT_SERVICE_ROLE
    description: str = ""
    template_id: str = ""
    project_max_dataset_count: int = 1_000_000_000
    dataset_max_bind_count: int = 10
    dataset_max_file_count: int = 100_000_000
    dataset_max_entity_count: int = 10_000_000_000
    dataset_max_relation_count: int = 100_000_000_000
    dataset_max_total_file_size: int = 90_000_000_000_000_000
    #: [{"Key": ..., "Value": ...}] as CreateProject's `Tag` gives them.
    tags: list[dict[str, str]] = field(default_factory=list)
    #: What the 2017-09-06 API shows (docs/legacy-2017.md): set by PutProject/UpdateProject.
    legacy_type: str = ""
    legacy_cu: int = 1
    legacy_billing: str = ""
    #: The ServiceRole as PutProject sent it ("" when not sent; tasks then run with the
    #: default role). "-" for a project created by the 2020 API: its ServiceRole is shown.
    legacy_role: str = "-"

    def to_fields(self) -> dict[str, str]:
        return {
            name: json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)
            for name, value in asdict(self).items()
        }

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> Project:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if raw is None:
                continue
            if f.name == "tags":
                values[f.name] = json.loads(raw) if raw else []
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        return cls(**values)

    def info(self) -> dict[str, Any]:
        """IMM's `Project` structure."""
        return {
            "ProjectName": self.name,
            "ServiceRole": self.service_role,
            "Description": self.description,
            "TemplateId": self.template_id,
            "CreateTime": iso_time(self.create_ts),
            "UpdateTime": iso_time(self.update_ts),
            "ProjectQueriesPerSecond": 100,
            "EngineConcurrency": 100,
            "ProjectMaxDatasetCount": self.project_max_dataset_count,
            "DatasetMaxBindCount": self.dataset_max_bind_count,
            "DatasetMaxFileCount": self.dataset_max_file_count,
            "DatasetMaxEntityCount": self.dataset_max_entity_count,
            "DatasetMaxRelationCount": self.dataset_max_relation_count,
            "DatasetMaxTotalFileSize": self.dataset_max_total_file_size,
            "DatasetCount": 0,
            "FileCount": 0,
            "TotalFileSize": 0,
            "Tags": [{"TagKey": t["Key"], "TagValue": t.get("Value", "")} for t in self.tags],
        }

    def has_tags(self, wanted: Sequence[dict[str, str]]) -> bool:
        """ListProjects' `Tag` filter: every given key is present, with the value if given."""
        mine = {t["Key"]: t.get("Value", "") for t in self.tags}
        for tag in wanted:
            key = tag["Key"]
            if key not in mine:
                return False
            if tag.get("Value") not in (None, "") and mine[key] != tag["Value"]:
                return False
        return True


class ProjectRecords(Protocol):
    """What the API needs of the projects: ProjectStore in Redis, or the in-memory store of the
    API's unit tests (tests/support/memory_state.py), held to the same behaviour by a contract
    test (tests/integration/test_task_records_contract.py)."""

    def create(self, project: Project) -> bool: ...

    def get(self, name: str) -> Project | None: ...

    def update(self, name: str, changes: dict[str, str]) -> bool: ...

    def delete(self, name: str) -> bool: ...

    def names(
        self, prefix: str, start: str | None, count: int, *, exclusive: bool = False
    ) -> list[str]: ...

    def get_many(self, names: Sequence[str]) -> list[Project]: ...


class ProjectStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._create = client.register_script(_CREATE)
        self._update = client.register_script(_UPDATE)
        self._delete = client.register_script(_DELETE)

    def create(self, project: Project) -> bool:
        """False if a project of that name exists (nothing is changed then)."""
        flat = [item for pair in project.to_fields().items() for item in pair]
        done = self._create(
            keys=[self.keys.project_record(project.name), self.keys.project_names],
            args=[project.name, *flat],
        )
        return bool(done)

    def get(self, name: str) -> Project | None:
        data = self.r.hgetall(self.keys.project_record(name))
        if not data:
            return None
        return Project.from_fields({_s(k): _s(v) for k, v in data.items()})

    def update(self, name: str, changes: dict[str, str]) -> bool:
        """Set the given (already flattened) fields; False if the project does not exist."""
        flat = [item for pair in changes.items() for item in pair]
        return bool(self._update(keys=[self.keys.project_record(name)], args=flat))

    def delete(self, name: str) -> bool:
        done = self._delete(
            keys=[self.keys.project_record(name), self.keys.project_names], args=[name]
        )
        return bool(done)

    def names(
        self, prefix: str, start: str | None, count: int, *, exclusive: bool = False
    ) -> list[str]:
        """Up to `count` names that start with `prefix`, from `start` on, in name order."""
        lo = f"[{prefix}"
        if start is not None and start >= prefix:
            lo = f"{'(' if exclusive else '['}{start}"
        hi = f"[{prefix}\xff" if prefix else "+"
        raw = self.r.zrangebylex(self.keys.project_names, lo, hi, start=0, num=count)
        return [_s(n) for n in raw]

    def get_many(self, names: Sequence[str]) -> list[Project]:
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.keys.project_record(name))
        out = []
        for data in pipe.execute():
            if data:
                out.append(Project.from_fields({_s(k): _s(v) for k, v in data.items()}))
        return out
