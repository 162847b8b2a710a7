"""The modals: edit a write, give a reason to reject, read the exact API call.

The edit form is built from the request itself: the action's editable fields
(`ACTIONS[name].editable`) described by its `args_schema`, pre-filled with the
pending values. `read_edit` reads a submission back with the same field
list, so what a form sends and how it is read cannot drift apart. `check_edit`
runs the edit through the builder the graph's approve step uses
(`rebuild_proposal`) before the answer is sent, so a refused edit is shown
on the form, next to the field, and nothing is written. A modal carries
`thread:interrupt` in its `private_metadata`, never the proposal.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from agent.actions import ApiCall, Proposal, rebuild_proposal
from agent.pagerduty.catalog import Catalog
from agent.surfaces.slack.blocks import OPTION_TEXT_MAX, OPTIONS_MAX, SECTION_MAX, escape, md, plain
from agent.surfaces.slack.fields import HINTS, Field, catalog_items
from agent.surfaces.slack.refs import Ref

EDIT_VIEW = "hitl_edit_view"
REJECT_VIEW = "hitl_reject_view"
CALL_VIEW = "hitl_call_view"
PICK = "hitl_pick"
"""action_id of a searchable form menu; its block id names the field whose catalog it searches."""
NONE = "__none__"
INPUT_MAX = 3000


def block_id(name: str) -> str:
    return f"field_{name}"


def _option(label: str, value: str) -> Option:
    return Option(text=plain(label, OPTION_TEXT_MAX), value=value)


def _element(f: Field, current: Any, catalog: Catalog) -> Any:
    if f.shape in ("text", "multiline", "number"):
        text = "" if current is None else str(current)
        return PlainTextInputElement(
            action_id="value",
            initial_value=text[: f.max_length] or None,
            multiline=f.shape == "multiline",
            max_length=f.max_length,
            placeholder=HINTS.get(f.name),
        )
    if f.shape == "choice":
        choices = [(c, c) for c in f.choices]
    else:
        assert f.ref is not None
        choices = catalog_items(f.ref, catalog)
        if (
            f.ref == "priority" and current is not None
        ):  # an id or a name may be pending; show its name
            p = catalog.priority(str(current)) or catalog.priority_by_name(str(current))
            current = p.name if p else current
    labels = dict((v, lbl) for lbl, v in choices)
    if f.shape == "refs":
        chosen = [v for v in (current or []) if v in labels]
        if len(choices) > OPTIONS_MAX:
            return ExternalDataMultiSelectElement(
                action_id=PICK,
                min_query_length=0,
                initial_options=[_option(labels[v], v) for v in chosen] or None,
            )
        options = [_option(lbl, v) for lbl, v in choices]
        return StaticMultiSelectElement(
            action_id="value",
            options=options,
            initial_options=[o for o in options if o.value in chosen] or None,
        )
    with_none = [("none", NONE)] if f.optional else []
    if len(choices) + len(with_none) > OPTIONS_MAX:
        initial = _option(labels[current], current) if current in labels else None
        return ExternalDataSelectElement(action_id=PICK, min_query_length=0, initial_option=initial)
    options = [_option(lbl, v) for lbl, v in with_none + choices]
    wanted = NONE if current in (None, "") else str(current)
    initial = next((o for o in options if o.value == wanted), None)
    return StaticSelectElement(action_id="value", options=options, initial_option=initial)


def pick_options(name: str, schema: dict[str, Any], catalog: Catalog, query: str) -> list[Option]:
    """Options of a searchable form menu: the field's catalog, filtered by what was typed."""
    from agent.surfaces.slack.fields import field_of

    f = field_of(name, schema)
    if f.ref is None:
        return []
    words = query.lower().split()
    items = [
        (lbl, v) for lbl, v in catalog_items(f.ref, catalog) if all(w in lbl.lower() for w in words)
    ]
    if f.optional and f.shape == "ref" and not words:
        items.insert(0, ("none", NONE))
    return [_option(lbl, v) for lbl, v in items[:OPTIONS_MAX]]


def edit_modal(
    ref: Ref, fields: list[Field], args: dict[str, Any], catalog: Catalog, summary: str
) -> View:
    blocks: list[Block] = [SectionBlock(text=md(escape(summary)))]
    blocks += [
        InputBlock(
            block_id=block_id(f.name),
            label=plain(f.label, 2000),
            element=_element(f, args.get(f.name), catalog),
            optional=f.optional,
        )
        for f in fields
    ]
    blocks.append(
        SectionBlock(
            text=md("Submitting approves the edited write; it is checked against PagerDuty first.")
        )
    )
    return View(
        type="modal",
        callback_id=EDIT_VIEW,
        private_metadata=ref.encode(),
        title=plain("Edit, then approve", 24),
        submit=plain("Approve edited", 24),
        close=plain("Cancel", 24),
        blocks=blocks,
    )


def read_edit(fields: list[Field], values: dict[str, Any]) -> dict[str, Any]:
    """The submitted form as typed args; an emptied optional field is None (a list: [])."""
    out: dict[str, Any] = {}
    for f in fields:
        state: dict[str, Any] = next(iter((values.get(block_id(f.name)) or {}).values()), {})
        if f.shape == "refs":
            out[f.name] = [o["value"] for o in state.get("selected_options") or []]
            continue
        if "selected_option" in state:
            chosen = (state.get("selected_option") or {}).get("value")
        else:
            chosen = state.get("value")
        if chosen in (None, NONE, ""):
            chosen = None
        elif f.shape == "number":
            try:
                chosen = int(chosen)
            except ValueError:
                pass  # the builder refuses it, by name
        out[f.name] = chosen
    return out


def check_edit(
    name: str, args: dict[str, Any], edits: dict[str, Any], catalog: Catalog
) -> Proposal:
    """The edit through the same builder as the graph's approve step; ActionError if refused."""
    call = args.get("api_call") or {"method": "POST", "path": "/", "body": {}}
    pending = Proposal(
        action=name,
        fields={k: v for k, v in args.items() if k != "api_call"},
        call=ApiCall.model_validate(call),
        summary="",
    )
    return rebuild_proposal(pending, edits, catalog)


def error_field(
    message: str, fields: list[Field], edits: dict[str, Any], before: dict[str, Any]
) -> str:
    """The form field an error is about: named in it, or whose value it quotes, or the first changed one."""
    for f in fields:
        if f.name in message:
            return block_id(f.name)
    for f in fields:
        value = edits.get(f.name)
        if (
            value not in (None, "", [])
            and repr(value) in message
            or (isinstance(value, str) and value and f"'{value}'" in message)
        ):
            return block_id(f.name)
    changed = [f for f in fields if edits.get(f.name) != before.get(f.name)]
    return block_id((changed or fields)[0].name)


def reject_modal(ref: Ref, summary: str, *, title: str = "Reject", submit: str = "Reject") -> View:
    return View(
        type="modal",
        callback_id=REJECT_VIEW,
        private_metadata=ref.encode(),
        title=plain(title, 24),
        submit=plain(submit, 24),
        close=plain("Cancel", 24),
        blocks=[
            SectionBlock(text=md(escape(summary))),
            InputBlock(
                block_id="reason",
                label=plain("Why? (kept in the audit log)", 2000),
                element=PlainTextInputElement(
                    action_id="value", multiline=True, max_length=INPUT_MAX
                ),
            ),
        ],
    )


def read_reason(values: dict[str, Any]) -> str:
    return str(((values.get("reason") or {}).get("value") or {}).get("value") or "").strip()


def api_call_modal(call: dict[str, Any]) -> View:
    """The exact call, read-only; long bodies are split over several sections."""
    head = f"`{escape(call.get('method', ''))} {escape(call.get('path', ''))}`"
    body = escape(json.dumps(call.get("body", {}), indent=2, ensure_ascii=False))
    chunk = SECTION_MAX - 8
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)][:20] or [""]
    blocks: list[Block] = [SectionBlock(text=md(head))]
    blocks += [SectionBlock(text=md(f"```{p}```")) for p in parts]
    return View(
        type="modal",
        callback_id=CALL_VIEW,
        title=plain("API call", 24),
        close=plain("Close", 24),
        blocks=blocks,
    )
