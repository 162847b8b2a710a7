"""PagerDuty's documented rules, enforced by the sandbox, exercised over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.pagerduty.sandbox import running_sandbox

from .conftest import HANNAH

WEB = {"id": "PWEB001", "type": "service_reference"}


def new_incident(title: str = "Web down", **fields) -> dict:
    return {"incident": {"type": "incident", "title": title, "service": WEB, **fields}}


def error(r) -> tuple[int, int, str]:
    body = r.json()["error"]
    return r.status_code, body["code"], " ".join([body["message"], *body.get("errors", [])])


def test_pagination_past_100_users(sandbox, api):
    for n in range(250):
        sandbox.state.add_user(f"Bulk User {n:03d}", f"bulk{n:03d}@example.com")
    total = 17 + 250  # the dev account has 17 users
    seen, offset = [], 0
    while True:
        r = api.get("/users", params={"limit": 100, "offset": offset, "total": "true"})
        body = r.json()
        assert body["limit"] == 100 and body["offset"] == offset and body["total"] == total
        seen += [u["id"] for u in body["users"]]
        if not body["more"]:
            break
        offset += 100
    assert len(seen) == len(set(seen)) == total
    # total is null unless asked for; limits above 100 are answered with 100
    r = api.get("/users", params={"limit": 500})
    assert r.json()["total"] is None and r.json()["limit"] == 100 and len(r.json()["users"]) == 100


def test_offset_plus_limit_cap(api):
    assert api.get("/incidents", params={"offset": 9900, "limit": 100, "date_range": "all"}).status_code == 200
    r = api.get("/incidents", params={"offset": 9901, "limit": 100, "date_range": "all"})
    assert error(r)[:2] == (400, 2001) and "10000" in error(r)[2]


def test_authentication(sandbox, make_client):
    r = make_client(sandbox, token=None).get("/services")
    assert error(r)[:2] == (401, 2006)
    assert make_client(sandbox, token="wrong").get("/services").status_code == 401
    bearer = make_client(sandbox, token=None)
    assert bearer.get("/services", headers={"Authorization": "Bearer sandbox-token"}).status_code == 200
    # a version other than 2 is refused; plain JSON is accepted
    plain = make_client(sandbox)
    assert plain.get("/services", headers={"Accept": "application/json"}).status_code == 200
    assert plain.get("/services", headers={"Accept": "application/vnd.pagerduty+json;version=1"}).status_code == 400


def test_users_me_needs_a_user_token(sandbox, make_client):
    assert error(make_client(sandbox).get("/users/me"))[:2] == (400, 2001)
    with running_sandbox(sandbox.state, tokens={"u-token": HANNAH}) as sb:
        r = make_client(sb, token="u-token", from_=None).get("/users/me")
        assert r.json()["user"]["email"] == HANNAH
        # a user-level token acts as its user without a From header
        created = make_client(sb, token="u-token", from_=None).post("/incidents", json=new_incident())
        assert created.status_code == 201


def test_from_header_required_on_writes(sandbox, make_client):
    no_from = make_client(sandbox, from_=None)
    r = no_from.post("/incidents", json=new_incident())
    assert error(r)[:2] == (400, 2001) and "From" in error(r)[2]
    stranger = make_client(sandbox, from_="nobody@example.com")
    r = stranger.post("/incidents", json=new_incident())
    assert error(r)[:2] == (400, 2001) and "nobody@example.com" in error(r)[2]
    assert sandbox.state.list_incidents(date_range="all")[-1]["id"] == "PINCD01"  # nothing created


def test_rate_limit_429_with_headers(make_client):
    with running_sandbox(rate_per_minute=5) as sb:
        api = make_client(sb)
        for n in range(5):
            r = api.get("/priorities")
            assert r.status_code == 200 and r.headers["ratelimit-remaining"] == str(4 - n)
        r = api.get("/priorities")
        assert r.status_code == 429
        assert r.headers["ratelimit-limit"] == "5"
        assert r.headers["ratelimit-remaining"] == "0"
        assert 1 <= int(r.headers["ratelimit-reset"]) <= 60
        # the budget is per token
        with running_sandbox(sb.state, tokens={"a": None, "b": None}, rate_per_minute=1) as sb2:
            assert make_client(sb2, token="a").get("/priorities").status_code == 200
            assert make_client(sb2, token="b").get("/priorities").status_code == 200
            assert make_client(sb2, token="a").get("/priorities").status_code == 429


def test_flat_references_refused(api):
    r = api.post("/incidents", json={"incident": {"type": "incident", "title": "x", "service": "Web Frontend"}})
    assert error(r)[:2] == (400, 2001) and "service_reference" in error(r)[2]
    r = api.post("/incidents", json=new_incident(service={"id": "PNOPE01", "type": "service_reference"}))
    assert error(r)[:2] == (400, 2001) and "PNOPE01" in error(r)[2]
    r = api.post("/incidents", json=new_incident(priority={"id": "PNOPE", "type": "priority_reference"}))
    assert error(r)[:2] == (400, 2001)
    # "Accepts either an incident id, or an incident number" (the spec's GET /incidents/{id})
    assert api.get("/incidents/1201").json()["incident"]["id"] == "PINCD01"
    assert api.get("/incidents/987654").status_code == 404


def test_duplicate_open_incident_key(api):
    first = api.post("/incidents", json=new_incident(incident_key="disk-full"))
    assert first.status_code == 201
    again = api.post("/incidents", json=new_incident(incident_key="disk-full"))
    status, code, text = error(again)
    assert (status, code) == (400, 2001)
    assert "matching dedup key" in text and first.json()["incident"]["id"] in text
    listed = api.get("/incidents", params={"incident_key": "disk-full"}).json()["incidents"]
    assert len(listed) == 1
    # once resolved, the key may be used again
    iid = first.json()["incident"]["id"]
    assert api.put(f"/incidents/{iid}", json={"incident": {"type": "incident", "status": "resolved"}}).status_code == 200
    assert api.post("/incidents", json=new_incident(incident_key="disk-full")).status_code == 201


def test_incident_lifecycle_writes_log_entries(sandbox, api):
    r = api.post("/incidents", json=new_incident(urgency="low"))
    inc = r.json()["incident"]
    assert inc["incident_number"] == 1202  # the dev account's highest is 1201
    assert inc["status"] == "triggered" and inc["urgency"] == "low"
    assert inc["created_at"] == "2026-11-20T12:00:00Z"
    # PEWEB01 level 1 is PSWEB01, weekly from 2026-01-05 09:00 UTC: 45 turns -> 45 mod 3 = 0 -> PUWE001
    assert [a["assignee"]["id"] for a in inc["assignments"]] == ["PUWE001"]
    sandbox.clock.advance(60)
    ack = api.put(f"/incidents/{inc['id']}", json={"incident": {"type": "incident", "status": "acknowledged"}})
    assert ack.json()["incident"]["acknowledgements"][0]["acknowledger"]["id"] == "PUWE001"
    sandbox.clock.advance(60)
    assert api.post(f"/incidents/{inc['id']}/notes", json={"note": {"content": "Rolled back"}}).status_code == 200
    sandbox.clock.advance(60)
    res = api.put(f"/incidents/{inc['id']}", json={"incident": {"type": "incident", "status": "resolved"}})
    assert res.json()["incident"]["resolved_at"] == "2026-11-20T12:03:00Z"
    entries = api.get(f"/incidents/{inc['id']}/log_entries").json()["log_entries"]
    assert [(e["type"], e["created_at"]) for e in entries] == [  # newest first
        ("resolve_log_entry", "2026-11-20T12:03:00Z"),
        ("annotate_log_entry", "2026-11-20T12:02:00Z"),
        ("acknowledge_log_entry", "2026-11-20T12:01:00Z"),
        ("notify_log_entry", "2026-11-20T12:00:00Z"),
        ("assign_log_entry", "2026-11-20T12:00:00Z"),
        ("trigger_log_entry", "2026-11-20T12:00:00Z"),
    ]
    agents = {e["type"]: e.get("agent", {}).get("id") for e in entries}
    assert agents["acknowledge_log_entry"] == agents["resolve_log_entry"] == "PUWE001"  # From: Hannah
    assert entries[1]["channel"] == {"type": "note", "summary": "Rolled back"}
    notes = api.get(f"/incidents/{inc['id']}/notes").json()["notes"]
    assert [n["content"] for n in notes] == ["Rolled back"]
    # a resolved incident stays resolved
    r = api.put(f"/incidents/{inc['id']}", json={"incident": {"type": "incident", "status": "acknowledged"}})
    assert error(r)[:2] == (400, 2001) and "Already Resolved" in error(r)[2]


def test_incident_time_window(sandbox, api):
    sandbox.state.add_incident("PWEB001", "Old", created_at=datetime(2026, 9, 1, tzinfo=UTC))
    default = [i["title"] for i in api.get("/incidents").json()["incidents"]]
    assert "Old" not in default  # the default window is the last 30 days
    assert "Old" in [i["title"] for i in api.get("/incidents", params={"date_range": "all"}).json()["incidents"]]
    r = api.get("/incidents", params={"since": "2026-01-01T00:00:00Z", "until": "2026-07-02T00:00:00Z"})
    assert error(r)[:2] == (400, 2001) and "6 months" in error(r)[2]
    r = api.get("/incidents", params={"since": "2026-06-01T00:00:00Z", "until": "2026-12-01T00:00:00Z",
                                      "statuses[]": ["triggered"], "sort_by": "created_at:desc"})
    assert [i["title"] for i in r.json()["incidents"]] == ["Old"]


def test_incident_pagination_and_bulk_update(sandbox, api):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids = [sandbox.state.add_incident("PWEB001", f"Bulk {n}", created_at=start + timedelta(minutes=n), log=False)["id"]
           for n in range(250)]
    walked, offset = [], 0
    while True:
        body = api.get("/incidents", params={"limit": 100, "offset": offset, "statuses[]": "triggered"}).json()
        walked += [i["id"] for i in body["incidents"]]
        if not body["more"]:
            break
        offset += 100
    assert walked == ids  # oldest first
    r = api.put("/incidents", json={"incidents": [{"id": i, "type": "incident_reference", "status": "resolved"}
                                                  for i in ids[:3]]})
    assert [i["status"] for i in r.json()["incidents"]] == ["resolved"] * 3


def test_many_log_entries_by_window(sandbox, api):
    # acknowledged, so it does not escalate (and log more) while the clock says a day has passed
    inc = sandbox.state.add_incident("PWEB001", "Chatty", created_at=datetime(2026, 11, 19, tzinfo=UTC),
                                     status="acknowledged", log=False)
    sandbox.state.add_log_entries(inc["id"], 12_000, start=datetime(2026, 11, 19, tzinfo=UTC), step_s=1)
    r = api.get(f"/incidents/{inc['id']}/log_entries", params={"total": "true", "limit": 1})
    assert r.json()["total"] == 12_000
    assert api.get(f"/incidents/{inc['id']}/log_entries", params={"offset": 10_000}).status_code == 400
    # the first 6000 seconds in one window, the rest in another: all are reachable
    first = api.get(f"/incidents/{inc['id']}/log_entries",
                    params={"until": "2026-11-19T01:40:00Z", "total": "true"}).json()["total"]
    rest = api.get(f"/incidents/{inc['id']}/log_entries",
                   params={"since": "2026-11-19T01:40:00Z", "total": "true"}).json()["total"]
    assert (first, rest) == (6000, 6000)


def test_responder_request_notifies(sandbox, api):
    inc = api.post("/incidents", json=new_incident()).json()["incident"]
    r = api.post(f"/incidents/{inc['id']}/responder_requests", json={
        "requester_id": "PUWE001", "message": "Join the bridge",
        "responder_request_targets": [{"responder_request_target": {"id": "PUWEM01", "type": "user_reference"}}],
    })
    assert r.status_code == 200
    target = r.json()["responder_request"]["responder_request_targets"][0]["responder_request_target"]
    assert target["incident_responders"][0]["user"]["id"] == "PUWEM01"
    notified = [e["user"]["id"] for e in api.get(f"/incidents/{inc['id']}/log_entries").json()["log_entries"]
                if e["type"] == "notify_log_entry"]
    assert "PUWEM01" in notified
