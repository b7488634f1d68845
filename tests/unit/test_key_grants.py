"""AccessKey grants: which projects a key may use, which roles it may assign (pure).

imm_engine/storage/key_grants.py; the same checks serve every API version's actions.
"""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.errors import ApiError
from imm_engine.storage.key_grants import (
    EVERYTHING,
    NOBODY,
    Caller,
    KeyGrant,
    KeyGrants,
    parse_key_grants,
)

KEYS = {
    "key-a": {"projects": ["team-a", "team-a-*"], "roles": ["TeamARole"]},
    "key-b": {"projects": ["team-b*"], "roles": ["TeamBRole", "AliyunIMMDefaultRole"]},
    "*": {"projects": ["shared-?"], "roles": []},
}

GRANT_CASES = [
    # (keys config, key id, number of keys, project, allowed)
    pytest.param(None, "only", 1, "anything", True, id="single-key-no-config-everything"),
    pytest.param(None, "a", 2, "anything", None, id="several-keys-no-config-no-grant"),
    pytest.param({}, "only", 1, "anything", None, id="empty-keys-section-no-grant"),
    pytest.param(KEYS, "key-a", 3, "team-a", True, id="exact-project"),
    pytest.param(KEYS, "key-a", 3, "team-a-docs", True, id="glob-project"),
    pytest.param(KEYS, "key-a", 3, "team-ab", False, id="exact-is-not-prefix"),
    pytest.param(KEYS, "key-a", 3, "team-b", False, id="other-keys-project"),
    pytest.param(KEYS, "key-b", 3, "team-b-x", True, id="prefix-glob"),
    pytest.param(KEYS, "key-b", 3, "Team-b", False, id="case-sensitive"),
    pytest.param(KEYS, "key-c", 3, "shared-1", True, id="star-entry-for-others"),
    pytest.param(KEYS, "key-c", 3, "shared-12", False, id="question-mark-one-char"),
    pytest.param(KEYS, "key-a", 3, "shared-1", False, id="own-entry-replaces-star"),
]  # fmt: skip


@pytest.mark.parametrize(("keys", "key_id", "count", "project", "allowed"), GRANT_CASES)
def test_projects(keys: Any, key_id: str, count: int, project: str, allowed: bool | None) -> None:
    grant = parse_key_grants(keys).grant_for(key_id, count)
    if allowed is None:
        assert grant is None
        return
    assert grant is not None and grant.may_use(project) is allowed
    caller = Caller(key_id, grant)
    if allowed:
        caller.check_project(project)
    else:
        with pytest.raises(ApiError) as info:
            caller.check_project(project)
        assert (info.value.code, info.value.status) == ("Forbidden.RAM", 403)
        assert key_id in info.value.message and project in info.value.message


ROLE_CASES = [
    # (key id, role, allowed)
    pytest.param("key-a", "TeamARole", True, id="granted-role"),
    pytest.param("key-a", "TeamBRole", False, id="other-role"),
    pytest.param("key-a", "", False, id="default-role-not-granted"),
    pytest.param("key-a", "AliyunIMMDefaultRole", False, id="default-role-by-name"),
    pytest.param("key-b", "", True, id="default-role-granted"),
    pytest.param("key-c", "TeamARole", False, id="empty-roles-list"),
]  # fmt: skip


@pytest.mark.parametrize(("key_id", "role", "allowed"), ROLE_CASES)
def test_roles(key_id: str, role: str, allowed: bool) -> None:
    grant = parse_key_grants(KEYS).grant_for(key_id, 3)
    assert grant is not None and grant.may_assign(role) is allowed
    if not allowed:
        with pytest.raises(ApiError) as info:
            Caller(key_id, grant).check_role(role)
        assert info.value.status == 403
        assert (role or "AliyunIMMDefaultRole") in info.value.message


PROBLEMS = [
    # (keys config, key ids, fragment of the problem or None)
    pytest.param(None, ["only"], None, id="single-key-fine"),
    pytest.param(None, ["a", "b"], "the AccessKey(s) a, b have no grant", id="several-no-grants"),
    pytest.param({"a": {}}, ["a", "b"], "the AccessKey(s) b have no grant", id="one-lacking"),
    pytest.param({"a": {}, "*": {}}, ["a", "b"], None, id="star-covers-the-rest"),
    pytest.param({"x": {}}, ["a"], '"keys" grants the AccessKey(s) x', id="unknown-key"),
    pytest.param({"*": {"projects": ["*"], "roles": ["*"]}}, ["a", "b"], None, id="all-for-all"),
]  # fmt: skip


@pytest.mark.parametrize(("keys", "key_ids", "fragment"), PROBLEMS)
def test_problems(keys: Any, key_ids: list[str], fragment: str | None) -> None:
    problem = parse_key_grants(keys).problem(key_ids)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem


BAD = [
    pytest.param([], "'keys' must be a JSON object", id="not-object"),
    pytest.param({"a b": {}}, "is not an AccessKey id", id="bad-key-id"),
    pytest.param({"a": []}, "expected an object", id="grant-not-object"),
    pytest.param({"a": {"buckets": []}}, "unknown field(s) buckets", id="unknown-field"),
    pytest.param({"a": {"projects": {"x": 1}}}, "must be a list", id="projects-not-list"),
    pytest.param({"a": {"projects": ["a.b"]}}, "is not a name or glob", id="dot-in-project"),
    pytest.param({"a": {"roles": ["bad role"]}}, "is not a name or glob", id="space-in-role"),
    pytest.param({"a": {"roles": [1]}}, "is not a name or glob", id="role-not-string"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "fragment"), BAD)
def test_bad_configuration(document: Any, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_key_grants(document)
    assert fragment in str(info.value)


def test_a_string_is_a_one_item_list_and_nobody_may_do_nothing() -> None:
    grants = parse_key_grants({"a": {"projects": "p-*", "roles": "R"}})
    assert grants.keys["a"] == KeyGrant(projects=("p-*",), roles=("R",))
    assert not NOBODY.may_use("p-1") and not NOBODY.grant.may_assign("R")
    assert EVERYTHING.may_use("anything") and EVERYTHING.may_assign("")
    assert KeyGrants().grant_for("k", 1) == EVERYTHING


PARAMETERS = [
    # (parameters, refused)
    pytest.param({"ProjectName": "team-a"}, False, id="granted-2020"),
    pytest.param({"Project": "team-a-1"}, False, id="granted-2017"),
    pytest.param({"ProjectName": "team-b"}, True, id="other-2020"),
    pytest.param({"Project": "team-b"}, True, id="other-2017"),
    pytest.param({"ProjectName": "team-a", "Project": "team-b"}, True, id="either-refused"),
    pytest.param({"ProjectName": ""}, False, id="empty-left-to-the-action"),
    pytest.param({"Prefix": "team-b"}, False, id="no-project-named"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "refused"), PARAMETERS)
def test_every_action_naming_a_project_is_checked(params: dict[str, str], refused: bool) -> None:
    grant = parse_key_grants(KEYS).grant_for("key-a", 3)
    assert grant is not None
    caller = Caller("key-a", grant)
    if refused:
        with pytest.raises(ApiError) as info:
            caller.check_parameters(params.get)
        assert info.value.code == "Forbidden.RAM"
    else:
        caller.check_parameters(params.get)
