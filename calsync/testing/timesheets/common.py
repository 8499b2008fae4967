"""What both stand-ins share: a threaded loopback HTTP server dispatching regex routes.

Each stand-in is a small ``http.server`` app on a free loopback port with in-memory state;
``requests`` logs every call so a test can count them.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]


class HttpError(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


class StandIn:
    """A threaded HTTP server dispatching ``(method, regex)`` routes to methods."""

    routes: list[tuple[str, str, str]] = []

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.delay = 0.0  # seconds each answer takes: lets a test catch a run in the middle
        self.requests: list[Logged] = []
        # go_away_after(): (method, path pattern, how many more such requests are answered)
        self._away_after: tuple[str, str, int] | None = None
        self._connections: set[socket.socket] = set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response: headers and body in separate segments meet Nagle and
            # delayed ACKs, which would add 40 ms to every call.
            wbufsize = 64 * 1024

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                owner._connections.add(self.connection)

            def finish(self) -> None:
                owner._connections.discard(self.connection)
                super().finish()

            def _serve(self) -> None:
                owner._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._handler = Handler
        self._port = 0
        self._listen()

    def _listen(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def go_away_after(self, method: str, path: str, count: int) -> None:
        """After the ``count``-th ``method`` request on ``path`` (a regex) is applied, the server
        goes away before answering it, as a process killed mid-request: that answer is lost and
        every later request meets connection refused until ``come_back()``."""
        self._away_after = (method, path, count)

    def go_away(self) -> None:
        self._away_after = None
        self.stop()
        # Keep-alive connections would otherwise still be served by their handler threads.
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def come_back(self) -> None:
        """The same server on the same port with the same state, as after a restart."""
        self._listen()

    def _going_away(self, method: str, path: str) -> bool:
        if self._away_after is None:
            return False
        wanted_method, pattern, count = self._away_after
        if method != wanted_method or not re.fullmatch(pattern, path):
            return False
        self._away_after = (wanted_method, pattern, count - 1)
        return count <= 1

    def reset_log(self) -> None:
        self.requests.clear()

    def calls(self, method: str | None = None) -> list[Logged]:
        return [r for r in self.requests if method is None or r.method == method]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests.append(Logged(handler.command, parts.path, query))
            status, body, headers = self._dispatch(handler, parts.path, query, raw)
            if self._going_away(handler.command, parts.path):
                self.go_away()
                handler.close_connection = True
                return
        payload = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        if body is not None:
            handler.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _dispatch(self, handler, path, query, raw) -> tuple[int, Any, dict[str, str]]:
        try:
            user = self.authenticate(handler.headers)
            for method, pattern, name in self.routes:
                found = re.fullmatch(pattern, path)
                if found and method == handler.command:
                    body = json.loads(raw) if raw else {}
                    result = getattr(self, name)(user, query, body, *found.groups())
                    return result if isinstance(result, tuple) else (200, result, {})
            raise HttpError(404, self.not_found(path))
        except HttpError as exc:
            return exc.status, exc.body, exc.headers

    def authenticate(self, headers) -> dict:
        raise NotImplementedError

    def not_found(self, path: str) -> Any:
        raise NotImplementedError


def one(query: dict[str, list[str]], name: str, default: str = "") -> str:
    return query.get(name, [default])[0]
