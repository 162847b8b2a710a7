"""On-call answers at chosen instants, expected values worked out by hand.

Each test builds a small account (a dict snapshot), serves it, and asks
/oncalls or /schedules/{id} over HTTP. The expectations are literal ids with
the arithmetic in comments, never computed by the sandbox's own code.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent.pagerduty.sandbox import Clock, running_sandbox

WEEK = 7 * 24 * 3600


def user(uid: str) -> dict:
    return {"id": uid, "type": "user", "name": f"User {uid}", "email": f"{uid.lower()}@example.com",
            "summary": f"User {uid}"}


def uref(uid: str) -> dict:
    return {"user": {"id": uid, "type": "user_reference"}}


def account(layers: list[dict], *, rules: list[list[dict]] | None = None, tz: str = "UTC") -> dict:
    """One schedule PSCHED1 with `layers`, one policy PPOL001 (default: the schedule at level 1)."""
    rules = rules or [[{"id": "PSCHED1", "type": "schedule_reference"}]]
    return {
        "users": [user(u) for u in ("PUA", "PUB", "PUC", "PUD", "PUE")],
        "schedules": [{"id": "PSCHED1", "type": "schedule", "name": "Primary", "time_zone": tz,
                       "schedule_layers": layers}],
        "escalation_policies": [{
            "id": "PPOL001", "type": "escalation_policy", "name": "Policy", "num_loops": 0,
            "escalation_rules": [{"escalation_delay_in_minutes": 15, "targets": t} for t in rules],
        }],
        "services": [{"id": "PSVC001", "type": "service", "name": "Svc",
                      "escalation_policy": {"id": "PPOL001", "type": "escalation_policy_reference"}}],
    }


WEEKLY = {
    "start": "2026-01-05T09:00:00Z",  # a Monday
    "rotation_virtual_start": "2026-01-05T09:00:00Z",
    "rotation_turn_length_seconds": WEEK,
    "users": [uref("PUA"), uref("PUB"), uref("PUC")],
}


def oncall_users(client, at: str, **params) -> list[tuple[int, str]]:
    r = client.get("/oncalls", params={"since": at, "until": at, **params})
    assert r.status_code == 200, r.text
    return sorted((o["escalation_level"], o["user"]["id"]) for o in r.json()["oncalls"])


def test_weekly_rotation(make_client):
    with running_sandbox(account([WEEKLY]), clock=Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))) as sb:
        api = make_client(sb)
        # 2026-01-07T00:00 is 1.6 days after the virtual start: turn 0 -> PUA
        assert oncall_users(api, "2026-01-07T00:00:00Z") == [(1, "PUA")]
        # 2026-01-12T09:00 is exactly one week later: turn 1 -> PUB (handoff instant belongs to the new turn)
        assert oncall_users(api, "2026-01-12T09:00:00Z") == [(1, "PUB")]
        # 2026-01-12T08:59:59 is one second before: still turn 0 -> PUA
        assert oncall_users(api, "2026-01-12T08:59:59Z") == [(1, "PUA")]
        # 2026-11-20T12:00: Jan 5 -> Nov 16 is 315 days = 45 weeks; 45 mod 3 = 0 -> PUA,
        # shift from Mon 2026-11-16 09:00 to Mon 2026-11-23 09:00
        r = api.get("/oncalls")  # default: now (the sandbox clock)
        (entry,) = r.json()["oncalls"]
        assert entry["user"]["id"] == "PUA"
        assert (entry["start"], entry["end"]) == ("2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z")
        # Before the layer starts nobody is on call.
        assert oncall_users(api, "2026-01-05T08:00:00Z") == []


def test_weekday_restriction_and_layer_precedence(make_client):
    # Layer 1: the weekly rotation around the clock. Layer 2 (later, so it wins where it
    # has someone): PUD alone, weekdays 09:00-17:00 in Europe/Berlin, i.e. 08:00-16:00 UTC
    # in November (CET = UTC+1).
    layer2 = {
        "start": "2026-01-05T00:00:00Z",
        "rotation_virtual_start": "2026-01-05T00:00:00Z",
        "rotation_turn_length_seconds": 86400,
        "users": [uref("PUD")],
        "restrictions": [
            {"type": "weekly_restriction", "start_day_of_week": d, "start_time_of_day": "09:00:00",
             "duration_seconds": 8 * 3600}
            for d in range(1, 6)
        ],
    }
    with running_sandbox(account([WEEKLY, layer2], tz="Europe/Berlin"),
                         clock=Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))) as sb:
        api = make_client(sb)
        # Fri 2026-11-20 10:00 UTC = 11:00 Berlin, inside Friday's 09-17 window -> PUD
        assert oncall_users(api, "2026-11-20T10:00:00Z") == [(1, "PUD")]
        # Fri 2026-11-20 16:30 UTC = 17:30 Berlin, outside -> layer 1. The weekly handoff is
        # Monday 09:00 UTC... but read on Berlin wall clock: virtual start 2026-01-05 10:00 CET;
        # Nov 16 10:00 CET is 45 weeks later (both CET) -> turn 45, 45 mod 3 = 0 -> PUA
        assert oncall_users(api, "2026-11-20T16:30:00Z") == [(1, "PUA")]
        # Sat 2026-11-21 10:00 UTC: no Saturday window -> layer 1 -> PUA
        assert oncall_users(api, "2026-11-21T10:00:00Z") == [(1, "PUA")]
        # Mon 2026-11-23 07:59 UTC = 08:59 Berlin: before the window; 2026-11-23 10:00 CET is the
        # next handoff (turn 46 -> 46 mod 3 = 1 -> PUB), 07:59 UTC = 08:59 CET is still turn 45 -> PUA
        assert oncall_users(api, "2026-11-23T07:59:00Z") == [(1, "PUA")]
        # Mon 2026-11-23 08:00 UTC = 09:00 Berlin: window opens -> PUD
        assert oncall_users(api, "2026-11-23T08:00:00Z") == [(1, "PUD")]
        # Rendered final schedule for Friday 15:00-17:00 UTC: PUD until 16:00 UTC, then PUA
        r = api.get("/schedules/PSCHED1", params={"since": "2026-11-20T15:00:00Z", "until": "2026-11-20T17:00:00Z"})
        entries = r.json()["schedule"]["final_schedule"]["rendered_schedule_entries"]
        assert [(e["start"], e["end"], e["user"]["id"]) for e in entries] == [
            ("2026-11-20T15:00:00Z", "2026-11-20T16:00:00Z", "PUD"),
            ("2026-11-20T16:00:00Z", "2026-11-20T17:00:00Z", "PUA"),
        ]


def test_override_beats_layers(make_client):
    with running_sandbox(account([WEEKLY]), clock=Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))) as sb:
        api = make_client(sb)
        r = api.post("/schedules/PSCHED1/overrides", json={"overrides": [{
            "start": "2026-11-20T18:00:00Z", "end": "2026-11-21T06:00:00Z",
            "user": {"id": "PUE", "type": "user_reference"}}]})
        assert r.status_code == 201, r.text
        (created,) = r.json()
        assert created["status"] == 201
        override_id = created["override"]["id"]
        # Base rotation on 2026-11-20 is PUA (turn 45, see test_weekly_rotation).
        assert oncall_users(api, "2026-11-20T17:59:59Z") == [(1, "PUA")]
        assert oncall_users(api, "2026-11-20T18:00:00Z") == [(1, "PUE")]
        assert oncall_users(api, "2026-11-21T05:59:59Z") == [(1, "PUE")]
        assert oncall_users(api, "2026-11-21T06:00:00Z") == [(1, "PUA")]
        # The override shift is reported with its own edges.
        r = api.get("/oncalls", params={"since": "2026-11-20T20:00:00Z", "until": "2026-11-20T20:00:00Z"})
        (entry,) = r.json()["oncalls"]
        assert (entry["start"], entry["end"]) == ("2026-11-20T18:00:00Z", "2026-11-21T06:00:00Z")
        listed = api.get("/schedules/PSCHED1/overrides",
                         params={"since": "2026-11-20T00:00:00Z", "until": "2026-11-22T00:00:00Z"})
        assert [o["id"] for o in listed.json()["overrides"]] == [override_id]
        assert api.delete(f"/schedules/PSCHED1/overrides/{override_id}").status_code == 204
        assert oncall_users(api, "2026-11-20T20:00:00Z") == [(1, "PUA")]


def test_two_level_policy_and_earliest(make_client):
    rules = [
        [{"id": "PSCHED1", "type": "schedule_reference"}],
        [{"id": "PUE", "type": "user_reference"}],
    ]
    with running_sandbox(account([WEEKLY], rules=rules), clock=Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))) as sb:
        api = make_client(sb)
        # Level 1: the schedule (PUA on 2026-11-20, turn 45); level 2: PUE directly, permanently.
        assert oncall_users(api, "2026-11-20T12:00:00Z") == [(1, "PUA"), (2, "PUE")]
        r = api.get("/oncalls", params={"escalation_policy_ids[]": "PPOL001"})
        level2 = [o for o in r.json()["oncalls"] if o["escalation_level"] == 2][0]
        assert (level2["start"], level2["end"], level2["schedule"]) == (None, None, None)
        # Over two weeks, level 1 has PUA (to Nov 23 09:00), PUB (to Nov 30), PUC (turn 47).
        r = api.get("/oncalls", params={"since": "2026-11-20T12:00:00Z", "until": "2026-12-04T12:00:00Z",
                                        "escalation_policy_ids[]": "PPOL001", "schedule_ids[]": "PSCHED1"})
        assert [(o["user"]["id"], o["start"]) for o in r.json()["oncalls"]] == [
            ("PUA", "2026-11-16T09:00:00Z"), ("PUB", "2026-11-23T09:00:00Z"), ("PUC", "2026-11-30T09:00:00Z"),
        ]
        # earliest=true keeps one per user/policy/level: the same three here plus PUE; ask a
        # six-week window where PUA comes back (turn 48, Dec 7) and must appear once.
        r = api.get("/oncalls", params={"since": "2026-11-20T12:00:00Z", "until": "2026-12-20T12:00:00Z",
                                        "earliest": "true", "user_ids[]": "PUA"})
        assert [(o["escalation_level"], o["start"]) for o in r.json()["oncalls"]] == [(1, "2026-11-16T09:00:00Z")]
        # A new incident on the service is assigned to level 1's on-call: PUA.
        r = api.post("/incidents", headers={"From": "pua@example.com"}, json={"incident": {
            "type": "incident", "title": "Down", "service": {"id": "PSVC001", "type": "service_reference"}}})
        assert [a["assignee"]["id"] for a in r.json()["incident"]["assignments"]] == ["PUA"]
        # 15 minutes later with no acknowledgement, it escalates to level 2: PUE.
        sb.clock.advance(15 * 60)
        inc = api.get(f"/incidents/{r.json()['incident']['id']}").json()["incident"]
        assert [a["assignee"]["id"] for a in inc["assignments"]] == ["PUE"]
        types = [e["type"] for e in api.get(f"/incidents/{inc['id']}/log_entries").json()["log_entries"]]
        assert types[:2] == ["notify_log_entry", "escalate_log_entry"]


def test_oncalls_window_limit(make_client):
    with running_sandbox(account([WEEKLY]), clock=Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))) as sb:
        api = make_client(sb)
        ok = api.get("/oncalls", params={"since": "2026-11-20T00:00:00Z", "until": "2027-02-18T00:00:00Z"})
        assert ok.status_code == 200  # exactly 90 days
        r = api.get("/oncalls", params={"since": "2026-11-20T00:00:00Z", "until": "2027-02-18T00:00:01Z"})
        assert r.status_code == 400 and r.json()["error"]["code"] == 2001
        assert "90 days" in r.json()["error"]["errors"][0]
