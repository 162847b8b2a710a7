"""The modals: edit a proposal, give a reason to reject, read the exact API call.

Each form is described by a small table (`EDIT_FIELDS`) and both built and
read back here, so the block ids a modal sends and the ones its submission
is read with cannot drift apart. A modal carries `thread:interrupt` in its
`private_metadata`, never the proposal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from agent.pagerduty.catalog import Catalog
from agent.slack.blocks import OPTION_TEXT_MAX, OPTIONS_MAX, SECTION_MAX, clip, escape
from agent.slack.refs import Ref

EDIT_VIEW = "hitl_edit_view"
REJECT_VIEW = "hitl_reject_view"
CALL_VIEW = "hitl_call_view"
NONE = "__none__"
INPUT_MAX = 3000

Kind = Literal["text", "multiline", "urgency", "priority", "service", "user"]


@dataclass(frozen=True)
class FormField:
    arg: str
    label: str
    kind: Kind
    optional: bool = False
    max_length: int = INPUT_MAX

    @property
    def block_id(self) -> str:
        return f"field_{self.arg}"


EDIT_FIELDS: dict[str, tuple[FormField, ...]] = {
    "create_incident": (
        FormField("title", "Title", "text", max_length=255),
        FormField("service_id", "Service", "service"),
        FormField("urgency", "Urgency", "urgency"),
        FormField("priority", "Priority", "priority", optional=True),
        FormField("assignee_id", "Assignee (who is paged)", "user", optional=True),
    ),
    "add_note": (FormField("content", "Note", "multiline"),),
}


def _option(label: str, value: str) -> Option:
    return Option(text=PlainTextObject(text=clip(label, OPTION_TEXT_MAX)), value=value)


def _select(choices: list[tuple[str, str]], current: Any, with_none: str | None) -> StaticSelectElement:
    options = ([_option(with_none, NONE)] if with_none else []) + [_option(lbl, val) for lbl, val in choices]
    options = options[:OPTIONS_MAX]
    initial = next((o for o in options if o.value == (current if current is not None else NONE)), None)
    return StaticSelectElement(action_id="value", options=options, initial_option=initial)


def _element(f: FormField, current: Any, catalog: Catalog) -> Any:
    if f.kind in ("text", "multiline"):
        text = "" if current is None else str(current)
        return PlainTextInputElement(
            action_id="value",
            initial_value=text[: f.max_length] or None,
            multiline=f.kind == "multiline",
            max_length=f.max_length,
        )
    if f.kind == "urgency":
        return _select([("high", "high"), ("low", "low")], current, None)
    if f.kind == "priority":
        choices = [(p.name, p.name) for p in catalog.priorities]
        if current is not None:  # an id or a name may be pending; show it as its name
            p = catalog.priority(str(current)) or catalog.priority_by_name(str(current))
            current = p.name if p else current
        return _select(choices, current, "none")
    if f.kind == "service":
        services = sorted(catalog.services, key=lambda s: s.name.lower())
        if len(services) > OPTIONS_MAX:
            return PlainTextInputElement(action_id="value", initial_value=str(current or "") or None)
        return _select([(f"{s.name} ({s.id})", s.id) for s in services], current, None)
    users = sorted(catalog.users, key=lambda u: u.name.lower())
    if len(users) >= OPTIONS_MAX:
        return PlainTextInputElement(action_id="value", initial_value=str(current or "") or None)
    return _select([(f"{u.name} ({u.email})", u.id) for u in users], current,
                   "nobody: the escalation policy decides")


def edit_modal(ref: Ref, action: str, args: dict[str, Any], catalog: Catalog) -> View:
    blocks: list[Block] = [
        InputBlock(
            block_id=f.block_id,
            label=PlainTextObject(text=f.label),
            element=_element(f, args.get(f.arg), catalog),
            optional=f.optional,
        )
        for f in EDIT_FIELDS.get(action, ())
    ]
    blocks.append(SectionBlock(text=MarkdownTextObject(
        text="Submitting approves the edited write; it is checked against PagerDuty again first.")))
    return View(
        type="modal",
        callback_id=EDIT_VIEW,
        private_metadata=ref.encode(),
        title=PlainTextObject(text="Edit, then approve"),
        submit=PlainTextObject(text="Approve edited"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    )


def read_edit(action: str, values: dict[str, Any]) -> dict[str, Any]:
    """The submitted form as edited args; an emptied optional field is None."""
    out: dict[str, Any] = {}
    for f in EDIT_FIELDS.get(action, ()):
        state = (values.get(f.block_id) or {}).get("value") or {}
        if state.get("type") == "static_select":
            chosen = (state.get("selected_option") or {}).get("value")
        else:
            chosen = state.get("value")
        if chosen in (None, NONE, ""):
            chosen = None
        out[f.arg] = chosen
    return out


def editable(action: str) -> bool:
    return action in EDIT_FIELDS


def reject_modal(ref: Ref, summary: str) -> View:
    return View(
        type="modal",
        callback_id=REJECT_VIEW,
        private_metadata=ref.encode(),
        title=PlainTextObject(text="Reject"),
        submit=PlainTextObject(text="Reject"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(escape(summary), SECTION_MAX))),
            InputBlock(
                block_id="reason",
                label=PlainTextObject(text="Why? (kept in the audit log)"),
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=INPUT_MAX),
            ),
        ],
    )


def read_reason(values: dict[str, Any]) -> str:
    return str(((values.get("reason") or {}).get("value") or {}).get("value") or "").strip()


def api_call_modal(call: dict[str, Any]) -> View:
    """The exact call, read-only; long bodies are split over several sections."""
    head = f"`{escape(str(call.get('method', '')))} {escape(str(call.get('path', '')))}`"
    body = escape(json.dumps(call.get("body", {}), indent=2, ensure_ascii=False))
    chunk = SECTION_MAX - 8
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)][:20] or [""]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head))]
    blocks += [SectionBlock(text=MarkdownTextObject(text=f"```{p}```")) for p in parts]
    return View(
        type="modal",
        callback_id=CALL_VIEW,
        title=PlainTextObject(text="API call"),
        close=PlainTextObject(text="Close"),
        blocks=blocks,
    )
