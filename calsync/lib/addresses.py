"""Which network addresses an outbound connection may reach: the seam's defence against SSRF.

A name is resolved once, every address it resolves to is checked against the policy, and the
transport connects to exactly those checked addresses (``AddressGuard.addresses``), so a name that
answers with a public address at check time and a private one at connect time (DNS rebinding)
never gets through: there is no second lookup.

Pure: no Django. The policy is built from settings and the account's owner in ``http.py``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> the addresses to try, in order. Tests inject one instead of real DNS.
Resolver = Callable[[str, int], list[str]]

# What a self-hosted LAN server lives on: RFC 1918, RFC 6598 carrier-grade NAT, IPv6 unique local.
PRIVATE_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))

_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?")

LOOPBACK = "loopback"
PRIVATE = "private network"


class AddressRefused(Exception):
    """The policy forbids every connection to this host; nothing was sent (not an OSError on purpose:
    a refusal is final, never retried, and reads the same whether a port there is open or closed)."""

    def __init__(self, host: str, category: str) -> None:
        super().__init__(f"{host} is a {category} address")
        self.host = host
        self.category = category


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), if any.

    Each of these forms reaches an IPv4 host, so ``::ffff:127.0.0.1`` is loopback too.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in NAT64_NETWORKS) or (int(ip) < 2**32 and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def category(ip: IPAddress) -> str | None:
    """What kind of non-public address ``ip`` is, or None for an address on the public internet."""
    ip = embedded_ipv4(ip) or ip
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_loopback:
        return LOOPBACK
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if any(ip in net for net in PRIVATE_NETWORKS):
        return PRIVATE
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """What one account may connect to. Public addresses are always allowed.

    ``private`` opens PRIVATE_NETWORKS, ``loopback`` this machine; link-local (cloud metadata),
    multicast and reserved addresses stay closed unless named in ``allowed_networks``, which (with
    ``allowed_hosts``, host names compared case-insensitively) are the operator's exceptions.
    """

    private: bool = False
    loopback: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """The category that keeps ``host`` (resolved to ``ip``) out, or None when it may be reached."""
        kind = category(ip)
        if kind is None or host.lower().rstrip(".") in self.allowed_hosts:
            return None
        inner = embedded_ipv4(ip)
        if any(address in net for net in self.allowed_networks for address in (ip, inner) if address is not None):
            return None
        if kind == LOOPBACK and self.loopback:
            return None
        if kind == PRIVATE and self.private:
            return None
        return kind


def parse_allow_list(entries: Iterable[str]) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """Split ``CALSYNC_ALLOWED_PRIVATE_NETWORKS`` into networks (addresses, CIDRs) and host names."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if not _HOST_NAME.fullmatch(entry):
                raise ValueError(f"{entry!r} is neither an address, a network (CIDR) nor a host name") from None
            hosts.add(entry.lower().rstrip("."))
    return tuple(networks), frozenset(hosts)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the system's order, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]).split("%", 1)[0] for *_rest, sockaddr in infos))


class AddressGuard:
    """Resolves a host once and hands out only addresses the policy allows."""

    def __init__(self, policy: NetworkPolicy, resolver: Resolver | None = None) -> None:
        self.policy = policy
        self._resolver = resolver

    def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to. Raises AddressRefused if any address of ``host`` is
        refused (a name with one public and one private record is refused as a whole), and
        OSError (socket.gaierror) when the name does not resolve."""
        host = host.strip("[]")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            literal = None
        resolve = self._resolver or system_resolver
        found = [str(literal)] if literal is not None else resolve(host, port)
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "no addresses")
        for address in found:
            refused = self.policy.refusal(host, ipaddress.ip_address(address))
            if refused:
                raise AddressRefused(host, refused)
        return found

    def connect(
        self, address: tuple[str, int], timeout: float | None = None, source_address: tuple[str, int] | None = None
    ) -> socket.socket:
        """A drop-in for ``socket.create_connection`` that dials only checked addresses."""
        host, port = address
        error: OSError | None = None
        for ip in self.addresses(host, port):
            try:
                return socket.create_connection((ip, port), timeout, source_address)
            except OSError as exc:
                error = exc
        assert error is not None
        raise error
