"""Password guessing against calsync under gunicorn: what a guesser gets, what everyone else pays.

Starts calsync (gunicorn, 2 gthread workers x 4 threads, as ``run_all``) on a fresh SQLite data
dir, with 127.0.0.1 as the trusted proxy so each simulated client has its own address in
``X-Forwarded-For``. Then, for ``--seconds`` each:

1. idle: the latency of a legitimate request (``GET /api/accounts`` with an API token, so the
   measurement itself hashes nothing);
2. eight guessers, one address each, hammering API Basic auth for one user name: how many
   guesses reached a password hash before they were refused, then (steady state) guesses hashed
   and refused per minute and the legitimate latency meanwhile;
3. eight guessers rotating through fresh addresses (a botnet) on another user name: the same,
   where only the per-user-name limit stands in the way.

``--before <commit>`` measures the same on an older tree (``git archive`` into a temp dir; the
repository is not touched), e.g. the commit before the guard, for a before/after table.
Figures are printed, not asserted: the machine is shared and timing varies.

    PYTHONPATH=. .venv/bin/python bench/bruteforce_bench.py [--seconds 15] [--before 86fbe05]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "alice", "correct-horse-battery-9"
GUESSERS = 8
SETTLE = 3.0
WARM_UP_MAX = 90.0  # seconds of guessing before the steady state is measured, at most
SETUP = f"""
from django.contrib.auth.models import User
User.objects.create_user("bob", password={PASSWORD!r})
user = User.objects.create_user({USER!r}, password={PASSWORD!r})
try:
    from knox.models import AuthToken
    print(AuthToken.objects.create(user=user)[1])
except Exception:  # the tree before hashed tokens
    from rest_framework.authtoken.models import Token
    print(Token.objects.create(user=user).key)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    tree: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    token: str = ""

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.tree,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def start(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        self.token = self.manage("shell", "-c", SETUP).strip().splitlines()[-1]
        self.port = free_port()
        argv = [
            sys.executable, "-m", "gunicorn", "calsync.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--no-control-socket",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv, cwd=self.tree, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, float]:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            response.read()
            return response.status, time.perf_counter() - started
        finally:
            connection.close()


@dataclass
class Tally:
    checked: int = 0  # answered 401: the password was hashed and compared
    refused: int = 0  # answered 429: refused before any hashing
    other: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int) -> None:
        with self.lock:
            if status == 401:
                self.checked += 1
            elif status == 429:
                self.refused += 1
            else:
                self.other += 1


def basic(password: str, user: str = USER) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def guess(app: App, tally: Tally, stop: threading.Event, rotating: bool, index: int, user: str) -> None:
    for attempt in itertools.count():
        if stop.is_set():
            return
        address = f"10.{index}.{attempt // 250 % 250}.{attempt % 250}" if rotating else f"203.0.113.{index + 1}"
        headers = {"Authorization": basic(f"guess-{index}-{attempt}", user), "X-Forwarded-For": address}
        try:
            tally.add(app.request("GET", "/api/accounts", headers)[0])
        except OSError:
            tally.add(0)


def legitimate_latencies(app: App, seconds: float) -> list[float]:
    headers = {"Authorization": f"Token {app.token}", "X-Forwarded-For": "198.51.100.20"}
    latencies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, elapsed = app.request("GET", "/api/accounts", headers)
        if status == 200:
            latencies.append(elapsed * 1000)
        time.sleep(0.05)
    return latencies


def phase(app: App, seconds: float, *, rotating: bool | None, user: str = USER) -> dict[str, float]:
    """Guessers start; once they are refused (or after ``WARM_UP_MAX``) the steady state is measured."""
    tally, stop = Tally(), threading.Event()
    threads = []
    warm_up = 0.0
    checked_before = 0
    if rotating is not None:
        threads = [threading.Thread(target=guess, args=(app, tally, stop, rotating, n, user)) for n in range(GUESSERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while tally.refused < GUESSERS and time.monotonic() - started < WARM_UP_MAX:
            time.sleep(0.2)
        warm_up = time.monotonic() - started
        time.sleep(SETTLE)  # guesses already in flight when the refusals began still hash
        with tally.lock:
            checked_before, tally.checked, tally.refused, tally.other = tally.checked, 0, 0, 0
    measured_from = time.monotonic()
    latencies = legitimate_latencies(app, seconds)
    minutes = (time.monotonic() - measured_from) / 60
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "warm_up_s": warm_up,
        "checked_before_refusals": checked_before,
        "legit_median_ms": statistics.median(latencies) if latencies else float("nan"),
        "legit_p95_ms": statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 20 else float("nan"),
        "legit_ok": len(latencies),
        "checked_per_min": tally.checked / minutes,
        "refused_per_min": tally.refused / minutes,
        "other": tally.other,
    }


def measure(tree: Path, seconds: float, label: str) -> dict[str, dict[str, float]]:
    data_dir = tempfile.mkdtemp(prefix=f"calsync-bruteforce-{label}-")
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    }
    env.update(CALSYNC_DATA_DIR=data_dir, CALSYNC_TRUSTED_PROXIES="127.0.0.1", CALSYNC_LOG_LEVEL="ERROR", DEBUG="false")
    app = App(tree=tree, env=env)
    app.start()
    try:
        return {
            "idle": phase(app, seconds, rotating=None),
            "8 guessers, 1 address each": phase(app, seconds, rotating=False),
            # Another user name: the first phase already used up alice's user-name allowance.
            "8 guessers, rotating addresses": phase(app, seconds, rotating=True, user="bob"),
        }
    finally:
        app.stop()


def print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    print(
        f"\n{'tree':<7} {'phase':<31} {'hashed until refused':>21} {'legit median':>13} {'legit p95':>10}"
        f" {'hashed/min':>11} {'refused/min':>12}"
    )
    for label, phases in results.items():
        for name, row in phases.items():
            until = f"{row['checked_before_refusals']:.0f} in {row['warm_up_s']:.0f} s" if row["warm_up_s"] else "-"
            print(
                f"{label:<7} {name:<31} {until:>21} {row['legit_median_ms']:>10.1f} ms {row['legit_p95_ms']:>7.1f} ms"
                f" {row['checked_per_min']:>11.0f} {row['refused_per_min']:>12.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--before", help="also measure this commit (e.g. the one before the guard)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
    os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
    import django

    django.setup()
    from django.conf import settings

    cooloff = settings.AXES_COOLOFF_TIME.total_seconds() / 60
    print("configured (this tree):")
    print(f"  per address or (user, address): {settings.AXES_FAILURE_LIMIT} guesses per {cooloff:.0f} min"
          f" = {settings.AXES_FAILURE_LIMIT / cooloff:.2f} guesses/min")  # fmt: skip
    print(f"  per user name, from addresses that never signed in as them: "
          f"{settings.CALSYNC_LOGIN_USERNAME_FAILURE_LIMIT} per {cooloff:.0f} min"
          f" = {settings.CALSYNC_LOGIN_USERNAME_FAILURE_LIMIT / cooloff:.2f} guesses/min")  # fmt: skip

    results = {}
    if args.before:
        before = Path(tempfile.mkdtemp(prefix="calsync-before-"))
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        results["before"] = measure(before, args.seconds, "before")
    results["after"] = measure(ROOT, args.seconds, "after")
    print_table(results)
    print(
        "\nhashed until refused: guesses that reached a password hash before the guessers were refused"
        f" (or {WARM_UP_MAX:.0f} s passed); then, for --seconds, the steady state: hashed/min reached a"
        " hash, refused/min were answered 429 without one, legit = a token request from another address."
    )
    print(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
