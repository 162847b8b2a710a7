"""A fresh Postgres database per test (from INCIDENT_AGENT_TEST_DATABASE_URL, which
`.ci/services` exports), and the approvals store over SQLite and over Postgres.

In CI a missing Postgres fails the Postgres tests; on a developer's machine
without the variable they are skipped (start one with `. .ci/services`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from agent.approvals.store import ApprovalStore
from tests.services import fresh_database, server_url

__all__ = ["in_store", "open_store", "server_url"]

T = TypeVar("T")

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


async def in_store(where: str, use: Callable[[ApprovalStore], Awaitable[T]]) -> T:
    """`use` on a store of its own, closed afterwards in the same event loop."""
    s = open_store(where)
    try:
        return await use(s)
    finally:
        await s.aclose()


@pytest.fixture
async def store(backend: str) -> AsyncIterator[ApprovalStore]:
    s = open_store(backend)
    try:
        yield s
    finally:
        await s.aclose()
