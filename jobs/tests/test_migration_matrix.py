"""The migration matrix: a real-world corpus from Radicale into SOGo, Cyrus, DAViCal, sabre/dav and
Xandikos, and back out into a fresh Radicale, through the sync engine (a two-way job in, a copy
out).

Every object arrives once, semantically equal to what the server itself stores from a direct
upload of the same bytes (calsync/testing/matrix.py says what "semantically" ignores); the objects a
server refuses are repaired to land, except the journals SOGo cannot store, which are reported refused
with the reason; a re-run writes nothing; an edit and a deletion on each side
travel to the other. ``bench/real_servers_bench.py --matrix`` prints the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

import pytest

from calsync.testing.matrix import MatrixRun, corpus, run_matrix
from calsync.testing.servers import DavServer, start_radicale

pytestmark = pytest.mark.realservers

SERVERS = ("sogo", "cyrus", "davical", "sabredav", "xandikos")
# What each server needs repaired (the rest of the corpus it takes as it is): Cyrus refuses 7
# objects inbound (refs/real-servers.md); Radicale refuses the vCard DAViCal serves with raw line
# breaks in a parameter (it turns the "\n" of an ADR LABEL into real ones).
REPAIRED = {"cyrus": (7, 0), "davical": (0, 1)}
OBJECTS = 37
JOURNALS = 2
# Which servers store VJOURNAL (in a calendar created with VEVENT VTODO VJOURNAL, as the matrix makes
# them): Cyrus, DAViCal, sabre/dav and Xandikos do; SOGo answers 404 to each, which calsync reports
# as this object refused, never as a calendar gone.
STORES_JOURNALS = {"sogo": False, "cyrus": True, "davical": True, "sabredav": True, "xandikos": True}
JOURNAL_REFUSAL = (
    "The server refused this VJOURNAL object (answered 404 although the calendar exists);"
    " it stores no VJOURNAL objects in this calendar"
)


@pytest.fixture(scope="module")
def old_server() -> Iterator[DavServer]:
    """The user's old server; without fsync, which a temp dir does not need (PUTs three times faster)."""
    server = start_radicale(fsync=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def matrices(request: pytest.FixtureRequest, old_server: DavServer) -> dict[str, Future[MatrixRun]]:
    """All five at once: each server spends most of a run waiting for its own disk and PHP, so
    side by side the matrix takes about as long as its slowest server (DAViCal) alone."""
    servers = {name: request.getfixturevalue(name) for name in SERVERS}
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        runs = {name: pool.submit(run_matrix, server, old_server, name=name) for name, server in servers.items()}
        wait(runs.values())
    return runs


@pytest.fixture(params=SERVERS)
def matrix(request: pytest.FixtureRequest, matrices: dict[str, Future[MatrixRun]]) -> MatrixRun:
    return matrices[request.param].result()


def test_the_corpus_is_a_few_dozen_objects_of_every_kind() -> None:
    objects = corpus()
    everything = b"".join([*objects["calendar"].values(), *objects["addressbook"].values()])

    assert len(objects["calendar"]) + len(objects["addressbook"]) == OBJECTS
    assert everything.count(b"BEGIN:VJOURNAL") == JOURNALS
    for marker in (b"RECURRENCE-ID", b"EXDATE", b"RDATE", b"BEGIN:VTODO", b"VALUE=DATE", b'TZID="W. Europe'):
        assert marker in everything, marker
    for marker in (b"VERSION:2.1", b"VERSION:3.0", b"VERSION:4.0", b"KIND:group", b"X-ADDRESSBOOKSERVER-KIND:group"):
        assert marker in everything, marker


def test_every_object_the_server_stores_lands_once_and_as_the_server_stores_it(matrix: MatrixRun) -> None:
    stored = OBJECTS if STORES_JOURNALS[matrix.server] else OBJECTS - JOURNALS
    assert (matrix.inbound.objects, matrix.outbound.objects) == (OBJECTS, stored)
    for direction in (matrix.inbound, matrix.outbound):
        assert (direction.landed, direction.duplicates) == (stored, 0), direction.direction
        assert direction.differences == {}, direction.direction
    assert matrix.outbound.refusals == []


def test_journals_land_where_the_server_stores_them_and_are_refused_with_the_reason_elsewhere(
    matrix: MatrixRun,
) -> None:
    refused = 0 if STORES_JOURNALS[matrix.server] else JOURNALS
    assert matrix.inbound.refused == len(matrix.inbound.refusals) == refused
    assert all(refusal.endswith(JOURNAL_REFUSAL) for refusal in matrix.inbound.refusals), matrix.inbound.refusals


def test_what_the_server_refuses_is_repaired_to_land(matrix: MatrixRun) -> None:
    assert (matrix.inbound.repaired, matrix.outbound.repaired) == REPAIRED.get(matrix.server, (0, 0))


def test_a_rerun_writes_nothing(matrix: MatrixRun) -> None:
    assert matrix.rerun_writes == 0


def test_edits_and_deletions_travel_both_ways(matrix: MatrixRun) -> None:
    assert matrix.two_way and all(matrix.two_way.values()), matrix.two_way
