"""Words for humans: the report at the end of a thread, and a failed write's pause."""

from __future__ import annotations

from agent.respond.state import State
from agent.triage import Intent


def _landed(state: State) -> str:
    """What the approved write did in PagerDuty, in words (it landed)."""
    r = state.result or {}
    summary = state.proposal.summary if state.proposal else r.get("action", "the write")
    if r.get("action") == "create_incident":
        effects = state.proposal.effects if state.proposal else []
        paged = next((e for e in effects if e.startswith("pages")), "")
        did = f"incident #{r.get('incident_number')} {r.get('title')!r} opened"
        did += f" and {paged.replace('pages', 'paged', 1)}" if paged else ""
        return did + (f" ({r['html_url']})" if r.get("html_url") else "")
    return f"done: {summary}"


def _unfinished(state: State, status: str, thread_id: str) -> str:
    """A write that did not complete: what landed, what did not, and what to do."""
    r = state.result or {}
    landed = bool(r.get("id") or r.get("start"))
    summary = state.proposal.summary if state.proposal else "the write"
    head = (_landed(state) + ";" if landed else f"Not written: {summary};")
    head = head[:1].upper() + head[1:]
    if status == "rejected" and state.closed_by is not None:
        who, why = state.closed_by.approver.name, state.closed_by.message
        return f"{head} closed by {who} without writing more" + (f": {why}" if why else "") + "."
    t = f" {thread_id}" if thread_id else ""
    return (f"{head} {state.error}. `incident-agent retry{t}` finishes it (it first checks what "
            f"PagerDuty already has); `incident-agent reject{t} --reason …` closes it.")


def _oncall(state: State) -> str:
    if state.service is not None:
        if not state.oncall:
            return f"Nobody is on call for {state.service.name} right now."
        rows = [f"- level {o.level}: {o.user}" + (f" ({o.schedule})" if o.schedule else "")
                + (f" until {o.until}" if o.until else "") for o in state.oncall]
        return f"On call for {state.service.name}:\n" + "\n".join(rows)
    if not state.oncall:
        return "Nobody is on call in this account right now."
    lines = ["On call now, by escalation policy:"]
    for policy in dict.fromkeys(o.policy or "?" for o in state.oncall):
        lines.append(f"{policy}:")
        lines += [f"  - level {o.level}: {o.user}" + (f" ({o.schedule})" if o.schedule else "")
                  for o in state.oncall if (o.policy or "?") == policy]
    return "\n".join(lines)


def _open_incidents(state: State) -> str:
    where = f" on {state.service.name}" if state.service else ""
    if not state.open_incidents:
        return f"No open incidents{where}."
    rows = [f"- #{i.number} [{i.status}, {i.urgency}] {i.title} ({i.service}) {i.html_url or ''}"
            for i in state.open_incidents]
    return f"Open incidents{where}:\n" + "\n".join(rows)


def _done(state: State, r: dict) -> str:
    if r["action"] == "create_incident":
        return _landed(state) + "."
    if r["action"] == "add_note" and state.duplicate_of:
        d = state.duplicate_of
        return f"Added a note to open incident #{d.number} ({d.html_url}); nobody was paged again."
    summary = state.proposal.summary if state.proposal else r["action"]
    if r["action"] == "create_override" and state.override:
        o = state.override
        return (f"Done: {summary}. On call for {o.schedule} in that window was "
                f"{o.before}; now {o.after}.")
    link = state.incident.html_url if state.incident else None
    return f"Done: {summary}" + (f" ({link})" if link else "")


def render_report(state: State, status: str, thread_id: str = "") -> str:
    intent = state.request.intent if state.request else None
    if state.report and status == "error":
        return state.report
    if status == "not_incident":
        why = "; ".join(state.request.reasons if state.request else []) or "no service or failure matched"
        if why.lower().startswith("not an incident"):
            why = why[len("not an incident"):].lstrip(" :-—")
        return f"Not an incident: nobody was paged. {why[:1].upper()}{why[1:]}"
    if status == "failed" or (status == "rejected" and state.closed_by):
        return _unfinished(state, status, thread_id)
    if status == "rejected":
        d = state.decision
        who = d.approver.name if d else "someone"
        msg = f": {d.message}" if d and d.message else ""
        return f"Rejected by {who}{msg}. Nothing was written."
    if intent == Intent.who_is_on_call:
        return _oncall(state)
    if intent == Intent.list_incidents:
        return _open_incidents(state)
    if state.result:
        return _done(state, state.result)
    return state.report or "Done."
