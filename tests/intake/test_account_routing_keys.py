"""Routing keys derived from the account: a sender that already uses one of
the account's Events API v2 integration keys needs no INTAKE_ROUTING_KEYS."""

from __future__ import annotations

import copy
import json

import httpx
import pytest

from agent.intake.routing import RoutingKeys, digest
from agent.pagerduty.sandbox import Clock, running_sandbox
from tests.e2e.conftest import ACCOUNT, NOW
from tests.intake.conftest import ROUTING_KEY, Agent, intake_settings, serving

pytestmark = pytest.mark.slow

BILLING_KEY = "b1ll1ngint3grat10nk3y0000000000a"  # 32 characters, as PagerDuty's


def with_integrations() -> dict:
    snap = copy.deepcopy(json.loads(ACCOUNT.read_text()))
    billing = next(s for s in snap["services"] if s["id"] == "PBIL001")
    ref = {"id": "PBIL001", "type": "service_reference", "summary": billing["name"]}
    billing["integrations"] = [
        {"id": "PINTBIL", "type": "events_api_v2_inbound_integration", "name": "Prometheus",
         "summary": "Prometheus", "service": ref, "integration_key": BILLING_KEY,
         "created_at": "2026-01-02T10:00:00Z"},
        {"id": "PINTEML", "type": "generic_email_inbound_integration", "name": "Email",
         "summary": "Email", "service": ref, "integration_email": "billing@contoso.pagerduty.com",
         "created_at": "2026-01-02T10:00:00Z"},
    ]  # fmt: skip
    return snap


def trigger(key: str) -> dict:
    return {"routing_key": key, "event_action": "trigger", "dedup_key": "stripe",
            "payload": {"summary": "Stripe webhooks answering 401 since 10:02", "source": "prom-1",
                        "severity": "critical"}}  # fmt: skip


def test_integration_keys_are_kept_as_digests_only():
    keys = RoutingKeys.from_snapshot({"services": with_integrations()["services"]})
    assert keys.keys == {digest(BILLING_KEY): "PBIL001"}  # the email integration has no key
    assert BILLING_KEY not in json.dumps(keys.as_json())
    assert RoutingKeys.from_snapshot(keys.as_json()).keys == keys.keys


def test_the_sandbox_shows_keys_only_when_integrations_are_included():
    with running_sandbox(with_integrations(), clock=Clock(NOW)) as sb:
        headers = {"Authorization": "Token token=sandbox-token"}
        plain = httpx.get(f"{sb.base_url}/services/PBIL001", headers=headers).json()["service"]
        whole = httpx.get(f"{sb.base_url}/services", headers=headers,
                          params={"include[]": "integrations"}).json()["services"]  # fmt: skip
    assert plain["integrations"] == [
        {"id": "PINTBIL", "type": "events_api_v2_inbound_integration_reference",
         "summary": "Prometheus"},
        {"id": "PINTEML", "type": "generic_email_inbound_integration_reference",
         "summary": "Email"},
    ]  # fmt: skip
    [billing] = [s for s in whole if s["id"] == "PBIL001"]
    assert billing["integrations"][0]["integration_key"] == BILLING_KEY


async def test_an_account_integration_key_routes_without_settings(tmp_path):
    with running_sandbox(with_integrations(), clock=Clock(NOW)) as sb:
        settings = intake_settings(sb.base_url, tmp_path, intake_routing_keys={})
        async with httpx.AsyncClient(base_url=sb.base_url) as api:
            with serving(settings) as (base, _):
                agent = Agent(base, settings, api, None)
                async with agent.client() as c:
                    refused = await c.post("/v2/enqueue", json=trigger(ROUTING_KEY))
                    accepted = await c.post("/v2/enqueue", json=trigger(BILLING_KEY))
                assert refused.status_code == 400 and refused.json()["errors"] == [
                    "Invalid routing key"
                ]
                assert accepted.status_code == 202, accepted.text
                [pending] = await agent.wait_pending(1)
    args = pending.request["action_requests"][0]["args"]
    assert args["service_id"] == "PBIL001"


async def test_an_account_without_integrations_still_refuses_unconfigured(tmp_path):
    with running_sandbox(json.loads(ACCOUNT.read_text()), clock=Clock(NOW)) as sb:
        settings = intake_settings(sb.base_url, tmp_path, intake_routing_keys={})
        async with httpx.AsyncClient(base_url=sb.base_url) as api:
            with serving(settings) as (base, _):
                async with Agent(base, settings, api, None).client() as c:
                    r = await c.post("/v2/enqueue", json=trigger(BILLING_KEY))
    assert r.status_code == 401
