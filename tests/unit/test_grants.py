"""Role grants: which role may read or write which bucket (imm_engine/storage/grants.py)."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.errors import ApiError
from imm_engine.storage.grants import DEFAULT_ROLE, Access, parse_grants
from imm_engine.storage.guarded import check_uris

ROLES = {
    "reader-role": {"read": ["media-in", "shared-*"], "write": ["media-out"]},
    "writer-only": {"write": ["*"]},
    "nothing": {},
}
R, W = Access.READ, Access.WRITE

CASES = [
    # (roles config, role, bucket, access, allowed)
    pytest.param(None, "", "any-bucket", R, True, id="no-config-default-role-reads"),
    pytest.param(None, "", "any-bucket", W, True, id="no-config-default-role-writes"),
    pytest.param(None, DEFAULT_ROLE, "x-y-z", W, True, id="no-config-default-role-by-name"),
    pytest.param(None, "other-role", "any-bucket", R, False, id="no-config-unknown-role"),
    pytest.param(ROLES, "", "any-bucket", R, True, id="default-role-kept-when-not-redefined"),
    pytest.param(ROLES, "reader-role", "media-in", R, True, id="exact-read"),
    pytest.param(ROLES, "reader-role", "media-in", W, False, id="read-grant-is-not-write"),
    pytest.param(ROLES, "reader-role", "media-out", W, True, id="exact-write"),
    pytest.param(ROLES, "reader-role", "media-out", R, False, id="write-grant-is-not-read"),
    pytest.param(ROLES, "reader-role", "shared-docs", R, True, id="glob-read"),
    pytest.param(ROLES, "reader-role", "shared", R, False, id="glob-needs-the-dash"),
    pytest.param(ROLES, "reader-role", "media-inx", R, False, id="exact-is-not-prefix"),
    pytest.param(ROLES, "writer-only", "abc", W, True, id="star-write"),
    pytest.param(ROLES, "writer-only", "abc", R, False, id="missing-list-grants-nothing"),
    pytest.param(ROLES, "nothing", "abc", R, False, id="empty-role"),
    pytest.param(ROLES, "Reader-Role", "media-in", R, False, id="role-names-are-case-sensitive"),
    pytest.param({DEFAULT_ROLE: {"read": ["pub-*"]}}, "", "pub-a", R, True,
                 id="default-role-redefined-read"),
    pytest.param({DEFAULT_ROLE: {"read": ["pub-*"]}}, "", "priv-a", R, False,
                 id="default-role-redefined-restricts"),
    pytest.param({DEFAULT_ROLE: {"read": ["pub-*"]}}, "", "pub-a", W, False,
                 id="default-role-redefined-no-write"),
]  # fmt: skip


@pytest.mark.parametrize(("roles", "role", "bucket", "access", "allowed"), CASES)
def test_allowed(roles: Any, role: str, bucket: str, access: Access, allowed: bool) -> None:
    grants = parse_grants(roles)
    assert grants.allowed(role, bucket, access) is allowed
    assert (grants.denial(role, bucket, access) is None) is allowed


def test_denial_names_role_bucket_and_access() -> None:
    grants = parse_grants(ROLES)
    why = grants.denial("reader-role", "media-in", W)
    assert why and "reader-role" in why and "media-in" in why and "write" in why
    why = grants.denial("ghost", "media-in", R)
    assert why and "ghost" in why and "not configured" in why


BAD = [
    pytest.param([], "JSON object", id="not-an-object"),
    pytest.param({"r": []}, "expected an object", id="role-not-object"),
    pytest.param({"r": {"read": "x", "list": []}}, "unknown field", id="unknown-field"),
    pytest.param({"r": {"read": [1]}}, "pattern 1", id="pattern-not-string"),
    pytest.param({"r": {"read": ["Upper"]}}, "pattern 'Upper'", id="pattern-upper-case"),
    pytest.param({"r": {"write": {"a": 1}}}, "'write' must be a list", id="write-not-list"),
    pytest.param({"bad role!": {}}, "role name", id="bad-role-name"),
]


@pytest.mark.parametrize(("roles", "message"), BAD)
def test_bad_roles_are_refused(roles: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_grants(roles)


def test_check_uris_at_submission() -> None:
    grants = parse_grants(ROLES)
    check_uris(grants, "reader-role", ["oss://media-in/a.docx"], ["oss://media-out/x/"])
    with pytest.raises(ApiError) as err:
        check_uris(grants, "reader-role", ["oss://media-in/a.docx"], ["oss://media-in/out/"])
    assert (err.value.status, err.value.code) == (403, "AccessDenied")
    assert "media-in" in err.value.message and "write" in err.value.message
    with pytest.raises(ApiError, match="read"):
        check_uris(grants, "reader-role", ["oss://secret/a.docx"], [])
