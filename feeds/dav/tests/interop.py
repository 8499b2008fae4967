"""Third-party CalDAV clients driven from tests: caldav-server-tester, vdirsyncer, khal.

Issue 6 judges calsync's CalDAV server by clients it did not write. These helpers take only a
base URL and credentials, so the same test runs against Radicale (the yardstick) and calsync.
Every tool runs as a subprocess from this virtualenv with a private HOME (no user config can leak
in), a timeout, and its output in the exception when it fails, so a red test says why.

Run as a script (``python interop.py server-tester URL USER OUTPUT``, password in the environment)
this module is the server tester's own lifecycle -- check all, clean up, report -- writing one
JSON file that holds both the tool's JSON report and every feature it observed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

BIN = Path(sys.executable).parent
TOOL_TIMEOUT = 120
# About 6 s against Radicale here; generous because a slow server must fail on its report, not time out.
SERVER_TESTER_TIMEOUT = 280
PASSWORD_VARIABLE = "CALSYNC_INTEROP_PASSWORD"
# Variables through which caldav, vdirsyncer or khal would read configuration we did not write.
_FOREIGN_CONFIG_PREFIXES = ("CALDAV_", "PYTHON_CALDAV_", "VDIRSYNCER_", "KHAL_")


class ToolFailed(AssertionError):
    """A client exited non-zero or hung; the message carries its command line and output."""


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a tool: this one, minus any client config, with HOME inside tmp_path."""
    home = tmp_path / "home"
    for sub in ("config", "data", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_CONFIG_PREFIXES)}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    return env


def run_tool(argv: list[str], *, env: dict[str, str], timeout: float = TOOL_TIMEOUT) -> str:
    """Run one client to completion without a terminal; return its stdout or raise ``ToolFailed``.

    Standard input is closed, so a tool that would ask a question fails instead of waiting.
    """
    try:
        done = subprocess.run(
            argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(f"{argv[0]} timed out after {timeout} s: {argv}\n{_output(exc.stdout, exc.stderr)}") from exc
    if done.returncode != 0:
        raise ToolFailed(f"{argv[0]} exited {done.returncode}: {argv}\n{_output(done.stdout, done.stderr)}")
    return done.stdout + done.stderr


def _output(stdout: str | bytes | None, stderr: str | bytes | None) -> str:
    def text(value: str | bytes | None) -> str:
        return value.decode(errors="replace") if isinstance(value, bytes) else value or ""

    return f"--- stdout ---\n{text(stdout)[-6000:]}\n--- stderr ---\n{text(stderr)[-6000:]}"


# --- caldav-server-tester -------------------------------------------------------------------------


def run_server_tester(base_url: str, username: str, password: str, tmp_path: Path) -> dict:
    """Run every caldav-server-tester check against the server; return the parsed report.

    The report is the tool's own JSON report (``features`` holds only deviations from the
    defaults, as ``--format json`` prints) plus ``observed``: every feature the run checked with
    its result, which is what ``feature_counts`` counts. The JSON and the tool's log are kept in
    tmp_path as ``caldav-server-tester.json`` / ``.log``.
    """
    output = tmp_path / "caldav-server-tester.json"
    env = isolated_env(tmp_path) | {PASSWORD_VARIABLE: password}
    # -I: this file's directory must not shadow an installed module in the child.
    argv = [sys.executable, "-I", str(Path(__file__).resolve()), "server-tester", base_url, username, str(output)]
    log = run_tool(argv, env=env, timeout=SERVER_TESTER_TIMEOUT)
    (tmp_path / "caldav-server-tester.log").write_text(log)
    return json.loads(output.read_text())


def feature_counts(report: dict) -> Counter:
    """How many observed features have each support level ("full", "unsupported", "broken", ...)."""
    return Counter(info["support"] for info in report["observed"].values() if "support" in info)


def features_with(report: dict, support: str) -> list[str]:
    """The names of the observed features at one support level, sorted."""
    return sorted(name for name, info in report["observed"].items() if info.get("support") == support)


def _server_tester_main(url: str, username: str, output: str) -> None:
    """What ``caldav-server-tester --caldav-url ... --format json`` does, keeping the full feature list.

    The tool's JSON leaves out every feature at its default level, so a server's "full" features
    cannot be counted from it; its ``hints`` format has them but is not JSON. One run gives both.
    """
    from importlib.metadata import version

    from caldav.davclient import get_davclient
    from caldav_server_tester import ServerQuirkChecker

    client = get_davclient(
        url=url, username=username, password=os.environ[PASSWORD_VARIABLE], check_config_file=False, environment=False
    )
    with client:
        checker = ServerQuirkChecker(client)
        try:
            checker.check_all()
        finally:
            try:
                checker.cleanup(force=True)
            except Exception as exc:  # the CLI, too, reports what it found when its cleanup fails
                logging.warning("caldav-server-tester cleanup failed: %r", exc)
            observed = checker.features_checked.dotted_feature_set_list(compact=False)
            report = checker.report(return_what=dict)
            report.update(observed=observed, tester_version=version("caldav-server-tester"))
            Path(output).write_text(json.dumps(report, indent=2, sort_keys=True, default=str))


# --- the server side, through the caldav library --------------------------------------------------


def make_calendar(base_url: str, username: str, password: str, cal_id: str, components: tuple[str, ...]) -> str:
    """MKCALENDAR ``cal_id`` in the user's calendar home with a component set; return its URL."""
    import caldav

    with caldav.DAVClient(url=base_url, username=username, password=password, auth_type="basic") as client:
        calendar = client.principal().make_calendar(
            name=cal_id, cal_id=cal_id, supported_calendar_component_set=list(components)
        )
        return str(calendar.url)


@dataclass
class RemoteCalendar:
    """One calendar on the server, read and written with the ``caldav`` library as any client would.

    Objects are found by UID in a listing, never by a URL built from the UID.
    """

    url: str
    username: str
    password: str = field(repr=False)

    def _calendar(self, client):  # -> caldav.Calendar
        return client.calendar(url=self.url)

    def _client(self):  # -> caldav.DAVClient
        import caldav

        # Basic up front: Radicale holds every 401 back by about a second (its brute-force delay).
        return caldav.DAVClient(url=self.url, username=self.username, password=self.password, auth_type="basic")

    def items(self) -> dict[str, str]:
        """UID -> iCalendar text of every object in the calendar."""
        with self._client() as client:
            objects = [obj for obj in self._calendar(client).objects(load_objects=True) if obj.data]
        texts = {str(obj.url): obj.data for obj in objects}
        return {uid: texts[url] for uid, url in locate_uids(texts).items()}

    def add(self, text: str) -> None:
        """Create an object (VEVENT or VTODO, with any overrides) with exactly these bytes."""
        import caldav

        with self._client() as client:
            kind = caldav.Todo if "BEGIN:VTODO" in text else caldav.Event
            kind(client=client, parent=self._calendar(client)).save(raw_data=text.encode(), no_overwrite=True)

    def replace(self, uid: str, text: str) -> None:
        """Overwrite the object holding ``uid`` with these bytes (If-Match on the ETag just read)."""
        with self._client() as client:
            self._find(client, uid).save(raw_data=text.encode())

    def delete(self, uid: str) -> None:
        with self._client() as client:
            self._find(client, uid).delete()

    def _find(self, client, uid: str):  # -> caldav.CalendarObjectResource
        for obj in self._calendar(client).objects(load_objects=True):
            if obj.data and ical_uid(obj.data) == uid:
                return obj
        raise LookupError(f"no object with UID {uid} in {self.url}")


def ical_uid(text: str) -> str:
    """The UID of the first component with one (every component of a resource shares it)."""
    import icalendar

    for component in icalendar.Calendar.from_ical(text).walk():
        if "UID" in component:
            return str(component["UID"])
    raise ValueError("no UID in calendar data")


def locate_uids(texts: dict[str, str]) -> dict[str, str]:
    """UID -> location, given location -> iCalendar text; a UID in two resources is a failure.

    RFC 4791 4.1 keeps a series and its overrides in one resource; a client or server that splits
    them would otherwise be hidden by a dict that keeps the last one seen.
    """
    locations: dict[str, str] = {}
    for location, text in texts.items():
        uid = ical_uid(text)
        if uid in locations:
            raise AssertionError(f"UID {uid} is in two resources: {locations[uid]} and {location}")
        locations[uid] = location
    return locations


# --- vdirsyncer: CalDAV <-> a local vdir ---------------------------------------------------------


@dataclass
class VdirsyncerPair:
    """A vdirsyncer pair "cal": a = a filesystem vdir in tmp_path, b = the CalDAV server.

    ``collections`` maps a local collection name to the URL of a calendar on the server; the pair
    finds that calendar by discovery from ``base_url`` (principal, calendar home), as a user's
    configuration would. Conflicts resolve to the server ("b wins").
    """

    base_url: str
    username: str
    password: str = field(repr=False)
    tmp_path: Path
    collections: dict[str, str]

    def __post_init__(self) -> None:
        self.root = self.tmp_path / f"vdirsyncer-{uuid.uuid4().hex[:8]}"
        self.vdir = self.root / "vdir"
        for name in self.collections:
            self.local_dir(name).mkdir(parents=True, exist_ok=True)
        self.config_path = self.root / "config"
        self.config_path.write_text(self._config())
        self.env = isolated_env(self.root)

    def local_dir(self, name: str) -> Path:
        return self.vdir / name

    def discover(self) -> str:
        """``vdirsyncer discover``; fails (rather than prompting) if a collection is missing."""
        return self._run("discover")

    def sync(self, *, force_delete: bool = False) -> str:
        """``vdirsyncer sync``; it refuses to empty a collection unless ``force_delete``."""
        return self._run("sync", *(["--force-delete"] if force_delete else []))

    def local_items(self, name: str) -> dict[str, Path]:
        """UID -> file of every item in one local collection."""
        texts = {str(path): path.read_text() for path in sorted(self.local_dir(name).glob("*.ics"))}
        return {uid: Path(location) for uid, location in locate_uids(texts).items()}

    def write_local(self, name: str, text: str, path: Path | None = None) -> Path:
        """Create (or, given its path, replace) a local item as a desktop client would: atomically."""
        path = path or self.local_dir(name) / f"{uuid.uuid4()}.ics"
        scratch = path.with_suffix(".tmp")
        scratch.write_text(text)
        scratch.replace(path)
        return path

    def _run(self, *command: str) -> str:
        return run_tool([str(BIN / "vdirsyncer"), "-c", str(self.config_path), *command], env=self.env)

    def _config(self) -> str:
        triples = [[local, local, _collection_name(url)] for local, url in self.collections.items()]

        def value(item: object) -> str:
            return json.dumps(item)

        return "\n".join(
            [
                "[general]",
                f"status_path = {value(str(self.root / 'status') + '/')}",
                "",
                "[pair cal]",
                'a = "cal_local"',
                'b = "cal_remote"',
                f"collections = {value(triples)}",
                'conflict_resolution = "b wins"',
                "",
                "[storage cal_local]",
                'type = "filesystem"',
                f"path = {value(str(self.vdir) + '/')}",
                'fileext = ".ics"',
                "",
                "[storage cal_remote]",
                'type = "caldav"',
                f"url = {value(self.base_url)}",
                f"username = {value(self.username)}",
                f"password = {value(self.password)}",
                "",
            ]
        )


def _collection_name(url: str) -> str:
    """The name vdirsyncer's discovery gives a collection: its URL's last segment, decoded."""
    return unquote(url.rstrip("/").rsplit("/", 1)[-1])


# --- khal ----------------------------------------------------------------------------------------


def khal_new(calendar_dir: Path, tmp_path: Path, *arguments: str) -> Path:
    """``khal new -a cal ARGUMENTS...`` on one vdir collection; return the file khal wrote.

    ``arguments`` are khal's own, e.g. ``"2026-02-03", "10:00", "11:00", "Summary"`` or with
    ``"-r", "weekly", "-u", "2026-03-31"`` in front. Times are UTC.
    """
    root = tmp_path / f"khal-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    config = root / "config"
    config.write_text(_khal_config(calendar_dir, root / "khal.db"))
    argv = [str(BIN / "khal"), "-c", str(config), "new", "-a", "cal", *arguments]
    printed = run_tool(argv, env=isolated_env(root)).strip().splitlines()
    path = Path(printed[-1]) if printed else Path()
    if not path.is_file():
        raise ToolFailed(f"khal new did not print the path of a new file: {printed}")
    return path


def _khal_config(calendar_dir: Path, database: Path) -> str:
    return "\n".join(
        [
            "[calendars]",
            "[[cal]]",
            f"path = {calendar_dir}",
            "type = calendar",
            "[locale]",
            "local_timezone = UTC",
            "default_timezone = UTC",
            "timeformat = %H:%M",
            "dateformat = %Y-%m-%d",
            "longdateformat = %Y-%m-%d",
            "datetimeformat = %Y-%m-%d %H:%M",
            "longdatetimeformat = %Y-%m-%d %H:%M",
            "[default]",
            "print_new = path",
            "[sqlite]",
            f"path = {database}",
            "",
        ]
    )


if __name__ == "__main__" and sys.argv[1:2] == ["server-tester"]:
    _server_tester_main(*sys.argv[2:5])
