#!/usr/bin/env python3
"""Does the second test pass have its PostgreSQL and Redis? Exit 0 if both answer.

Usage: check-services.py DATABASE_URL REDIS_URL (run with the project's virtualenv python).
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import psycopg
import redis


def shown(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{netloc}{parts.path}"


def postgres_problem(url: str) -> str | None:
    try:
        # pytest-django creates test_<name> from the maintenance database, so that is what must answer.
        with psycopg.connect(url, dbname="postgres", connect_timeout=3) as connection:
            row = connection.execute(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    if not (row and row[0]):
        return "the role may not create databases (pytest-django creates the test database)"
    return None


def redis_problem(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


def main(database_url: str, redis_url: str) -> int:
    problems = {
        f"PostgreSQL at {shown(database_url)}": postgres_problem(database_url),
        f"Redis at {shown(redis_url)}": redis_problem(redis_url),
    }
    for service, problem in problems.items():
        print(f"    {service}: {problem or 'ok'}")  # noqa: T201 - this script's report is its output
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
