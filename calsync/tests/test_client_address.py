"""The client address behind trusted proxies: X-Forwarded-For only through them, read from the right."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from calsync.client_address import client_ip, parse_networks


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.CALSYNC_TRUSTED_PROXIES = []
    assert client_ip(request_from("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_a_peer_that_is_not_a_trusted_proxy_cannot_name_another_client(settings):
    settings.CALSYNC_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request_from("203.0.113.9", "10.1.1.1")) == "203.0.113.9"


def test_through_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client(settings):
    settings.CALSYNC_TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    # The client forged "6.6.6.6"; the proxy appended what it saw, 198.51.100.7.
    assert client_ip(request_from("127.0.0.1", "6.6.6.6, 198.51.100.7")) == "198.51.100.7"
    # Two proxies in a row: the inner one's address is skipped as trusted.
    assert client_ip(request_from("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.2.3.4")) == "198.51.100.7"


def test_garbage_in_the_header_leaves_the_last_address_a_trusted_hop_vouched_for(settings):
    settings.CALSYNC_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request_from("127.0.0.1", "")) == "127.0.0.1"
    assert client_ip(request_from("127.0.0.1", "unknown")) == "127.0.0.1"
    assert client_ip(request_from("127.0.0.1", "not-an-ip, 198.51.100.7")) == "198.51.100.7"


def test_ports_brackets_and_ipv4_mapped_addresses_name_one_client(settings):
    settings.CALSYNC_TRUSTED_PROXIES = ["::1", "127.0.0.1"]
    assert client_ip(request_from("::1", "198.51.100.7:5123")) == "198.51.100.7"
    assert client_ip(request_from("127.0.0.1", "[2001:db8::5]:443")) == "2001:db8::5"
    assert client_ip(request_from("::ffff:198.51.100.7")) == "198.51.100.7"


def test_a_trusted_proxy_that_is_not_an_address_is_a_start_up_error():
    with pytest.raises(ImproperlyConfigured, match=r"CALSYNC_TRUSTED_PROXIES: 'proxy\.local'"):
        parse_networks(["10.0.0.0/8", "proxy.local"])
