"""kill -9 between a human's yes and PagerDuty's answer: the thread shows as failed,
`retry` finishes it, and PagerDuty holds exactly one of each write.

Every CLI call is its own process (as an SRE's terminal); the agent talks to the
sandbox through the fault proxy, which holds the write at the chosen moment so
the test can kill the process exactly there:

- before: the write is held before it reaches PagerDuty (it never lands);
- after: the write has landed and its answer is held (the answer is lost);
- note: (create) the incident landed, the follow-up note is held.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_cli_updates import open_incident
from tests.lifecycle.conftest import Rig

pytestmark = pytest.mark.slow

ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"
ID = r"[A-Z0-9]+"


# -- the writes: how to ask for one, where it goes, and how many landed ---------------------


def _log_entries(rig: Rig, incident_id: str, kind: str) -> int:
    r = rig.api.get(f"/incidents/{incident_id}/log_entries", params={"limit": 100})
    return sum(1 for e in r.json()["log_entries"] if e["type"] == kind)


@dataclass
class Kind:
    name: str
    method: str
    path: str
    prompt: Callable[[dict[str, Any] | None], str]
    needs_incident: bool
    count: Callable[[Rig, dict[str, Any] | None, str], int]
    """How many times this thread's write is in PagerDuty."""


def _created(rig: Rig, _inc: dict[str, Any] | None, thread: str) -> int:
    return len([i for i in rig.incidents() if i.get("incident_key") == f"incident-agent/{thread}"])


def opening_notes(rig: Rig, thread: str) -> int:
    found = [i for i in rig.incidents() if i.get("incident_key") == f"incident-agent/{thread}"]
    return sum("Opened by incident-agent" in n["content"] for i in found for n in rig.notes(i["id"]))


def _noted(rig: Rig, inc: dict[str, Any] | None, _t: str) -> int:
    assert inc is not None
    return sum("scaled to 12 replicas" in n["content"] for n in rig.notes(inc["id"]))


def _overrides(rig: Rig, _inc: dict[str, Any] | None, _t: str) -> int:
    now = datetime.now(UTC)  # the CLI reads time words against the real clock
    r = rig.api.get("/schedules/PSINFR1/overrides",
                    params={"since": (now - timedelta(days=1)).isoformat(),
                            "until": (now + timedelta(days=2)).isoformat()})
    return sum(o["user"]["id"] == "PUIN002" for o in r.json()["overrides"])


def _acks(rig: Rig, inc: dict[str, Any] | None, _t: str) -> int:
    assert inc is not None
    return _log_entries(rig, inc["id"], "acknowledge_log_entry")


def _assigns(rig: Rig, inc: dict[str, Any] | None, _t: str) -> int:
    assert inc is not None
    r = rig.api.get(f"/incidents/{inc['id']}/log_entries", params={"limit": 100})
    return sum(1 for e in r.json()["log_entries"] if e["type"] == "assign_log_entry"
               and "PUCO002" in [a["id"] for a in e.get("assignees", [])])


def _responders(rig: Rig, inc: dict[str, Any] | None, _t: str) -> int:
    assert inc is not None
    body = rig.api.get(f"/incidents/{inc['id']}").json()["incident"]
    return sum(r["user"]["id"] == "PUCO002" for r in body.get("incident_responders", []))


KINDS = {
    "create": Kind("create", "POST", "/incidents", lambda _i: ALERT, False, _created),
    "note": Kind("note", "POST", rf"/incidents/{ID}/notes",
                 lambda i: f"note on #{i['incident_number']}: scaled to 12 replicas", True, _noted),
    "override": Kind("override", "POST", rf"/schedules/{ID}/overrides",
                     lambda _i: "replace Arjun with Lena on the Infrastructure rotation for the next 8 hours",
                     False, _overrides),
    "acknowledge": Kind("acknowledge", "PUT", rf"/incidents/{ID}",
                        lambda i: f"acknowledge #{i['incident_number']}", True, _acks),
    "reassign": Kind("reassign", "PUT", rf"/incidents/{ID}",
                     lambda i: f"reassign #{i['incident_number']} to Elena", True, _assigns),
    "responder": Kind("responder", "POST", rf"/incidents/{ID}/responder_requests",
                      lambda i: f"add Elena as responder on #{i['incident_number']}", True, _responders),
}


def pause(rig: Rig, kind: Kind) -> tuple[str, dict[str, Any] | None]:
    incident = open_incident(rig) if kind.needs_incident else None
    code, out = rig.json("run", kind.prompt(incident), "--no-wait")
    assert code == 0 and out["status"] == "awaiting_approval", out
    assert kind.count(rig, incident, out["thread_id"]) == 0
    return out["thread_id"], incident


def kill_during_approve(rig: Rig, thread: str, method: str, path: str, point: str) -> None:
    """Start `approve`, wait until the proxy holds the write at `point`, kill -9 it."""
    rule = rig.proxy.add(method, path, point)  # type: ignore[arg-type]
    proc = subprocess.Popen([sys.executable, "-m", "agent", "approve", thread, "--json"],
                            env=rig.env, cwd=rig.cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert rule.reached.wait(90), "the write never reached the proxy"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        rule.release()
        if proc.poll() is None:
            proc.kill()


def failed_entry(rig: Rig, thread: str) -> dict[str, Any]:
    code, listed = rig.json("approvals")
    assert code == 0
    [entry] = [a for a in listed if a["thread_id"] == thread]
    return entry


CASES = [(k, "before") for k in KINDS] + [(k, "after") for k in KINDS] + [("create", "note")]


@pytest.mark.parametrize(("kind", "point"), CASES, ids=[f"{k}-{p}" for k, p in CASES])
def test_kill_9_mid_write_then_retry_writes_exactly_once(rig: Rig, kind: str, point: str) -> None:
    k = KINDS[kind]
    thread, incident = pause(rig, k)
    method, path = ("POST", rf"/incidents/{ID}/notes") if point == "note" else (k.method, k.path)
    kill_during_approve(rig, thread, method, path, "before" if point == "note" else point)

    entry = failed_entry(rig, thread)
    assert entry["status"] == "failed", entry
    assert f"incident-agent retry {thread}" in entry["error"]
    code, done = rig.json("retry", thread)
    assert code == 0 and done["status"] == "done", done
    assert "failed" not in done["report"].lower()
    assert k.count(rig, incident, thread) == 1
    if kind == "create":
        assert opening_notes(rig, thread) == 1
    assert [a["thread_id"] for a in rig.json("approvals")[1]] == []

    code, nothing = rig.json("retry", thread)
    assert code == 4, nothing
    assert k.count(rig, incident, thread) == 1

    code, audit = rig.json("audit", thread)
    assert [a["decision"] for a in audit] == ["approve"]
    assert [t["outcome"] for t in audit[0]["attempts"] if t["step"] == "write"][-1] in (
        "landed", "found landed")


@pytest.mark.parametrize("kind", ["create", "note", "override", "responder"])
def test_a_stranded_thread_resumed_as_langgraph_server_does_writes_nothing_twice(
    rig: Rig, kind: str
) -> None:
    """LangGraph's server on a thread whose approve was killed after its write landed.

    The run under the claim checkpoints when it stops, so the thread is still at its
    question (the answer is the claim's, for `retry`): `ainvoke(None)` asks again and
    sends nothing; an approve given there, as Studio gives it, finds the write landed."""
    k = KINDS[kind]
    thread, incident = pause(rig, k)
    kill_during_approve(rig, thread, k.method, k.path, "after")
    assert k.count(rig, incident, thread) == 1  # it landed; the answer was lost

    async def resume_like_the_server() -> dict[str, Any]:
        from langgraph.types import Command

        from agent.checkpoint import open_checkpointer
        from agent.config import Settings
        from agent.runtime import Context, open_services
        from graphs.incident_response import build_graph

        settings = Settings(_env_file=None, pagerduty_api_url=rig.env["PAGERDUTY_API_URL"],
                            pagerduty_api_token="sandbox-token",
                            pagerduty_from=rig.env["PAGERDUTY_FROM"],
                            incident_agent_checkpoint=Path(rig.env["INCIDENT_AGENT_CHECKPOINT"]))
        async with open_services(settings) as services, open_checkpointer(
            settings.incident_agent_checkpoint
        ) as saver:
            graph = build_graph().compile(checkpointer=saver)
            config = {"configurable": {"thread_id": thread}}
            context = Context(services=services)
            for _ in range(2):  # twice: neither may write
                await graph.ainvoke(None, config, context=context)
                state = await graph.aget_state(config)
                assert [i.value["review_configs"][0]["allowed_decisions"]
                        for i in state.interrupts] == [["approve", "edit", "reject"]], state.values
                assert k.count(rig, incident, thread) == 1
            approve = {"decisions": [{"type": "approve"}]}
            for _ in range(2):  # a second approve must not write either
                await graph.ainvoke(Command(resume=approve), config, context=context)
            return dict((await graph.aget_state(config)).values)

    values = asyncio.run(resume_like_the_server())
    assert values["status"] == "done", values.get("report")
    assert values["result"].get("found_earlier") is True, values["result"]
    assert k.count(rig, incident, thread) == 1
    if kind == "create":
        assert opening_notes(rig, thread) == 1


def test_approved_writes_behind_a_502_are_reported_truthfully(rig: Rig) -> None:
    """The note landed but its answer was a 502: done, not 'failed', and one note."""
    k = KINDS["note"]
    thread, incident = pause(rig, k)
    rig.proxy.add("POST", k.path, "fail")
    code, done = rig.json("approve", thread)
    assert code == 0 and done["status"] == "done", done
    assert k.count(rig, incident, thread) == 1
