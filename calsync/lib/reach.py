"""URLs as the HTTP seam accepts them, and where an account may connect, by who owns it.

The address checks themselves are ``addresses.py`` (pure); this module builds the policy from the
settings and the owner, and says why a URL is refused in words a person can act on.
"""

from __future__ import annotations

from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from calsync.lib.addresses import AddressGuard, AddressRefused, IPNetwork, NetworkPolicy, parse_allow_list
from calsync.lib.errors import ConfigError

# --- URLs --------------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """``webcal://`` becomes ``https://`` (how calendar apps link feeds); userinfo is dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in ("webcal", "webcals"):
        scheme = "https"
    if scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{display_url(url)!r} is not an http(s) URL", url=display_url(url))
    return urlunsplit((scheme, _netloc(parts), parts.path or "/", parts.query, ""))


def credentials_from_url(url: str) -> tuple[str, str]:
    """The ``user:password@`` part of a pasted URL, percent-decoded; empty strings when absent."""
    parts = urlsplit(url.strip())
    return (unquote(parts.username or ""), unquote(parts.password or ""))


def display_url(url: str) -> str:
    """A URL safe for messages and logs: no userinfo, no query string (feed tokens live there)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "<invalid URL>"
    return urlunsplit((parts.scheme, _netloc(parts), parts.path, "", ""))


def host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


def _netloc(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


# --- the address policy -------------------------------------------------------------------------


def _allow_list() -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    try:
        return parse_allow_list(settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CALSYNC_ALLOWED_PRIVATE_NETWORKS: {exc}") from None


def network_policy(*, staff: bool) -> NetworkPolicy:
    """What an account may reach, by who owns it.

    Staff run the server: their accounts may reach the LAN and this machine (a Nextcloud next
    door, a Radicale on localhost) unless CALSYNC_BLOCK_PRIVATE_ADDRESSES is set. Everybody else
    reaches the public internet only, whatever the setting. CALSYNC_ALLOWED_PRIVATE_NETWORKS names
    exceptions for everyone. Link-local (cloud metadata), multicast and reserved addresses are never
    reached unless named there.
    """
    networks, hosts = _allow_list()
    trusted = staff and not settings.CALSYNC_BLOCK_PRIVATE_ADDRESSES
    return NetworkPolicy(private=trusted, loopback=trusted, allowed_networks=networks, allowed_hosts=hosts)


def refused_error(exc: AddressRefused, url: str) -> ConfigError:
    return ConfigError(
        f"Refusing to connect to {exc.host}: it is a {exc.category} address, which this account may not reach "
        "(nothing was sent; CALSYNC_ALLOWED_PRIVATE_NETWORKS names exceptions)",
        url=display_url(url),
    )


def address_refusal(url: str, policy: NetworkPolicy) -> str | None:
    """Why ``url`` can never be reached under ``policy``, judged without DNS: an address literal
    or a ``localhost`` name. Saving such a URL is refused with this message; a name is judged on
    every connection instead, on the addresses it resolves to then."""
    try:
        url = normalize_url(url)
    except ConfigError:
        return None  # not an http(s) URL at all: the field's own validator says so
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    guard = AddressGuard(policy, resolver=_no_dns)
    try:
        guard.addresses(host, port)
    except AddressRefused as exc:
        return refused_error(exc, url).message
    except OSError:
        return None
    return None


def _no_dns(host: str, port: int) -> list[str]:
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761 section 6.3: always loopback
        return ["127.0.0.1"]
    raise OSError("not resolved at save time")


def origin_of(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80))
