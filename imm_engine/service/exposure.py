"""What the service exposes, checked before it listens: the API with the public default key
pair only on loopback, Flower only behind a login (README "Running in containers")."""

from __future__ import annotations

import ipaddress

from imm_engine.settings import DEFAULT_ACCESS_KEY_ID, Settings


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: `localhost`, 127.0.0.0/8, ::1."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to anything


def api_refusal(settings: Settings) -> str | None:
    """Why the API must not listen as configured, or None. Anyone who reaches the API with the
    public default key pair (it is in the README) can use it, so that pair is for loopback only."""
    if settings.access_keys_default and not is_loopback(settings.api_host):
        return (
            f"IMM_API_HOST={settings.api_host} can be reached from other machines, and the "
            f"AccessKey is the public default pair ({DEFAULT_ACCESS_KEY_ID}): set "
            "IMM_ACCESS_KEY_ID and IMM_ACCESS_KEY_SECRET (or IMM_ACCESS_KEYS), "
            "or listen on 127.0.0.1"
        )
    return None


def api_banner(settings: Settings) -> str:
    """The start-up line: where the API listens and which AccessKey ids it accepts (no secret)."""
    ids = ", ".join(sorted(settings.access_keys))
    kind = " (the public default pair: loopback only)" if settings.access_keys_default else ""
    return (
        f"API listening on http://{settings.api_host}:{settings.api_port}; "
        f"AccessKey ids: {ids}{kind}"
    )


def flower_refusal(settings: Settings) -> str | None:
    """Flower can shut workers down and queue tasks past the API's checks: never without login."""
    if not settings.flower_basic_auth:
        return (
            "Flower needs a login: set IMM_FLOWER_BASIC_AUTH=user:password "
            "(several: user1:password1,user2:password2)"
        )
    return None


def flower_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """Flower's environment: the login from our settings (FLOWER_BASIC_AUTH, so the password is
    not on the command line), and no way to open its API without it."""
    out = {k: v for k, v in env.items() if not k.startswith("FLOWER_")}
    out["FLOWER_BASIC_AUTH"] = ",".join(s.get_secret_value() for s in settings.flower_basic_auth)
    return out
