"""Client CPU per PUT through calsync's HttpClient, next to raw http.client.

The budget is 1 ms of client CPU (user + system) per synced object, and each object costs one
PUT, so the HTTP seam has to stay far below that. The server is a local keep-alive
``http.server`` on its own threads; only the client thread's CPU time is counted
(``time.thread_time``), so the figure is what a sync worker pays per request.

    PYTHONPATH=. .venv/bin/python bench/http_overhead.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from calsync.lib.addresses import NetworkPolicy
from calsync.lib.http import HttpClient

BODY = b"BEGIN:VCALENDAR\r\n" + b"X" * 1500 + b"\r\nEND:VCALENDAR\r\n"
HEADERS = {"If-None-Match": "*", "Content-Type": "text/calendar; charset=utf-8"}
TARGET_MS = 0.3


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a DAV server would
    connections = 0

    def setup(self) -> None:
        super().setup()
        Handler.connections += 1

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201)
        self.send_header("ETag", '"abc"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def cpu_ms_per_request(send: Callable[[int], None], requests: int, rounds: int) -> float:
    send(50)  # warm up: connect, caches, first-call imports
    samples = []
    for _round in range(rounds):
        started = time.thread_time()
        send(requests)
        samples.append((time.thread_time() - started) / requests * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}/calendars/alice/work/"

    raw = http.client.HTTPConnection("127.0.0.1", port)

    def raw_puts(count: int) -> None:
        for number in range(count):
            raw.request("PUT", f"/calendars/alice/work/{number}.ics", body=BODY, headers=HEADERS)
            raw.getresponse().read()

    client = HttpClient(
        username="alice",
        password="s3cret-pass",
        timeout=20,
        retries=2,
        max_response_bytes=50 * 1024 * 1024,
        network=NetworkPolicy(private=True, loopback=True),
    )

    def calsync_puts(count: int) -> None:
        for number in range(count):
            client.request("PUT", f"{base}{number}.ics", headers=HEADERS, content=BODY)

    figures = {"http.client (raw)": cpu_ms_per_request(raw_puts, options.requests, options.rounds)}
    before = Handler.connections
    figures["calsync HttpClient"] = cpu_ms_per_request(calsync_puts, options.requests, options.rounds)
    opened = Handler.connections - before
    client.close()
    raw.close()
    server.shutdown()

    for name, figure in figures.items():
        print(f"{name:20} {figure:.3f} ms CPU per PUT")
    overhead = figures["calsync HttpClient"] - figures["http.client (raw)"]
    print(f"HttpClient overhead  {overhead:.3f} ms; connections opened: {opened}")
    verdict = "within" if figures["calsync HttpClient"] <= TARGET_MS else "OVER"
    print(f"{verdict} the {TARGET_MS} ms target ({options.requests} PUTs x {options.rounds} rounds, median)")


if __name__ == "__main__":
    main()
