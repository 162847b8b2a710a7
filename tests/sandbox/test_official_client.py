"""PagerDuty's own Python client (`pagerduty` 7.2), unmodified, against the sandbox over HTTPS.

A judge nobody here wrote: it pages with `iter_all` the way it pages the real
API, follows `self` links with `rget(obj)`, and unwraps entities by its own
tables. Every list endpoint, `rget` of every kind, overrides and bulk updates.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pagerduty
import pytest

from agent.pagerduty.sandbox import Clock, RunningSandbox, running_sandbox
from tests.conftest import SANDBOX_NOW

HANNAH = "hannah.fischer@contoso.example"
WINDOW = {"since": "2026-11-18T00:00:00Z", "until": "2026-11-25T00:00:00Z"}


@pytest.fixture
def tls_sandbox(dev_account) -> Iterator[RunningSandbox]:
    with running_sandbox(dev_account, tls=True, clock=Clock(SANDBOX_NOW)) as sb:
        yield sb


@pytest.fixture
def client(tls_sandbox: RunningSandbox) -> Iterator[pagerduty.RestApiV2Client]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # httpx's verify=<str>, inside the client
        pd = pagerduty.RestApiV2Client("sandbox-token", default_from=HANNAH, base_url=tls_sandbox.base_url,
                                       verify=tls_sandbox.cert_path)
        yield pd
        pd.close()  # an open keep-alive connection would hold the server's shutdown


def _incident(client: pagerduty.RestApiV2Client, title: str) -> dict:
    return client.rpost("/incidents", json={
        "type": "incident", "title": title, "service": {"id": "PWEB001", "type": "service_reference"},
    })


def test_iter_all_over_every_list_endpoint(tls_sandbox, client):
    for n in range(120):  # 16 + 120 services: iter_all must really page
        tls_sandbox.state.add_service(f"Bulk Service {n:03d}", "PEWEB01")
    incident = _incident(client, "Checkout errors")
    client.rpost(f"/incidents/{incident['id']}/notes", json={"content": "Looking"})
    state = tls_sandbox.state
    expected = {
        "services": len(state.list("services")),
        "users": len(state.list("users")),
        "teams": len(state.list("teams")),
        "priorities": len(state.list("priorities")),
        "escalation_policies": len(state.list("escalation_policies")),
        "schedules": len(state.list("schedules")),
        "oncalls": len(state.oncalls()),
        "log_entries": len(state.log_entries()),
        f"incidents/{incident['id']}/log_entries": len(state.log_entries(incident["id"])),
        f"incidents/{incident['id']}/alerts": len(state.alerts(incident["id"])),
        "teams/PTCORE1/members": len(state.team_members("PTCORE1")),
    }
    assert expected["services"] == 136 and expected["teams/PTCORE1/members"] >= 2
    for path, count in expected.items():
        got = list(client.iter_all(path))
        assert len(got) == count and len({str(g.get("id") or g) for g in got}) == count, path
    incidents = list(client.iter_all("incidents", params={"date_range": "all"}))
    assert {i["id"] for i in incidents} == {i["id"] for i in state.list_incidents(date_range="all")}
    assert tls_sandbox.state.request_count(route="GET /services") >= 2  # 136 at 100 a page


def test_rget_of_every_kind_and_of_loaded_objects(client):
    by_path = {
        "/services/PWEB001": "Web Frontend",
        "/users/PUWE001": "Hannah Fischer",
        "/teams/PTCORE1": "Core Backend",
        "/escalation_policies/PEWEB01": "Web Escalation",
        "/schedules/PSWEB01": None,
        "/incidents/PINCD01": None,
        "/incidents/1201": None,  # by number: "Accepts either an incident id, or an incident number"
    }
    for path, name in by_path.items():
        obj = client.rget(path)
        if name:
            assert obj["name"] == name, path
    assert client.rget("/incidents/1201")["id"] == "PINCD01"
    entry = next(iter(client.iter_all("incidents/PINCD01/log_entries")))
    assert client.rget(f"/log_entries/{entry['id']}")["id"] == entry["id"]
    users = client.rget("/schedules/PSCORE1/users")
    assert users and all(u["type"] == "user" and "teams" in u for u in users)
    # rget(obj) follows the object's own `self`: every loaded object must carry one that works.
    loaded = [
        *client.list_all("services"), *client.list_all("users"), *client.list_all("teams"),
        *client.list_all("escalation_policies"), *client.list_all("schedules"),
        *client.list_all("incidents", params={"date_range": "all"}), *client.list_all("log_entries"),
    ]
    assert len(loaded) > 40
    for obj in loaded:
        again = client.rget(obj)
        assert again["id"] == obj["id"], obj["self"]


def test_overrides_create_list_delete(client):
    created = client.rpost("/schedules/PSCORE1/overrides", json=[
        {"start": "2026-11-21T09:00:00+01:00", "end": "2026-11-21T17:00:00+01:00",
         "user": {"id": "PUCO002", "type": "user_reference"}, "time_zone": "Europe/Berlin"},
        {"start": "2026-11-22T09:00:00Z", "end": "2026-11-22T09:00:00Z",
         "user": {"id": "PUCO002", "type": "user_reference"}},
    ])
    assert [c["status"] for c in created] == [201, 400]
    ok, refused = created
    assert ok["override"]["start"] == "2026-11-21T08:00:00Z" and ok["override"]["id"]
    assert refused["errors"] == ["Override must end after its start"] and "id" not in refused["override"]
    listed = client.rget("/schedules/PSCORE1/overrides", params=WINDOW)
    assert [o["id"] for o in listed] == [ok["override"]["id"]]
    client.rdelete(f"/schedules/PSCORE1/overrides/{ok['override']['id']}")
    assert client.rget("/schedules/PSCORE1/overrides", params=WINDOW) == []


def test_bulk_put_incidents(client, tls_sandbox):
    a, b = _incident(client, "Disk full on web-1"), _incident(client, "Disk full on web-2")
    updated = client.rput("incidents", json=[
        {"id": a["id"], "type": "incident_reference", "status": "acknowledged"},
        {"id": b["id"], "type": "incident_reference", "status": "resolved"},
    ])
    assert [(u["id"], u["status"]) for u in updated] == [(a["id"], "acknowledged"), (b["id"], "resolved")]
    assert tls_sandbox.state.get_incident(b["id"])["status"] == "resolved"
    note = client.rpost(f"/incidents/{a['id']}/notes", json={"content": "Looking"})
    assert note["content"] == "Looking" and tls_sandbox.state.notes(a["id"])[0]["user"]["id"] == "PUWE001"
