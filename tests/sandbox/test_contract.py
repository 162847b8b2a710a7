"""Every endpoint, once, with its answer validated against the published spec
(the `make_client` hook does the validation; see contract.py for the errata)."""

from __future__ import annotations

import httpx
import pytest

from agent.pagerduty.sandbox import running_sandbox

from . import contract
from .conftest import HANNAH

WEB = {"id": "PWEB001", "type": "service_reference"}
WINDOW = {"since": "2026-11-20T00:00:00Z", "until": "2026-12-04T00:00:00Z"}


def test_every_endpoint_matches_the_spec(sandbox, api):
    ok = [
        ("/services", {}), ("/services/PWEB001", {}), ("/users", {"query": "hannah"}), ("/users/PUWE001", {}),
        ("/teams", {}), ("/priorities", {}), ("/escalation_policies", {"user_ids[]": "PUWE001"}),
        ("/escalation_policies/PEWEB01", {}), ("/schedules", {}), ("/schedules/PSWEB01", {}),
        ("/schedules/PSWEB01", WINDOW), ("/schedules/PSWEB01/overrides", WINDOW),
        ("/oncalls", {}), ("/oncalls", {**WINDOW, "earliest": "true"}),
        ("/incidents", {"date_range": "all", "total": "true"}), ("/incidents/PINCD01", {}),
        ("/incidents/PINCD01/log_entries", {}), ("/incidents/PINCD01/notes", {}),
        ("/incidents/PINCD01/alerts", {}), ("/log_entries", {"is_overview": "true"}),
    ]
    for path, params in ok:
        r = api.get(path, params=params)
        assert r.status_code == 200, (path, r.text)
    created = api.post("/incidents", json={"incident": {"type": "incident", "title": "T", "service": WEB,
                                                         "priority": {"id": "PPRI001", "type": "priority_reference"},
                                                         "incident_key": "contract"}})
    assert created.status_code == 201
    iid = created.json()["incident"]["id"]
    writes = [
        api.put(f"/incidents/{iid}", json={"incident": {"type": "incident", "priority": "P2", "urgency": "low"}}),
        api.put(f"/incidents/{iid}", json={"incident": {"type": "incident", "escalation_level": 2}}),
        api.put(f"/incidents/{iid}", json={"incident": {"type": "incident", "assignments": [
            {"assignee": {"id": "PUWE002", "type": "user_reference"}}]}}),
        api.post(f"/incidents/{iid}/notes", json={"note": {"content": "n"}}),
        api.post(f"/incidents/{iid}/responder_requests", json={
            "requester_id": "PUWE001", "message": "m",
            "responder_request_targets": [{"responder_request_target": {"id": "PEWEB01",
                                                                        "type": "escalation_policy_reference"}}]}),
        api.put("/incidents", json={"incidents": [{"id": iid, "type": "incident_reference", "status": "resolved"}]}),
        api.post("/schedules/PSWEB01/overrides", json={"overrides": [
            {"start": "2026-11-21T00:00:00Z", "end": "2026-11-20T00:00:00Z",
             "user": {"id": "PUWE002", "type": "user_reference"}}]}),
    ]
    assert [w.status_code for w in writes] == [200, 200, 200, 200, 200, 200, 201]
    assert writes[-1].json()[0]["status"] == 400  # end before start: refused per item
    errors = [
        api.get("/services/PNOPE"), api.get("/incidents/PNOPE"), api.get("/users/me"),
        api.post("/incidents", json={"incident": {"type": "incident", "title": "T", "service": WEB,
                                                  "incident_key": "contract"}}),
        api.put(f"/incidents/{iid}", json={"incident": {"type": "incident", "status": "acknowledged"}}),
        api.get("/schedules/PSWEB01/overrides"),
    ]
    assert [e.status_code for e in errors] == [404, 404, 400, 201, 400, 400]


def test_fault_answers_match_the_spec(sandbox, api):
    sandbox.faults.burst_5xx(1, status=503)
    sandbox.faults.storm_429(1, reset_s=7)
    r = api.get("/incidents")
    assert r.status_code == 429 and r.headers["ratelimit-reset"] == "7"
    r = api.get("/incidents")
    assert r.status_code == 503 and r.json()["error"]["code"] == 2000
    assert api.get("/incidents").status_code == 200


def test_validation_catches_a_wrong_answer(openapi_spec):
    """The hook is not a rubber stamp: a response with a wrong field type fails."""
    request = httpx.Request("GET", "http://127.0.0.1/incidents/PX")
    bad = httpx.Response(200, json={"incident": {"id": "PX", "type": "incident", "incident_number": "one"}},
                         request=request)
    with pytest.raises(Exception, match="InvalidData|incident_number|not of type"):
        contract.validate(bad)


def test_latency_is_async_and_seeded(make_client, dev_account):
    from agent.pagerduty.sandbox import Faults

    a, b = Faults(jitter_s=0.5, seed=7), Faults(jitter_s=0.5, seed=7)
    assert [a._draw()[0] for _ in range(5)] == [b._draw()[0] for _ in range(5)]
    with running_sandbox(dev_account, faults=Faults(latency_s=0.3)) as sb:
        import time
        from concurrent.futures import ThreadPoolExecutor

        client = make_client(sb, from_=HANNAH)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: client.get("/priorities").status_code, range(8)))
        assert codes == [200] * 8
        assert time.monotonic() - started < 1.5  # 8 x 0.3 s concurrently, not 2.4 s in series
