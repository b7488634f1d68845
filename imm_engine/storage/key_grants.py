"""Which projects an AccessKey may use and which ServiceRoles it may assign (pure).

Configured beside the roles, in the `keys` section of `IMM_STORAGE_CONFIG`:

    {"keys": {"team-a-key": {"projects": ["team-a", "team-a-*"], "roles": ["TeamARole"]},
              "*":          {"projects": ["shared-*"], "roles": []}}}

Project and role entries are exact names or shell globs (`*` for all). `*` as a key id is the
grant of every key without an entry of its own. The rules (docs/security.md):

- No `keys` section and a single AccessKey: that key may use every project and assign every
  role (the single-key default, as before).
- Otherwise every AccessKey needs a grant (its own entry or `*`): the service refuses to start
  when one has none, or when an entry names a key that is not configured (a typo).
- Outside its grant a call is refused with HTTP 403 `Forbidden.RAM`, as IMM refuses an
  AccessKey whose RAM policy does not allow the call, whether or not the project exists.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from imm_engine.errors import ApiError
from imm_engine.storage.grants import DEFAULT_ROLE

ANY_KEY = "*"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.@:-]{1,128}$")
_PROJECT_PATTERN = re.compile(r"^[A-Za-z0-9_*?\[\]!-]{1,128}$")
_ROLE_PATTERN = re.compile(r"^[A-Za-z0-9_.@:/*?\[\]!-]{1,128}$")
#: What IMM's gateway answers when the caller's RAM policy does not allow a call.
FORBIDDEN_CODE = "Forbidden.RAM"
FORBIDDEN_MESSAGE = "User not authorized to operate on the specified resource."
#: The parameters that name a project: `ProjectName` (2020-09-30), `Project` (2017-09-06).
PROJECT_PARAMETERS = ("ProjectName", "Project")


@dataclass(frozen=True)
class KeyGrant:
    #: Project names or globs the key may use (create, read, change, delete, run tasks in).
    projects: tuple[str, ...] = ()
    #: ServiceRole names or globs the key may give a project (CreateProject, UpdateProject).
    roles: tuple[str, ...] = ()

    def may_use(self, project: str) -> bool:
        return any(fnmatch.fnmatchcase(project, p) for p in self.projects)

    def may_assign(self, role: str) -> bool:
        """An empty role is the default role, which must be granted like any other."""
        return any(fnmatch.fnmatchcase(role or DEFAULT_ROLE, p) for p in self.roles)


EVERYTHING = KeyGrant(projects=("*",), roles=("*",))
NOTHING = KeyGrant()


@dataclass(frozen=True)
class KeyGrants:
    #: Key id (or `*`) -> its grant.
    keys: Mapping[str, KeyGrant] = field(default_factory=dict)
    #: Whether the configuration has a `keys` section at all (even an empty one).
    configured: bool = False

    def grant_for(self, key_id: str, key_count: int) -> KeyGrant | None:
        """The key's grant; None when it has none (refused at start, see `problem`)."""
        found = self.keys.get(key_id) or self.keys.get(ANY_KEY)
        if found is not None:
            return found
        if not self.configured and key_count == 1:
            return EVERYTHING
        return None

    def problem(self, key_ids: Collection[str]) -> str | None:
        """Why these AccessKeys and grants cannot run together, or None when they can."""
        unknown = sorted(k for k in self.keys if k != ANY_KEY and k not in key_ids)
        if unknown:
            return (
                f'"keys" grants the AccessKey(s) {", ".join(unknown)}, which IMM_ACCESS_KEY_ID '
                "and IMM_ACCESS_KEYS do not configure"
            )
        lacking = sorted(k for k in key_ids if self.grant_for(k, len(key_ids)) is None)
        if lacking:
            return (
                f"the AccessKey(s) {', '.join(lacking)} have no grant: with several keys (or a "
                '"keys" section) every key needs one. Add to IMM_STORAGE_CONFIG "keys" '
                '{"<key id>": {"projects": [...], "roles": [...]}}, or "*": {"projects": ["*"], '
                '"roles": ["*"]} to let every key use every project and role'
            )
        return None


@dataclass(frozen=True)
class Caller:
    """The AccessKey that signed a request and what it may do."""

    key_id: str
    grant: KeyGrant

    def may_use(self, project: str) -> bool:
        return self.grant.may_use(project)

    def check_project(self, project: str) -> None:
        """Raise 403 `Forbidden.RAM` unless the key may use `project` (existing or not)."""
        if not self.grant.may_use(project):
            raise forbidden(
                f"The AccessKey {self.key_id} is not granted the project {project} "
                '(IMM_STORAGE_CONFIG "keys").'
            )

    def check_parameters(self, value_of: Callable[[str], str | None]) -> None:
        """Before any action runs: a project named by its parameters must be granted.

        A safety net for every action, whatever its API version; the actions check again
        where they look the project up (and CreateProject / UpdateProject check the role)."""
        for name in PROJECT_PARAMETERS:
            project = value_of(name)
            if project:
                self.check_project(project)

    def check_role(self, role: str) -> None:
        """Raise 403 `Forbidden.RAM` unless the key may give a project `role` ("": default)."""
        if not self.grant.may_assign(role):
            raise forbidden(
                f"The AccessKey {self.key_id} may not assign the service role "
                f'{role or DEFAULT_ROLE} (IMM_STORAGE_CONFIG "keys").'
            )


NOBODY = Caller("", NOTHING)


def forbidden(detail: str) -> ApiError:
    return ApiError(FORBIDDEN_CODE, f"{FORBIDDEN_MESSAGE} {detail}", 403)


def parse_key_grants(document: Any) -> KeyGrants:
    """The `keys` section. Raises ValueError naming the problem."""
    if document is None:
        return KeyGrants()
    if not isinstance(document, Mapping):
        raise ValueError("'keys' must be a JSON object of AccessKey id -> {projects, roles}")
    keys: dict[str, KeyGrant] = {}
    for key_id, spec in document.items():
        if not isinstance(key_id, str) or not (key_id == ANY_KEY or _KEY_ID.match(key_id)):
            raise ValueError(f"keys: {key_id!r} is not an AccessKey id or '*'")
        if not isinstance(spec, Mapping):
            raise ValueError(f"keys: {key_id}: expected an object with 'projects' and 'roles'")
        extra = set(spec) - {"projects", "roles"}
        if extra:
            raise ValueError(f"keys: {key_id}: unknown field(s) {', '.join(sorted(extra))}")
        keys[key_id] = KeyGrant(
            projects=_patterns(key_id, "projects", spec.get("projects", []), _PROJECT_PATTERN),
            roles=_patterns(key_id, "roles", spec.get("roles", []), _ROLE_PATTERN),
        )
    return KeyGrants(keys, configured=True)


def _patterns(key_id: str, which: str, value: Any, shape: re.Pattern[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"keys: {key_id}: '{which}' must be a list of names or globs")
    for p in value:
        if not isinstance(p, str) or not shape.match(p):
            raise ValueError(f"keys: {key_id}: '{which}' entry {p!r} is not a name or glob")
    return tuple(value)
