"""Words for humans: the proposal an approver reads, and the final report."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from agent.actions import Proposal

if TYPE_CHECKING:
    from agent.respond.state import State

_NOISE = re.compile(r"\d+([.,]\d+)?[a-z%]*")
_WORD = re.compile(r"[a-z][a-z0-9_-]+")
_STOP = {"the", "a", "an", "on", "in", "for", "of", "to", "is", "are", "and", "with", "from",
         "at", "by", "critical", "warning", "sev1", "sev2", "sev3", "sev4", "p1", "p2", "p3",
         "firing", "alert", "high", "low", "severity"}


def _words(title: str) -> set[str]:
    text = _NOISE.sub(" ", title.lower())
    return {w for w in _WORD.findall(text) if w not in _STOP}


def same_problem(a: str, b: str) -> bool:
    """Two titles describe one problem: most meaningful words shared, numbers ignored.

    Alerts for one problem repeat with other figures ("p99 3.1s" then "p99 3.4s");
    a Jaccard index over the remaining words tells them from other problems.
    """
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= 0.6


def describe_proposal(proposal: Proposal, feedback: str | None = None) -> str:
    lines = [proposal.summary, ""]
    if proposal.effects:
        lines.append("Effect: " + "; ".join(proposal.effects))
    if proposal.reasons:
        lines += ["Why:", *[f"- {r}" for r in proposal.reasons]]
    call = proposal.call
    lines += ["", f"API call: {call.method} {call.path}", json.dumps(call.body, indent=2)]
    if feedback:
        lines += ["", feedback]
    return "\n".join(lines)


def _landed(state: State) -> str:
    """What the approved write did in PagerDuty, in words (it landed)."""
    r = state.result or {}
    summary = (state.proposal or {}).get("summary", r.get("action", "the write"))
    if r.get("action") == "create_incident":
        paged = next((e for e in (state.proposal or {}).get("effects", []) if e.startswith("pages")), "")
        did = f"incident #{r.get('incident_number')} {r.get('title')!r} opened"
        did += f" and {paged.replace('pages', 'paged', 1)}" if paged else ""
        return did + (f" ({r['html_url']})" if r.get("html_url") else "")
    return f"done: {summary}"


def _unfinished(state: State, status: str, thread_id: str) -> str:
    """A write that did not complete: what landed, what did not, and what to do."""
    r = state.result or {}
    landed = bool(r.get("id") or r.get("start"))
    summary = (state.proposal or {}).get("summary", "the write")
    head = (_landed(state) + ";" if landed else f"Not written: {summary};")
    head = head[:1].upper() + head[1:]
    if status == "rejected":
        who = (state.closed_by or {}).get("approver", {}).get("name", "someone")
        why = (state.closed_by or {}).get("message")
        return f"{head} closed by {who} without writing more" + (f": {why}" if why else "") + "."
    t = f" {thread_id}" if thread_id else ""
    return (f"{head} {state.error}. `incident-agent retry{t}` finishes it (it first checks what "
            f"PagerDuty already has); `incident-agent reject{t} --reason …` closes it.")


def render_report(state: State, status: str, thread_id: str = "") -> str:
    request = state.request or {}
    intent = request.get("intent")
    if state.report and status == "error":
        return state.report
    if status == "not_incident":
        why = "; ".join(request.get("reasons", [])) or "no service or failure matched"
        if why.lower().startswith("not an incident"):
            why = why[len("not an incident"):].lstrip(" :-—")
        return f"Not an incident: nobody was paged. {why[:1].upper()}{why[1:]}"
    if status == "failed" or (status == "rejected" and state.closed_by):
        return _unfinished(state, status, thread_id)
    if status == "rejected":
        d = state.decision or {}
        who = d.get("approver", {}).get("name", "someone")
        msg = f": {d['message']}" if d.get("message") else ""
        return f"Rejected by {who}{msg}. Nothing was written."
    if intent == "who_is_on_call" and state.service:
        if not state.oncall:
            return f"Nobody is on call for {state.service['name']} right now."
        rows = [
            f"- level {o['level']}: {o['user']}" + (f" ({o['schedule']})" if o["schedule"] else "")
            + (f" until {o['until']}" if o.get("until") else "")
            for o in state.oncall
        ]
        return f"On call for {state.service['name']}:\n" + "\n".join(rows)
    if intent == "who_is_on_call" and not state.service:
        if not state.oncall:
            return "Nobody is on call in this account right now."
        lines = ["On call now, by escalation policy:"]
        for policy in dict.fromkeys(o.get("policy") or "?" for o in state.oncall):
            lines.append(f"{policy}:")
            lines += [f"  - level {o['level']}: {o['user']}" + (f" ({o['schedule']})" if o["schedule"] else "")
                      for o in state.oncall if (o.get("policy") or "?") == policy]
        return "\n".join(lines)
    if intent == "list_incidents":
        where = f" on {state.service['name']}" if state.service else ""
        if not state.open_incidents:
            return f"No open incidents{where}."
        rows = [
            f"- #{i['number']} [{i['status']}, {i['urgency']}] {i['title']} ({i['service']}) {i['html_url'] or ''}"
            for i in state.open_incidents
        ]
        return f"Open incidents{where}:\n" + "\n".join(rows)
    if state.result:
        r = state.result
        if r["action"] == "create_incident":
            return _landed(state) + "."
        if r["action"] == "add_note" and state.duplicate_of:
            d = state.duplicate_of
            return f"Added a note to open incident #{d['number']} ({d['html_url']}); nobody was paged again."
        summary = (state.proposal or {}).get("summary", r["action"])
        if r["action"] == "create_override" and state.override:
            o = state.override
            return (f"Done: {summary}. On call for {o['schedule']} in that window was "
                    f"{o['before']}; now {o['after']}.")
        link = (state.incident or {}).get("html_url")
        return f"Done: {summary}" + (f" ({link})" if link else "")
    return state.report or "Done."
