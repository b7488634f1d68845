"""The storage configuration: backends, which bucket uses which, and roles (pure).

`IMM_STORAGE_CONFIG` holds one JSON object, inline or in a file:

    {"backends": {
       "disk":   {"type": "local", "root": "/data"},
       "aliyun": {"type": "oss", "endpoint": "https://oss-cn-hangzhou.aliyuncs.com",
                  "access_key_id": "LTAI...", "access_key_secret_env": "OSS_SECRET"},
       "minio":  {"type": "s3", "endpoint_url": "http://127.0.0.1:9000", "region": "us-east-1",
                  "access_key_id": "minio", "secret_access_key_env": "MINIO_SECRET"}},
     "buckets": {"media-in": "aliyun", "*": "disk"},
     "roles": {"reader-role": {"read": ["media-in"], "write": ["media-out"]}},
     "keys": {"team-a-key": {"projects": ["team-a-*"], "roles": ["reader-role"]}}}

Any option `<name>_env` reads `<name>` from that environment variable when the service
starts, so secrets need not sit in the JSON (imm_engine/config/env_refs.py); secret options
are kept as `SecretStr` (`BackendSpec.secret` reads them). This is the `storage` section of
`Settings` (imm_engine/settings.py). Without a configuration every bucket is a
directory under `IMM_STORAGE_ROOT`, the default role grants everything and a single AccessKey
may use every project (imm_engine/storage/key_grants.py). Everything is
checked here, so a bad configuration stops the service at start with a message naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from imm_engine.config.env_refs import resolve_env_refs
from imm_engine.storage.grants import Grants, parse_grants
from imm_engine.storage.key_grants import KeyGrants, parse_key_grants

MIB = 1024 * 1024
DEFAULT_MULTIPART_THRESHOLD = 16 * MIB
DEFAULT_PART_SIZE = 8 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's smallest part (all but the last)
MAX_PART_SIZE = 5 * 1024 * MIB

#: Options held as `SecretStr`, never shown.
SECRET_OPTIONS = frozenset(
    {"access_key_secret", "secret_access_key", "security_token", "session_token"}
)

_BACKEND_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BUCKET_KEY = re.compile(r"^(\*|[a-z0-9][a-z0-9-]{1,61}[a-z0-9])$")

#: type -> (required options, optional options)
OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "local": (frozenset(), frozenset({"root"})),
    "oss": (
        frozenset({"endpoint", "access_key_id", "access_key_secret"}),
        frozenset(
            {
                "security_token",
                "region",
                "signature_version",
                "multipart_threshold",
                "part_size",
                "connect_timeout",
                "path_style",
            }
        ),
    ),
    "s3": (
        frozenset(),
        frozenset(
            {
                "endpoint_url",
                "region",
                "access_key_id",
                "secret_access_key",
                "session_token",
                "addressing_style",
                "multipart_threshold",
                "part_size",
                "connect_timeout",
                "verify",
            }
        ),
    ),
}


@dataclass(frozen=True)
class BackendSpec:
    name: str
    type: str
    #: Validated options, secrets already read from the environment (SECRET_OPTIONS as
    #: `SecretStr`).
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print secrets
        return f"BackendSpec(name={self.name!r}, type={self.type!r})"

    def size(self, name: str, default: int) -> int:
        return int(self.options.get(name, default))

    def secret(self, name: str) -> str | None:
        """The value of the secret option `name`, or None when it is not given."""
        value = self.options.get(name)
        return value.get_secret_value() if isinstance(value, SecretStr) else value


LOCAL = BackendSpec("local", "local")


@dataclass(frozen=True)
class StorageConfig:
    backends: Mapping[str, BackendSpec] = field(default_factory=lambda: {"local": LOCAL})
    #: bucket name (or "*") -> backend name
    buckets: Mapping[str, str] = field(default_factory=lambda: {"*": "local"})
    grants: Grants = field(default_factory=Grants)
    #: Which projects each AccessKey may use and which roles it may assign.
    key_grants: KeyGrants = field(default_factory=KeyGrants)

    def describe(self) -> str:
        """`media-in -> aliyun (oss), * -> disk (local)`: for the start banner; no secrets."""
        return ", ".join(
            f"{bucket} -> {name} ({self.backends[name].type})"
            for bucket, name in self.buckets.items()
        )

    def backend_for(self, bucket: str) -> str | None:
        """The backend that holds `bucket`, or None when no entry (and no `*`) names it."""
        return self.buckets.get(bucket, self.buckets.get("*"))


def parse_storage_config(document: Any, env: Mapping[str, str]) -> StorageConfig:
    """Raises ValueError with a message naming the offending part."""
    if document is None:
        return StorageConfig()
    if not isinstance(document, Mapping):
        raise ValueError("expected a JSON object with 'backends', 'buckets', 'roles' and 'keys'")
    extra = set(document) - {"backends", "buckets", "roles", "keys"}
    if extra:
        raise ValueError(f"unknown section(s) {', '.join(sorted(extra))}")
    raw_backends = document.get("backends", {})
    if not isinstance(raw_backends, Mapping):
        raise ValueError("'backends' must be a JSON object of name -> backend")
    backends = {"local": LOCAL} if not raw_backends else {}
    for name, spec in raw_backends.items():
        backends[name] = _backend(name, spec, env)

    default_buckets = {"*": next(iter(backends))} if len(backends) == 1 else {}
    raw_buckets = document.get("buckets", default_buckets)
    if not isinstance(raw_buckets, Mapping) or not raw_buckets:
        raise ValueError(
            "'buckets' must be a JSON object of bucket name (or '*') -> backend "
            "(it may be left out only when there is one backend)"
        )
    buckets: dict[str, str] = {}
    for bucket, backend in raw_buckets.items():
        if not isinstance(bucket, str) or not _BUCKET_KEY.match(bucket):
            raise ValueError(f"buckets: {bucket!r} is not a bucket name or '*'")
        if backend not in backends:
            raise ValueError(
                f"buckets: {bucket} uses the backend {backend!r}, which 'backends' does not define"
            )
        buckets[bucket] = backend
    return StorageConfig(
        backends,
        buckets,
        parse_grants(document.get("roles")),
        parse_key_grants(document.get("keys")),
    )


def _backend(name: Any, spec: Any, env: Mapping[str, str]) -> BackendSpec:
    if not isinstance(name, str) or not _BACKEND_NAME.match(name):
        raise ValueError(f"backend name {name!r}: use 1-64 letters, digits, '-' and '_'")
    if not isinstance(spec, Mapping):
        raise ValueError(f"backend {name}: expected a JSON object with a 'type'")
    kind = spec.get("type")
    if kind not in OPTIONS:
        raise ValueError(f"backend {name}: 'type' must be one of {', '.join(OPTIONS)}")
    required, optional = OPTIONS[kind]
    try:
        options = resolve_env_refs(spec, env)
    except ValueError as exc:
        raise ValueError(f"backend {name}: {exc}") from None
    del options["type"]
    for key in options:
        if key not in required | optional:
            raise ValueError(f"backend {name} ({kind}): unknown option {key!r}")
    missing = sorted(required - set(options))
    if missing:
        raise ValueError(f"backend {name} ({kind}): missing {', '.join(missing)}")
    _check_options(name, kind, options)
    secrets = {k: SecretStr(v) for k, v in options.items() if k in SECRET_OPTIONS}
    return BackendSpec(name, kind, {**options, **secrets})


def _check_options(name: str, kind: str, options: dict[str, Any]) -> None:
    for key, value in options.items():
        if key in ("multipart_threshold", "part_size"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"backend {name}: {key} must be a number of bytes")
            if not MIN_PART_SIZE <= value <= MAX_PART_SIZE:
                raise ValueError(
                    f"backend {name}: {key}={value} is outside {MIN_PART_SIZE}..{MAX_PART_SIZE}"
                )
        elif key == "connect_timeout":
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"backend {name}: connect_timeout must be a positive number")
        elif key in ("path_style",):
            if not isinstance(value, bool):
                raise ValueError(f"backend {name}: {key} must be true or false")
        elif key == "verify":
            if not isinstance(value, bool | str):
                raise ValueError(f"backend {name}: verify must be true, false or a CA file path")
        elif not isinstance(value, str) or not value:
            raise ValueError(f"backend {name}: {key} must be a non-empty string")
    if kind == "oss":
        if not str(options["endpoint"]).startswith(("http://", "https://")):
            raise ValueError(f"backend {name}: endpoint must start with http:// or https://")
        version = options.get("signature_version", "v1")
        if version not in ("v1", "v4"):
            raise ValueError(f"backend {name}: signature_version must be v1 or v4")
        if version == "v4" and not options.get("region"):
            raise ValueError(f"backend {name}: signature_version v4 needs region (cn-hangzhou)")
    if kind == "s3":
        url = options.get("endpoint_url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            raise ValueError(f"backend {name}: endpoint_url must start with http:// or https://")
        if ("access_key_id" in options) != ("secret_access_key" in options):
            raise ValueError(f"backend {name}: give access_key_id and secret_access_key together")
        style = options.get("addressing_style", "path")
        if style not in ("path", "virtual", "auto"):
            raise ValueError(f"backend {name}: addressing_style must be path, virtual or auto")
