"""Which buckets a role may read and write: the self-hosted form of IMM's ServiceRole (pure).

IMM reads and writes a project's data through the project's `ServiceRole` (default
`AliyunIMMDefaultRole`). Here a role is a name in the storage configuration with two lists
of bucket patterns (shell globs, `*` for every bucket):

    {"AliyunIMMDefaultRole": {"read": ["*"], "write": ["*"]},
     "reader-role": {"read": ["media-in", "shared-*"], "write": ["media-out"]}}

Rules: an empty role name is the default role; the default role grants everything unless the
configuration defines it; any other role that the configuration does not define grants
nothing. Reading and writing are granted separately (write does not imply read).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_ROLE = "AliyunIMMDefaultRole"
_ROLE_NAME = re.compile(r"^[A-Za-z0-9_.@:/-]{1,128}$")
_PATTERN = re.compile(r"^[a-z0-9*?\[\]!-]{1,63}$")


class Access(StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Role:
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()

    def allows(self, bucket: str, access: Access) -> bool:
        patterns = self.read if access == Access.READ else self.write
        return any(fnmatch.fnmatchcase(bucket, p) for p in patterns)


GRANT_ALL = Role(read=("*",), write=("*",))


@dataclass(frozen=True)
class Grants:
    roles: Mapping[str, Role] = field(default_factory=dict)

    def role(self, name: str) -> Role | None:
        """The role called `name` ("" is the default role), or None when it is not defined."""
        name = name or DEFAULT_ROLE
        if name in self.roles:
            return self.roles[name]
        return GRANT_ALL if name == DEFAULT_ROLE else None

    def known(self, name: str) -> bool:
        return self.role(name) is not None

    def allowed(self, role: str, bucket: str, access: Access) -> bool:
        found = self.role(role)
        return found is not None and found.allows(bucket, access)

    def denial(self, role: str, bucket: str, access: Access) -> str | None:
        """Why `role` may not `access` the bucket, or None when it may."""
        name = role or DEFAULT_ROLE
        found = self.role(name)
        if found is None:
            return (
                f"The service role {name} is not configured on this server, so it cannot "
                f"{access} the bucket {bucket}."
            )
        if not found.allows(bucket, access):
            return f"The service role {name} is not granted {access} access to the bucket {bucket}."
        return None


def parse_grants(document: Any) -> Grants:
    """The `roles` section of the storage configuration. Raises ValueError naming the problem."""
    if document is None:
        return Grants()
    if not isinstance(document, Mapping):
        raise ValueError("'roles' must be a JSON object of role name -> {read, write}")
    roles: dict[str, Role] = {}
    for name, spec in document.items():
        if not isinstance(name, str) or not _ROLE_NAME.match(name):
            raise ValueError(f"role name {name!r}: use 1-128 letters, digits and -_.@:/")
        if not isinstance(spec, Mapping):
            raise ValueError(f"role {name}: expected an object with 'read' and 'write' lists")
        extra = set(spec) - {"read", "write"}
        if extra:
            raise ValueError(f"role {name}: unknown field(s) {', '.join(sorted(extra))}")
        roles[name] = Role(
            read=_patterns(name, "read", spec.get("read", [])),
            write=_patterns(name, "write", spec.get("write", [])),
        )
    return Grants(roles)


def _patterns(role: str, which: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"role {role}: '{which}' must be a list of bucket names or patterns")
    for p in value:
        if not isinstance(p, str) or not _PATTERN.match(p):
            raise ValueError(
                f"role {role}: '{which}' pattern {p!r} is not a bucket name or glob "
                "(lower-case letters, digits, '-', and * ? [ ])"
            )
    return tuple(value)


def first_denial(
    grants: Grants, role: str, reads: Iterable[str], writes: Iterable[str]
) -> str | None:
    """The first refusal among the buckets to read and to write, or None when all are granted."""
    for access, buckets in ((Access.READ, reads), (Access.WRITE, writes)):
        for bucket in buckets:
            why = grants.denial(role, bucket, access)
            if why:
                return why
    return None
