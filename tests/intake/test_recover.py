"""An alert accepted (202) whose process died before its run reached a pause
is started again when `serve` starts, exactly once."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from agent.intake.events import parse_events_v2, render_prompt
from agent.intake.receiver import default_db_path
from agent.intake.store import AlertStore
from agent.pagerduty.sandbox import Clock, running_sandbox
from tests.e2e.conftest import ACCOUNT, NOW
from tests.intake.conftest import Agent, intake_settings, serving

pytestmark = pytest.mark.slow


def accepted_then_died(store: AlertStore, key: str, summary: str, *, age_s: float = 120) -> int:
    """The row `accept` writes before the run starts, as a process leaves it when it
    dies right after answering 202 (no checkpoint yet)."""
    event = parse_events_v2(
        {"routing_key": "k", "event_action": "trigger", "dedup_key": key,
         "payload": {"summary": summary, "source": "prom-1", "severity": "critical"}}
    )  # fmt: skip
    inputs = {
        "prompt": render_prompt(event),
        "alert": event.fields.model_dump(mode="json", by_alias=True, exclude_defaults=True),
    }
    then = time.time() - age_s
    row, created = store.create(key=key, sender="events_v2", service_hint="prom-1", summary=summary,
                                thread_id="deadthread01", count=1, now=then, latest={}, inputs=inputs)  # fmt: skip
    assert created
    return row.id


async def rows(agent: Agent) -> list[dict]:
    return await agent.rows()


async def test_an_accepted_alert_whose_run_died_is_driven_once_on_the_next_start(tmp_path):
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        settings = intake_settings(sb.base_url, tmp_path)
        store = AlertStore(default_db_path(settings), settings)
        row_id = accepted_then_died(
            store, "api-5xx", "Public API returning 502 on /v1/orders for all partners"
        )
        twice = accepted_then_died(store, "gone", "Stripe webhooks to billing-api failing (SEV1)")
        assert store.claim_resume(twice, 0, "deadthread02")  # it was started again once before
        store.close_db()
        async with httpx.AsyncClient(base_url=sb.base_url) as api:
            with serving(settings) as (base, _):
                agent = Agent(base, settings, api, None)
                pending = await agent.wait_pending(1)
                by_id = {r["id"]: r for r in await rows(agent)}
            assert len(pending) == 1
            again = by_id[row_id]
            assert again["resumes"] == 1 and again["state"] == "open"
            assert pending[0].thread_id == again["thread_id"] != "deadthread01"
            assert "Public API" in pending[0].prompt or "502" in pending[0].prompt
            gone = by_id[twice]
            assert gone["state"] == "closed" and "not started a third time" in gone["note"]

            # A second start: the run is paused for a human now; nothing starts again.
            with serving(settings) as (base, _):
                agent = Agent(base, settings, api, None)
                await asyncio.sleep(1.0)
                assert len(await agent.pending()) == 1
                after = {r["id"]: r for r in await rows(agent)}
            assert after[row_id]["resumes"] == 1
            assert after[row_id]["thread_id"] == again["thread_id"]


async def test_a_young_row_waits_for_the_grace_period_before_it_is_started_again(tmp_path):
    """A row younger than the grace period may be a live worker's run in flight."""
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        settings = intake_settings(sb.base_url, tmp_path)
        store = AlertStore(default_db_path(settings), settings)
        row_id = accepted_then_died(store, "young", "Public API p99 latency 4s (critical)", age_s=0)
        store.close_db()
        async with httpx.AsyncClient(base_url=sb.base_url) as api:
            with serving(settings) as (base, _):
                agent = Agent(base, settings, api, None)
                await asyncio.sleep(1.0)
                row = next(r for r in await agent.rows() if r["id"] == row_id)
                assert row["resumes"] == 0 and await agent.pending() == []
