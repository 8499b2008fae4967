"""The HTTP/1.1 wire: framing, keep-alive, stale connections, proxies and hostile answers.

Each test talks to a scripted socket server on loopback that answers with exact bytes, so
chunked bodies, folded headers, interim answers and broken framing can be written down as a
server would send them.
"""

from __future__ import annotations

import datetime
import gzip
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from accounts.connectors.base import ConfigError, ProtocolError, TransientError
from calsync.lib.http import HttpClient

CLOSE = object()  # in a script: hang up instead of answering; after an answer, (answer, CLOSE): hang up after it


@dataclass
class Scripted:
    url: str
    port: int
    requests: list[tuple[int, bytes]] = field(default_factory=list)  # (connection number, request bytes)
    hung_up: threading.Event = field(default_factory=threading.Event)

    @property
    def connections(self) -> int:
        return len({number for number, _request in self.requests})


@contextmanager
def scripted_server(*replies: bytes | object, tls: ssl.SSLContext | None = None) -> Iterator[Scripted]:
    """Answer the n-th request with ``replies[n]``, byte for byte (see ``CLOSE``); over TLS with ``tls``."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = Scripted(f"{'https' if tls else 'http'}://127.0.0.1:{port}/", port)
    script = list(replies)

    def serve(conn: socket.socket, number: int) -> None:
        if tls:
            try:
                conn = tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused the certificate
        with conn, conn.makefile("rb") as reader:
            while script:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                fields = [line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line]
                length = next((int(value) for name, value in fields if name.lower() == b"content-length"), 0)
                server.requests.append((number, head + reader.read(length)))
                reply = script.pop(0)
                if reply is CLOSE:
                    break
                reply, then = reply if isinstance(reply, tuple) else (reply, None)
                conn.sendall(reply)
                if then is CLOSE or b"\r\nconnection: close" in reply.lower().split(b"\r\n\r\n")[0]:
                    break
        server.hung_up.set()

    def accept() -> None:
        number = 0
        while True:
            try:
                conn, _address = listener.accept()
            except OSError:
                return
            number += 1
            threading.Thread(target=serve, args=(conn, number), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server
    finally:
        listener.close()


def self_signed(tmp_path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def ok(body: bytes = b"hello", *extra: bytes) -> bytes:
    fields = b"".join(line + b"\r\n" for line in extra)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), fields, body)


@pytest.fixture
def client(settings) -> Iterator[HttpClient]:
    settings.CALSYNC_HTTP_RETRIES = 0
    settings.CALSYNC_HTTP_TIMEOUT = 2
    with HttpClient(username="ann", password="pw") as instance:
        yield instance


# --- requests -----------------------------------------------------------------------------------


def test_a_request_names_the_host_and_its_body_length_and_keeps_the_connection(client) -> None:
    with scripted_server(ok(), ok(), ok()) as server:
        client.request("PUT", server.url + "cal/a b.ics", headers={"If-None-Match": "*"}, content=b"BEGIN:VCALENDAR")
        client.request("PUT", server.url + "cal/empty.ics", headers={"If-Match": '"1"'})
        client.request("GET", server.url + "cal/")

    first, empty, get = (request for _number, request in server.requests)
    assert first.startswith(b"PUT /cal/a%20b.ics HTTP/1.1\r\nHost: 127.0.0.1:" + str(server.port).encode() + b"\r\n")
    assert b"\r\nIf-None-Match: *\r\n" in first and b"\r\nAuthorization: Basic YW5uOnB3\r\n" in first
    assert first.endswith(b"\r\nContent-Length: 15\r\n\r\nBEGIN:VCALENDAR")
    assert b"\r\nContent-Length: 0\r\n" in empty
    assert b"content-length" not in get.lower()
    assert server.connections == 1


def test_a_header_value_that_would_start_a_new_field_is_refused_unsent(client) -> None:
    with scripted_server(ok()) as server, pytest.raises(ValueError, match="invalid header field 'X-Note'"):
        client.request("GET", server.url, headers={"X-Note": "a\r\nX-Injected: 1"})

    assert server.requests == []


# --- framing ------------------------------------------------------------------------------------


def test_a_chunked_body_with_extensions_and_trailers_is_joined(client) -> None:
    chunked = (
        b"HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    with scripted_server(chunked, ok(b"next")) as server:
        assert client.request("REPORT", server.url).content == b"hello, world"
        assert client.request("GET", server.url).content == b"next"

    assert server.connections == 1


def test_a_body_without_length_runs_to_the_close_and_the_next_request_reconnects(client) -> None:
    with scripted_server(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", ok(b"again")) as server:
        assert client.request("GET", server.url).content == b"until the end"
        assert client.request("GET", server.url).content == b"again"

    assert server.connections == 2


def test_an_http_1_0_answer_without_keep_alive_closes_the_connection(client) -> None:
    with scripted_server(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", ok()) as server:
        assert client.request("GET", server.url).content == b"ok"
        client.request("GET", server.url)

    assert server.connections == 2


def test_interim_answers_are_skipped_and_head_204_304_have_no_body(client) -> None:
    with scripted_server(
        b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final"),
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",  # HEAD: the length of the GET's body
        b'HTTP/1.1 204 No Content\r\nETag: "a"\r\n\r\n',
        b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n',
        ok(b"still in step"),
    ) as server:
        assert client.request("PUT", server.url, headers={"If-Match": '"0"'}, content=b"x").content == b"final"
        assert client.request("HEAD", server.url).content == b""
        assert client.request("DELETE", server.url).headers.get("etag") == '"a"'
        assert client.request("GET", server.url).status == 304
        assert client.request("GET", server.url).content == b"still in step"

    assert server.connections == 1


def test_folded_and_repeated_fields_are_read_case_insensitively(client) -> None:
    answer = ok(b"", b"X-Folded: first", b"  second", b"Link: <a>", b"link: <b>")
    with scripted_server(answer) as server:
        headers = client.request("GET", server.url).headers

    assert headers.get("x-folded") == "first second"
    assert headers.get_all("LINK") == ["<a>", "<b>"] and "Link" in headers and "Missing" not in headers


def test_a_gzip_body_is_decoded_and_its_size_cap_holds_after_decoding(client) -> None:
    packed = gzip.compress(b"x" * 100_000)
    answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
    with scripted_server(answer, answer) as server:
        assert client.request("GET", server.url).content == b"x" * 100_000
        with pytest.raises(ProtocolError, match="limit of 50000 bytes"):
            client.request("GET", server.url, max_bytes=50_000)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", CLOSE), id="truncated body"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad chunk size"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", id="two lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative length"),
        pytest.param(b"ICY 200 OK\r\n\r\n", id="not http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", id="header without colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", id="too many headers"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", id="line too long"),
    ],
)
def test_a_broken_answer_is_a_transient_error_and_the_connection_is_dropped(client, answer) -> None:
    with scripted_server(answer, ok(b"fresh")) as server:
        with pytest.raises(TransientError, match="closed the connection without a valid answer"):
            client.request("GET", server.url)
        assert client.request("GET", server.url).content == b"fresh"

    assert server.connections == 2


# --- connections --------------------------------------------------------------------------------


def test_a_connection_closed_while_idle_is_replaced_before_the_next_request(client) -> None:
    with scripted_server((ok(b"one"), CLOSE), ok(b"two")) as server:
        assert client.request("POST", server.url, content=b"{}").content == b"one"
        assert server.hung_up.wait(2)
        assert client.request("POST", server.url, content=b"{}").content == b"two"

    assert server.connections == 2


def test_a_request_lost_on_a_kept_alive_connection_is_resent_only_when_that_is_safe(client) -> None:
    with scripted_server(ok(b"warm"), CLOSE, ok(b"resent"), ok(b"warm"), CLOSE, ok(b"never")) as server:
        client.request("GET", server.url)
        assert client.request("GET", server.url).content == b"resent"
        client.request("GET", server.url)
        with pytest.raises(TransientError, match="without a valid answer"):
            client.request("POST", server.url, content=b"{}")

    assert [request.split(b" ")[0] for _number, request in server.requests] == [b"GET"] * 4 + [b"POST"]


def test_plain_http_goes_through_the_proxy_named_in_the_environment(settings, monkeypatch) -> None:
    settings.CALSYNC_HTTP_RETRIES = 0
    with scripted_server(ok(b"via proxy")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://squid:p%40ss@127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with HttpClient() as client:
            assert client.request("GET", "http://calendar.example.org/feed.ics").content == b"via proxy"

    ((_number, request),) = proxy.requests
    assert request.startswith(b"GET http://calendar.example.org/feed.ics HTTP/1.1\r\nHost: calendar.example.org\r\n")
    assert b"\r\nProxy-Authorization: Basic c3F1aWQ6cEBzcw==\r\n" in request


def test_https_carries_many_exchanges_on_one_tls_connection_and_checks_the_certificate(settings, tmp_path) -> None:
    settings.CALSYNC_HTTP_RETRIES = 0
    with scripted_server(ok(b"one"), ok(b"two"), tls=self_signed(tmp_path)) as server:
        with HttpClient(verify_tls=False) as unverified:
            assert [unverified.request("GET", server.url).content for _ in range(2)] == [b"one", b"two"]
        with HttpClient() as verified, pytest.raises(ConfigError, match="could not be verified"):
            verified.request("GET", server.url)

    assert server.connections == 1
