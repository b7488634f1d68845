"""`oss://bucket/key` URIs: parsing and validation (pure).

IMM's rules: bucket names are 3-63 characters of lower-case letters, digits and hyphens,
starting and ending with a letter or digit; object keys are 1-1023 UTF-8 bytes and must not
start with `/` or `\\`. On top of those we refuse what no real object needs and what would
let a key escape its bucket on a file-system backend: control characters (NUL included) and
`.` or `..` path segments. Nothing is decoded or normalised: `%2e%2e`, a backslash or a
full-width `．．` is an ordinary part of a name, as in OSS. See docs/api-behaviour.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imm_engine.errors import InvalidValue

SCHEME = "oss://"
MAX_KEY_BYTES = 1023
#: Whole-string matches only (`fullmatch`): `$` would accept a trailing newline.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", re.ASCII)
#: C0 and C1 control characters and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Unpaired UTF-16 surrogates: a JSON `\ud800` escape decodes to one; not a character.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class OssUri:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    @property
    def basename(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def dirname(self) -> str:
        return self.key.rsplit("/", 1)[0] if "/" in self.key else ""

    @property
    def barename(self) -> str:
        base = self.basename
        stem, dot, _ = base.rpartition(".")
        return stem if dot and stem else base

    @property
    def ext(self) -> str:
        stem, dot, ext = self.basename.rpartition(".")
        return ext.lower() if dot and stem else ""


def bucket_problem(bucket: str) -> str | None:
    """Why `bucket` is not a valid OSS bucket name, or None when it is."""
    if "." in bucket:
        return (
            f"'{_show(bucket)}' looks like an endpoint host; write the bucket name alone, "
            "as in oss://bucket/object"
        )
    if not _BUCKET.fullmatch(bucket):
        return (
            f"bucket name '{_show(bucket)}' must be 3-63 characters of lower-case letters, digits "
            "and hyphens, starting and ending with a letter or digit"
        )
    return None


def key_problem(key: str, *, allow_empty: bool = False) -> str | None:
    """Why `key` is not an acceptable object key (or prefix), or None when it is."""
    if not key:
        return None if allow_empty else "the object key is empty"
    if _CONTROL.search(key):
        return "the object key contains control characters"
    if _SURROGATE.search(key):
        return "the object key is not valid UTF-8 (it holds an unpaired surrogate)"
    if key[0] in "/\\":
        return "the object key must not start with '/' or '\\'"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"the object key is longer than {MAX_KEY_BYTES} bytes"
    segments = key.split("/")
    if any(seg in (".", "..") for seg in segments):
        return "the object key must not contain '.' or '..' path segments"
    return None


def _split(value: str, name: str) -> tuple[str, str]:
    if not isinstance(value, str) or not value:
        raise InvalidValue(name, "it is empty")
    if not value.startswith(SCHEME):
        raise InvalidValue(name, f"'{_show(value)}' must have the form oss://bucket/object")
    rest = value[len(SCHEME) :]
    bucket, slash, key = rest.partition("/")
    if not slash:
        raise InvalidValue(name, f"'{_show(value)}' must have the form oss://bucket/object")
    problem = bucket_problem(bucket)
    if problem:
        raise InvalidValue(name, problem)
    return bucket, key


def parse_object(value: str, name: str) -> OssUri:
    """Parse a URI that names one object (`SourceURI`, a rendered `TargetURI`)."""
    bucket, key = _split(value, name)
    problem = key_problem(key)
    if problem is None and key.endswith("/"):
        problem = "it names a directory; give the full object path including its extension"
    if problem:
        raise InvalidValue(name, problem)
    return OssUri(bucket, key)


def parse_prefix(value: str, name: str) -> OssUri:
    """Parse a prefix URI (`TargetURIPrefix`). The key is normalised to end with `/`."""
    bucket, key = _split(value, name)
    problem = key_problem(key, allow_empty=True)
    if problem:
        raise InvalidValue(name, problem)
    if key and not key.endswith("/"):
        key += "/"
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:  # the added slash must fit too
            raise InvalidValue(name, f"the object key is longer than {MAX_KEY_BYTES} bytes")
    return OssUri(bucket, key)


def normalise_rendered_key(key: str) -> str:
    """Collapse the empty segments that empty template variables leave (`a//b` -> `a/b`)."""
    key = re.sub(r"/{2,}", "/", key)
    return key.lstrip("/")


def _show(value: str) -> str:
    shown = _SURROGATE.sub("?", _CONTROL.sub("?", value))
    return shown if len(shown) <= 200 else shown[:200] + "..."
