"""A "which one?" question as a Slack message: a select menu answered in place.

Every question kind (service, person, schedule, incident, and any later one)
is the same shape in the HITL request: the name `choose_<kind>`, args holding
`candidates` ([{id, name, why, email?}]) and the one arg the answer sets. The
message shows the alert or request the thread is about, the question, each
candidate with why it is one, and a menu: a static select when the list is
short, an external (searchable) one when it is long, whose options the app
serves from the pending request (`options_for`) as the person types.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ExternalDataSelectElement,
    HeaderBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from agent.approvals.questions import KINDS, kind_of
from agent.surfaces.slack.blocks import (
    CHOOSE,
    HEADER_MAX,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    REJECT,
    Ask,
    escape,
    md,
    plain,
    quote,
    thread_context,
)
from agent.surfaces.slack.refs import Ref, encode_choice

STATIC_MAX = 25
"""Up to this many candidates, a static menu; beyond it, a searchable one."""
LISTED_MAX = 10
"""Candidates listed in the message body (the menu holds them all)."""



def is_question(request: dict[str, Any]) -> bool:
    """A request that asks to choose: its args carry candidates (every kind, present and future)."""
    action = (request.get("action_requests") or [{}])[0]
    return "candidates" in (action.get("args") or {})


def chosen_arg(args: dict[str, Any]) -> str | None:
    """The arg the answer sets: the one arg besides the candidates."""
    return next((k for k in args if k != "candidates"), None)


def _label(c: dict[str, Any]) -> str:
    email = f" <{c['email']}>" if c.get("email") else ""
    return f"{c.get('name') or c['id']}{email} ({c['id']})"


def option(ref: Ref, c: dict[str, Any]) -> Option:
    why = str(c.get("why") or "")
    return Option(
        text=plain(_label(c), OPTION_TEXT_MAX),
        value=encode_choice(ref, str(c["id"])),
        description=plain(why, OPTION_TEXT_MAX) if why else None,
    )


def options_for(ref: Ref, candidates: list[dict[str, Any]], query: str) -> list[Option]:
    """The candidates matching what the person typed (name, id, email or why), as menu options."""
    words = query.lower().split()
    hits = [
        c
        for c in candidates
        if all(
            w in " ".join(str(c.get(k) or "") for k in ("name", "id", "email", "why")).lower()
            for w in words
        )
    ]
    return [option(ref, c) for c in hits[:OPTIONS_MAX]]


def question_blocks(ask: Ask) -> list[Block]:
    kind = kind_of(ask.action)
    known = KINDS.get(kind)  # type: ignore[call-overload]  # a kind from a newer version: generic
    headline = known.headline if known else f"Which {kind.replace('_', ' ')} is meant?"
    blocks: list[Block] = [HeaderBlock(text=plain(headline, HEADER_MAX))]
    if ask.prompt:
        blocks.append(SectionBlock(text=md(f"*Asked*\n{quote(ask.prompt)}")))
    if ask.question:
        blocks.append(SectionBlock(text=md(escape(ask.question))))
    if ask.feedback:
        blocks.append(SectionBlock(text=md(f":warning: *{escape(ask.feedback)}*")))
    listed = [
        f"• *{escape(_label(c))}*" + (f" — {escape(c['why'])}" if c.get("why") else "")
        for c in ask.candidates[:LISTED_MAX]
    ]
    if len(ask.candidates) > LISTED_MAX:
        listed.append(
            f"…and {len(ask.candidates) - LISTED_MAX} more: type in the menu to search them."
        )
    blocks.append(SectionBlock(text=md("*Candidates*\n" + ("\n".join(listed) or "none"))))
    elements: list[Any] = []
    placeholder = f"Choose the {kind.replace('_', ' ')}"
    if len(ask.candidates) > STATIC_MAX:
        elements.append(
            ExternalDataSelectElement(action_id=CHOOSE, placeholder=placeholder, min_query_length=0)
        )
    elif ask.candidates:
        elements.append(
            StaticSelectElement(
                action_id=CHOOSE,
                placeholder=placeholder,
                options=[option(ask.ref, c) for c in ask.candidates],
            )
        )
    if "reject" in (ask.allowed or ["reject"]):
        elements.append(
            ButtonElement(
                text="Drop the request", action_id=REJECT, value=ask.ref.encode(), style="danger"
            )
        )
    if elements:
        # The block id carries the reference: a searchable menu's option requests bring it back.
        blocks.append(ActionsBlock(block_id=ask.ref.encode(), elements=elements))
    blocks.append(thread_context(ask.ref))
    return blocks
