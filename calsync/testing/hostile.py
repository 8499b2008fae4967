"""Small local HTTP servers that play the far end of an SSRF attempt, for tests only.

``recording_server(answer)`` answers every request with ``answer(method, path, headers)`` and keeps
what it received (``seen``), so a test can prove a header (say, Authorization) never arrived.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, dict[str, str], bytes]
Seen = tuple[str, str, dict[str, str]]  # method, path, lower-cased headers


@dataclass
class RecordingServer:
    url: str  # http://127.0.0.1:<port>/
    port: int
    seen: list[Seen] = field(default_factory=list)


@contextmanager
def recording_server(
    answer: Callable[[str, str, dict[str, str]], Answer], *, host: str = "127.0.0.1"
) -> Iterator[RecordingServer]:
    """Serve on ``host`` (any 127.x address works on Linux: a second "machine" for origin tests)."""
    box: list[RecordingServer] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __getattr__(self, name: str):
            if name.startswith("do_"):
                return self.respond
            raise AttributeError(name)

        def respond(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {key.lower(): value for key, value in self.headers.items()}
            box[0].seen.append((self.command, self.path, headers))
            status, extra, body = answer(self.command, self.path, headers)
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **extra}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer((host, 0), Handler)
    port = httpd.server_address[1]
    box.append(RecordingServer(f"http://{host}:{port}/", port))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def redirect_to(location: str) -> Callable[[str, str, dict[str, str]], Answer]:
    return lambda method, path, headers: (302, {"Location": location}, b"")


SECRET_PAGE = b"INTERNAL-ONLY: db_password=hunter2-7f3a\n"


def internal_page(method: str, path: str, headers: dict[str, str]) -> Answer:
    """What an intranet service answers: a page nobody outside may read."""
    return 200, {"Content-Type": "text/plain"}, SECRET_PAGE
