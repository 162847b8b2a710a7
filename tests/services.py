"""The Postgres and Redis that `.ci/services` starts on loopback, for the tests that need them.

In CI a missing one fails the test; on a developer's machine without the variable the
test is skipped (start both with `. .ci/services`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
import pytest

DATABASE_ENV = "INCIDENT_AGENT_TEST_DATABASE_URL"
REDIS_ENV = "INCIDENT_AGENT_TEST_REDIS_URL"


def _required(env: str, what: str) -> str:
    url = os.environ.get(env)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{env} is not set: .ci/run starts {what} and exports it")
        pytest.skip(f"no {what}: {env} is not set (run `. .ci/services`)")
    return url


def server_url() -> str:
    """The Postgres server's admin URL (a database to create others from)."""
    return _required(DATABASE_ENV, "Postgres")


def redis_url() -> str:
    return _required(REDIS_ENV, "Redis")


@contextmanager
def fresh_database(prefix: str = "ia_test") -> Iterator[str]:
    """postgresql://… of an empty database of its own, dropped (connections and all) afterwards."""
    admin = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(admin)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
