"""The `incident-agent` command: Typer for the shape, Rich for the screen.

Exit codes: 0 done (or left paused on purpose), 1 the write or a PagerDuty
call failed, 2 bad input or a refused answer, 3 rejected by a human,
4 unknown or already answered thread.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from agent.approvals import Approver
from agent.checkpoint import open_checkpointer
from agent.config import Settings, get_settings
from agent.runner import AlreadyDecided, Outcome, RefusedAnswer, Runner, UnknownApproval
from agent.runtime import Services, open_services
from agent.triage import TriageInputError
from agent.triage.text import validate_input as check_text

T = TypeVar("T")

app = typer.Typer(help="PagerDuty work in plain words, every page behind a human approval.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
eval_app = typer.Typer(help="Measure the agent on case files.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

console = Console()
err = Console(stderr=True)

EXIT = {"done": 0, "awaiting_approval": 0, "needs_input": 0, "not_incident": 0,
        "error": 1, "rejected": 3}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


def _fail(message: str, code: int, as_json: bool = False) -> typer.Exit:
    """Errors go to stderr; with --json, scripts also get them as JSON on stdout."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    if as_json:
        console.print_json(json.dumps({"status": "error", "error": message, "exit_code": code}))
    return typer.Exit(code)


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@asynccontextmanager
async def _runner(settings: Settings, *, progress: bool = False) -> AsyncIterator[Runner]:
    from graphs.incident_response import build_graph

    async with open_services(settings) as services, open_checkpointer(
        settings.incident_agent_checkpoint
    ) as saver:
        on_step = (lambda node: err.print(f"[dim]✓ {node}[/dim]")) if progress else None
        yield Runner(build_graph(), services, saver, surface="cli",
                     on_pause=await _announcer(settings, services), on_step=on_step)


async def _announcer(settings: Settings, services: Services) -> Callable[[Outcome], Awaitable[None]] | None:
    """Post pauses to Slack when Slack is configured, from whichever process paused."""
    if not (settings.slack_bot_token and settings.slack_channel):
        return None
    from agent.slack.notify import announcer

    return announcer(settings, services)


def _approver(name: str | None, email: str | None, settings: Settings) -> Approver:
    return Approver(name=name or getpass.getuser(), source="cli",
                    email=email or settings.pagerduty_from)


def _show(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(outcome.as_json(), default=str))
        return
    style = {"done": "green", "awaiting_approval": "yellow", "needs_input": "yellow",
             "rejected": "red", "error": "red", "not_incident": "blue"}.get(outcome.status, "white")
    title = f"{outcome.status} · thread {outcome.thread_id}"
    console.print(Panel(outcome.report or outcome.status, title=title, border_style=style))
    if outcome.status in ("awaiting_approval", "needs_input"):
        asked = (outcome.request or {}).get("action_requests", [{}])[0].get("args", {})
        field = next((k for k, v in asked.items() if v is None and k != "candidates"), "service_id")
        hint = (f"--edit {field}=<ID>" if outcome.status == "needs_input" else "[--edit field=value]")
        console.print(f"Answer from any terminal: incident-agent approve {outcome.thread_id} {hint}"
                      f"  |  incident-agent reject {outcome.thread_id} --reason '…'", highlight=False)


def _parse_edits(edits: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in edits:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _fail(f"--edit takes field=value, got {item!r}", 2)
        out[key.strip()] = None if value.strip().lower() in ("", "null", "none") else value.strip()
    return out


def _answer(kind: str, edits: dict[str, Any] | None, outcome_request: dict[str, Any] | None,
            reason: str | None = None) -> dict[str, Any]:
    if kind == "reject":
        return {"decisions": [{"type": "reject", "message": reason or ""}]}
    if kind == "edit":
        action = (outcome_request or {}).get("action_requests", [{}])[0]
        args = {k: v for k, v in action.get("args", {}).items() if k not in ("api_call", "candidates")}
        return {"decisions": [{"type": "edit", "edited_action": {
            "name": action.get("name", ""), "args": {**args, **(edits or {})}}}]}
    return {"decisions": [{"type": "approve"}]}


def _ask_in_terminal(outcome: Outcome) -> tuple[str, dict[str, Any] | None, str | None]:
    allowed = outcome.request["review_configs"][0]["allowed_decisions"] if outcome.request else []
    choices = {"a": "approve", "e": "edit", "r": "reject"}
    keys = "/".join(k for k, v in choices.items() if v in allowed)
    while True:
        pick = typer.prompt(f"Decision [{keys}]").strip().lower()[:1]
        if choices.get(pick) in allowed:
            break
    if choices[pick] == "reject":
        return "reject", None, typer.prompt("Reason")
    if choices[pick] == "edit":
        raw = typer.prompt("Edits as field=value, comma separated")
        return "edit", _parse_edits([p for p in raw.split(",") if p.strip()]), None
    return "approve", None, None


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(help="The alert or request, in plain words.")],
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Leave an approval paused and exit.")] = False,
    as_json: JsonOpt = False,
    approver: Annotated[str | None, typer.Option("--as", help="Your name, for the audit log.")] = None,
) -> None:
    """Triage PROMPT and do the PagerDuty work, asking before any write."""
    settings = get_settings()
    try:
        check_text(prompt)
    except TriageInputError as exc:
        raise _fail(str(exc), 2, as_json) from None
    interactive = not no_wait and not as_json and sys.stdin.isatty()

    async def go() -> Outcome:
        async with _runner(settings, progress=not as_json) as runner:
            outcome = await runner.start({"prompt": prompt})
            while interactive and outcome.status in ("awaiting_approval", "needs_input"):
                _show(outcome, False)
                kind, edits, reason = _ask_in_terminal(outcome)
                try:
                    outcome = await runner.resume(
                        outcome.thread_id, _answer(kind, edits, outcome.request, reason),
                        _approver(approver, None, settings), interrupt_id=outcome.interrupt_id)
                except RefusedAnswer as exc:
                    err.print(f"[red]refused:[/red] {exc}")
            return outcome

    outcome = _run(go())
    _show(outcome, as_json)
    raise typer.Exit(EXIT.get(outcome.status, 1))


def _decide(thread: str, kind: str, edits: dict[str, Any] | None, reason: str | None,
            approver: str | None, email: str | None, as_json: bool) -> None:
    settings = get_settings()

    async def go() -> Outcome:
        async with _runner(settings, progress=not as_json) as runner:
            status, pending = await runner.services.store.get(thread)
            if pending is None:
                raise AlreadyDecided(f"thread {thread} is not waiting for an answer (it is {status})")
            return await runner.resume(thread, _answer(kind, edits, pending.request, reason),
                                       _approver(approver, email, settings),
                                       interrupt_id=pending.interrupt_id)

    try:
        outcome = _run(go())
    except RefusedAnswer as exc:
        raise _fail(f"answer refused, nothing changed: {exc}", 2, as_json) from None
    except (AlreadyDecided, UnknownApproval) as exc:
        raise _fail(str(exc), 4, as_json) from None
    _show(outcome, as_json)
    raise typer.Exit(EXIT.get(outcome.status, 1))


@app.command()
def approve(
    thread: Annotated[str, typer.Argument(help="Thread id from `run` or `approvals`.")],
    edit: Annotated[list[str] | None, typer.Option("--edit", help="field=value; repeatable.")] = None,
    approver: Annotated[str | None, typer.Option("--as", help="Your name, for the audit log.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Your PagerDuty email (From).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a paused write (with --edit: approve it changed)."""
    edits = _parse_edits(edit or [])
    _decide(thread, "edit" if edits else "approve", edits, None, approver, email, as_json)


@app.command()
def reject(
    thread: Annotated[str, typer.Argument(help="Thread id from `run` or `approvals`.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the audit log.")],
    approver: Annotated[str | None, typer.Option("--as", help="Your name, for the audit log.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a paused write: nothing is written."""
    _decide(thread, "reject", None, reason, approver, None, as_json)


@app.command()
def approvals(as_json: JsonOpt = False) -> None:
    """List threads waiting for a human, from the checkpoint store."""
    settings = get_settings()

    async def go() -> list[Any]:
        from agent.approvals.store import ApprovalStore

        store = ApprovalStore(settings.incident_agent_checkpoint)
        try:
            return await store.pending()
        finally:
            store.close()

    rows = _run(go())
    if as_json:
        console.print_json(json.dumps([
            {"thread_id": p.thread_id, "graph": p.graph, "interrupt_id": p.interrupt_id,
             "status": p.kind, "prompt": p.prompt,
             "action": p.request["action_requests"][0]["name"],
             "description": p.request["action_requests"][0].get("description", ""),
             "created_at": p.created_at} for p in rows]))
        return
    table = Table("thread", "waiting for", "action", "prompt")
    for p in rows:
        table.add_row(p.thread_id, p.kind, p.request["action_requests"][0]["name"], p.prompt[:80])
    console.print(table if rows else "No approvals pending.")


@app.command()
def audit(
    thread: Annotated[str | None, typer.Argument(help="Only this thread.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every decision: who, when, what was shown, and what happened."""
    from agent.approvals.store import ApprovalStore

    store = ApprovalStore(get_settings().incident_agent_checkpoint)
    try:
        rows = _run(store.audit_log(thread))
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table("thread", "decision", "by", "action", "result")
    for r in rows:
        table.add_row(r["thread_id"], r["decision"], r["approver"].get("name", "?"),
                      r["proposal"].get("action", ""), json.dumps(r["result"])[:60])
    console.print(table)


@app.command("triage")
def triage_cmd(
    text: Annotated[str, typer.Argument(help="Alert text.")],
    as_json: JsonOpt = False,
) -> None:
    """Read an alert against the live catalog; writes nothing."""
    from agent.pagerduty.catalog import CatalogCache
    from agent.pagerduty.embedded import connect
    from agent.triage import triage

    settings = get_settings()

    async def go() -> dict[str, Any]:
        async with connect(settings) as pd:
            catalog = await CatalogCache(pd, ttl_s=settings.catalog_ttl_s).get()
            return (await triage(text, catalog, settings)).model_dump(mode="json")

    try:
        result = _run(go())
    except TriageInputError as exc:
        raise _fail(str(exc), 2, as_json) from None
    if as_json:
        console.print_json(json.dumps(result))
        return
    console.print(Panel("\n".join(f"{k}: {v}" for k, v in result.items() if v not in (None, [], "")),
                        title="triage"))


@eval_app.command("triage")
def eval_triage(
    cases: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL cases.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write one JSON line per case.")],
    as_json: JsonOpt = False,
) -> None:
    """Run triage and service lookup over a cases file; writes nothing to PagerDuty."""
    from agent.pagerduty.catalog import CatalogCache
    from agent.pagerduty.embedded import connect
    from agent.triage.evaluate import evaluate_cases

    settings = get_settings()

    async def go() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with connect(settings) as pd:
            catalog = await CatalogCache(pd, ttl_s=settings.catalog_ttl_s).get()
            return await evaluate_cases(cases, catalog, settings)

    try:
        predictions, summary = _run(go())
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    out.write_text("".join(json.dumps(p) + "\n" for p in predictions))
    if as_json:
        console.print_json(json.dumps(summary))
    else:
        console.print(Panel("\n".join(f"{k}: {v}" for k, v in summary.items()), title="triage eval"))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """The ASGI app: /healthz, /slack/events (approval buttons), /webhooks/pagerduty."""
    from agent.server import serve as run_server

    run_server(get_settings(), host=host, port=port)


def _register_optional() -> None:
    """Sub-commands that live with their feature."""
    from agent.pagerduty.sandbox.cli import app as sandbox_app
    from agent.postmortem.cli import register as register_postmortem

    app.add_typer(sandbox_app, name="sandbox", help="A PagerDuty REST API v2 sandbox on loopback.")
    register_postmortem(app)


def main() -> None:
    _register_optional()
    app()
