# calsync — `make run` starts everything on this machine, `make test` runs every test.
# Both work from a clean clone: the virtualenv is created, and packages are installed again only
# when a requirements file changed (the stamp files below remember what was installed).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet
RUNTIME_STAMP := $(VENV)/.installed-requirements
TEST_STAMP := $(VENV)/.installed-requirements-test

# One file of each Debian package behind the real-server tests (SOGo, Cyrus, DAViCal, sabre/dav).
DAV_SERVERS := /usr/sbin/sogod /usr/lib/cyrus/bin/httpd /usr/share/davical/htdocs/caldav.php \
	/usr/share/php/Sabre/autoload.php

# python-caldav's own functional test suite (from its sdist, the version requirements.txt pins),
# run against calsync's CalDAV server, Radicale and Xandikos by the `clients` tests.
CALDAV_SUITE := .cache/caldav-suite/caldav-$(shell sed -n 's/^caldav==//p' requirements.txt)/tests/test_caldav.py

# The second test pass; any disposable database/Redis db will do (the database is created anew).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/calsync
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export TEST_DATABASE_URL TEST_REDIS_URL

.PHONY: help run test test-embedded test-realservers test-clients test-services lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

run: $(RUNTIME_STAMP)  ## migrate, create the admin, start web on :8000 + worker + beat (Ctrl-C stops all)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	exec $(PY) manage.py run_all

test: $(TEST_STAMP) /usr/bin/chromium $(DAV_SERVERS) $(CALDAV_SUITE)  ## all tests: embedded default, then again on PostgreSQL + Redis
	.ci/test-passes all $(PYTEST_ARGS)

test-embedded: $(TEST_STAMP) /usr/bin/chromium $(DAV_SERVERS) $(CALDAV_SUITE)  ## only the first pass (SQLite + filesystem broker)
	.ci/test-passes embedded $(PYTEST_ARGS)

test-realservers: $(TEST_STAMP) $(DAV_SERVERS)  ## only the tests on SOGo, Cyrus, DAViCal and sabre/dav
	.ci/test-passes embedded -m realservers $(PYTEST_ARGS)

test-clients: $(TEST_STAMP) $(CALDAV_SUITE)  ## only python-caldav's own test suite against calsync, Radicale and Xandikos
	.ci/test-passes embedded -m clients $(PYTEST_ARGS)

test-services: $(TEST_STAMP)  ## only the second pass (PostgreSQL + Redis)
	.ci/test-passes services $(PYTEST_ARGS)

lint: $(TEST_STAMP)  ## ruff (rules and format), mypy against its baseline, the layering contracts, migrations, check --deploy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) .ci/mypy-baseline
	$(VENV)/bin/lint-imports --no-cache
	env -u DATABASE_URL CALSYNC_DATA_DIR="$$(mktemp -d)" $(PY) manage.py makemigrations --check --dry-run
	@# The production profile, as a deployment sets it (throwaway keys): no deploy warning may remain.
	env -u DATABASE_URL -u CELERY_BROKER_URL CALSYNC_DATA_DIR="$$(mktemp -d)" DEBUG=false \
	  SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  CALSYNC_ENCRYPTION_KEYS="$$($(PY) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" \
	  CALSYNC_HTTPS=true ALLOWED_HOSTS=calsync.example.org \
	  $(PY) manage.py check --deploy --fail-level WARNING

bench: $(TEST_STAMP)  ## run every benchmark in bench/ with its defaults (they print figures)
	@shopt -s nullglob; benches=(bench/*.py); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks in bench/"; fi; \
	for bench in "$${benches[@]}"; do echo "==> $$bench"; PYTHONPATH=. $(PY) "$$bench" || exit 1; done

clean:  ## remove the virtualenv and caches; keeps data/ (your database and keys)
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results .cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

$(PY):
	@for candidate in python3.11 python3; do \
	  if "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	    echo "creating $(VENV) with $$(command -v $$candidate) ($$($$candidate --version))"; \
	    "$$candidate" -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	    exit 0; \
	  fi; \
	done; \
	echo "calsync needs Python 3.11 or newer as python3.11 or python3; neither was found." >&2; exit 1

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	@touch $@

$(TEST_STAMP): requirements-test.txt requirements.txt | $(PY)
	$(PIP) install -r requirements-test.txt
	@touch $@

# Browser tests drive Debian's chromium (Playwright's own browser download cannot work here).
/usr/bin/chromium:
	.ci/install-browser

# From PyPI, with pip, into .cache/ (not the virtualenv): the sdist and what its tests import.
$(CALDAV_SUITE): requirements.txt
	.ci/install-caldav-suite

# The production CalDAV/CardDAV servers the real-server tests start as private loopback instances.
$(DAV_SERVERS) &:
	.ci/install-dav-servers
