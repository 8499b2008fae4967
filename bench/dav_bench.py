"""CalDAV server speed: calsync's ``/dav/`` against Radicale, in one run on this machine.

calsync runs as in production: gunicorn serving ``calsync.wsgi`` with ``gthread`` workers, DEBUG
off, a file SQLite database in a temp ``CALSYNC_DATA_DIR`` (migrated, with a user and an app
password made in-process before gunicorn starts). Radicale runs as the tests start it
(``calsync.testing.servers.start_radicale``); both are sent Basic credentials with every request,
as calendar clients do (Radicale waits about a second before every 401). For each server:

1. ``--objects`` PUTs (``If-None-Match: *``) of distinct calendar objects — time-zoned, all-day,
   floating and weekly recurring events with an override, and tasks (``calsync.testing.samples``) —
   one after another over one connection into a fresh VEVENT+VTODO calendar made by MKCALENDAR.
   With ``--clients N`` (N > 1), the same again over N concurrent connections into another one.
2. A full ``calendar-query``: comp-filter VCALENDAR/VEVENT, time-range over 2026 (every event of
   the mix falls in it), asking getetag and calendar-data.
3. ``--syncs`` rounds of: change one object (PUT with ``If-Match``), then a ``sync-collection``
   REPORT (getetag only) with the token from the round before; the REPORT is timed.

Targets: calsync's PUT throughput ≥ 5x Radicale's; sync-collection after one change ≤ 20 ms
(median and p95 are printed). Radicale checks a new object's UID against every object already in
the calendar, so its PUTs slow down as the calendar fills and the ratio depends on ``--objects``.
The defaults take about 2.5 minutes here (mostly Radicale's PUTs); ``--clients 4`` about 4.5.

    PYTHONPATH=. .venv/bin/python bench/dav_bench.py [--objects 2000] [--syncs 50] [--queries 3]
        [--clients 1] [--gunicorn gthread:2x4] [--profile N]

Radicale's built-in server answers HTTP/1.0 and closes after each request, so its client reconnects
every time (that is Radicale as shipped). ``--profile N`` instead PUTs N objects in-process through
``django.test.Client`` under cProfile and prints where the time of one PUT goes.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPResponse
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="calsync-dav-bench-")
os.environ["CALSYNC_DATA_DIR"] = DATA_DIR
Path(DATA_DIR, "static").mkdir()  # whitenoise warns on every start without it
os.environ["DEBUG"] = "false"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from defusedxml.ElementTree import fromstring  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from calsync.testing import samples  # noqa: E402
from calsync.testing.servers import start_radicale  # noqa: E402
from feeds.dav.services import app_password_create  # noqa: E402

USER = "alice"
MKCALENDAR = (
    b'<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    b"<D:set><D:prop><D:displayname>Bench</D:displayname><C:supported-calendar-component-set>"
    b'<C:comp name="VEVENT"/><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set>'
    b"</C:mkcalendar>"
)
QUERY = (
    b'<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    b'<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    b'<C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20270101T000000Z"/>'
    b"</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
)
XML_HEADERS = {"Content-Type": 'application/xml; charset="utf-8"'}


def sync_body(token: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">'
        f"<D:sync-token>{escape(token)}</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    ).encode()


class Client:
    """One HTTP connection with Basic credentials on every request, as calendar clients send them."""

    def __init__(self, port: int, password: str) -> None:
        self.port = port
        self.auth = "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> HTTPResponse:
        """The response, its body already read (``.data``); one reconnect when a kept-alive socket was closed."""
        headers = {"Authorization": self.auth, **(headers or {})}
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                response.data = response.read()
                return response
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


@dataclass
class Target:
    name: str
    port: int
    password: str
    home: str  # the user's calendar home path, ending in "/"
    figures: dict[str, float] = field(default_factory=dict)

    def client(self) -> Client:
        return Client(self.port, self.password)


# --- the measurements ----------------------------------------------------------------------------


def make_calendar(client: Client, path: str) -> None:
    response = client.request("MKCALENDAR", path, MKCALENDAR, XML_HEADERS)
    assert response.status == 201, (path, response.status, response.data[:300])


def put_new(client: Client, path: str, data: bytes) -> tuple[float, str | None]:
    began = time.perf_counter()
    response = client.request("PUT", path, data, {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
    elapsed = time.perf_counter() - began
    assert response.status == 201, (path, response.status, response.data[:300])
    return elapsed, response.getheader("ETag")


def put_sequential(target: Target, objects: list[bytes]) -> dict[str, str | None]:
    """Every object over one connection; returns each name's etag (None: the server sent none)."""
    client, calendar = target.client(), f"{target.home}bench-seq/"
    make_calendar(client, calendar)
    etags, samples_ms = {}, []
    began = time.perf_counter()
    for n, data in enumerate(objects):
        elapsed, etags[object_name(n)] = put_new(client, f"{calendar}{object_name(n)}", data)
        samples_ms.append(elapsed * 1000)
    wall = time.perf_counter() - began
    decile = max(1, len(samples_ms) // 10)
    target.figures |= {
        "put_per_s": len(objects) / wall, "put_ms": wall * 1000 / len(objects),
        "put_p50": statistics.median(samples_ms), "put_p95": percentile(samples_ms, 95),
        "put_first": statistics.fmean(samples_ms[:decile]), "put_last": statistics.fmean(samples_ms[-decile:]),
    }  # fmt: skip
    print(
        f"  {target.name}: {len(objects)} sequential PUTs in {wall:.1f} s = {target.figures['put_per_s']:.0f}/s, "
        f"{target.figures['put_ms']:.2f} ms each (median {target.figures['put_p50']:.2f}, "
        f"p95 {target.figures['put_p95']:.2f}; first tenth {target.figures['put_first']:.2f}, "
        f"last tenth {target.figures['put_last']:.2f})",
        flush=True,
    )
    return etags


def put_concurrent(target: Target, objects: list[bytes], clients: int) -> None:
    calendar = f"{target.home}bench-par/"
    make_calendar(target.client(), calendar)
    errors: list[str] = []

    def work(offset: int) -> None:
        client = target.client()
        for n in range(offset, len(objects), clients):
            try:
                put_new(client, f"{calendar}{object_name(n)}", objects[n])
            except AssertionError as exc:
                errors.append(str(exc)[:200])

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    target.figures["par_per_s"] = len(objects) / wall
    print(
        f"  {target.name}: {len(objects)} PUTs over {clients} connections in {wall:.1f} s = "
        f"{target.figures['par_per_s']:.0f}/s, {len(errors)} errors {errors[:3]}",
        flush=True,
    )


def calendar_query(target: Target, runs: int, expected: int) -> None:
    client, times, counts = target.client(), [], set()
    for _ in range(runs):
        began = time.perf_counter()
        response = client.request("REPORT", f"{target.home}bench-seq/", QUERY, {**XML_HEADERS, "Depth": "1"})
        times.append((time.perf_counter() - began) * 1000)
        assert response.status == 207, (response.status, response.data[:300])
        counts.add(len(responses(response.data)[0]))
    target.figures |= {"query_first": times[0], "query_ms": statistics.median(times)}
    found = ", ".join(map(str, sorted(counts)))
    flag = "" if counts == {expected} else f"  <-- WRONG: expected {expected}"
    print(
        f"  {target.name}: calendar-query over 2026: {found} events, {' / '.join(f'{t:.0f}' for t in times)} ms{flag}",
        flush=True,
    )


def sync_rounds(target: Target, objects: list[bytes], etags: dict[str, str | None], rounds: int) -> None:
    """Change one object, then ask what changed since the last token: the answer must be that one object."""
    client, calendar = target.client(), f"{target.home}bench-seq/"
    began = time.perf_counter()
    first = client.request("REPORT", calendar, sync_body(""), XML_HEADERS)
    target.figures["initial_sync_ms"] = (time.perf_counter() - began) * 1000
    changed, token = responses(first.data)
    assert first.status == 207 and len(changed) == len(objects), (first.status, len(changed), first.data[:300])
    put_ms, sync_ms, wrong = [], [], 0
    for round_number in range(rounds):
        n = (round_number * 37) % len(objects)
        name = object_name(n)
        data = objects[n].replace(b"\r\nSUMMARY:", f"\r\nSUMMARY:edit {round_number} ".encode(), 1)
        headers = {"Content-Type": "text/calendar; charset=utf-8", **({"If-Match": etags[name]} if etags[name] else {})}
        began = time.perf_counter()
        written = client.request("PUT", f"{calendar}{name}", data, headers)
        put_ms.append((time.perf_counter() - began) * 1000)
        assert written.status in (200, 204), (written.status, written.data[:300])
        began = time.perf_counter()
        response = client.request("REPORT", calendar, sync_body(token), XML_HEADERS)
        sync_ms.append((time.perf_counter() - began) * 1000)
        assert response.status == 207, (response.status, response.data[:300])
        changed, token = responses(response.data)
        wrong += [href.rsplit("/", 1)[-1] for href in changed] != [name]
        etags[name] = written.getheader("ETag") or changed.get(f"{calendar}{name}") or etags[name]
    target.figures |= {
        "sync_p50": statistics.median(sync_ms),
        "sync_p95": percentile(sync_ms, 95),
        "update_ms": statistics.median(put_ms),
    }
    print(
        f"  {target.name}: initial sync-collection ({len(objects)} hrefs) {target.figures['initial_sync_ms']:.0f} ms; "
        f"{rounds} x (update PUT median {target.figures['update_ms']:.2f} ms, sync-collection median "
        f"{target.figures['sync_p50']:.2f} ms, p95 {target.figures['sync_p95']:.2f} ms)"
        + (f"  <-- {wrong} answers did not list exactly the changed object" if wrong else ""),
        flush=True,
    )


def responses(multistatus: bytes) -> tuple[dict[str, str | None], str]:
    """``{href: getetag}`` of a multistatus, and its sync-token (empty when none)."""
    root = fromstring(multistatus)
    found = {}
    for response in root.findall("{DAV:}response"):
        found[(response.findtext("{DAV:}href") or "").strip()] = response.findtext(".//{DAV:}getetag")
    return found, (root.findtext("{DAV:}sync-token") or "").strip()


def object_name(n: int) -> str:
    return f"bench-{n}.ics"


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * pct / 100) - 1)]


def measure(target: Target, objects: list[bytes], options: argparse.Namespace) -> None:
    target.client().request("PROPFIND", target.home, b"", {"Depth": "0"})  # warm up: first request, password hash
    etags = put_sequential(target, objects)
    if options.clients > 1:
        put_concurrent(target, objects, options.clients)
    calendar_query(target, options.queries, expected=sum(b"BEGIN:VEVENT" in data for data in objects))
    sync_rounds(target, objects, etags, options.syncs)


# --- the servers ---------------------------------------------------------------------------------


def prepare_calsync() -> str:
    """Migrate, then the user and their first app password; returns the password."""
    call_command("migrate", verbosity=0)
    user = User.objects.create_user(USER)
    _row, password = app_password_create(user=user, name="bench")
    return password


def start_gunicorn(setup: str) -> tuple[subprocess.Popen, int]:
    from django.conf import settings

    kind, _, size = setup.partition(":")
    workers, _, threads = size.partition("x")
    if kind != "gthread" or not workers.isdigit():
        raise SystemExit(f"--gunicorn takes gthread:<workers>x<threads>, not {setup!r}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "calsync.wsgi", "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
         "--workers", workers, "--threads", threads or "4", "--access-logfile", f"{DATA_DIR}/access.log",
         "--no-control-socket", "--log-level", "warning"],
        cwd=ROOT, env=env, process_group=0,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/health")
            connection.getresponse().read()
            return server, port
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGTERM)
    raise RuntimeError("gunicorn did not start")


def summary(calsync: Target, radicale: Target, options: argparse.Namespace) -> None:
    rows = [  # label, figure, format, higher is better, target
        ("PUT objects/s (sequential)", "put_per_s", "{:.0f}", True, ">= 5x Radicale"),
        ("ms per PUT (mean)", "put_ms", "{:.2f}", False, ""),
        ("ms per PUT (p95)", "put_p95", "{:.2f}", False, ""),
        *(
            [(f"PUT objects/s ({options.clients} connections)", "par_per_s", "{:.0f}", True, "")]
            if options.clients > 1
            else []
        ),
        ("calendar-query over a year, ms (median)", "query_ms", "{:.0f}", False, ""),
        ("sync-collection after 1 change, ms p50", "sync_p50", "{:.2f}", False, "<= 20 ms"),
        ("sync-collection after 1 change, ms p95", "sync_p95", "{:.2f}", False, "<= 20 ms"),
        ("update PUT (If-Match), ms median", "update_ms", "{:.2f}", False, ""),
    ]
    print(
        f"\nsummary ({options.objects} objects; calsync gunicorn {options.gunicorn}; load average "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())})"
    )
    print(f"  {'':42} {'calsync':>10} {'Radicale':>10} {'calsync better by':>18}  target")
    for label, key, fmt, higher_better, target in rows:
        ours, theirs = calsync.figures[key], radicale.figures[key]
        better = (ours / theirs if higher_better else theirs / ours) if ours and theirs else float("nan")
        print(f"  {label:42} {fmt.format(ours):>10} {fmt.format(theirs):>10} {better:>17.2f}x  {target}")
    speedup = calsync.figures["put_per_s"] / radicale.figures["put_per_s"]
    verdict = "met" if speedup >= 5 else "NOT met"
    sync_verdict = "met" if calsync.figures["sync_p95"] <= 20 else "NOT met at p95"
    print(
        f"  PUT throughput calsync/Radicale = {speedup:.1f}x (target >= 5x: {verdict}); "
        f"calsync sync-collection median {calsync.figures['sync_p50']:.2f} ms (target <= 20 ms: {sync_verdict})"
    )


def profile_puts(password: str, count: int) -> None:
    """Where one PUT's time goes, in-process: no HTTP server, no socket, no client."""
    import cProfile
    import pstats

    from django.test import Client as DjangoClient

    client = DjangoClient(HTTP_HOST="127.0.0.1")
    auth = "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()
    home = f"/dav/calendars/{USER}/"
    response = client.generic("MKCALENDAR", f"{home}profile/", MKCALENDAR, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 201, response.status_code
    objects = samples.calendar_objects(count + 50)

    def put(n: int) -> None:
        answer = client.generic(
            "PUT",
            f"{home}profile/{object_name(n)}",
            objects[n],
            content_type="text/calendar",
            HTTP_AUTHORIZATION=auth,
            HTTP_IF_NONE_MATCH="*",
        )
        assert answer.status_code == 201, (answer.status_code, answer.content[:300])

    for n in range(50):
        put(n)  # warm up: imports, URL resolver, the password hash
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.runcall(lambda: [put(n) for n in range(50, 50 + count)])
    print(
        f"  in-process PUT through django.test.Client under cProfile: "
        f"{(time.perf_counter() - began) * 1000 / count:.2f} ms per PUT ({count} PUTs)"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)


def run(options: argparse.Namespace) -> None:
    password = prepare_calsync()
    if options.profile:
        profile_puts(password, options.profile)
        return
    objects = samples.calendar_objects(options.objects)
    print(
        f"dav bench: {len(objects)} objects ({sum(b'BEGIN:VTODO' in o for o in objects)} tasks), "
        f"{sum(map(len, objects)) // len(objects)} bytes on average",
        flush=True,
    )
    server, port = start_gunicorn(options.gunicorn)
    radicale = start_radicale(USER, "s3cret-pass")
    began = time.perf_counter()
    try:
        calsync = Target("calsync", port, password, f"/dav/calendars/{USER}/")
        measure(calsync, objects, options)
        other = Target("Radicale", int(radicale.url.rsplit(":", 1)[1].strip("/")), radicale.password, f"/{USER}/")
        measure(other, objects, options)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        radicale.stop()
    summary(calsync, other, options)
    print(f"  (measured in {time.perf_counter() - began:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--syncs", type=int, default=50, help="change + sync-collection rounds")
    parser.add_argument("--queries", type=int, default=3, help="calendar-query repetitions (median reported)")
    parser.add_argument("--clients", type=int, default=1, help="N > 1 adds a run of PUTs over N connections")
    parser.add_argument("--gunicorn", default="gthread:2x4", help="gthread:<workers>x<threads>")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N in-process PUTs instead")
    try:
        run(parser.parse_args())
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
