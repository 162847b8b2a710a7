"""A fresh Postgres database per test (from INCIDENT_AGENT_TEST_DATABASE_URL, which
`.ci/services` exports), and the approvals store over SQLite and over Postgres.

In CI a missing Postgres fails the Postgres tests; on a developer's machine
without the variable they are skipped (start one with `. .ci/services`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.approvals.store import ApprovalStore
from tests.services import fresh_database, server_url

__all__ = ["open_store", "server_url"]

@pytest.fixture
def pg_url() -> Iterator[str]:
    """postgresql://… of an empty database of its own, dropped afterwards."""
    with fresh_database() as url:
        yield url


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
