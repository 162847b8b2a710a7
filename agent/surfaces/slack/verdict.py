"""The message after a decision: who decided, from where, what was written, what the edit changed.

Built from the thread's outcome alone (its decision, final proposal and
result), whichever surface answered, so a decision taken in the CLI or
Studio reads the same as one taken in Slack. "What was written" is the
final proposal (after the edit), never the values first shown; what the
edit changed is the difference between the two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, SectionBlock

from agent.pagerduty.catalog import Catalog
from agent.surfaces.slack.asks import HIDDEN_ARGS, facts
from agent.surfaces.slack.blocks import FIELD_MAX, SECTION_MAX, clip, escape, md, quote, slack_date
from agent.surfaces.slack.fields import label_of, shown_value

SURFACES = {
    "slack": "Slack",
    "cli": "the CLI",
    "studio": "Studio",
    "api": "the API",
    "webhook": "a webhook",
}


@dataclass
class Verdict:
    """What happened to a paused thread, in the words the final message shows."""

    decision: str
    """Approved, Approved with edits, Rejected, Closed without writing, Answered …"""
    icon: str
    approver: str
    slack_user_id: str | None
    surface: str
    at: float
    summary: str
    written: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)
    """(label, before, after) of each field the edit changed."""
    reason: str | None = None
    outcome: str = ""
    url: str | None = None
    url_label: str | None = None


def _decision_label(kind: str | None, status: str, closing: bool) -> tuple[str, str]:
    if closing:
        return "Closed without writing", ":no_entry_sign:"
    if kind == "reject":
        return "Rejected", ":no_entry_sign:"
    label = (
        "Approved with edits" if kind == "edit" else "Approved" if kind == "approve" else "Answered"
    )
    if status in ("error", "failed"):
        return f"{label}, but the write failed", ":x:"
    return label, ":white_check_mark:"


def verdict_of(
    status: str,
    values: dict[str, Any],
    report: str,
    shown: dict[str, Any] | None,
    catalog: Catalog | None,
    approver: dict[str, Any] | None = None,
) -> Verdict:
    """`shown`: the HITL request the message showed before the decision (for what the edit changed)."""
    closing = bool(values.get("closed_by")) and status == "rejected"
    decision = values.get("closed_by") if closing else values.get("decision")
    decision = decision if isinstance(decision, dict) else {}
    who = decision.get("approver") or approver or {}
    label, icon = _decision_label(decision.get("type"), status, closing)
    proposal = values.get("proposal") if isinstance(values.get("proposal"), dict) else None
    before_request = shown or {}
    action = (before_request.get("action_requests") or [{}])[0]
    schema = ((before_request.get("review_configs") or [{}])[0].get("args_schema")) or {}
    before = {k: v for k, v in (action.get("args") or {}).items() if k not in HIDDEN_ARGS}
    result: dict[str, Any] = values["result"] if isinstance(values.get("result"), dict) else {}
    incident = values["incident"] if isinstance(values.get("incident"), dict) else {}  # a post-mortem's is its id
    url = result.get("html_url") or incident.get("html_url")
    number = result.get("incident_number") or incident.get("number")
    verdict = Verdict(
        decision=label,
        icon=icon,
        approver=str(who.get("name") or "someone"),
        slack_user_id=who.get("slack_user_id"),
        surface=SURFACES.get(
            str(who.get("source") or ""), str(who.get("source") or "an unknown surface")
        ),
        at=time.time(),
        summary=str((proposal or {}).get("summary") or report or status),
        reason=decision.get("message") if decision.get("type") == "reject" else None,
        outcome=report.replace(f": {url}", "").replace(f" ({url})", "") if url else report,
        url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
        url_label=f"Incident #{number} in PagerDuty" if number else None,
    )
    if proposal is None or decision.get("type") == "reject" or closing:
        return verdict
    name = str(proposal.get("action") or action.get("name") or "")
    after = {k: v for k, v in (proposal.get("fields") or {}).items() if k not in HIDDEN_ARGS}
    verdict.written = facts(name, after, schema, catalog)
    if action.get("name") == name:
        verdict.changed = [
            (
                label_of(k),
                shown_value(k, before.get(k), schema, catalog),
                shown_value(k, after.get(k), schema, catalog),
            )
            for k in after
            if k in before and before.get(k) != after.get(k)
        ]
    return verdict


def decided_blocks(v: Verdict) -> list[Block]:
    """No buttons left: who decided, from where and when, what was written, the result."""
    who = (
        f"<@{escape(v.slack_user_id)}> ({escape(v.approver)})"
        if v.slack_user_id
        else escape(v.approver)
    )
    blocks: list[Block] = [
        SectionBlock(
            text=md(
                f"{v.icon} *{escape(v.decision)}* by {who} from {escape(v.surface)} "
                f"on {slack_date(v.at)}"
            )
        ),
    ]
    if v.decision in ("Rejected", "Closed without writing"):
        blocks.append(
            SectionBlock(text=md(f"Nothing more was written. It was: {escape(v.summary)}"))
        )
    else:
        blocks.append(SectionBlock(text=md(f"*{escape(v.summary)}*")))
    if v.written:
        blocks.append(
            SectionBlock(
                fields=[md(f"*{escape(k)}*\n{escape(val)}", FIELD_MAX) for k, val in v.written[:10]]
            )
        )
    if v.changed:
        lines = "\n".join(f"• {escape(k)}: ~{escape(a)}~ → *{escape(b)}*" for k, a, b in v.changed)
        blocks.append(SectionBlock(text=md(f"*Changed by the edit*\n{lines}")))
    if v.reason:
        blocks.append(SectionBlock(text=md(f"*Reason*\n{quote(v.reason)}")))
    blocks.append(DividerBlock())
    result = escape(v.outcome) if v.outcome else ""
    if v.url:
        result += f"\n<{escape(v.url)}|{escape(v.url_label or v.url)}>"
    if result.strip():
        blocks.append(SectionBlock(text=md(result.strip())))
    blocks.append(ContextBlock(elements=[md(f"decided {slack_date(v.at)}")]))
    return blocks


def decided_text(v: Verdict) -> str:
    """The notification text: escaped, and the link as plain words."""
    link = f" {v.url}" if v.url else ""
    changed = (
        "; changed " + ", ".join(f"{k}: {a} -> {b}" for k, a, b in v.changed) if v.changed else ""
    )
    line = f"{v.decision} by {v.approver} from {v.surface}: {v.summary}{changed}. {v.outcome}{link}"
    return clip(escape(line), SECTION_MAX)
