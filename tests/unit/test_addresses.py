"""Which webhook addresses are refused (imm_engine/notify/addresses.py `private_reason`)."""

from __future__ import annotations

import pytest

from imm_engine.notify.addresses import private_reason

REFUSED = [
    # (address, reason fragment)
    pytest.param("127.0.0.1", "127.0.0.1 is a loopback address", id="loopback"),
    pytest.param("127.255.255.254", "is a loopback address", id="loopback-range"),
    pytest.param("10.0.0.1", "10.0.0.1 is a private address", id="10/8"),
    pytest.param("10.255.255.255", "is a private address", id="10/8-end"),
    pytest.param("172.16.0.1", "is a private address", id="172.16/12-start"),
    pytest.param("172.31.255.254", "is a private address", id="172.16/12-end"),
    pytest.param("192.168.1.1", "is a private address", id="192.168/16"),
    pytest.param("169.254.169.254", "169.254.169.254 is a link-local address",
                 id="cloud-metadata-link-local"),
    pytest.param("100.100.100.200", "100.100.100.200 is not a globally routable address",
                 id="alibaba-cloud-metadata-100.64/10"),
    pytest.param("100.64.0.1", "is not a globally routable address", id="cgnat-start"),
    pytest.param("100.127.255.254", "is not a globally routable address", id="cgnat-end"),
    pytest.param("0.0.0.0", "is a private address", id="this-network"),
    pytest.param("224.0.0.1", "is a multicast address", id="multicast"),
    pytest.param("240.0.0.1", "240.0.0.1 is a private address", id="class-e"),
    pytest.param("::1", "::1 is a loopback address", id="ipv6-loopback"),
    pytest.param("fe80::1", "fe80::1 is a link-local address", id="ipv6-link-local"),
    pytest.param("fc00::1", "is a private address", id="ipv6-unique-local"),
    pytest.param("::ffff:127.0.0.1", "127.0.0.1 is a loopback address", id="v4-mapped-loopback"),
    pytest.param("::ffff:10.1.2.3", "10.1.2.3 is a private address", id="v4-mapped-private"),
    pytest.param("::ffff:169.254.169.254", "169.254.169.254 is a link-local address",
                 id="v4-mapped-link-local"),
    pytest.param("ff02::1", "is a multicast address", id="ipv6-multicast"),
]  # fmt: skip


@pytest.mark.parametrize(("ip", "fragment"), REFUSED)
def test_refused(ip: str, fragment: str) -> None:
    reason = private_reason(ip)
    assert reason is not None
    assert fragment in reason


PUBLIC = [
    pytest.param("8.8.8.8", id="google-dns"),
    pytest.param("1.1.1.1", id="cloudflare"),
    pytest.param("172.32.0.1", id="just-above-172.16/12"),
    pytest.param("172.15.255.255", id="just-below-172.16/12"),
    pytest.param("100.128.0.1", id="just-above-100.64/10"),
    pytest.param("2001:4860:4860::8888", id="ipv6-public"),
    pytest.param("::ffff:8.8.8.8", id="v4-mapped-public"),
]  # fmt: skip


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_is_allowed(ip: str) -> None:
    assert private_reason(ip) is None


def test_not_an_address_raises() -> None:
    with pytest.raises(ValueError):
        private_reason("example.com")
