"""The client's address: the one answer that login lock-outs and the booking limit both use.

Behind a reverse proxy every request comes from the proxy's address, so limits keyed on
``REMOTE_ADDR`` become one bucket shared by everybody. ``X-Forwarded-For`` is only believed when
the request arrives from a proxy named in ``CALSYNC_TRUSTED_PROXIES``, and then it is read from
the right: each trusted proxy appends the address it saw, so the rightmost hop that is *not* a
trusted proxy is the client. Everything left of it was written by the client and may be forged.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: list[str] | tuple[str, ...], *, setting: str = "CALSYNC_TRUSTED_PROXIES") -> list[Network]:
    """Addresses or CIDRs (``10.0.0.0/8``, ``::1``) as networks; a typo is a start-up error."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{setting}: {value!r} is not an IP address or CIDR network") from None
    return networks


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(parse_networks(values))


def _is_trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def _parse_hop(hop: str) -> Address | None:
    """One X-Forwarded-For entry; some proxies add a port (``1.2.3.4:5678``, ``[::1]:80``)."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1:].partition("]")[0]
    elif hop.count(":") == 1:
        hop = hop.partition(":")[0]
    try:
        address = ipaddress.ip_address(hop)
    except ValueError:
        return None
    # An IPv4 client seen on a dual-stack socket: one client, one key.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def peer_is_trusted_proxy(request: HttpRequest) -> bool | None:
    """Whether the connection comes from a trusted proxy; ``None`` when none are configured."""
    networks = _trusted(tuple(settings.CALSYNC_TRUSTED_PROXIES))
    if not networks:
        return None
    peer = _parse_hop(request.META.get("REMOTE_ADDR", "") or "")
    return peer is not None and _is_trusted(peer, networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address as a string ("" when the WSGI server gave none)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _trusted(tuple(settings.CALSYNC_TRUSTED_PROXIES))
    peer = _parse_hop(remote)
    if peer is None:
        return remote
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _parse_hop(hop)
        if address is None:
            # A trusted proxy always writes a valid address; garbage comes from the client's side
            # of the chain, so the last address a trusted hop vouched for is all we know.
            break
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)
