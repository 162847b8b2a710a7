"""A fresh Postgres database per test (from INCIDENT_AGENT_TEST_DATABASE_URL, which
`.ci/services` exports), and the approvals store over SQLite and over Postgres.

In CI a missing Postgres fails the Postgres tests; on a developer's machine
without the variable they are skipped (start one with `. .ci/services`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from agent.approvals.store import ApprovalStore

ENV = "INCIDENT_AGENT_TEST_DATABASE_URL"


def server_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{ENV} is not set: .ci/run starts Postgres and exports it")
        pytest.skip(f"no Postgres: {ENV} is not set (run `. .ci/services`)")
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """postgresql://… of an empty database of its own, dropped afterwards."""
    admin = server_url()
    name = f"ia_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(admin)._replace(path=f"/{name}").geturl()
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: a SQLite file path, or a Postgres URL."""
    if request.param == "sqlite":
        return str(tmp_path / "checkpoints.sqlite")
    return str(request.getfixturevalue("pg_url"))


def open_store(where: str) -> ApprovalStore:
    if where.startswith("postgresql"):
        from agent.approvals.store.postgres import PostgresApprovalStore

        return PostgresApprovalStore(where)
    return ApprovalStore(Path(where))


@pytest.fixture
def store(backend: str) -> Iterator[ApprovalStore]:
    s = open_store(backend)
    try:
        yield s
    finally:
        s.close()
