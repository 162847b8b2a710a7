"""The approval message in Block Kit, built from `slack_sdk.models.blocks` objects.

Handlers never assemble dicts: they build an `Ask` (what the paused thread
asks) or a `Verdict` (what was decided) and render it here. Every text a
human or an alert wrote is escaped, so an alert title cannot mention
`<!channel>`, and clipped to Slack's limits, so a long alert cannot make
Slack refuse the post. The exact API call is one line in a context block,
with a "Show API call" button that opens it in full in a modal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from agent.slack.refs import Ref, encode_choice

APPROVE = "hitl_approve"
EDIT = "hitl_edit"
REJECT = "hitl_reject"
SHOW_CALL = "hitl_show_call"
CHOOSE_SERVICE = "hitl_choose_service"

SECTION_MAX = 3000
HEADER_MAX = 150
OPTION_TEXT_MAX = 75
OPTIONS_MAX = 100


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: `&`, `<` and `>` only (so no mention or link can be injected)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(at: float) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return f"<!date^{int(at)}^{{date_short_pretty}} at {{time}}|{fallback}>"


@dataclass
class Ask:
    """What a paused thread asks a human, in the words the message shows."""

    ref: Ref
    action: str
    summary: str
    service: str | None = None
    pages: str | None = None
    urgency: str | None = None
    priority: str | None = None
    reasons: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    call: dict[str, Any] | None = None
    feedback: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """What happened to an ask, for the message's final form."""

    decision: str
    """approved, edited, rejected, failed."""
    summary: str
    approver: str
    slack_user_id: str | None
    at: float
    outcome: str
    url: str | None = None
    url_label: str | None = None


def fallback_text(ask: Ask) -> str:
    """The notification text (and what screen readers get)."""
    if ask.action == "choose_service":
        return clip(f"incident-agent asks which service is meant: {ask.summary}", SECTION_MAX)
    return clip(f"Approval needed: {ask.summary}", SECTION_MAX)


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, SECTION_MAX))


def request_blocks(ask: Ask) -> list[Block]:
    if ask.action == "choose_service":
        return _choose_service_blocks(ask)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(_headline(ask), HEADER_MAX))),
        SectionBlock(text=_md(escape(ask.summary))),
    ]
    facts = [
        ("Service", ask.service),
        ("Pages", ask.pages or ("; ".join(ask.effects) if ask.effects else None)),
        ("Urgency", ask.urgency),
        ("Priority", ask.priority or ("none" if ask.action == "create_incident" else None)),
    ]
    fields = [_md(f"*{label}*\n{escape(value)}") for label, value in facts if value]
    if fields:
        blocks.append(SectionBlock(fields=fields))
    if ask.reasons:
        why = "\n".join(f"• {escape(r)}" for r in ask.reasons)
        blocks.append(SectionBlock(text=_md(f"*Why*\n{why}")))
    if ask.feedback:
        blocks.append(SectionBlock(text=_md(f":warning: *{escape(ask.feedback)}*")))
    if ask.call:
        line = f"API call: `{escape(str(ask.call.get('method', '')))} {escape(str(ask.call.get('path', '')))}`"
        blocks.append(ContextBlock(elements=[_md(line)]))
    value = ask.ref.encode()
    buttons = [
        ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
        ButtonElement(text="Edit", action_id=EDIT, value=value),
        ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
    ]
    allowed = set(ask.allowed or ("approve", "edit", "reject"))
    buttons = [b for b, kind in zip(buttons, ("approve", "edit", "reject"), strict=True) if kind in allowed]
    if ask.call:
        buttons.append(ButtonElement(text="Show API call", action_id=SHOW_CALL, value=value))
    blocks.append(ActionsBlock(block_id="hitl_actions", elements=buttons))
    blocks.append(_thread_context(ask.ref))
    return blocks


def _headline(ask: Ask) -> str:
    if ask.action == "create_incident":
        return f"Approve a page on {ask.service}" if ask.service else "Approve a page"
    if ask.action == "add_note":
        return "Approve a note on an open incident"
    return f"Approve: {ask.action}"


def _choose_service_blocks(ask: Ask) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="Which service is this about?")),
        SectionBlock(text=_md(escape(ask.summary))),
    ]
    if ask.feedback:
        blocks.append(SectionBlock(text=_md(f":warning: *{escape(ask.feedback)}*")))
    options = [
        Option(
            text=PlainTextObject(text=clip(f"{c['name']} ({c['id']})", OPTION_TEXT_MAX)),
            value=encode_choice(ask.ref, str(c["id"])),
            description=PlainTextObject(text=clip(str(c.get("why") or ""), OPTION_TEXT_MAX))
            if c.get("why")
            else None,
        )
        for c in ask.candidates[:OPTIONS_MAX]
    ]
    elements: list[Any] = []
    if options:
        elements.append(
            StaticSelectElement(action_id=CHOOSE_SERVICE, placeholder="Choose the service", options=options)
        )
    if "reject" in (ask.allowed or ["reject"]):
        elements.append(ButtonElement(text="Reject", action_id=REJECT, value=ask.ref.encode(), style="danger"))
    blocks.append(ActionsBlock(block_id="hitl_actions", elements=elements))
    blocks.append(_thread_context(ask.ref))
    return blocks


def _thread_context(ref: Ref) -> ContextBlock:
    return ContextBlock(
        elements=[_md(f"thread `{escape(ref.thread_id)}` · asked {slack_date(time.time())}")]
    )


def decided_blocks(verdict: Verdict) -> list[Block]:
    """The message after the decision: no buttons left, who decided, when, and the result."""
    icon = {"approved": ":white_check_mark:", "edited": ":white_check_mark:",
            "rejected": ":no_entry_sign:", "failed": ":x:"}.get(verdict.decision, ":grey_question:")
    who = f"<@{verdict.slack_user_id}>" if verdict.slack_user_id else escape(verdict.approver)
    blocks: list[Block] = [
        SectionBlock(text=_md(f"{icon} *{verdict.decision.capitalize()}* by {who} on {slack_date(verdict.at)}")),
        SectionBlock(text=_md(escape(verdict.summary))),
        DividerBlock(),
    ]
    result = escape(verdict.outcome)
    if verdict.url:
        label = escape(verdict.url_label or verdict.url)
        result += f"\n<{verdict.url}|{label}>"
    blocks.append(SectionBlock(text=_md(result)))
    return blocks


def decided_text(verdict: Verdict) -> str:
    link = f" {verdict.url}" if verdict.url else ""
    return clip(f"{verdict.decision.capitalize()} by {verdict.approver}: {verdict.outcome}{link}", SECTION_MAX)
