"""Which hosts a webhook may reach: public addresses only, unless a route allows private."""

from __future__ import annotations

import ipaddress
import socket


def private_reason(ip: str) -> str | None:
    """Why `ip` is not a public unicast address, or None when it is (pure)."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    for attr, reason in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(addr, attr):
            return f"{addr} is a {reason} address"
    if not addr.is_global:  # 100.64.0.0/10 (shared; Alibaba Cloud's metadata 100.100.100.200)
        return f"{addr} is not a globally routable address"
    return None


def check_host(host: str, port: int) -> str | None:
    """Resolve `host`; a reason to refuse it when any of its addresses is not public."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    for info in infos:
        reason = private_reason(str(info[4][0]))
        if reason:
            return reason
    return None
