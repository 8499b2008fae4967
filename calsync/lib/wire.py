"""One HTTP/1.1 exchange on an open socket: the request leaves in one write, the answer is parsed lean.

``http.client`` opens our connections (TLS, proxy tunnels) but does not carry the exchanges: it
parses every answer's header block with the ``email`` package and writes headers and body
separately. A sync worker sleeps tens of milliseconds between PUTs while the server works, so each
exchange runs with cold caches, and that parsing was the largest part of its CPU per object
(bench/sync_bench.py, bench/http_overhead.py). This module reads what RFC 9112 needs and nothing
more, and raises ``http.client``'s exceptions so callers handle failures one way.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

MAX_LINE_BYTES = 65536  # http.client's limits on one line and on the number of header fields
MAX_FIELDS = 100
BODY_CHUNK_BYTES = 64 * 1024
BODILESS_STATUSES = frozenset({204, 304})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # sent with Content-Length: 0 when empty
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a field name (RFC 9110 section 5.1)
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")  # what would let a value start a new field


class Headers:
    """An answer's header fields: case-insensitive ``get``, every value of a repeated field in ``get_all``."""

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields  # (lower-cased name, value) in the order received

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self._fields:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self._fields if key == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        return f"<Headers {[key for key, _value in self._fields]}>"  # names only: values may be secrets


@dataclass(slots=True)
class Answer:
    status: int
    headers: Headers
    body: Iterator[bytes]  # the body as it arrives, transfer coding removed (content coding kept)
    length: int | None  # the body's declared length (0 when there is none), None when not known ahead
    keep_alive: bool  # False: the connection must be closed once the body is read


def send_request(
    sock: socket.socket, method: str, target: str, host: str, fields: Mapping[str, str | bytes], body: bytes | None
) -> None:
    """Write the request line, the header fields and the body with one ``sendall``."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in fields.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if not _TOKEN.fullmatch(name.encode("latin-1", "replace")) or _FORBIDDEN_IN_VALUE.search(text):
            raise ValueError(f"invalid header field {name!r}")  # never the value: it may be a secret
        lines.append(f"{name}: {text}")
    if body is not None or method in BODY_METHODS:
        lines.append(f"Content-Length: {len(body or b'')}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    sock.sendall(head + body if body else head)


def read_answer(reader: io.BufferedReader, method: str) -> Answer:
    """Read the status line and header fields from a buffered ``reader``; the body follows lazily.

    Interim (1xx) answers are skipped. Framing follows RFC 9112 section 6.3: no body for HEAD,
    204 and 304; chunked transfer coding; Content-Length; otherwise the body runs to the close.
    """
    while True:
        line = _line(reader, "status line")
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        version, _, rest = line.partition(b" ")
        code = rest[:3]
        if not (version in (b"HTTP/1.1", b"HTTP/1.0") and code.isdigit() and rest[3:4] in (b" ", b"\r", b"\n", b"")):
            raise http.client.BadStatusLine(line[:80].decode("latin-1"))
        status = int(code)
        headers = _read_fields(reader)
        if not 100 <= status < 200:
            break
    connection = (headers.get("connection") or "").lower()
    keep_alive = "close" not in connection and (version == b"HTTP/1.1" or "keep-alive" in connection)
    if method == "HEAD" or status in BODILESS_STATUSES:
        return Answer(status, headers, iter(()), 0, keep_alive)
    coding = headers.get("transfer-encoding")
    if coding is not None:
        if coding.rsplit(",", 1)[-1].strip().lower() == "chunked":
            return Answer(status, headers, _chunked(reader), None, keep_alive)
        return Answer(status, headers, _to_close(reader), None, False)
    lengths = {value.strip() for value in headers.get_all("content-length")}
    if len(lengths) > 1 or (lengths and not next(iter(lengths)).isdigit()):
        raise http.client.HTTPException("invalid Content-Length")
    if lengths:
        length = int(lengths.pop())
        return Answer(status, headers, _sized(reader, length), length, keep_alive)
    return Answer(status, headers, _to_close(reader), None, False)


def _line(reader: io.BufferedReader, what: str) -> bytes:
    line = reader.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise http.client.LineTooLong(what)
    return line


def _read_fields(reader: io.BufferedReader) -> Headers:
    fields: list[tuple[str, str]] = []
    while True:
        line = _line(reader, "header line")
        if line in (b"\r\n", b"\n", b""):
            return Headers(fields)
        if line[:1] in (b" ", b"\t") and fields:
            # Obsolete line folding (RFC 9112 section 5.2): the line continues the previous value.
            previous_name, previous_value = fields[-1]
            fields[-1] = (previous_name, f"{previous_value} {line.strip().decode('latin-1')}")
            continue
        if len(fields) >= MAX_FIELDS:
            raise http.client.HTTPException(f"got more than {MAX_FIELDS} headers")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise http.client.HTTPException("malformed header line")
        fields.append((name.decode("ascii").lower(), value.strip().decode("latin-1")))


def _sized(reader: io.BufferedReader, length: int) -> Iterator[bytes]:
    while length:
        chunk = reader.read(min(length, BODY_CHUNK_BYTES))
        if not chunk:
            raise http.client.IncompleteRead(b"", length)
        length -= len(chunk)
        yield chunk


def _chunked(reader: io.BufferedReader) -> Iterator[bytes]:
    while True:
        size_line = _line(reader, "chunk size").split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_line):
            raise http.client.HTTPException("invalid chunk size")
        size = int(size_line, 16)
        if size == 0:
            _read_fields(reader)  # trailer fields, ignored
            return
        yield from _sized(reader, size)
        if _line(reader, "chunk end") not in (b"\r\n", b"\n"):
            raise http.client.HTTPException("chunk not followed by CRLF")


def _to_close(reader: io.BufferedReader) -> Iterator[bytes]:
    while chunk := reader.read1(BODY_CHUNK_BYTES):
        yield chunk
