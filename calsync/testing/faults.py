"""A fault-injecting HTTP proxy in front of a real DAV server, for tests of partial failures.

Everything passes through to the upstream server unchanged, except requests that name one of
``failing`` hrefs (in the path, or in a REPORT body such as calendar-multiget): those are answered
with ``500`` or, with ``mode="drop"``, the connection is closed without an answer (a crashing
backend, a proxy timing out). Tests change ``failing`` between runs to play a server that
recovers.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})


@dataclass
class FaultProxy:
    upstream: str  # the real server's root URL
    failing: set[str] = field(default_factory=set)  # hrefs whose requests fail
    mode: str = "500"  # "500" or "drop"
    failed: list[str] = field(default_factory=list)  # "METHOD path" of each request made to fail
    _httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def start(self) -> FaultProxy:
        proxy = self
        target = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                text = self.path + body.decode("utf-8", "replace")
                if any(href in text for href in proxy.failing):
                    proxy.failed.append(f"{self.command} {self.path}")
                    if proxy.mode == "drop":
                        self.close_connection = True
                        return
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = do_MKCALENDAR = _relay
            do_MKCOL = do_PROPPATCH = do_HEAD = do_POST = _relay

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
