"""What both stand-ins share: a threaded loopback HTTP server dispatching regex routes.

Each stand-in is a small ``http.server`` app on a free loopback port with in-memory state;
``requests`` logs every call so a test can count them.
"""

from __future__ import annotations

import json
import re
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
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response: headers and body in separate segments meet Nagle and
            # delayed ACKs, which would add 40 ms to every call.
            wbufsize = 64 * 1024

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                owner._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

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
