"""`/readyz` (database and Redis reachable) and pools that survive Postgres
dropping their connections (an idle timeout, a restart, a failover)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from agent.checkpoint import open_checkpointer
from agent.config import Settings
from agent.pagerduty.sandbox import RunningSandbox, running_sandbox
from agent.surfaces.server import create_app
from tests.storage.conftest import pg_url  # noqa: F401 - the fixture
from tests.workers.test_shared_budget import redis_url  # noqa: F401 - the fixture


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox() as sb:
        yield sb


def settings(tmp_path: Path, sb: RunningSandbox, **more: object) -> Settings:
    return Settings(_env_file=None, pagerduty_api_url=sb.base_url,  # type: ignore[call-arg]
                    incident_agent_checkpoint=tmp_path / "a.sqlite", slack_bot_token=None, **more)


async def readyz(s: Settings) -> list[httpx.Response]:
    app = create_app(s)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            return [await http.get("/readyz"), await http.get("/healthz")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_ready_on_sqlite_alone(tmp_path: Path, sandbox: RunningSandbox) -> None:
    ready, health = await readyz(settings(tmp_path, sandbox))
    assert ready.status_code == 200 and ready.json() == {"ready": True, "checks": {"database": "ok"}}
    assert health.status_code == 200


async def test_ready_on_postgres_and_redis_and_not_without_redis(
    tmp_path: Path, sandbox: RunningSandbox, pg_url: str, redis_url: str  # noqa: F811
) -> None:
    shared = settings(tmp_path, sandbox, incident_agent_database_url=SecretStr(pg_url),
                      incident_agent_redis_url=SecretStr(redis_url))
    ready, _ = await readyz(shared)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "redis": "ok"}}

    gone = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    down = shared.model_copy(update={"incident_agent_redis_url": SecretStr(gone)})
    ready, health = await readyz(down)
    assert ready.status_code == 503 and health.status_code == 200
    body = ready.json()
    assert body["ready"] is False and body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")
    assert "hunter2" not in ready.text


async def test_pools_survive_postgres_dropping_every_connection(
    tmp_path: Path, sandbox: RunningSandbox, pg_url: str  # noqa: F811
) -> None:
    from agent.approvals.store import open_approval_store

    s = settings(tmp_path, sandbox, incident_agent_database_url=SecretStr(pg_url))
    store = open_approval_store(s)
    try:
        async with open_checkpointer(s) as saver:
            await store.ping()
            assert await saver.aget({"configurable": {"thread_id": "t"}}) is None
            dbname = pg_url.rsplit("/", 1)[1]
            with psycopg.connect(pg_url, autocommit=True) as admin:
                killed = admin.execute(
                    # with a timeout it returns once each backend is gone, its socket closed
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)).fetchone()
            assert killed is not None and killed[0] >= 2  # both pools had a connection
            await store.ping()  # a checked pool reconnects instead of failing
            await store.record_pause("t", graph="g", interrupt_id="i", kind="awaiting_approval",
                                     prompt="p", request={})
            assert [p.thread_id for p in await store.pending()] == ["t"]
            assert await saver.aget({"configurable": {"thread_id": "t"}}) is None
    finally:
        await store.aclose()
