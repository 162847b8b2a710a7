"""Roster changes and incident updates in plain words, through the one approval.

Each test acts as a person typing a request: the proposal is checked field by
field, then approved or rejected, and the sandbox (read over REST, not
through the agent) shows the change, or that nothing changed.

Hand-computed rosters (dev account, weekly turns from 2026-01-05T09:00Z):
at 2026-11-20T12:00Z it is week 45 (319 days 3 h in), the turn Mon 16 Nov
09:00Z -> Mon 23 Nov 09:00Z. Core Backend (David, Elena, Marco): 45 % 3 = 0,
David Miller PUCO001. Infrastructure (Arjun, Lena): 45 % 2 = 1, Lena
Hoffmann PUIN002. At 2026-10-23T10:00Z it is week 41 (291 days 1 h in), the
turn Mon 19 Oct 09:00Z -> Mon 26 Oct 09:00Z: Core Backend 41 % 3 = 2, Marco
Bianchi PUCO003.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.approvals import Approver
from agent.checkpoint import open_checkpointer
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.runner import Outcome, Runner
from agent.runtime import open_services
from graphs.incident_response import build_graph
from tests.e2e.conftest import ACCOUNT, NOW
from tests.graph.conftest import make_settings

ME = Approver(name="Ada", source="api", email="susan.clark@contoso.example")
APPROVE = {"decisions": [{"type": "approve"}]}
REJECT = {"decisions": [{"type": "reject", "message": "not now"}]}
HEADERS = {"Authorization": "Token token=sandbox-token",
           "Accept": "application/vnd.pagerduty+json;version=2"}


class Desk:
    """A requester at the agent, and a look at the sandbox behind it."""

    def __init__(self, runner: Runner, api: httpx.AsyncClient) -> None:
        self.runner = runner
        self.api = api

    async def ask(self, prompt: str) -> Outcome:
        return await self.runner.start({"prompt": prompt})

    async def answer(self, out: Outcome, answer: dict[str, Any]) -> Outcome:
        return await self.runner.resume(out.thread_id, answer, ME, interrupt_id=out.interrupt_id)

    async def choose(self, out: Outcome, arg: str, value: str) -> Outcome:
        name = out.request["action_requests"][0]["name"]
        edit = {"decisions": [{"type": "edit", "edited_action": {"name": name, "args": {arg: value}}}]}
        return await self.answer(out, edit)

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.api.get(path, params=params)
        r.raise_for_status()
        return r.json()

    async def open_incident(self, title: str = "Public API returning 5xx", service: str = "PAPI001") -> dict:
        body = {"incident": {"type": "incident", "title": title,
                             "service": {"id": service, "type": "service_reference"}}}
        r = await self.api.post("/incidents", json=body, headers={"From": "susan.clark@contoso.example"})
        r.raise_for_status()
        return r.json()["incident"]

    async def incident(self, incident_id: str) -> dict:
        return (await self.get(f"/incidents/{incident_id}"))["incident"]

    async def on_call(self, schedule_id: str, since: str, until: str) -> set[str]:
        """Who /oncalls says is on call for some of [since, until): entries that only
        touch a bound (end == since, start == until) are not on call in the window."""
        data = await self.get("/oncalls", **{"schedule_ids[]": schedule_id, "since": since, "until": until})
        lo, hi = _at(since), _at(until)
        return {o["user"]["id"] for o in data["oncalls"]
                if (o["start"] is None or _at(o["start"]) < hi) and (o["end"] is None or _at(o["end"]) > lo)}

    async def overrides(self, schedule_id: str) -> list[dict]:
        data = await self.get(f"/schedules/{schedule_id}/overrides",
                              since="2026-01-01T00:00:00Z", until="2027-01-01T00:00:00Z")
        return data["overrides"]

    async def all_overrides(self) -> int:
        return sum([len(await self.overrides(s)) for s in
                    ("PSWEB01", "PSCORE1", "PSINFR1", "PSMEDI1", "PSGROW1")])


@asynccontextmanager
async def open_desk(tmp_path: Path, account: Any = ACCOUNT, now: datetime = NOW,
                    **settings: Any) -> AsyncIterator[Desk]:
    with running_sandbox(account, clock=Clock(now)) as sb:
        s = make_settings(sb.base_url, tmp_path, **settings)
        async with open_services(s) as services, open_checkpointer(
            s.incident_agent_checkpoint
        ) as saver, httpx.AsyncClient(base_url=sb.base_url, headers=HEADERS) as api:
            services.clock = sb.clock.now
            yield Desk(Runner(build_graph(), services, saver), api)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async with open_desk(tmp_path) as d:
        yield d


def account_with(**changes: Any) -> dict:
    """The dev account with extra users or changed user fields."""
    snap = json.loads(ACCOUNT.read_text())
    for user in snap["users"]:
        user.update(changes.get("update", {}).get(user["id"], {}))
    snap["users"] += changes.get("add_users", [])
    return snap


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def args(out: Outcome) -> dict:
    return out.request["action_requests"][0]["args"]


# --- overrides ------------------------------------------------------------------


async def test_override_for_the_next_8_hours_hands_lena_to_arjun(desk: Desk) -> None:
    prompt = ("Lena is unwell and needs to drop off the Infrastructure rotation for the next 8 hours, "
              "replace her with Arjun starting now")
    out = await desk.ask(prompt)
    assert out.status == "awaiting_approval", out.report
    p = out.values["proposal"]
    assert p["action"] == "create_override"
    assert p["fields"] == {
        "schedule_id": "PSINFR1", "user_id": "PUIN001",
        "start": "2026-11-20T12:00:00+00:00", "end": "2026-11-20T20:00:00+00:00",
        "time_zone": "UTC", "replaces_user_id": "PUIN002",
    }
    assert p["call"] == {"method": "POST", "path": "/schedules/PSINFR1/overrides", "body": {"overrides": [{
        "start": "2026-11-20T12:00:00+00:00", "end": "2026-11-20T20:00:00+00:00",
        "user": {"id": "PUIN001", "type": "user_reference"}, "time_zone": "UTC"}]}}
    assert p["effects"] == ["on call for Infrastructure Primary before: Lena Hoffmann (the whole window)",
                            "after: Arjun Mehta (the whole window)"]
    assert "Arjun Mehta on call instead of Lena Hoffmann" in p["summary"]
    assert "Fri 20 Nov 12:00 UTC → Fri 20 Nov 20:00 UTC" in p["summary"]
    assert args(out)["api_call"] == p["call"]  # what Slack and Studio show is what runs

    rejected = await desk.answer(out, REJECT)
    assert rejected.status == "rejected"
    assert await desk.overrides("PSINFR1") == []
    assert await desk.on_call("PSINFR1", "2026-11-20T12:00:00Z", "2026-11-20T20:00:00Z") == {"PUIN002"}

    again = await desk.ask(prompt)
    done = await desk.answer(again, APPROVE)
    assert done.status == "done", done.report
    # Independently: /oncalls for the window now names Arjun (PUIN001) only; Lena returns after it.
    assert await desk.on_call("PSINFR1", "2026-11-20T12:00:00Z", "2026-11-20T20:00:00Z") == {"PUIN001"}
    assert await desk.on_call("PSINFR1", "2026-11-20T20:00:00Z", "2026-11-20T21:00:00Z") == {"PUIN002"}
    [audit] = await desk.runner.services.store.audit_log(done.thread_id)
    assert audit["decision"] == "approve" and audit["proposal"]["action"] == "create_override"
    [rejection] = await desk.runner.services.store.audit_log(rejected.thread_id)
    assert rejection["decision"] == "reject"


async def test_override_until_tomorrow_9am_for_a_new_york_requester(tmp_path: Path) -> None:
    # Susan (PAGERDUTY_FROM) lives in New York: now is 07:00 EST on Fri 20 Nov, so
    # "tomorrow at 9 AM" is Sat 21 Nov 09:00 EST = 14:00Z.
    account = account_with(update={"PUCOM01": {"time_zone": "America/New_York"}})
    async with open_desk(tmp_path, account) as desk:
        out = await desk.ask("David has a family emergency and can't finish his Core Backend shift; "
                             "it ends tomorrow at 9 AM; swap him for Elena right now")
        assert out.status == "awaiting_approval", out.report
        f = out.values["proposal"]["fields"]
        assert (f["schedule_id"], f["user_id"], f["replaces_user_id"]) == ("PSCORE1", "PUCO002", "PUCO001")
        assert (f["start"], f["end"], f["time_zone"]) == (
            "2026-11-20T07:00:00-05:00", "2026-11-21T09:00:00-05:00", "America/New_York")
        reasons = "\n".join(out.values["proposal"]["reasons"])
        assert "Fri 20 Nov 07:00 EST (12:00 UTC) → Sat 21 Nov 09:00 EST (14:00 UTC)" in reasons
        assert "America/New_York (Susan Clark's PagerDuty time zone)" in reasons
        done = await desk.answer(out, APPROVE)
        assert done.status == "done", done.report
        assert await desk.on_call("PSCORE1", "2026-11-20T12:00:00Z", "2026-11-21T14:00:00Z") == {"PUCO002"}
        assert await desk.on_call("PSCORE1", "2026-11-21T14:00:00Z", "2026-11-21T15:00:00Z") == {"PUCO001"}


async def test_override_across_the_berlin_dst_change(tmp_path: Path) -> None:
    # Fri 23 Oct 2026 12:00 CEST. Clocks go back Sun 25 Oct 03:00 CEST -> 02:00 CET, so
    # Fri 18:00 CEST (16:00Z) -> Mon 09:00 CET (08:00Z) is 64 real hours, not 63.
    now = datetime(2026, 10, 23, 10, 0, tzinfo=UTC)
    async with open_desk(tmp_path, now=now, default_time_zone="Europe/Berlin") as desk:
        out = await desk.ask("Elena covers the Core Backend rotation from Friday 18:00 to Monday 09:00 "
                             "instead of Marco")
        assert out.status == "awaiting_approval", out.report
        p = out.values["proposal"]
        assert p["fields"]["start"] == "2026-10-23T18:00:00+02:00"
        assert p["fields"]["end"] == "2026-10-26T09:00:00+01:00"
        assert p["fields"]["time_zone"] == "Europe/Berlin"
        assert (p["fields"]["user_id"], p["fields"]["replaces_user_id"]) == ("PUCO002", "PUCO003")
        assert "Fri 23 Oct 18:00 CEST (16:00 UTC) → Mon 26 Oct 09:00 CET (08:00 UTC)" in p["summary"]
        assert any("2026-10-23T16:00:00Z → 2026-10-26T08:00:00Z" in r for r in p["reasons"])
        assert p["effects"][0] == "on call for Core Backend Primary before: Marco Bianchi (the whole window)"
        done = await desk.answer(out, APPROVE)
        assert done.status == "done", done.report
        assert await desk.on_call("PSCORE1", "2026-10-23T16:00:00Z", "2026-10-26T08:00:00Z") == {"PUCO002"}
        assert await desk.on_call("PSCORE1", "2026-10-26T08:00:00Z", "2026-10-26T08:30:00Z") == {"PUCO003"}


async def test_override_reads_are_few_and_concurrent_catalog_once(desk: Desk) -> None:
    counter = desk.runner.services.pd.counter
    await desk.runner.services.catalog.get()
    counter.reset()
    out = await desk.ask("replace Lena with Arjun on the Infrastructure rotation for 2 hours")
    assert out.status == "awaiting_approval", out.report
    # The catalog is cached: the whole run asked /oncalls twice (schedule, covering person), nothing else.
    assert counter.snapshot() == {"GET /oncalls": 2, "total": 2}


@pytest.mark.parametrize(("prompt", "why"), [
    ("replace Lena with Arjun on the Infrastructure rotation for the next 100 days", "longer than"),
    ("replace Lena with Arjun on the Infrastructure rotation from tomorrow at 18:00 until tomorrow at 09:00",
     "before it starts"),
    ("replace Lena with Arjun on the Infrastructure rotation", "No time window"),
])
async def test_impossible_windows_are_refused_and_nothing_is_written(desk: Desk, prompt: str, why: str) -> None:
    out = await desk.ask(prompt)
    assert out.status == "error", out.report
    assert why in out.report and "Nothing was changed" in out.report
    assert await desk.all_overrides() == 0
    assert await desk.runner.pending() == []


# --- asking instead of guessing --------------------------------------------------


async def test_two_users_named_elena_are_a_question_not_a_guess(tmp_path: Path) -> None:
    rossi = {"id": "PUCO009", "type": "user", "name": "Elena Rossi", "email": "elena.rossi@contoso.example",
             "time_zone": "UTC", "role": "user", "summary": "Elena Rossi"}
    async with open_desk(tmp_path, account_with(add_users=[rossi])) as desk:
        out = await desk.ask("David can't finish his Core Backend shift; swap him for Elena for the next 4 hours")
        assert out.status == "needs_input", out.report
        assert out.request["action_requests"][0]["name"] == "choose_person"
        assert {c["id"] for c in args(out)["candidates"]} == {"PUCO002", "PUCO009"}
        assert args(out)["user_id"] is None
        assert await desk.all_overrides() == 0

        wrong = await desk.choose(out, "user_id", "PNOBODY")
        assert wrong.status == "needs_input" and "not a person of this account" in wrong.report
        ready = await desk.choose(wrong, "user_id", "PUCO002")
        assert ready.status == "awaiting_approval", ready.report
        assert ready.values["proposal"]["fields"]["user_id"] == "PUCO002"
        assert any("covering chosen by Ada" in r for r in ready.values["proposal"]["reasons"])
        assert await desk.all_overrides() == 0

        incident = await desk.open_incident()
        asked = await desk.ask(f"reassign #{incident['incident_number']} to Elena")
        assert asked.status == "needs_input" and asked.request["action_requests"][0]["name"] == "choose_person"
        gone = await desk.answer(asked, REJECT)
        assert gone.status == "rejected"
        assert [a["assignee"]["id"] for a in (await desk.incident(incident["id"]))["assignments"]] == ["PUCO001"]


async def test_unknown_schedule_asks_which_one(desk: Desk) -> None:
    out = await desk.ask("Arjun covers the Payments rotation for the next 8 hours instead of Lena")
    assert out.status == "needs_input", out.report
    assert out.request["action_requests"][0]["name"] == "choose_schedule"
    assert "Payments" in out.report
    assert "PSINFR1" in {c["id"] for c in args(out)["candidates"]}
    assert await desk.all_overrides() == 0
    ready = await desk.choose(out, "schedule_id", "PSINFR1")
    assert ready.status == "awaiting_approval", ready.report
    assert ready.values["proposal"]["fields"]["schedule_id"] == "PSINFR1"


async def test_person_not_on_call_in_the_window_is_asked_about(desk: Desk) -> None:
    out = await desk.ask("replace David with Marco on the Infrastructure rotation for the next 8 hours")
    assert out.status == "needs_input", out.report
    assert out.request["action_requests"][0]["name"] == "choose_person"
    assert "David Miller is not on call on Infrastructure Primary in that window" in out.report
    assert [c["id"] for c in args(out)["candidates"]] == ["PUIN002"]  # Lena is on call then
    assert await desk.all_overrides() == 0
    ready = await desk.choose(out, "user_id", "PUIN002")
    assert ready.status == "awaiting_approval", ready.report
    f = ready.values["proposal"]["fields"]
    assert (f["user_id"], f["replaces_user_id"]) == ("PUCO003", "PUIN002")
    done = await desk.answer(ready, REJECT)
    assert done.status == "rejected" and await desk.all_overrides() == 0


async def test_several_open_incidents_on_a_service_are_a_question(desk: Desk) -> None:
    a = await desk.open_incident("Public API returning 5xx")
    b = await desk.open_incident("Public API p99 latency 4s")
    out = await desk.ask("resolve the Public API incident, rollback done")
    assert out.status == "needs_input", out.report
    assert out.request["action_requests"][0]["name"] == "choose_incident"
    assert {c["id"] for c in args(out)["candidates"]} == {a["id"], b["id"]}
    ready = await desk.choose(out, "incident_id", b["id"])
    assert ready.status == "awaiting_approval"
    assert ready.values["proposal"]["fields"]["incident_id"] == b["id"]
    assert (await desk.incident(a["id"]))["status"] == "triggered"


# --- incident updates --------------------------------------------------------------

def _put(body: dict) -> dict:
    return {"incident": {"type": "incident_reference", **body}}


UPDATES = [
    # (words, action, extra fields, expected body, check on the sandbox's incident)
    ("acknowledge #{n}", "acknowledge", {}, _put({"status": "acknowledged"}),
     lambda i, d: i["status"] == "acknowledged"),
    ("resolve the Public API incident, rollback done", "resolve", {"resolution": "rollback done"},
     _put({"status": "resolved", "resolution": "rollback done"}), lambda i, d: i["status"] == "resolved"),
    ("reassign #{n} to Elena", "reassign", {"assignee_id": "PUCO002", "escalation_policy_id": None},
     _put({"assignments": [{"assignee": {"id": "PUCO002", "type": "user_reference"}}]}),
     lambda i, d: [a["assignee"]["id"] for a in i["assignments"]] == ["PUCO002"]),
    ("reassign #{n} to the Infrastructure escalation policy", "reassign",
     {"assignee_id": None, "escalation_policy_id": "PEINFR1"},
     _put({"escalation_policy": {"id": "PEINFR1", "type": "escalation_policy_reference"}}),
     # Lena (PUIN002) is level 1 of Infrastructure now
     lambda i, d: i["escalation_policy"]["id"] == "PEINFR1"
     and [a["assignee"]["id"] for a in i["assignments"]] == ["PUIN002"]),
    ("set urgency of #{n} to low", "change_urgency", {"urgency": "low"}, _put({"urgency": "low"}),
     lambda i, d: i["urgency"] == "low"),
    ("change priority of #{n} to P2", "change_priority", {"priority": "P2"},
     _put({"priority": {"id": "PPRI002", "type": "priority_reference"}}),
     lambda i, d: (i.get("priority") or {}).get("id") == "PPRI002"),
]


@pytest.mark.parametrize(("words", "action", "extra", "body", "changed"), UPDATES,
                         ids=[u[1] + ("_policy" if "policy" in u[0] else "") for u in UPDATES])
async def test_incident_update_proposed_rejected_then_approved(
    desk: Desk, words: str, action: str, extra: dict, body: dict, changed: Any
) -> None:
    incident = await desk.open_incident()
    n, iid = incident["incident_number"], incident["id"]
    before = await desk.incident(iid)
    out = await desk.ask(words.format(n=n))
    assert out.status == "awaiting_approval", out.report
    p = out.values["proposal"]
    assert p["action"] == action
    assert p["fields"] == {"incident_id": iid, "incident_number": n, **extra}
    assert p["call"] == {"method": "PUT", "path": f"/incidents/{iid}", "body": body}
    assert f"#{n}" in p["summary"]
    assert any(f"incident #{n} 'Public API returning 5xx' on Public API is triggered" in r for r in p["reasons"])

    assert (await desk.answer(out, REJECT)).status == "rejected"
    assert await desk.incident(iid) == before

    done = await desk.answer(await desk.ask(words.format(n=n)), APPROVE)
    assert done.status == "done", done.report
    after = await desk.incident(iid)
    assert changed(after, desk), after


async def test_note_and_responders(desk: Desk) -> None:
    incident = await desk.open_incident()
    n, iid = incident["incident_number"], incident["id"]

    out = await desk.ask(f"note on #{n}: scaled to 12 replicas")
    assert out.values["proposal"]["fields"] == {"incident_id": iid, "content": "scaled to 12 replicas"}
    assert out.values["proposal"]["call"] == {"method": "POST", "path": f"/incidents/{iid}/notes",
                                              "body": {"note": {"content": "scaled to 12 replicas"}}}
    await desk.answer(out, REJECT)
    assert (await desk.get(f"/incidents/{iid}/notes"))["notes"] == []
    done = await desk.answer(await desk.ask(f"note on #{n}: scaled to 12 replicas"), APPROVE)
    assert done.status == "done", done.report
    [note] = (await desk.get(f"/incidents/{iid}/notes"))["notes"]
    # The approved text, and the reference a retry looks for before sending again.
    assert re.fullmatch(r"scaled to 12 replicas\n\n\[incident-agent ref [0-9a-f]{10}\]", note["content"])

    out = await desk.ask(f"add the Infrastructure escalation policy as responder on #{n}")
    assert out.status == "awaiting_approval", out.report
    p = out.values["proposal"]
    assert p["fields"] == {
        "incident_id": iid, "incident_number": n, "requester_id": "PUCOM01",
        "message": f"Please help with incident #{n}: Public API returning 5xx",
        "user_ids": [], "escalation_policy_ids": ["PEINFR1"],
    }
    assert p["call"] == {"method": "POST", "path": f"/incidents/{iid}/responder_requests", "body": {
        "requester_id": "PUCOM01", "message": f"Please help with incident #{n}: Public API returning 5xx",
        "responder_request_targets": [{"responder_request_target": {
            "id": "PEINFR1", "type": "escalation_policy_reference"}}]}}
    await desk.answer(out, REJECT)
    assert not (await desk.incident(iid)).get("incident_responders")
    done = await desk.answer(await desk.ask(f"add the Infrastructure escalation policy as responder on #{n}"),
                             APPROVE)
    assert done.status == "done", done.report
    responders = (await desk.incident(iid))["incident_responders"]
    assert [r["user"]["id"] for r in responders] == ["PUIN002"]  # Lena: level 1 of Infrastructure now


async def test_unknown_or_resolved_incidents_are_refused(desk: Desk) -> None:
    out = await desk.ask("acknowledge #98765")
    assert out.status == "error" and "no incident #98765" in out.report
    out = await desk.ask("acknowledge #1201")  # resolved in the dev account
    assert out.status == "error" and "already resolved" in out.report
    assert await desk.runner.pending() == []
