"""Slack posts, webhook deliveries and the post-mortem schedule beside the approvals:
the same behaviour on SQLite and on the shared Postgres database, where two workers'
stores see one table."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from pydantic import SecretStr

from agent.config import Settings
from agent.surfaces.schedule import ScheduleStore
from agent.surfaces.slack.posts import PostStore
from agent.surfaces.webhooks import EventStore


def settings_for(backend: str, tmp_path: Path) -> Settings:
    url = SecretStr(backend) if backend.startswith("postgresql") else None
    return Settings(_env_file=None, incident_agent_checkpoint=tmp_path / "agent.sqlite",  # type: ignore[call-arg]
                    incident_agent_database_url=url)


async def test_two_workers_reserve_a_slack_post_once(backend: str, tmp_path: Path) -> None:
    s = settings_for(backend, tmp_path)
    one, two = PostStore(s), PostStore(s)
    won = await asyncio.gather(*(store.reserve("i1", "t1") for store in (one, two, one, two)))
    assert sorted(won) == [False, False, False, True]
    await one.record("i1", "C1", "1.0", {"a": 1})
    post, shown, closed = await two.latest("t1") or (None, None, None)
    assert post is not None and (post.channel, post.ts, shown, closed) == ("C1", "1.0", {"a": 1}, False)
    assert [await two.close("i1"), await one.close("i1")] == [True, False]


def test_a_webhook_delivery_is_stored_and_started_once_across_workers(backend: str, tmp_path: Path) -> None:
    s = settings_for(backend, tmp_path)
    one, two = EventStore(tmp_path / "w.sqlite", s), EventStore(tmp_path / "w.sqlite", s)
    row = {"event_id": "E1", "event_type": "incident.resolved", "incident_id": "P1", "title": "x",
           "kind": "postmortem", "received_at": datetime.now(UTC).isoformat(), "started_at": None,
           "finished_at": None}
    assert [one.add(row), two.add(row)] == [True, False]
    assert one.pending() == two.pending() == ["E1"]
    claimed = two.claim("E1")
    assert claimed is not None and claimed["kind"] == "postmortem" and claimed["incident_id"] == "P1"
    assert one.claim("E1") is None
    one.finish("E1")
    assert two.count("finished_at IS NULL") == 0 and two.count() == 1
    one.close()
    two.close()


def test_the_schedule_writes_each_post_mortem_once(backend: str, tmp_path: Path) -> None:
    s = settings_for(backend, tmp_path)
    one, two = ScheduleStore(tmp_path / "pm.sqlite", s), ScheduleStore(tmp_path / "pm.sqlite", s)
    assert one.last_until() is None and not two.written("P1")
    one.record_written("P1", None, tmp_path / "P1.json")
    two.record_written("P1", None, tmp_path / "P1.json")
    until = datetime(2026, 11, 20, tzinfo=UTC)
    two.record_run(until, until, 1)
    assert one.written("P1") and one.last_until() == until
    one.close()
    two.close()


def test_migrations_with_a_password_in_the_url_never_log_it(pg_url: str, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """A role whose password has every character a URL treats specially, percent-encoded."""
    password = f"p@ss:w%rd/{uuid.uuid4().hex[:6]}?#"
    role = f"ia_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        c.execute(f'GRANT ALL ON SCHEMA public TO {role}')
    url = parts._replace(netloc=f"{role}:{quote(password, safe='')}@{parts.hostname}:{parts.port}").geturl()
    caplog.set_level(logging.DEBUG)
    s = settings_for(url, tmp_path)
    store = ScheduleStore(tmp_path / "pm.sqlite", s)
    store.record_written("P9", None, tmp_path / "P9.json")
    assert store.written("P9")
    assert password not in caplog.text and quote(password, safe="") not in caplog.text
