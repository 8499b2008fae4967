"""HTTP/1.1 with one persistent connection per origin, opened by the standard library's ``http.client``.

Why not httpx or urllib3: a sync costs one PUT per object and the budget is 1 ms of client CPU
per object; they spend several times what this transport spends per request
(bench/http_overhead.py). ``http.client`` connects (TLS, proxy tunnels); ``wire.py`` carries the
exchanges. Policy (retries, redirects, auth, messages) lives in ``http.py``; this module only
moves bytes, caps them and reconnects when a kept-alive socket went stale.
"""

from __future__ import annotations

import base64
import functools
import http.client
import logging
import select
import socket
import ssl
import urllib.request
import zlib
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote, urlsplit

from calsync.lib.addresses import AddressGuard
from calsync.lib.wire import Answer, Headers, read_answer, send_request

logger = logging.getLogger("calsync.http")

Origin = tuple[str, str, int]
Fields = dict[str, str | bytes]  # header fields; bytes go out as they are, str is encoded as Latin-1
# What a socket the server closed while it sat idle raises on the next request. A failure after
# the first byte of an answer is not on this list: the server got the request.
STALE_CONNECTION_ERRORS = (ConnectionError, ssl.SSLEOFError)
# Characters left alone in a request target (RFC 3986 pchar and query, plus "%" so an already
# encoded href is not encoded twice); anything else, such as a space or a non-ASCII letter in an
# href a server handed back unencoded, is percent-encoded as UTF-8.
PATH_SAFE = "/!$&'()*+,;=:@%~"
QUERY_SAFE = PATH_SAFE + "?"


class ConnectFailed(Exception):
    """No connection could be opened, so the server cannot have seen the request."""


class BodyTooLarge(Exception):
    pass


class UndecodableBody(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: Headers
    content: bytes


def basic_authorization(username: str, password: str) -> str:
    """An ``Authorization: Basic`` value; UTF-8 as RFC 7617 section 2.1 recommends."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


@functools.cache
def tls_context(verify: bool) -> ssl.SSLContext:
    """Built once per process: loading the CA store costs milliseconds. Contexts are thread-safe."""
    # The system trust store (and SSL_CERT_FILE / SSL_CERT_DIR), like every other TLS client on the host.
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


class Transport:
    """Keeps one HTTP/1.1 connection per (scheme, host, port) open between requests.

    Not thread-safe: an ``http.client`` connection carries one exchange at a time, and its owner
    (an ``HttpClient``) belongs to one connector run on one thread.
    """

    def __init__(self, *, timeout: float, verify_tls: bool, guard: AddressGuard | None = None) -> None:
        self.timeout = timeout
        self.verify_tls = verify_tls
        # Every new socket of a direct connection is dialled by the guard: resolved once, checked,
        # and connected to the checked address (Host and SNI still name the host).
        self.guard = guard
        self._connections: dict[Origin, http.client.HTTPConnection] = {}
        # Plain-http origins reached through a proxy, with the headers the proxy wants on each request.
        self._forwarded: dict[Origin, dict[str, str]] = {}
        self._proxied: set[Origin] = set()
        # Read once: HTTP(S)_PROXY and NO_PROXY are honoured, as httpx did (only http:// proxies).
        self._proxies = urllib.request.getproxies_environment()

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def send(
        self,
        method: str,
        url: str,
        headers: Fields,
        body: bytes | None,
        *,
        limit: int,
        resendable: bool,
    ) -> RawResponse:
        """One exchange. On a kept-alive connection the server closed meanwhile, a ``resendable``
        request is sent once more on a fresh one; anything else is raised to the caller."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        connection = self._connections.get(origin) or self._open(origin)
        if self.guard is not None and origin in self._proxied:
            self._check_proxied(origin)
        target = request_target(parts)
        host = _host_field(origin)
        if origin in self._forwarded:
            # A plain-http request through a proxy names the whole URL (RFC 9112 section 3.2.2).
            target = f"{parts.scheme}://{parts.netloc}{target}"
            headers = {**headers, **self._forwarded[origin]}
        if connection.sock is not None and _has_dropped(connection.sock):
            connection.close()  # closed (or spoke out of turn) while idle: never write to it
        reused = connection.sock is not None
        try:
            if not reused:
                _connect(connection)
            try:
                response, content = _exchange(connection, method, target, host, headers, body, limit)
            except STALE_CONNECTION_ERRORS:
                if not (reused and resendable):
                    raise
                logger.debug("%s://%s:%s closed a kept-alive connection; reconnecting", *origin)
                connection.close()
                _connect(connection)
                response, content = _exchange(connection, method, target, host, headers, body, limit)
        except BaseException:
            # The exchange is half done (or the body was refused); the socket cannot carry another.
            connection.close()
            raise
        if not response.keep_alive:
            connection.close()
        return RawResponse(response.status, response.headers, content)

    def _open(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        proxy = self._proxy_for(scheme, host, port)
        dial_host, dial_port = (proxy.hostname or "", proxy.port or 80) if proxy else (host, port)
        connection: http.client.HTTPConnection
        if scheme == "https":
            context = tls_context(self.verify_tls)
            connection = http.client.HTTPSConnection(dial_host, dial_port, timeout=self.timeout, context=context)
            if proxy:
                connection.set_tunnel(host, port, headers=_proxy_headers(proxy))  # TLS runs inside CONNECT
        else:
            connection = http.client.HTTPConnection(dial_host, dial_port, timeout=self.timeout)
            if proxy:
                self._forwarded[origin] = _proxy_headers(proxy)
        if proxy:
            self._proxied.add(origin)
        elif self.guard is not None:
            connection._create_connection = self.guard.connect  # type: ignore[attr-defined]
        self._connections[origin] = connection
        return connection

    def _check_proxied(self, origin: Origin) -> None:
        """The proxy resolves the name itself, so the check here is on our own lookup of it: the
        proxy (an operator's choice) must refuse private destinations too if rebinding matters."""
        _scheme, host, port = origin
        assert self.guard is not None
        try:
            self.guard.addresses(host, port)
        except OSError:
            if not self.guard.policy.private:
                raise ConnectFailed(f"could not resolve {host}") from None

    def _proxy_for(self, scheme: str, host: str, port: int) -> SplitResult | None:
        address = self._proxies.get(scheme) or self._proxies.get("all")
        if not address or urllib.request.proxy_bypass_environment(f"{host}:{port}", self._proxies):  # type: ignore[attr-defined]
            return None
        proxy = urlsplit(address if "://" in address else f"http://{address}")
        return proxy if proxy.scheme == "http" and proxy.hostname else None


def _connect(connection: http.client.HTTPConnection) -> None:
    try:
        connection.connect()
    except OSError as exc:
        connection.close()
        raise ConnectFailed(str(exc) or type(exc).__name__) from exc


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    host: str,
    headers: Fields,
    body: bytes | None,
    limit: int,
) -> tuple[Answer, bytes]:
    sock = connection.sock
    send_request(sock, method, target, host, headers, body)
    with sock.makefile("rb") as reader:
        answer = read_answer(reader, method)
        return answer, _read_body(answer, limit)


def _host_field(origin: Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal
    return host if port == (443 if scheme == "https" else 80) else f"{host}:{port}"


def _has_dropped(sock: socket.socket) -> bool:
    """Readable while idle means the server sent FIN (or garbage): the connection is unusable."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def request_target(parts: SplitResult) -> str:
    """The path and query as sent on the request line (and signed by Digest)."""
    target = quote(parts.path or "/", safe=PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=QUERY_SAFE)
    return target


def _proxy_headers(proxy: SplitResult) -> dict[str, str]:
    if not proxy.username:
        return {}
    credentials = unquote(proxy.username), unquote(proxy.password or "")
    return {"Proxy-Authorization": basic_authorization(*credentials)}


def _read_body(answer: Answer, limit: int) -> bytes:
    if answer.length is not None and answer.length > limit:
        raise BodyTooLarge
    encoding = (answer.headers.get("content-encoding") or "").strip().lower()
    # wbits 32+: gzip or zlib, told apart by the header. Other codings were never asked for.
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in ("gzip", "x-gzip", "deflate") else None
    chunks: list[bytes] = []
    received = wire = 0
    for raw in answer.body:
        wire += len(raw)
        if wire > limit:
            raise BodyTooLarge
        chunk = raw if decoder is None else _inflate(decoder, raw, limit - received)
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _inflate(decoder: zlib._Decompress, data: bytes, room: int) -> bytes:
    # Never inflate more than one byte past the room left: a compression bomb stops here, cheaply.
    try:
        return decoder.decompress(data, room + 1)
    except zlib.error:
        raise UndecodableBody from None
