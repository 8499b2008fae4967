"""A loopback CalDAV server whose every answer takes a fixed time and almost no CPU.

Scale-out tests and ``bench/org_bench.py`` need servers that behave like a remote one (each
request waits on the network and the far side) without spending the machine's CPU on storage, as
Radicale does: with this server a figure measures calsync, not the server. It keeps everything in
memory, answers on one asyncio loop in a thread (a request sleeping its delay costs nothing), and
speaks exactly the CalDAV calsync needs as a source and as a destination: discovery (PROPFIND on
the principal and the home), listings (sync-collection REPORT and PROPFIND), calendar-multiget,
calendar-query, GET, PUT (If-None-Match / If-Match), DELETE and MKCALENDAR.

Every user lives under ``/u/<user>/`` (principal), calendars under ``/u/<user>/cal/<name>/``; any
credentials are accepted. The server counts what a test asserts on: writes in flight at once
(``peak_writes``, the per-server write cap seen from the server) and successful creates per item.

    python -m calsync.testing.latency_dav --delay 0.02   # serves on a free port until Ctrl-C
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
NS = f'xmlns:d="{DAV}" xmlns:c="{CALDAV}"'
TOKEN_PREFIX = "http://latency-dav.invalid/sync/"
REASONS = {200: "OK", 201: "Created", 204: "No Content", 207: "Multi-Status", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 412: "Precondition Failed"}  # fmt: skip


@dataclass
class Calendar:
    name: str
    items: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # href → (etag, data)
    changed: dict[str, int] = field(default_factory=dict)  # href → revision of its last change
    revision: int = 0


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class LatencyDavServer:
    """``start()`` it, point accounts at ``url_for(user)``, ``stop()`` it; see the module docstring."""

    def __init__(self, *, delay: float = 0.02, write_delay: float | None = None, port: int = 0) -> None:
        self.delay = delay
        self.write_delay = delay if write_delay is None else write_delay
        self.port = port
        self.calendars: dict[str, Calendar] = {}  # collection path → calendar
        self.requests: Counter[str] = Counter()  # by method
        self.writes_in_flight = 0
        self.peak_writes = 0
        self.creates: Counter[str] = Counter()  # item path → successful creating PUTs
        self._etags = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    # --- the test's side ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, user: str) -> str:
        return f"{self.base}/u/{quote(user)}/"

    def seed(self, user: str, name: str, objects: list[bytes]) -> str:
        """Create the calendar ``name`` of ``user`` holding ``objects`` (not a request); returns its path."""
        path = f"/u/{quote(user)}/cal/{quote(name)}/"
        calendar = self.calendars.setdefault(path, Calendar(name))
        for data in objects:
            self._store(calendar, path + _uid(data) + ".ics", data)
        return path

    def objects(self, user: str) -> list[bytes]:
        """Every object of ``user``, in every calendar."""
        prefix = f"/u/{quote(user)}/cal/"
        mine = [calendar for path, calendar in self.calendars.items() if path.startswith(prefix)]
        return [data for calendar in mine for _etag, data in calendar.items.values()]

    def reset_counters(self) -> None:
        self.requests.clear()
        self.creates.clear()
        self.peak_writes = 0

    def start(self) -> LatencyDavServer:
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", self.port, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="latency-dav", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the latency DAV server did not start")
        return self

    def stop(self) -> None:
        """Close every connection and the loop: a coroutine left pending would be finalised by
        the garbage collector at some later moment, in whatever the process is doing then."""
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        loop.close()
        self._loop = self._server = None

    # --- HTTP -----------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                answer = await self._answer(method, unquote(urlsplit(target).path), headers, body)
                extra = "".join(f"{name}: {value}\r\n" for name, value in answer.headers.items())
                writer.write(
                    f"HTTP/1.1 {answer.status} {REASONS.get(answer.status, 'Status')}\r\n"
                    f"Content-Length: {len(answer.body)}\r\n{extra}\r\n".encode("latin-1")
                    + answer.body
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        self.requests[method] += 1
        if method not in ("PUT", "DELETE"):
            await asyncio.sleep(self.delay)
            return self._read(method, path, headers, body)
        self.writes_in_flight += 1
        self.peak_writes = max(self.peak_writes, self.writes_in_flight)
        try:
            await asyncio.sleep(self.write_delay)
            return self._put(path, headers, body) if method == "PUT" else self._delete(path, headers)
        finally:
            self.writes_in_flight -= 1

    def _read(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method == "PROPFIND":
            return self._propfind(path, headers.get("depth", "1"))
        if method == "REPORT":
            return self._report(path, body)
        if method == "GET":
            found = self._item(path)
            if found is None:
                return Answer(404)
            etag, data = found
            return Answer(200, data, {"ETag": etag, "Content-Type": "text/calendar; charset=utf-8"})
        if method == "MKCALENDAR":
            return self._mkcalendar(path, body)
        return Answer(405)

    # --- reading --------------------------------------------------------------------------------

    def _propfind(self, path: str, depth: str) -> Answer:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != "u":
            return Answer(404)
        principal, home = f"/u/{quote(parts[1])}/", f"/u/{quote(parts[1])}/cal/"
        responses: list[str] = []
        if len(parts) == 2:
            responses.append(
                _response(principal, f"<d:resourcetype><d:collection/></d:resourcetype>"
                          f"<d:displayname>{escape(parts[1])}</d:displayname>"
                          f"<d:current-user-principal><d:href>{principal}</d:href></d:current-user-principal>"
                          f"<c:calendar-home-set><d:href>{home}</d:href></c:calendar-home-set>")
            )  # fmt: skip
        elif len(parts) == 3:
            responses.append(_response(home, "<d:resourcetype><d:collection/></d:resourcetype>"))
            if depth != "0":
                responses += [self._collection_props(p) for p in self.calendars if p.startswith(home)]
        elif len(parts) == 4:
            collection = home + quote(parts[3]) + "/"
            if collection not in self.calendars:
                return Answer(404)
            responses.append(self._collection_props(collection))
            if depth != "0":
                for href, (etag, _) in self.calendars[collection].items.items():
                    responses.append(_response(href, f"<d:getetag>{escape(etag)}</d:getetag><d:resourcetype/>"))
        else:
            found = self._item(path)
            if found is None:
                return Answer(404)
            responses.append(_response(quote(path), f"<d:getetag>{escape(found[0])}</d:getetag><d:resourcetype/>"))
        return _multistatus(responses)

    def _collection_props(self, path: str) -> str:
        calendar = self.calendars[path]
        return _response(
            path,
            "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
            f"<d:displayname>{escape(calendar.name)}</d:displayname>"
            '<c:supported-calendar-component-set><c:comp name="VEVENT"/><c:comp name="VTODO"/>'
            "</c:supported-calendar-component-set>"
            f"<d:sync-token>{TOKEN_PREFIX}{calendar.revision}</d:sync-token>",
        )

    def _report(self, path: str, body: bytes) -> Answer:
        calendar = self.calendars.get(path)
        if calendar is None:
            return Answer(404)
        root = fromstring(body)
        if root.tag == f"{{{DAV}}}sync-collection":
            return self._sync_collection(path, calendar, (root.findtext(f"{{{DAV}}}sync-token") or "").strip())
        if root.tag == f"{{{CALDAV}}}calendar-multiget":
            responses = []
            for element in root.iter(f"{{{DAV}}}href"):
                href = unquote(urlsplit((element.text or "").strip()).path)
                found = calendar.items.get(quote(href))
                if found is None:
                    responses.append(_missing(quote(href)))
                    continue
                etag, data = found
                responses.append(
                    _response(quote(href), f"<d:getetag>{escape(etag)}</d:getetag>"
                              f"<c:calendar-data>{escape(data.decode())}</c:calendar-data>")
                )  # fmt: skip
            return _multistatus(responses)
        if root.tag == f"{{{CALDAV}}}calendar-query":
            wanted = [f.get("name", "") for f in root.iter(f"{{{CALDAV}}}comp-filter")][1:]
            return _multistatus(
                [
                    _response(href, f"<d:getetag>{escape(etag)}</d:getetag>")
                    for href, (etag, data) in calendar.items.items()
                    if all(f"BEGIN:{name}".encode() in data for name in wanted)
                ]
            )
        return Answer(403)

    def _sync_collection(self, path: str, calendar: Calendar, token: str) -> Answer:
        since = 0
        if token:
            if not token.startswith(TOKEN_PREFIX) or not token[len(TOKEN_PREFIX) :].isdigit():
                return Answer(403, b'<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>')
            since = int(token[len(TOKEN_PREFIX) :])
        responses = []
        for href, revision in calendar.changed.items():
            if revision <= since:
                continue
            found = calendar.items.get(href)
            if found is None:
                responses.append(_missing(href))
            else:
                responses.append(_response(href, f"<d:getetag>{escape(found[0])}</d:getetag><d:resourcetype/>"))
        return _multistatus(responses, f"<d:sync-token>{TOKEN_PREFIX}{calendar.revision}</d:sync-token>")

    # --- writing --------------------------------------------------------------------------------

    def _put(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        collection, _, _name = path.rpartition("/")
        calendar = self.calendars.get(quote(collection) + "/")
        if calendar is None:
            return Answer(404)
        href = quote(path)
        existing = calendar.items.get(href)
        if headers.get("if-none-match") == "*" and existing is not None:
            return Answer(412)
        if "if-match" in headers and (existing is None or existing[0] != headers["if-match"]):
            return Answer(412 if existing is not None else 404)
        etag = self._store(calendar, href, body)
        if existing is None:
            self.creates[href] += 1
        return Answer(201 if existing is None else 204, headers={"ETag": etag})

    def _delete(self, path: str, headers: dict[str, str]) -> Answer:
        collection = quote(path.rpartition("/")[0]) + "/"
        calendar, href = self.calendars.get(collection), quote(path)
        if calendar is None or href not in calendar.items:
            return Answer(404)
        if "if-match" in headers and calendar.items[href][0] != headers["if-match"]:
            return Answer(412)
        del calendar.items[href]
        calendar.revision += 1
        calendar.changed[href] = calendar.revision
        return Answer(204)

    def _mkcalendar(self, path: str, body: bytes) -> Answer:
        path = quote(path.rstrip("/")) + "/"
        if path in self.calendars:
            return Answer(405)
        name = ""
        if body:
            name = (fromstring(body).findtext(f".//{{{DAV}}}displayname") or "").strip()
        self.calendars[path] = Calendar(name or unquote(path.rstrip("/").rsplit("/", 1)[-1]))
        return Answer(201)

    def _store(self, calendar: Calendar, href: str, data: bytes) -> str:
        etag = f'"{next(self._etags)}"'
        calendar.items[href] = (etag, data)
        calendar.revision += 1
        calendar.changed[href] = calendar.revision
        return etag

    def _item(self, path: str) -> tuple[str, bytes] | None:
        calendar = self.calendars.get(quote(path.rpartition("/")[0]) + "/")
        return calendar.items.get(quote(path)) if calendar is not None else None


def _uid(data: bytes) -> str:
    for line in data.splitlines():
        if line.startswith(b"UID:"):
            return quote(line[4:].decode().strip(), safe="")
    raise ValueError("an object without a UID")


def _response(href: str, props: str) -> str:
    return f"<d:response><d:href>{escape(href)}</d:href><d:propstat><d:prop>{props}</d:prop>" \
           "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"  # fmt: skip


def _missing(href: str) -> str:
    return f"<d:response><d:href>{escape(href)}</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>"


def _multistatus(responses: list[str], tail: str = "") -> Answer:
    body = f'<?xml version="1.0" encoding="utf-8"?><d:multistatus {NS}>{"".join(responses)}{tail}</d:multistatus>'
    return Answer(207, body.encode(), {"Content-Type": 'application/xml; charset="utf-8"'})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.02, help="seconds every answer waits (default 0.02)")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    server = LatencyDavServer(delay=options.delay, port=options.port).start()
    print(f"serving on {server.base}/u/<user>/ with {options.delay * 1000:.0f} ms per request", flush=True)  # noqa: T201 - a command-line tool's banner
    threading.Event().wait()


if __name__ == "__main__":
    main()
