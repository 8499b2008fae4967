"""The typed environment readers and the generated keys."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from calsync.env import env_bool, env_float, env_int, env_list, env_raw, env_str, generated_secret


def test_a_variable_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CALSYNC_TEST_VALUE", "plain")
    assert env_raw("CALSYNC_TEST_VALUE") == "plain"


def test_a_missing_variable_reads_as_none_and_falls_back_to_the_default(monkeypatch):
    monkeypatch.delenv("CALSYNC_TEST_VALUE", raising=False)
    monkeypatch.delenv("CALSYNC_TEST_VALUE_FILE", raising=False)
    assert env_raw("CALSYNC_TEST_VALUE") is None
    assert env_str("CALSYNC_TEST_VALUE", "fallback") == "fallback"
    assert env_int("CALSYNC_TEST_VALUE", 7) == 7
    assert env_list("CALSYNC_TEST_VALUE", ["a"]) == ["a"]


def test_a_file_variant_wins_and_is_stripped_of_its_trailing_newline(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-docker-secret\n")
    monkeypatch.setenv("CALSYNC_TEST_VALUE", "from-the-environment")
    monkeypatch.setenv("CALSYNC_TEST_VALUE_FILE", str(secret))
    assert env_str("CALSYNC_TEST_VALUE") == "from-a-docker-secret"


def test_a_file_variant_feeds_the_typed_readers_too(monkeypatch, tmp_path):
    (tmp_path / "n").write_text("42\n")
    monkeypatch.setenv("CALSYNC_TEST_NUMBER_FILE", str(tmp_path / "n"))
    assert env_int("CALSYNC_TEST_NUMBER", 1) == 42


def test_an_unreadable_file_variant_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CALSYNC_TEST_VALUE_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="CALSYNC_TEST_VALUE_FILE"):
        env_raw("CALSYNC_TEST_VALUE")


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("on", True), ("no", False), ("", False)])
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("CALSYNC_TEST_FLAG", raw)
    assert env_bool("CALSYNC_TEST_FLAG", not expected) is expected


def test_a_bad_boolean_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CALSYNC_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"CALSYNC_TEST_FLAG must be a boolean.*'maybe'"):
        env_bool("CALSYNC_TEST_FLAG")


def test_a_bad_whole_number_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CALSYNC_TEST_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match=r"CALSYNC_TEST_NUMBER must be a whole number.*'ten'"):
        env_int("CALSYNC_TEST_NUMBER", 1)


def test_a_number_below_its_minimum_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CALSYNC_TEST_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="CALSYNC_TEST_NUMBER must be at least 1"):
        env_int("CALSYNC_TEST_NUMBER", 5, minimum=1)
    monkeypatch.setenv("CALSYNC_TEST_NUMBER", "0.01")
    with pytest.raises(ImproperlyConfigured, match=r"CALSYNC_TEST_NUMBER must be at least 0\.1"):
        env_float("CALSYNC_TEST_NUMBER", 5.0, minimum=0.1)


def test_a_bad_float_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CALSYNC_TEST_NUMBER", "fast")
    with pytest.raises(ImproperlyConfigured, match="CALSYNC_TEST_NUMBER must be a number"):
        env_float("CALSYNC_TEST_NUMBER", 1.0)


def test_lists_are_comma_separated_and_ignore_blanks(monkeypatch):
    monkeypatch.setenv("CALSYNC_TEST_LIST", " a.example, ,b.example ,")
    assert env_list("CALSYNC_TEST_LIST") == ["a.example", "b.example"]


def test_a_generated_secret_is_created_once_and_then_reused(tmp_path):
    path = tmp_path / "secret_key"
    first = generated_secret(path)
    assert len(first) >= 48
    assert generated_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_threads_generating_the_same_secret_at_once_all_get_one_value(tmp_path):
    path = tmp_path / "secret_key"
    start = threading.Barrier(16)
    values: list[str] = []

    def generate() -> None:
        start.wait()
        values.append(generated_secret(path))

    threads = [threading.Thread(target=generate) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(values) == 16
    assert set(values) == {path.read_text().strip()}


def test_processes_generating_the_same_secret_at_once_all_get_one_value(tmp_path):
    # Web, worker and beat start together on a fresh data dir and must agree on the keys.
    path = tmp_path / "secret_key"
    go_at = time.time() + 1.5
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from calsync.env import generated_secret\n"
        f"time.sleep(max(0, {go_at} - time.time()))\n"
        f"print(generated_secret(Path({str(path)!r})))\n"
    )
    project = Path(__file__).parents[2]
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=project)
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=30)[0].strip() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert set(outputs) == {path.read_text().strip()}


def test_a_reader_waits_for_the_writer_that_created_the_file(tmp_path):
    path = tmp_path / "secret_key"
    path.touch()
    timer = threading.Timer(0.2, path.write_text, args=("written-by-the-other-process\n",))
    timer.start()
    try:
        assert generated_secret(path) == "written-by-the-other-process"
    finally:
        timer.cancel()
