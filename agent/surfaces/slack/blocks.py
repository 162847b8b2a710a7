"""The approval message in Block Kit, built from `slack_sdk.models.blocks` objects.

Handlers never assemble dicts: they build an `Ask` (what the paused thread
asks) and render it here (`questions` renders the "which one?" kind, and
`verdict` the message after a decision). Every text that reaches Slack goes
through `escape` (`&`, `<`, `>`), plain text and the notification `text`
included, so an alert cannot mention `<!channel>`, a user or a disguised
link; and it is clipped to Slack's limits, so a long alert cannot make Slack
refuse the post.
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
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from agent.surfaces.slack.refs import Ref

APPROVE = "hitl_approve"
EDIT = "hitl_edit"
REJECT = "hitl_reject"
SHOW_CALL = "hitl_show_call"
CHOOSE = "hitl_choose"
RETRY = "hitl_retry"
CLOSE = "hitl_close"

SECTION_MAX = 3000
FIELD_MAX = 2000
HEADER_MAX = 150
OPTION_TEXT_MAX = 75
OPTIONS_MAX = 100
PROMPT_MAX = 1500


def escape(text: Any) -> str:
    """Slack's escaping: `&`, `<` and `>` only (so no mention or link can be injected)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: Any, limit: int) -> PlainTextObject:
    """Plain text is escaped too: the brief to Slack is one rule for every string."""
    return PlainTextObject(text=clip(escape(text), limit))


def md(text: str, limit: int = SECTION_MAX) -> MarkdownTextObject:
    """Markdown text that is already escaped where it came from a person or an alert."""
    return MarkdownTextObject(text=clip(text, limit))


def quote(text: str, limit: int = PROMPT_MAX) -> str:
    """An alert or request as a block quote, escaped."""
    return "\n".join(f">{line}" for line in escape(clip(text.strip(), limit)).splitlines() or [""])


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
    prompt: str = ""
    """The alert or request the thread started from."""
    facts: list[tuple[str, str]] = field(default_factory=list)
    """(label, value) of the write's fields, ids as names."""
    reasons: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    call: dict[str, Any] | None = None
    feedback: str | None = None
    allowed: list[str] = field(default_factory=list)
    editable: bool = True
    # a question ("which one?")
    question: str | None = None
    arg: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    # a failed write
    error: str | None = None
    landed: list[tuple[str, str]] = field(default_factory=list)


def fallback_text(ask: Ask) -> str:
    """The notification text (and what screen readers get): escaped like the blocks."""
    if ask.question is not None:
        line = f"incident-agent asks: {ask.question}"
    elif ask.error is not None:
        line = f"A write did not complete: {ask.summary}"
    else:
        line = f"Approval needed: {ask.summary}"
    return clip(escape(line), SECTION_MAX)


def request_blocks(ask: Ask) -> list[Block]:
    if ask.question is not None:
        from agent.surfaces.slack.questions import question_blocks

        return question_blocks(ask)
    if ask.error is not None:
        return retry_blocks(ask)
    blocks: list[Block] = [
        HeaderBlock(text=plain(_headline(ask), HEADER_MAX)),
        SectionBlock(text=md(f"*{escape(ask.summary)}*")),
    ]
    if ask.prompt:
        blocks.append(SectionBlock(text=md(f"*Asked*\n{quote(ask.prompt)}")))
    facts = list(ask.facts)
    if ask.effects:
        facts.append(("Effect", "; ".join(ask.effects)))
    if facts:
        blocks.append(
            SectionBlock(
                fields=[md(f"*{escape(k)}*\n{escape(v)}", FIELD_MAX) for k, v in facts[:10]]
            )
        )
    if ask.reasons:
        why = "\n".join(f"• {escape(r)}" for r in ask.reasons)
        blocks.append(SectionBlock(text=md(f"*Why*\n{why}")))
    if ask.feedback:
        blocks.append(SectionBlock(text=md(f":warning: *{escape(ask.feedback)}*")))
    if ask.call:
        line = (
            f"API call: `{escape(ask.call.get('method', ''))} {escape(ask.call.get('path', ''))}`"
        )
        blocks.append(ContextBlock(elements=[md(line)]))
    value = ask.ref.encode()
    allowed = set(ask.allowed or ("approve", "edit", "reject"))
    buttons = []
    if "approve" in allowed:
        buttons.append(
            ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary")
        )
    if "edit" in allowed and ask.editable:
        buttons.append(ButtonElement(text="Edit", action_id=EDIT, value=value))
    if "reject" in allowed:
        buttons.append(ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"))
    if ask.call:
        buttons.append(ButtonElement(text="Show API call", action_id=SHOW_CALL, value=value))
    blocks.append(ActionsBlock(block_id="hitl_actions", elements=buttons))
    blocks.append(thread_context(ask.ref))
    return blocks


def _headline(ask: Ask) -> str:
    if ask.action == "create_incident":
        service = next((v for k, v in ask.facts if k == "Service"), None)
        return f"Approve a page on {service}" if service else "Approve a page"
    if ask.action == "add_note":
        return "Approve a note on an open incident"
    return f"Approve: {ask.action.replace('_', ' ')}"


def retry_blocks(ask: Ask) -> list[Block]:
    """A write that did not complete: what failed, what landed, Retry or close without writing."""
    blocks: list[Block] = [
        HeaderBlock(text=plain("A write did not complete", HEADER_MAX)),
        SectionBlock(text=md(f"*{escape(ask.summary)}*")),
        SectionBlock(text=md(f":x: *What went wrong*\n{escape(ask.error or 'unknown error')}")),
    ]
    if ask.prompt:
        blocks.append(SectionBlock(text=md(f"*Asked*\n{quote(ask.prompt)}")))
    landed = [md(f"*{escape(k)}*\n{escape(v)}", FIELD_MAX) for k, v in ask.landed[:10]]
    blocks.append(
        SectionBlock(fields=landed) if landed else SectionBlock(text=md("*Already done*\nnothing"))
    )
    blocks.append(
        ContextBlock(
            elements=[
                md(
                    "Retry looks in PagerDuty for what already landed before sending anything again."
                )
            ]
        )
    )
    value = ask.ref.encode()
    allowed = set(ask.allowed or ("approve", "reject"))
    buttons = []
    if "approve" in allowed:
        buttons.append(ButtonElement(text="Retry", action_id=RETRY, value=value, style="primary"))
    if "reject" in allowed:
        buttons.append(
            ButtonElement(
                text="Close without writing", action_id=CLOSE, value=value, style="danger"
            )
        )
    blocks.append(ActionsBlock(block_id="hitl_actions", elements=buttons))
    blocks.append(thread_context(ask.ref))
    return blocks


def thread_context(ref: Ref) -> ContextBlock:
    return ContextBlock(
        elements=[md(f"thread `{escape(ref.thread_id)}` · asked {slack_date(time.time())}")]
    )
