"""One settings object, built by a pure function from `IMM_*` environment variables.

Nothing else reads the environment: entry points call `Settings.from_env(os.environ)`.
Every variable is listed in README.md with its default.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imm_engine.notify.routes import Routes, parse_routes
from imm_engine.state import connection
from imm_engine.storage.config import StorageConfig, parse_storage_config

DEFAULT_ACCESS_KEY_ID = "imm-local"
DEFAULT_ACCESS_KEY_SECRET = "imm-local-secret"


class SettingsError(ValueError):
    """A variable has a value we cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    #: Redis for task state (and the broker unless `broker_url` is set). Empty: none configured.
    redis_url: str = ""
    broker_url: str = ""
    #: Password of the Sentinels of a `redis+sentinel://` URL (the URL's own password is the
    #: data nodes'); imm_engine/state/connection.py.
    redis_sentinel_password: str = ""
    #: Replicas that must hold a new task before Create*Task answers (WAIT); -1: 1 on
    #: Sentinel, 0 on a plain URL. docs/architecture.md, "Accepted means durable".
    redis_wait_replicas: int = -1
    redis_wait_timeout_ms: int = 1000
    #: Prefix of every Redis key and queue name, so several deployments can share one Redis.
    key_prefix: str = "imm"
    data_dir: Path = Path("var")
    storage_root: Path = Path("var/storage")
    access_keys: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET}
    )
    access_keys_default: bool = True
    region: str = "local"
    account_id: str = "0"
    signature_max_skew_s: int = 900
    task_ttl_s: int = 7 * 24 * 3600
    max_source_bytes: int = 200 * 1024 * 1024
    max_request_bytes: int = 1024 * 1024
    worker_concurrency: int = 0  # 0: one per CPU
    soffice_path: str = ""
    soffice_restart_after: int = 200
    soffice_start_timeout_s: float = 60.0
    convert_timeout_s: float = 300.0
    #: Where each MNS / RocketMQ topic name is delivered (see imm_engine/notify/routes.py).
    notify_routes: Routes = field(default_factory=Routes)
    notify_unknown_topic: str = "reject"  # or "ignore"
    notify_max_attempts: int = 12
    notify_max_backoff_s: float = 300.0
    log_level: str = "info"
    # --- projects ---
    #: Projects the API creates at start when they do not exist (IMM_DEFAULT_PROJECTS).
    default_projects: tuple[str, ...] = ()
    # --- task types (archives, images, media) ---
    #: Most entries an archive may hold (FileUncompression, ArchiveFileInspection).
    archive_max_entries: int = 80_000
    #: Most bytes an archive may expand to, in total (FileUncompression).
    archive_max_bytes: int = 10 * 1024**3
    #: Largest uncompressed/compressed ratio past 1 MiB (zip bombs).
    archive_max_ratio: int = 500
    #: Most files and bytes FileCompression packs into one zip.
    compress_max_files: int = 80_000
    compress_max_bytes: int = 10 * 1024**3
    #: Seconds all the ffmpeg runs of one MediaConvert task may take together.
    media_timeout_s: float = 240.0
    # --- soffice faults ---
    #: LibreOffice crashes/hangs on one document before it is quarantined (0: never).
    quarantine_after: int = 2
    quarantine_ttl_s: int = 7 * 24 * 3600
    # --- split page rendering (workers/split/, docs/architecture.md) ---
    #: Documents with at least this many selected pages are rendered by range sub-tasks on
    #: every worker (0: never split).
    split_min_pages: int = 40
    #: Pages per range sub-task.
    split_range_pages: int = 20
    #: Bucket of the temporary PDF the ranges share (empty: the task's target bucket), kept
    #: under the reserved prefix `.imm-engine/split/`.
    split_bucket: str = ""
    #: Lifetime of that PDF when nothing touches it (an orphan after crashes), in seconds.
    split_scratch_ttl_s: int = 6 * 3600
    #: GetTask shows `WrittenPages` of running OfficeConversion tasks (imm-engine extension).
    early_pages: bool = False
    # --- sandbox and memory bounds (docs/security.md) ---
    #: How LibreOffice runs: "bwrap" (a bubblewrap sandbox) or "off" (unsafe, trusted input only).
    sandbox: str = "bwrap"
    #: Memory (RLIMIT_DATA, MiB) each LibreOffice, ffmpeg and pool process may use; 0: unbounded.
    max_process_memory_mib: int = 2048
    #: The XML parts of an OOXML/ODF package may expand to this many times the file's size
    #: (at least MIN_XML_BYTES in workers/soffice/sniff.py); 0: no check.
    max_xml_ratio: int = 100
    # --- storage ---
    #: Backends, bucket routing and roles (imm_engine/storage/config.py).
    storage: StorageConfig = field(default_factory=StorageConfig)
    # --- fault tolerance (faults-worker) ---
    #: Overrides of the derived run limits (0: derived from `convert_timeout_s`).
    task_time_limit_override_s: int = 0
    task_soft_time_limit_override_s: int = 0
    visibility_timeout_override_s: int = 0
    # --- metrics (docs/metrics.md) ---
    #: Bearer token required by GET /metrics (API and worker endpoint); empty: no token.
    metrics_token: str = ""
    #: Address and port of the worker group's metrics endpoint (port 0: none).
    metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9464
    #: Where the worker group's processes write their metrics (one directory per group).
    metrics_dir: Path = Path("var/metrics")
    # --- the built-in MNS (docs/mns.md) ---
    #: Serve the MNS API (/queues, /topics) on the API port too.
    mns_enabled: bool = True
    #: Port of `imm-engine mns` (the MNS API alone), on IMM_API_HOST.
    mns_port: int = 8081
    # --- monitoring ---
    #: Flower's logins, `user:password` each (IMM_FLOWER_BASIC_AUTH); none: Flower refuses to start.
    flower_basic_auth: tuple[str, ...] = ()
    # --- IMM 2017-09-06 (docs/legacy-2017.md) ---
    #: `host[:port]` names that a 2017 NotifyEndpoint may use for this server's MNS service,
    #: besides the host the request was sent to; `*` accepts every endpoint.
    legacy_mns_endpoints: tuple[str, ...] = ()
    #: Longest wait of the synchronous ConvertOfficeFormat (the old Python SDK gives up at 10 s).
    legacy_convert_wait_s: float = 8.0

    def __post_init__(self) -> None:
        check_time_limits(self)
        check_key_grants(self)

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def durable_replicas(self) -> int:
        """Replicas a new task must reach before Create*Task answers with its TaskId."""
        if self.redis_wait_replicas >= 0:
            return self.redis_wait_replicas
        return 1 if connection.is_sentinel_url(self.redis_url) else 0

    @property
    def concurrency(self) -> int:
        return self.worker_concurrency or os.cpu_count() or 1

    @property
    def task_time_limit_s(self) -> int:
        """Hard limit of one task run: the conversion timeout plus room to fetch and store."""
        return self.task_time_limit_override_s or int(self.convert_timeout_s) + 300

    @property
    def task_soft_time_limit_s(self) -> int:
        """Soft limit: the run is told to stop (and fails) 30 s before the hard limit."""
        return self.task_soft_time_limit_override_s or self.task_time_limit_s - 30

    @property
    def visibility_timeout_s(self) -> int:
        """How long the broker waits before re-delivering an unacknowledged task.

        Above the hard time limit, so a task still running is never delivered twice.
        """
        return self.visibility_timeout_override_s or self.task_time_limit_s + 300

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        g = _Reader(env)
        data_dir = Path(g.text("IMM_DATA_DIR", "var"))
        keys, default_keys = _access_keys(g)
        return cls(
            api_host=g.text("IMM_API_HOST", "127.0.0.1"),
            api_port=g.integer("IMM_API_PORT", 8080, 0, 65535),
            redis_url=g.redis_url("IMM_REDIS_URL"),
            broker_url=g.redis_url("IMM_BROKER_URL"),
            redis_sentinel_password=g.text("IMM_REDIS_SENTINEL_PASSWORD", ""),
            redis_wait_replicas=g.integer("IMM_REDIS_WAIT_REPLICAS", -1, -1, 16),
            redis_wait_timeout_ms=g.integer("IMM_REDIS_WAIT_TIMEOUT", 1000, 1, 60_000),
            key_prefix=g.ident("IMM_KEY_PREFIX", "imm"),
            data_dir=data_dir,
            storage_root=Path(g.text("IMM_STORAGE_ROOT", str(data_dir / "storage"))),
            access_keys=keys,
            access_keys_default=default_keys,
            region=g.text("IMM_REGION", "local"),
            account_id=g.text("IMM_ACCOUNT_ID", "0"),
            signature_max_skew_s=g.integer("IMM_SIGNATURE_MAX_SKEW", 900, 1, 86400),
            task_ttl_s=g.integer("IMM_TASK_TTL", 7 * 24 * 3600, 60, 10 * 365 * 86400),
            max_source_bytes=g.integer("IMM_MAX_SOURCE_BYTES", 200 * 1024 * 1024, 1, 1 << 40),
            max_request_bytes=g.integer("IMM_MAX_REQUEST_BYTES", 1024 * 1024, 1024, 1 << 30),
            worker_concurrency=g.integer("IMM_WORKER_CONCURRENCY", 0, 0, 256),
            soffice_path=g.text("IMM_SOFFICE_PATH", ""),
            soffice_restart_after=g.integer("IMM_SOFFICE_RESTART_AFTER", 200, 0, 1_000_000),
            soffice_start_timeout_s=g.number("IMM_SOFFICE_START_TIMEOUT", 60.0, 1, 3600),
            convert_timeout_s=g.number("IMM_CONVERT_TIMEOUT", 300.0, 1, 86400),
            notify_routes=_notify_routes(g),
            notify_unknown_topic=g.choice(
                "IMM_NOTIFY_UNKNOWN_TOPIC", "reject", ("reject", "ignore")
            ),
            notify_max_attempts=g.integer("IMM_NOTIFY_MAX_ATTEMPTS", 12, 1, 1000),
            notify_max_backoff_s=g.number("IMM_NOTIFY_MAX_BACKOFF", 300.0, 0.01, 86400),
            log_level=g.choice("IMM_LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
            # --- projects ---
            default_projects=_project_names(g.text("IMM_DEFAULT_PROJECTS", "")),
            # --- task types (archives, images, media) ---
            archive_max_entries=g.integer("IMM_ARCHIVE_MAX_ENTRIES", 80_000, 1, 10_000_000),
            archive_max_bytes=g.integer("IMM_ARCHIVE_MAX_BYTES", 10 * 1024**3, 1, 1 << 50),
            archive_max_ratio=g.integer("IMM_ARCHIVE_MAX_RATIO", 500, 2, 1_000_000),
            compress_max_files=g.integer("IMM_COMPRESS_MAX_FILES", 80_000, 1, 10_000_000),
            compress_max_bytes=g.integer("IMM_COMPRESS_MAX_BYTES", 10 * 1024**3, 1, 1 << 50),
            media_timeout_s=g.number("IMM_MEDIA_TIMEOUT", 240.0, 1, 86400),
            # --- soffice faults ---
            quarantine_after=g.integer("IMM_QUARANTINE_AFTER", 2, 0, 100),
            quarantine_ttl_s=g.integer("IMM_QUARANTINE_TTL", 7 * 24 * 3600, 60, 365 * 86400),
            # --- split page rendering ---
            split_min_pages=g.integer("IMM_SPLIT_MIN_PAGES", 40, 0, 1_000_000),
            split_range_pages=g.integer("IMM_SPLIT_RANGE_PAGES", 20, 1, 100_000),
            split_bucket=g.text("IMM_SPLIT_BUCKET", ""),
            split_scratch_ttl_s=g.integer("IMM_SPLIT_SCRATCH_TTL", 6 * 3600, 60, 30 * 86400),
            early_pages=g.flag("IMM_EARLY_PAGES", False),
            # --- sandbox and memory bounds ---
            sandbox=g.choice("IMM_SANDBOX", "bwrap", ("bwrap", "off")),
            max_process_memory_mib=g.integer("IMM_MAX_PROCESS_MEMORY", 2048, 0, 1 << 24),
            max_xml_ratio=g.integer("IMM_MAX_XML_RATIO", 100, 0, 1_000_000),
            # --- storage ---
            storage=_storage_config(g),
            # --- fault tolerance (faults-worker) ---
            task_time_limit_override_s=g.integer("IMM_TASK_TIME_LIMIT", 0, 0, 30 * 86400),
            task_soft_time_limit_override_s=g.integer("IMM_TASK_SOFT_TIME_LIMIT", 0, 0, 30 * 86400),
            visibility_timeout_override_s=g.integer("IMM_VISIBILITY_TIMEOUT", 0, 0, 30 * 86400),
            # --- metrics ---
            metrics_token=g.text("IMM_METRICS_TOKEN", ""),
            metrics_host=g.text("IMM_METRICS_HOST", "127.0.0.1"),
            worker_metrics_port=g.integer("IMM_WORKER_METRICS_PORT", 9464, 0, 65535),
            metrics_dir=Path(g.text("IMM_METRICS_DIR", str(data_dir / "metrics"))),
            # --- the built-in MNS ---
            mns_enabled=g.choice("IMM_MNS", "on", ("on", "off")) == "on",
            mns_port=g.integer("IMM_MNS_PORT", 8081, 0, 65535),
            # --- monitoring ---
            flower_basic_auth=_flower_logins(g.raw("IMM_FLOWER_BASIC_AUTH")),
            # --- IMM 2017-09-06 ---
            legacy_mns_endpoints=_host_list(g.text("IMM_LEGACY_MNS_ENDPOINTS", "")),
            legacy_convert_wait_s=g.number("IMM_LEGACY_CONVERT_WAIT", 8.0, 0.5, 300),
        )


def check_time_limits(s: Settings) -> None:
    """visibility timeout > hard limit > soft limit > conversion timeout, or SettingsError.

    A message is re-delivered when it has been unacknowledged for the visibility timeout; a run
    is killed at the hard limit. With this order a run still going is never handed to a second
    worker, and LibreOffice's own watchdog and the soft limit act before the kill."""
    order = [
        ("IMM_VISIBILITY_TIMEOUT", float(s.visibility_timeout_s)),
        ("IMM_TASK_TIME_LIMIT", float(s.task_time_limit_s)),
        ("IMM_TASK_SOFT_TIME_LIMIT", float(s.task_soft_time_limit_s)),
        ("IMM_CONVERT_TIMEOUT", s.convert_timeout_s),
    ]
    for (upper, above), (lower, below) in itertools.pairwise(order):
        if not above > below:
            raise SettingsError(
                f"{upper} ({above:g} s) must be greater than {lower} ({below:g} s): "
                "visibility timeout > task time limit > soft time limit > conversion timeout"
            )


def check_key_grants(s: Settings) -> None:
    """Every AccessKey has a grant (IMM_STORAGE_CONFIG "keys"), or SettingsError naming it.

    A single key without a "keys" section may do everything; see docs/security.md."""
    problem = s.storage.key_grants.problem(list(s.access_keys))
    if problem:
        raise SettingsError(f"IMM_STORAGE_CONFIG: {problem}")


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def text(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None else value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        return int(self._ranged(name, default, lo, hi, int, "an integer"))

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        return float(self._ranged(name, default, lo, hi, float, "a number"))

    def _ranged(
        self,
        name: str,
        default: float,
        lo: float,
        hi: float,
        parse: Callable[[str], float],
        kind: str,
    ) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = parse(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r} is not {kind}") from None
        if not lo <= number <= hi:
            raise SettingsError(f"{name}={number} is outside {lo}..{hi}")
        return number

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in options:
            raise SettingsError(f"{name}={value!r}: choose one of {', '.join(options)}")
        return value

    def redis_url(self, name: str) -> str:
        """A Redis URL (or, for the broker, any other URL kombu takes), checked if Sentinel."""
        value = self.text(name, "")
        if connection.is_sentinel_url(value):
            try:
                connection.parse(value)
            except connection.RedisUrlError as exc:
                raise SettingsError(f"{name}: {exc}") from None
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name, "true" if default else "false").lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={value!r}: use true or false")

    def ident(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not value.replace("-", "").replace("_", "").isalnum():
            raise SettingsError(f"{name}={value!r}: use letters, digits, '-' and '_' only")
        return value


def _access_keys(g: _Reader) -> tuple[dict[str, str], bool]:
    keys: dict[str, str] = {}
    ak, secret = g.raw("IMM_ACCESS_KEY_ID"), g.raw("IMM_ACCESS_KEY_SECRET")
    if (ak is None) != (secret is None):
        raise SettingsError("set both IMM_ACCESS_KEY_ID and IMM_ACCESS_KEY_SECRET, or neither")
    if ak and secret:
        keys[ak] = secret
    extra = g.raw("IMM_ACCESS_KEYS")
    if extra:
        for pair in extra.split(","):
            key_id, sep, key_secret = pair.strip().partition(":")
            if not sep or not key_id or not key_secret:
                raise SettingsError("IMM_ACCESS_KEYS must look like 'id1:secret1,id2:secret2'")
            keys[key_id] = key_secret
    if keys:
        return keys, False
    return {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET}, True


FLOWER_MIN_PASSWORD = 8


def _flower_logins(value: str | None) -> tuple[str, ...]:
    """`user:password[,user:password]`, Flower's own format (a password holds no ',')."""
    if value is None:
        return ()
    logins = tuple(p.strip() for p in value.split(","))
    for login in logins:
        user, sep, password = login.partition(":")
        if not sep or not user or not password:
            raise SettingsError(
                "IMM_FLOWER_BASIC_AUTH must look like 'user:password' "
                "(several: 'user1:password1,user2:password2')"
            )
        if len(password) < FLOWER_MIN_PASSWORD:
            raise SettingsError(
                f"IMM_FLOWER_BASIC_AUTH: the password of {user!r} is shorter than "
                f"{FLOWER_MIN_PASSWORD} characters"
            )
    return logins


def _notify_routes(g: _Reader) -> Routes:
    topics: dict[str, Any] = {}
    path = g.raw("IMM_NOTIFY_CONFIG")
    if path:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"IMM_NOTIFY_CONFIG={path!r}: {exc}") from None
        if not isinstance(document, dict):
            raise SettingsError(f"IMM_NOTIFY_CONFIG={path!r}: expected a JSON object")
        section = document.get("topics", document)
        if not isinstance(section, dict):
            raise SettingsError(f"IMM_NOTIFY_CONFIG={path!r}: 'topics' must be a JSON object")
        topics.update(section)
    inline = g.raw("IMM_NOTIFY_TOPICS")
    if inline:
        try:
            document = json.loads(inline)
        except ValueError as exc:
            raise SettingsError(f"IMM_NOTIFY_TOPICS is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise SettingsError("IMM_NOTIFY_TOPICS must be a JSON object of topic -> destination")
        topics.update(document)
    # Parsed now, so that a bad destination stops the service at start, not at delivery time.
    try:
        return parse_routes(topics)
    except ValueError as exc:
        raise SettingsError(f"notification topics: {exc}") from None


def _host_list(text: str) -> tuple[str, ...]:
    """`host[:port]` names (or URLs), comma- or space-separated; `*` alone means any."""
    return tuple(h for h in text.replace(",", " ").split() if h)


def _project_names(text: str) -> tuple[str, ...]:
    import re

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$", name):
            raise SettingsError(
                f"IMM_DEFAULT_PROJECTS: {name!r} is not a project name (1-128 letters, digits, "
                "'-' and '_', starting with a letter or '_')"
            )
    return names


def _storage_config(g: _Reader) -> StorageConfig:
    """`IMM_STORAGE_CONFIG`: inline JSON (starting with `{`) or the path of a JSON file."""
    value = g.raw("IMM_STORAGE_CONFIG")
    if value is None:
        return StorageConfig()
    try:
        if value.startswith("{"):
            document = json.loads(value)
        else:
            document = json.loads(Path(value).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        shown = "(inline JSON)" if value.startswith("{") else repr(value)
        raise SettingsError(f"IMM_STORAGE_CONFIG {shown}: {exc}") from None
    try:
        return parse_storage_config(document, g.env)
    except ValueError as exc:
        raise SettingsError(f"IMM_STORAGE_CONFIG: {exc}") from None
