"""The docs stay true to the code: README.md and docs/*.md name only things that exist.

Every `manage.py` command and `make` target they name exists; the configuration table in
docs/operations.md and the environment variables the code reads agree, both ways; every API path
they name is routed, and every routed API path is in docs/api.md; relative links, repository
paths and dotted Python paths resolve; and the README stays a front door. A failure names the
file to fix and what to write there. No database: the URLconf and the management commands are
read, never run.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.md"
API = ROOT / "docs" / "api.md"
README_MAX_LINES = 200

# Code that runs calsync, as opposed to code that tests or measures it.
NOT_SOURCE = {".git", ".venv", "data", "docs", "tests", "testing", "bench", "migrations", "node_modules"}
# calsync/env.py's readers (env_raw, env_str, env_bool, env_int, env_float, env_list) and any
# env_* reader added later, plus the standard library's.
OS_READERS = {"os.environ.get", "os.getenv", "environ.get"}
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
APPS = ("accounts", "booking", "calsync", "feeds", "jobs")


def doc_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def fenced_blocks(text: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)


def inline_spans(text: str) -> list[str]:
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return [span.replace("\\|", "|") for span in re.findall(r"`([^`\n]+)`", prose)]


def code_in(text: str) -> list[str]:
    return fenced_blocks(text) + inline_spans(text)


# --- commands and make targets -------------------------------------------------------------------


def test_it_names_only_management_commands_that_exist() -> None:
    commands = {*get_commands(), "help"}  # help is ManagementUtility's own, not a command module
    missing = [
        f"{rel(doc)}: manage.py {name}"
        for doc in doc_files()
        for name in re.findall(r"manage\.py\s+([a-z_][a-z0-9_]*)", doc.read_text())
        if name not in commands
    ]
    assert not missing, "These docs name management commands that do not exist:\n" + "\n".join(missing)


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_-]+)\s*:(?!=)", (ROOT / "Makefile").read_text(), flags=re.M))


def test_it_names_only_make_targets_that_exist() -> None:
    targets = make_targets()
    named = {
        (rel(doc), target)
        for doc in doc_files()
        for code in code_in(doc.read_text())
        for target in re.findall(r"(?:^|[\s;&|(])make\s+([a-z][a-z0-9_-]*)", code, flags=re.M)
    }
    assert ("README.md", "run") in named and ("README.md", "test") in named, (
        "README.md must show `make run` and `make test`"
    )
    missing = sorted(f"{doc}: make {target}" for doc, target in named if target not in targets)
    assert not missing, "These docs name make targets the Makefile does not have:\n" + "\n".join(missing)


# --- settings ------------------------------------------------------------------------------------


def source_modules() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if path.name == "conftest.py" or any(part in NOT_SOURCE or part.startswith(".") for part in parts[:-1]):
            continue
        yield path


def environment_reads(path: Path) -> Iterator[tuple[str, int, str]]:
    """(name, line, how) for each constant name ``path`` reads from the environment."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            name = function.id if isinstance(function, ast.Name) else ast.unparse(function)
            if name.rpartition(".")[2].startswith("env_") or name in OS_READERS:
                yield str(node.args[0].value), node.lineno, name
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) in ("os.environ", "environ")
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.ctx, ast.Load)
        ):
            yield str(node.slice.value), node.lineno, "os.environ[...]"


def settings_read() -> dict[str, str]:
    """Every environment variable the code reads → where (the first place found)."""
    reads: dict[str, str] = {}
    for path in source_modules():
        for name, line, how in environment_reads(path):
            if ENV_NAME.match(name):
                reads.setdefault(name, f"{rel(path)}:{line} ({how})")
    return reads


def configuration_table() -> list[str]:
    text = OPERATIONS.read_text()
    match = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, f"{rel(OPERATIONS)} needs a '## Configuration' section with the table of every setting"
    return re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", match.group(1), flags=re.M)


def test_it_finds_the_settings_the_code_reads() -> None:
    reads = settings_read()
    assert {"CALSYNC_DATA_DIR", "SECRET_KEY", "DATABASE_URL", "PORT"} <= set(reads), reads
    assert reads["CALSYNC_DATA_DIR"].startswith("calsync/settings.py:")


def test_every_setting_the_code_reads_has_a_row_in_the_configuration_table() -> None:
    documented = set(configuration_table())
    missing = [
        f"  {name}, read at {where}" for name, where in sorted(settings_read().items()) if name not in documented
    ]
    assert not missing, (
        f"Settings read from the environment but missing from the configuration table of {rel(OPERATIONS)}"
        " (section '## Configuration'); add a row | `NAME` | default | meaning | for each:\n" + "\n".join(missing)
    )


def test_every_row_of_the_configuration_table_is_read_by_the_code() -> None:
    rows = configuration_table()
    assert len(rows) >= 30, f"the configuration table of {rel(OPERATIONS)} looks truncated: {rows}"
    duplicated = sorted({name for name in rows if rows.count(name) > 1})
    assert not duplicated, f"{rel(OPERATIONS)} lists these settings twice: {', '.join(duplicated)}"
    reads = settings_read()
    unread = [name for name in rows if name not in reads]
    assert not unread, (
        f"The configuration table of {rel(OPERATIONS)} lists variables no module reads from the environment"
        f" (env_* helpers or os.environ): {', '.join(unread)}. Fix the name or remove the row."
    )


# --- API paths -----------------------------------------------------------------------------------


def normalized(path: str) -> str:
    """One spelling for a path: placeholders and ids as <>, no regex anchors, no trailing slash."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "<>", path)
    path = re.sub(r"<[^>]*>", "<>", path.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", "."))
    path = re.sub(r"/\d+(?=/|$)", "/<>", path)
    return "/" + path.strip("/")


def routed_api_paths() -> dict[str, str]:
    """Every path the URLconf routes under /api/ → its URL name."""
    routes: dict[str, str] = {}

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            pattern = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry, pattern)
            elif isinstance(entry, URLPattern) and normalized(pattern).startswith("/api/"):
                routes[normalized(pattern)] = entry.name or pattern

    walk(get_resolver(), "")
    return routes


def documented_api_paths(doc: Path) -> set[str]:
    paths: set[str] = set()
    for code in code_in(doc.read_text()):
        for found in re.findall(r"/api/[^\s`?|\[\],)'\"]*", re.sub(r"<[^>]*>", "<>", code)):
            if found.rstrip("/") != "/api":  # "/api/" alone names the whole API, not a path
                paths.add(normalized(found.rstrip("…")))
    return paths


def test_the_docs_name_only_api_paths_that_are_routed() -> None:
    routed = routed_api_paths()
    assert "/api/sync-jobs/<>/start" in routed and "/api/openapi.json" in routed, sorted(routed)
    unknown = [f"{rel(doc)}: {path}" for doc in doc_files() for path in sorted(documented_api_paths(doc) - set(routed))]
    assert not unknown, "These docs name API paths that calsync's URLconf does not route:\n" + "\n".join(unknown)


def test_every_routed_api_path_is_in_the_api_reference() -> None:
    documented = documented_api_paths(API)
    missing = [
        f"  {path}  (URL name {name!r})" for path, name in sorted(routed_api_paths().items()) if path not in documented
    ]
    assert not missing, (
        f"These API paths are routed but not listed in {rel(API)}; add a row for each, with its method:\n"
        + "\n".join(missing)
    )


# --- links, paths and the README -----------------------------------------------------------------


def anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(
        r"^#+\s+(.*?)\s*$", re.sub(r"^```.*?^```", "", doc.read_text(), flags=re.S | re.M), flags=re.M
    )
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_relative_link_points_to_a_file_and_heading_that_exist() -> None:
    broken = []
    for doc in doc_files():
        for target in re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            linked = (doc.parent / path).resolve() if path else doc
            if not linked.exists():
                broken.append(f"{rel(doc)}: ({target}) → no file {path}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{rel(doc)}: ({target}) → no heading #{anchor} in {rel(linked)}")
    assert not broken, "Broken links in the docs:\n" + "\n".join(broken)


REPO_PATH = re.compile(
    r"^(?:(?:\.ci|accounts|bench|booking|calsync|docs|feeds|jobs|templates)/[\w./-]*"
    r"|Makefile|Dockerfile|docker-compose\.yml|pyproject\.toml|conftest\.py|requirements(?:-test)?\.txt)$"
)
DOTTED = re.compile(rf"^(?:{'|'.join(APPS)})(?:\.\w+)+$")
CHECK_ID = re.compile(r"^calsync\.[EW]\d{3}$")


def importable(dotted: str) -> bool:
    module, _, attribute = dotted.rpartition(".")
    for candidate, rest in ((dotted, ""), (module, attribute)):
        try:
            imported = importlib.import_module(candidate)
        except ImportError:
            continue
        if not rest or hasattr(imported, rest):
            return True
    return False


def test_every_repository_path_dotted_path_and_check_id_in_the_docs_exists() -> None:
    source = "\n".join(path.read_text() for path in source_modules())
    missing = []
    for doc in doc_files():
        for span in inline_spans(doc.read_text()):
            if REPO_PATH.match(span) and not (ROOT / span).exists():
                missing.append(f"{rel(doc)}: `{span}` is not in the repository")
            elif CHECK_ID.match(span):
                if f'"{span}"' not in source:
                    missing.append(f"{rel(doc)}: system check `{span}` is not defined")
            elif DOTTED.match(span) and not importable(span):
                missing.append(f"{rel(doc)}: `{span}` cannot be imported")
    assert not missing, "The docs name files or Python paths that do not exist:\n" + "\n".join(missing)


def test_the_readme_stays_a_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) < README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it under {README_MAX_LINES} and move the detail to docs/"
    )
    for page in ("sync.md", "ics-feeds.md", "booking.md", "caldav-server.md", "timesheets.md", "operations.md"):
        assert f"(docs/{page}" in README.read_text(), f"README.md should link docs/{page}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`GET /api/sync-jobs/<id>/logs?run=&after=`", {"/api/sync-jobs/<>/logs"}),
        ("`POST /api/appointments/<id>/confirm|cancel`", {"/api/appointments/<>/confirm"}),
        ("`curl localhost:8000/api/accounts/1/test`", {"/api/accounts/<>/test"}),
        ("`/api/docs/` and `/api/artists/<id\\|slug>/slots`", {"/api/docs", "/api/artists/<>/slots"}),
    ],
)
def test_it_reads_api_paths_as_written_in_the_docs(tmp_path: Path, text: str, expected: set[str]) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(text + "\n")
    assert documented_api_paths(doc) == expected
