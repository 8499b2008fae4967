"""A tiny ICS feed host on loopback, for the ics connector's tests and the feed benchmark.

Real feed hosts are plain web servers: they serve one file, sometimes behind Basic or Digest
authentication, sometimes answer an HTML error page with status 200, sometimes send a huge body,
and the good ones answer ``304 Not Modified``. ``FeedServer`` does each of those on demand; tests
change ``body`` (and the rest) between downloads to play a feed that changes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_DIGEST_PARAM = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]*)')


@dataclass
class FeedServer:
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    status: int = 200
    auth: str = ""  # "", "basic" or "digest"
    username: str = "feeduser"
    password: str = "feed-pass"
    realm: str = "feeds"
    requests: list[str] = field(default_factory=list)  # request paths, in order
    statuses: list[int] = field(default_factory=list)  # what each request was answered, in order
    _httpd: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    def url(self, path: str = "/calendar.ics") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    def start(self) -> FeedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:  # tests read server.requests instead
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                if not server._authorized(self.headers.get("Authorization", ""), "GET", self.path):
                    return self._challenge()
                etag = server.etag
                if server.status == 200 and self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", {"ETag": etag})
                self._send(server.status, server.body, {"Content-Type": server.content_type, "ETag": etag})

            def _challenge(self) -> None:
                if server.auth == "digest":
                    nonce = secrets.token_hex(16)
                    value = f'Digest realm="{server.realm}", nonce="{nonce}", qop="auth", algorithm=MD5'
                else:
                    value = f'Basic realm="{server.realm}"'
                self._send(401, b"<html><body>401 Unauthorized</body></html>", {"WWW-Authenticate": value})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                server.statuses.append(status)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- authentication --------------------------------------------------------------------------

    def _authorized(self, header: str, method: str, path: str) -> bool:
        if not self.auth:
            return True
        if self.auth == "basic":
            expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return header == f"Basic {expected}"
        if not header.startswith("Digest "):
            return False
        params = {k: v.strip('"') for k, v in _DIGEST_PARAM.findall(header[7:])}

        def md5(*parts: str) -> str:
            return hashlib.md5(":".join(parts).encode()).hexdigest()  # noqa: S324 - RFC 7616 MD5

        ha1 = md5(self.username, self.realm, self.password)
        ha2 = md5(method, params.get("uri", ""))
        expected = md5(ha1, params.get("nonce", ""), params.get("nc", ""), params.get("cnonce", ""), "auth", ha2)
        return (
            params.get("username") == self.username and params.get("uri") == path and params.get("response") == expected
        )
