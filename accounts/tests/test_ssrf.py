"""The HTTP seam against server-side request forgery: what an account may reach, by who owns it.

Non-loopback addresses are never dialled here: names are resolved by an injected resolver, and
``connects`` records every socket the seam opens, so "refused before connecting" is asserted,
not assumed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, AuthError, ConfigError, TransientError
from calsync.lib.addresses import AddressGuard, AddressRefused, NetworkPolicy, category, parse_allow_list
from calsync.lib.http import HttpClient, network_policy, normalize_url
from calsync.lib.reach import address_refusal
from calsync.testing.hostile import SECRET_PAGE, internal_page, recording_server, redirect_to
from calsync.testing.servers import DavServer, free_port

STRANGER = NetworkPolicy()  # a non-staff owner's account with no exceptions


@pytest.fixture
def connects(monkeypatch) -> list[tuple[str, int]]:
    """Every (address, port) the seam dials, in order."""
    dialled: list[tuple[str, int]] = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        dialled.append((address[0], address[1]))
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return dialled


def resolver(table: dict[str, list[list[str]]]) -> Callable[[str, int], list[str]]:
    """Answers each name with the next answer in its list (the last one repeats), like a rebinding DNS server."""
    calls: dict[str, int] = {}

    def resolve(host: str, port: int) -> list[str]:
        answers = table[host]
        n = calls[host] = calls.get(host, -1) + 1
        return answers[min(n, len(answers) - 1)]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private network"),
        ("172.16.5.4", "private network"),
        ("192.168.1.10", "private network"),
        ("100.64.0.1", "private network"),
        ("fd12:3456::1", "private network"),
        ("::ffff:10.0.0.1", "private network"),
        ("64:ff9b::a00:1", "private network"),
        ("2002:a00:1::1", "private network"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to classify, not one to bind
        ("::", "unspecified"),
        ("0.1.2.3", "reserved"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_it_sorts_every_address_into_what_it_reaches(address: str, kind: str | None) -> None:
    assert category(ipaddress.ip_address(address)) == kind


def test_staff_reach_the_lan_and_this_machine_but_never_metadata(settings) -> None:
    staff = network_policy(staff=True)

    assert staff.refusal("nas", ipaddress.ip_address("192.168.1.10")) is None
    assert staff.refusal("localhost", ipaddress.ip_address("127.0.0.1")) is None
    assert staff.refusal("metadata", ipaddress.ip_address("169.254.169.254")) == "cloud metadata"
    settings.CALSYNC_BLOCK_PRIVATE_ADDRESSES = True
    assert network_policy(staff=True).refusal("nas", ipaddress.ip_address("192.168.1.10")) == "private network"


def test_non_staff_reach_only_the_public_internet_whatever_the_setting(settings) -> None:
    settings.CALSYNC_BLOCK_PRIVATE_ADDRESSES = False
    policy = network_policy(staff=False)

    assert policy.refusal("nas", ipaddress.ip_address("192.168.1.10")) == "private network"
    assert policy.refusal("localhost", ipaddress.ip_address("127.0.0.1")) == "loopback"
    assert policy.refusal("example.org", ipaddress.ip_address("93.184.216.34")) is None


def test_the_allow_list_names_exceptions_by_network_and_by_host_name(settings) -> None:
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["10.1.0.0/16", "Nextcloud.LAN"]
    policy = network_policy(staff=False)

    assert policy.refusal("nas", ipaddress.ip_address("10.1.2.3")) is None
    assert policy.refusal("nas", ipaddress.ip_address("::ffff:10.1.2.3")) is None
    assert policy.refusal("nas", ipaddress.ip_address("10.2.0.1")) == "private network"
    assert policy.refusal("nextcloud.lan", ipaddress.ip_address("192.168.1.10")) is None


def test_a_malformed_allow_list_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="neither an address"):
        parse_allow_list(["10.0.0.0/33"])
    with pytest.raises(ValueError):
        parse_allow_list(["http://nas/"])


def test_a_private_address_is_refused_before_any_connection(connects) -> None:
    with HttpClient(network=STRANGER) as client:
        for url in ("http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]:8080/"):
            with pytest.raises(ConfigError, match="Refusing to connect"):
                client.request("GET", url)

    assert connects == []


def test_a_name_resolving_to_a_private_address_is_refused_before_any_connection(connects) -> None:
    names = resolver({"intranet.example.com": [["10.20.30.40"]], "mixed.example.com": [["93.184.216.34", "10.0.0.1"]]})
    with HttpClient(network=STRANGER, resolver=names) as client:
        with pytest.raises(ConfigError, match=r"intranet\.example\.com: it is a private network address"):
            client.request("GET", "https://intranet.example.com/calendar.ics")
        with pytest.raises(ConfigError, match="private network"):
            client.request("GET", "https://mixed.example.com/")

    assert connects == []


def test_open_and_closed_ports_on_a_blocked_address_answer_alike(radicale: DavServer, connects) -> None:
    messages = []
    with HttpClient(network=STRANGER) as client:
        for port in (urlsplit(radicale.url).port, free_port()):
            with pytest.raises(ConfigError) as raised:
                client.request("GET", f"http://127.0.0.1:{port}/")
            messages.append(str(raised.value).replace(str(port), "PORT"))

    assert messages[0] == messages[1] and connects == []


def test_dns_rebinding_cannot_switch_the_address_after_the_check(settings, connects) -> None:
    """The name answers an allowed address first and a private one after; the seam connects to the
    address it checked and never asks again, so the private one is never dialled."""
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1"]
    with recording_server(lambda method, path, headers: (200, {}, b"ok")) as server:
        names = resolver({"rebind.example.com": [["127.0.0.1"], ["10.0.0.1"]]})
        with HttpClient(network=network_policy(staff=False), resolver=names) as client:
            response = client.request("GET", f"http://rebind.example.com:{server.port}/feed.ics")

    assert response.status == 200
    assert connects == [("127.0.0.1", server.port)]
    assert names.calls == {"rebind.example.com": 0}  # resolved once
    assert server.seen[0][2]["host"] == f"rebind.example.com:{server.port}"


def test_every_new_connection_is_checked_again(settings, connects) -> None:
    """A kept-alive connection that closes is re-dialled through the guard, which now refuses."""
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1"]
    closing = lambda method, path, headers: (200, {"Connection": "close"}, b"ok")  # noqa: E731
    with recording_server(closing) as server:
        names = resolver({"rebind.example.com": [["127.0.0.1"], ["10.0.0.1"]]})
        with HttpClient(network=network_policy(staff=False), resolver=names) as client:
            client.request("GET", f"http://rebind.example.com:{server.port}/")
            with pytest.raises(ConfigError, match="private network"):
                client.request("GET", f"http://rebind.example.com:{server.port}/")

    assert connects == [("127.0.0.1", server.port)]


def test_a_redirect_to_a_blocked_address_is_refused_before_connecting(settings, connects) -> None:
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["allowed.example.com"]
    with (
        recording_server(internal_page) as internal,
        recording_server(redirect_to(f"http://127.0.0.1:{internal.port}/secret")) as allowed,
    ):
        names = resolver({"allowed.example.com": [["127.0.0.1"]]})
        with (
            HttpClient(network=network_policy(staff=False), resolver=names) as client,
            pytest.raises(ConfigError, match=r"127\.0\.0\.1: it is a loopback address"),
        ):
            client.request("GET", f"http://allowed.example.com:{allowed.port}/feed.ics")

    assert internal.seen == [] and connects == [("127.0.0.1", allowed.port)]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.org/"])
def test_a_redirect_to_another_scheme_is_refused(location: str) -> None:
    with (
        recording_server(redirect_to(location)) as server,
        HttpClient() as client,
        pytest.raises(ConfigError, match="not an http"),
    ):
        client.request("GET", server.url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.org/", "ftp://example.org/x.ics", "x"])
def test_only_http_https_and_webcal_urls_are_requested(url: str) -> None:
    with pytest.raises(ConfigError):
        normalize_url(url)


@pytest.mark.parametrize(
    ("scheme", "headers"), [("basic", None), ("digest", None), (None, {"Authorization": "Token t"})]
)
def test_credentials_never_follow_a_redirect_to_another_origin(scheme: str | None, headers) -> None:
    with (
        recording_server(lambda method, path, headers: (200, {}, b"other")) as other,
        recording_server(redirect_to(f"{other.url}landing")) as first,
    ):
        options = {"username": "ann", "password": "s3cret", "auth_scheme": scheme} if scheme else {}
        with HttpClient(**options) as client:
            response = client.request("GET", first.url, headers=headers)

    assert response.content == b"other"
    assert [seen[2].get("authorization") for seen in other.seen] == [None]


def test_a_login_asked_for_after_a_cross_origin_redirect_says_which_url_to_use() -> None:
    with (
        recording_server(lambda method, path, headers: (401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")) as other,
        recording_server(redirect_to(f"{other.url}dav/")) as first,
        HttpClient(username="ann", password="s3cret") as client,
        pytest.raises(AuthError) as raised,
    ):
        client.request("PROPFIND", first.url)

    assert f"use the URL {other.url}dav/" in str(raised.value)
    assert all("authorization" not in seen[2] for seen in other.seen)


def test_credentials_do_follow_a_redirect_on_the_same_origin() -> None:
    def answer(method: str, path: str, headers: dict[str, str]):
        return (301, {"Location": "/dav/"}, b"") if path == "/" else (200, {}, b"dav")

    with recording_server(answer) as server, HttpClient(username="ann", password="s3cret") as client:
        client.request("GET", server.url)

    assert all(seen[2]["authorization"].startswith("Basic ") for seen in server.seen)


def test_the_user_an_admin_login_acts_for_goes_with_it_to_the_accounts_origin_only() -> None:
    with recording_server(lambda method, path, headers: (200, {}, b"other")) as other:

        def answer(method: str, path: str, headers: dict[str, str]):
            return (301, {"Location": "/dav/"}, b"") if path == "/" else (302, {"Location": f"{other.url}x"}, b"")

        with (
            recording_server(answer) as first,
            HttpClient(username="admin", password="s3cret", authorize_as="bob") as client,
        ):
            client.request("GET", first.url)

    assert [seen[2].get("authorize-as") for seen in first.seen] == ["bob", "bob"]
    assert [seen[2].get("authorize-as") for seen in other.seen] == [None]


def test_a_connection_test_says_what_kind_of_answer_it_got_never_what_it_said() -> None:
    with recording_server(internal_page) as server:
        for kind in ("caldav", "ics"):
            connector = connector_for(AccountConfig(kind=kind, url=server.url))
            try:
                result = connector.check()
            finally:
                connector.close()
            assert not result.ok
            assert SECRET_PAGE.decode().strip()[:12] not in result.message
            assert "hunter2" not in result.message

    assert "200 (text/plain)" in result.message or "text/plain" in result.message


def test_saving_a_blocked_address_literal_is_refused_and_names_are_left_to_connect_time() -> None:
    assert "loopback" in address_refusal("http://127.0.0.1:5232/", STRANGER)
    assert "loopback" in address_refusal("https://localhost/dav/", STRANGER)
    assert "cloud metadata" in address_refusal("http://169.254.169.254/", STRANGER)
    assert "private network" in address_refusal("webcal://[fd00::1]/x.ics", STRANGER)
    assert address_refusal("https://dav.example.com/", STRANGER) is None
    assert address_refusal("http://127.0.0.1:5232/", network_policy(staff=True)) is None


def test_the_guard_refuses_before_resolving_twice() -> None:
    names = resolver({"a.example": [["93.184.216.34"]]})
    guard = AddressGuard(STRANGER, names)

    assert guard.addresses("a.example", 443) == ["93.184.216.34"]
    with pytest.raises(AddressRefused):
        AddressGuard(STRANGER).addresses("127.0.0.1", 80)


def test_an_unresolvable_name_is_a_transient_failure(connects) -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with (
        HttpClient(network=STRANGER, resolver=nowhere, retries=0) as client,
        pytest.raises(TransientError, match="Could not resolve"),
    ):
        client.request("GET", "https://nowhere.example/")

    assert connects == []
