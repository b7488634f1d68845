"""Every Redis client imm-engine opens, built from one URL by one factory.

`IMM_REDIS_URL` (and `IMM_BROKER_URL`, and a `redis_stream` destination's `url`) is either a
plain redis-py URL (`redis://`, `rediss://`, `unix://`) or a Sentinel URL:

    redis+sentinel://[[user]:password@]host:port[,host:port...]/<master name>[/<db>]

The hosts are the Sentinels; `password` (and `user`) are the data nodes' credentials. The
Sentinels' own password comes from `IMM_REDIS_SENTINEL_PASSWORD` or, for a URL used outside
the settings (a notification destination), the `sentinel_password` query parameter. A
Sentinel client asks the Sentinels for the current master on every new connection and drops
a connection whose server answers READONLY (a demoted master), so after a failover the next
command goes to the new master. `parse` is pure; `connect` builds the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import redis
import redis.asyncio
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
PLAIN_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_SENTINEL_PORT = 26379
#: Retries of a command whose connection failed (a new connection each time, so a new master
#: lookup on Sentinel), with a short backoff: a failover is answered 503 quickly, not waited.
RETRIES = 2


class RedisUrlError(ValueError):
    """The URL cannot be used; the message says why."""


@dataclass(frozen=True)
class RedisTarget:
    """Where a client connects: a plain URL, or Sentinels and a master name."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)


def is_sentinel_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SENTINEL_SCHEMES


def parse(url: str, sentinel_password: str = "") -> RedisTarget:
    """A Redis URL as a RedisTarget, or RedisUrlError naming what is wrong."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in PLAIN_SCHEMES:
        return RedisTarget(url=url)
    if scheme not in SENTINEL_SCHEMES:
        raise RedisUrlError(
            f"{_shown(url)}: use redis://, rediss://, unix:// or "
            "redis+sentinel://host:port[,host:port...]/<master name>[/<db>]"
        )
    rest = url.split("://", 1)[1]
    authority = rest.split("/", 1)[0]
    userinfo, hostpart = "", rest
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        hostpart = rest[len(userinfo) + 1 :]
    hosts_text, _, tail = hostpart.partition("/")
    path, _, query = tail.partition("?")
    username: str | None = None
    password: str | None = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else unquote(user)
        if not colon:
            username = None
    sentinels = tuple(_host_port(h, url) for h in hosts_text.split(",") if h.strip())
    if not sentinels:
        raise RedisUrlError(f"{_shown(url)}: no Sentinel host:port")
    parts = [unquote(p) for p in path.split("/") if p != ""]
    if not parts:
        raise RedisUrlError(f"{_shown(url)}: the master name is missing (…/<master name>)")
    if len(parts) > 2:
        raise RedisUrlError(f"{_shown(url)}: expected /<master name>[/<db>]")
    db = 0
    if len(parts) == 2:
        if not parts[1].isdigit() or int(parts[1]) > 15:
            raise RedisUrlError(f"{_shown(url)}: the database must be 0-15, not {parts[1]!r}")
        db = int(parts[1])
    params = parse_qs(query)
    from_query = params.get("sentinel_password", [""])[-1]
    unknown = set(params) - {"sentinel_password"}
    if unknown:
        raise RedisUrlError(f"{_shown(url)}: unknown parameter {sorted(unknown)[0]!r}")
    return RedisTarget(
        url=url,
        sentinels=sentinels,
        master_name=parts[0],
        db=db,
        username=username,
        password=password,
        sentinel_password=from_query or sentinel_password or None,
        ssl=scheme.startswith("rediss"),
    )


def _host_port(text: str, url: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [::1]:26379
        host, _, port = text[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        raise RedisUrlError(f"{_shown(url)}: {text!r} is not host:port")
    if port == "":
        return host, DEFAULT_SENTINEL_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError(f"{_shown(url)}: {text!r} has no valid port")
    return host, int(port)


def _shown(url: str) -> str:
    """The URL without its password, for messages and logs."""
    head, sep, rest = url.partition("://")
    if not sep:
        return repr(url[:80])
    hosts = rest.split("/", 1)[0]
    if "@" in hosts:
        rest = "***@" + rest.split("@", 1)[1]
    return repr(f"{head}://{rest}"[:200])


def redacted(url: str) -> str:
    return _shown(url).strip("'\"")


def connect(
    url: str,
    *,
    sentinel_password: str = "",
    socket_timeout: float = 5.0,
    socket_connect_timeout: float = 2.0,
    health_check_interval: int = 30,
    decode_responses: bool = False,
) -> redis.Redis:
    """A client of the Redis `url` names (on Sentinel: of its current master)."""
    target = parse(url, sentinel_password)
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES)
    common: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "health_check_interval": health_check_interval,
        "decode_responses": decode_responses,
        "retry": retry,
        "retry_on_error": [redis.exceptions.ConnectionError],
    }
    if not target.is_sentinel:
        return redis.Redis.from_url(url, **common)
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": min(socket_connect_timeout, 1.0),
        "socket_connect_timeout": min(socket_connect_timeout, 1.0),
    }
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    sentinel = Sentinel(
        list(target.sentinels),
        sentinel_kwargs=sentinel_kwargs,
        ssl=target.ssl,
    )
    client: redis.Redis = sentinel.master_for(
        target.master_name,
        db=target.db,
        username=target.username,
        password=target.password,
        check_connection=True,
        **common,
    )
    return client


def connect_async(
    url: str,
    *,
    sentinel_password: str = "",
    socket_timeout: float = 5.0,
    socket_connect_timeout: float = 2.0,
) -> redis.asyncio.Redis:
    """An asyncio client of the Redis `url` names (the MNS service's long polls)."""
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.asyncio.sentinel import Sentinel as AsyncSentinel

    target = parse(url, sentinel_password)
    common: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "retry": AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES),
        "retry_on_error": [redis.exceptions.ConnectionError],
    }
    if not target.is_sentinel:
        return redis.asyncio.Redis.from_url(url, **common)
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": min(socket_connect_timeout, 1.0),
        "socket_connect_timeout": min(socket_connect_timeout, 1.0),
    }
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    sentinel = AsyncSentinel(
        list(target.sentinels), sentinel_kwargs=sentinel_kwargs, ssl=target.ssl
    )
    client: redis.asyncio.Redis = sentinel.master_for(
        target.master_name,
        db=target.db,
        username=target.username,
        password=target.password,
        **common,
    )
    return client


def with_sentinel_password(url: str, sentinel_password: str) -> str:
    """`url` carrying the Sentinels' password in its query, for a URL handed to another
    process or destination (the CLI's event stream); other URLs are returned as they are."""
    if not sentinel_password or not is_sentinel_url(url) or "sentinel_password=" in url:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}sentinel_password={quote(sentinel_password, safe='')}"


def refused_for_replication(exc: Exception) -> bool:
    """A write refused because the master has too few replicas (`min-replicas-to-write`)."""
    return isinstance(exc, redis.exceptions.ResponseError) and "NOREPLICAS" in str(exc)


def kombu_broker(url: str, sentinel_password: str = "") -> tuple[str, dict[str, Any]]:
    """kombu's spelling of a broker URL, and the transport options it needs.

    kombu names each Sentinel `sentinel://[:password@]host:port` (joined by `;`) and takes
    the master name, the database and the Sentinels' own credentials as transport options.
    """
    if url.startswith("unix://"):  # redis-py spelling -> kombu spelling
        return "redis+socket://" + url[len("unix://") :], {}
    if not is_sentinel_url(url):
        return url, {}
    target = parse(url, sentinel_password)
    auth = ""
    if target.password is not None:
        auth = f"{target.username or ''}:{_quote(target.password)}@"
    hosts = ";".join(f"sentinel://{auth}{h}:{p}/{target.db}" for h, p in target.sentinels)
    options: dict[str, Any] = {"master_name": target.master_name}
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    options["sentinel_kwargs"] = sentinel_kwargs
    return hosts, options


def _quote(text: str) -> str:
    return quote(text, safe="")


__all__ = [
    "RedisTarget",
    "RedisUrlError",
    "connect",
    "connect_async",
    "is_sentinel_url",
    "kombu_broker",
    "parse",
    "redacted",
    "with_sentinel_password",
]
