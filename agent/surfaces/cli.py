"""The `incident-agent` command: Typer for the shape, Rich for the screen.

Exit codes: 0 done (or left paused on purpose), 1 the write or a PagerDuty
call failed (a failed write stays retryable), 2 bad input, a refused answer
or a setting to fix, 3 rejected by a human, 4 unknown or already answered
thread (or nothing to retry), 130 interrupted (Ctrl-C; a pause stays paused);
`db current` exits 1 when the database needs `db upgrade`.
A database or Redis that cannot be used exits 1 with its URL (password `***`).
No traceback reaches a user: one line, or with `--json` a status object on
stdout; `--debug` shows the traceback.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from agent.approvals import Approver, RefusedAnswer
from agent.approvals.store import AlreadyDecided, UnknownApproval
from agent.config import Settings, get_settings
from agent.triage import TriageInputError
from agent.triage.text import validate_input as check_text

if TYPE_CHECKING:  # the graph stack (LangGraph, LangChain) loads only for commands that run it
    from agent.runner import Outcome, Runner
    from agent.runtime import Services

T = TypeVar("T")

app = typer.Typer(help="PagerDuty work in plain words, every page behind a human approval.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
eval_app = typer.Typer(help="Measure the agent on case files.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

console = Console()
err = Console(stderr=True)

EXIT = {"done": 0, "awaiting_approval": 0, "needs_input": 0, "not_incident": 0,
        "error": 1, "failed": 1, "rejected": 3}

STEPS = {
    "triage": "Reading the request",
    "lookup_service": "Finding the service",
    "resolve_oncall": "Checking who is on call",
    "check_open_incidents": "Looking for open incidents",
    "propose": "Preparing the proposal",
    "find_incident": "Finding the incident",
    "propose_update": "Preparing the update",
    "check_roster": "Checking the schedule",
    "propose_override": "Preparing the override",
    "check_sender": "Checking who the write acts as",
    "clarify": "Asking which one is meant",
    "approve": "Waiting for the approval",
    "execute": "Writing to PagerDuty",
    "await_retry": "Recording what did not complete",
    "report": "Writing the report",
}
"""Each graph step in words, for the live status line."""

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


def _fail(message: str, code: int, as_json: bool = False) -> typer.Exit:
    """Errors go to stderr; with --json, scripts also get them as JSON on stdout."""
    err.print("[red]error:[/red] ", end="")
    err.print(message, markup=False, highlight=False)
    if as_json:
        _print_json({"status": "error", "error": message, "exit_code": code})
    return typer.Exit(code)


def _print_json(data: Any) -> None:
    """Plain `json.dumps`: Rich's pretty printer costs seconds on a long list."""
    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@asynccontextmanager
async def _runner(settings: Settings, *, progress: bool = False,
                  thread: str | None = None) -> AsyncIterator[Runner]:
    """The runner of the incident graph, or of the graph `thread` belongs to (the approvals
    store records it), so `approve`, `reject` and `retry` answer a post-mortem's note too."""
    from agent.checkpoint import open_checkpointer
    from agent.runner import Runner
    from agent.runtime import open_services
    from graphs import incident_response, postmortem

    graphs = {m.GRAPH: m.build_graph for m in (incident_response, postmortem)}
    async with open_services(settings) as services, open_checkpointer(settings) as saver:
        name = incident_response.GRAPH
        if thread is not None:
            _, pending = await services.store.get(thread)
            name = pending.graph if pending is not None and pending.graph in graphs else name
        status = err.status("Starting…") if progress and err.is_terminal else None

        def on_step(node: str) -> None:
            if status is not None:
                status.update(f"{STEPS.get(node, 'Working')}…")

        if status is not None:
            status.start()
        try:
            yield Runner(graphs[name](), services, saver, graph_name=name, surface="cli",
                         on_pause=await _announcer(settings, services),
                         on_decided=await _decision_announcer(settings, services),
                         on_step=on_step if progress else None)
        finally:
            if status is not None:
                status.stop()


async def _announcer(settings: Settings, services: Services) -> Callable[[Outcome], Awaitable[None]] | None:
    """Post pauses to Slack when Slack is configured, from whichever process paused."""
    if not (settings.slack_bot_token and settings.slack_channel):
        return None
    from agent.surfaces.slack.notify import announcer

    return announcer(settings, services)


async def _decision_announcer(settings: Settings, services: Services) -> Callable[[Outcome], Awaitable[None]] | None:
    """A decision taken here updates the thread's Slack message too (buttons removed)."""
    if not (settings.slack_bot_token and settings.slack_channel):
        return None
    from agent.surfaces.slack import notify

    decided = getattr(notify, "decided", None)
    if decided is None:
        return None

    async def announce(outcome: Outcome) -> None:
        await decided(settings, services, outcome.thread_id, outcome)

    return announce


def _approver(name: str | None, email: str | None, settings: Settings) -> Approver:
    return Approver(name=name or getpass.getuser(), source="cli",
                    email=email or settings.pagerduty_from)


def _show(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        _print_json(outcome.as_json())
        return
    style = {"done": "green", "awaiting_approval": "yellow", "needs_input": "yellow",
             "rejected": "red", "error": "red", "failed": "red",
             "not_incident": "blue"}.get(outcome.status, "white")
    title = f"{outcome.status.replace('_', ' ')} · thread {outcome.thread_id}"
    console.print(Panel(outcome.report or outcome.status, title=title, border_style=style),
                  markup=False)
    if outcome.status == "failed":
        console.print(f"Finish it: incident-agent retry {outcome.thread_id}  |  close it: "
                      f"incident-agent reject {outcome.thread_id} --reason '…'", highlight=False)
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


ANSWERS = {"approve": "approve", "a": "approve", "edit": "edit", "e": "edit",
           "reject": "reject", "r": "reject"}
"""Whole words only: `abort` or `exit` must never approve or edit."""


def _ask_in_terminal(outcome: Outcome) -> tuple[str, dict[str, Any] | None, str | None]:
    """Ask until the answer is one of the allowed words; Ctrl-C raises KeyboardInterrupt."""
    allowed = outcome.request["review_configs"][0]["allowed_decisions"] if outcome.request else []
    words = " / ".join(f"{w} ({w[0]})" for w in ("approve", "edit", "reject") if w in allowed)
    while True:
        pick = ANSWERS.get(_read_line(f"Decision [{words}]: ").strip().lower())
        if pick in allowed:
            break
        err.print(f"Please answer with one of: {words}.", highlight=False)
    if pick == "reject":
        return "reject", None, _read_line("Reason (kept in the audit log): ")
    if pick == "edit":
        while True:
            raw = _read_line("Edits as field=value, comma separated: ")
            items = [p for p in raw.split(",") if p.strip()]
            if items and all("=" in p for p in items):
                return "edit", _parse_edits(items), None
            err.print("Give at least one field=value.", highlight=False)
    return "approve", None, None


def _read_line(prompt: str) -> str:
    """`input()` on the main thread, outside any event loop: Ctrl-C stops it at once."""
    try:
        return input(prompt)
    except EOFError:
        raise KeyboardInterrupt from None


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
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail("the alert text is not valid UTF-8; nothing was done", 2, as_json) from None
    try:
        check_text(prompt)
    except TriageInputError as exc:
        raise _fail(str(exc), 2, as_json) from None
    interactive = not no_wait and not as_json and sys.stdin.isatty()

    async def begin() -> Outcome:
        async with _runner(settings, progress=not as_json) as runner:
            from agent.runtime import SenderError

            try:
                await runner.services.acting_user()
            except SenderError as exc:
                raise _fail(str(exc), 2, as_json) from None
            return await runner.start({"prompt": prompt})

    async def answer(outcome: Outcome, decision: tuple[str, dict[str, Any] | None, str | None]) -> Outcome:
        kind, edits, reason = decision
        async with _runner(settings, progress=True) as runner:
            return await runner.resume(
                outcome.thread_id, _answer(kind, edits, outcome.request, reason),
                _approver(approver, None, settings), interrupt_id=outcome.interrupt_id)

    outcome = _run(begin())
    while interactive and outcome.status in ("awaiting_approval", "needs_input"):
        _show(outcome, False)
        try:
            decision = _ask_in_terminal(outcome)
        except KeyboardInterrupt:
            err.print(f"\nLeft paused. Answer later: incident-agent approve {outcome.thread_id} "
                      f"| incident-agent reject {outcome.thread_id} --reason '…'", highlight=False)
            raise typer.Exit(130) from None
        try:
            outcome = _run(answer(outcome, decision))
        except RefusedAnswer as exc:
            err.print(f"refused, nothing changed: {exc}", highlight=False)
    _show(outcome, as_json)
    raise typer.Exit(EXIT.get(outcome.status, 1))


def _decide(thread: str, kind: str, edits: dict[str, Any] | None, reason: str | None,
            approver: str | None, email: str | None, as_json: bool) -> None:
    settings = get_settings()

    async def go() -> Outcome:
        async with _runner(settings, progress=not as_json, thread=thread) as runner:
            who = _approver(approver, email, settings)
            if kind == "retry":
                return await runner.retry(thread, who)
            status, pending = await runner.services.store.get(thread)
            if pending is None:
                raise AlreadyDecided(f"thread {thread} is not waiting for an answer (it is {status})")
            if pending.kind == "failed" and kind != "reject":
                return await runner.retry(thread, who)  # approving a failed write is a retry
            return await runner.resume(thread, _answer(kind, edits, pending.request, reason),
                                       who, interrupt_id=pending.interrupt_id)

    try:
        outcome = _run(go())
    except RefusedAnswer as exc:
        raise _fail(f"answer refused, nothing changed: {exc}", 2, as_json) from None
    except (AlreadyDecided, UnknownApproval) as exc:
        raise _fail(str(exc), 4, as_json) from None
    except Exception as exc:
        from agent.surfaces.connecting import explain

        line = explain(exc, settings)
        if line is None or kind == "reject":
            raise
        # An approval may have been claimed and its write sent before the database went:
        # say how to finish it, not only what failed.
        raise _fail(f"{line}. Once it answers, `incident-agent approvals` shows where {thread} "
                    f"stands: `incident-agent retry {thread}` finishes an approved write "
                    "without sending it twice", 1, as_json) from None
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
def retry(
    thread: Annotated[str, typer.Argument(help="Thread id from `approvals`.")],
    approver: Annotated[str | None, typer.Option("--as", help="Your name, for the audit log.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Finish an approved write that failed or stopped midway (nothing is written twice).

    It first checks what PagerDuty already has. Exit 0 done, 1 failed again, 4 nothing to retry.
    """
    _decide(thread, "retry", None, None, approver, None, as_json)


@app.command()
def approvals(as_json: JsonOpt = False) -> None:
    """List threads waiting for a human, from the checkpoint store."""
    settings = get_settings()

    async def go() -> list[Any]:
        from agent.approvals.store import open_approval_store

        store = open_approval_store(settings)
        try:
            return await store.pending()
        finally:
            await store.aclose()

    rows = _run(go())
    from agent.intake.store import rows_for_threads, storm_line

    # Alerts a storm joined to a pending run (intake): their count shows on the approval.
    alerts = rows_for_threads(settings, [p.thread_id for p in rows])
    if as_json:
        _print_json([
            {"thread_id": p.thread_id, "graph": p.graph, "interrupt_id": p.interrupt_id,
             "status": p.kind, "error": p.error, "prompt": p.prompt,
             "action": p.action, "description": p.description,
             "created_at": p.created_at,
             "alerts": alerts[p.thread_id].count if p.thread_id in alerts else None,
             "latest_alert": (alerts[p.thread_id].latest or {}).get("summary")
             if p.thread_id in alerts else None} for p in rows])
        return
    table = Table("thread", "status", "action", "prompt / error")
    for p in rows:
        storm = storm_line(alerts.get(p.thread_id))
        table.add_row(p.thread_id, p.kind.replace("_", " "), p.action,
                      (p.error or p.prompt)[:100] + (f"\n({storm[:120]})" if storm else ""))
    console.print(table if rows else "No approvals pending.")


@app.command()
def audit(
    thread: Annotated[str | None, typer.Argument(help="Only this thread.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every decision: who, when, what was shown, and what happened."""
    from agent.approvals.store import open_approval_store

    async def go() -> list[dict[str, Any]]:
        store = open_approval_store(get_settings())
        try:
            return await store.audit_log(thread)
        finally:
            await store.aclose()

    rows = _run(go())
    if as_json:
        _print_json(rows)
        return
    table = Table("time (UTC)", "thread", "who", "from", "decision", "result")
    for r in rows:
        when = datetime.fromtimestamp(r["at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(when, r["thread_id"], r["approver"].get("name", "?"),
                      r["approver"].get("source", "?"), r["decision"], _audit_result(r))
    console.print(table if rows else "No decisions yet.")


def _audit_result(row: dict[str, Any]) -> str:
    """One line: what the decision did in PagerDuty."""
    result = row.get("result") or {}
    action = row["proposal"].get("action", "")
    if row["decision"] == "reject":
        return f"nothing written ({action})" + (f": {row['message']}" if row.get("message") else "")
    if result.get("error"):
        return f"{action}: {result['error']}"[:160]
    what = f"#{result['incident_number']}" if result.get("incident_number") else result.get("id", "")
    tries = sum(1 for a in row.get("attempts") or [] if a["step"] == "write")
    return f"{action} {what}".strip() + (f" ({tries} attempts)" if tries > 1 else "")


@app.command("triage")
def triage_cmd(
    text: Annotated[str, typer.Argument(help="Alert text.")],
    as_json: JsonOpt = False,
) -> None:
    """Read an alert against the live catalog; writes nothing."""
    from agent.pagerduty.embedded import connect
    from agent.runtime import catalog_cache
    from agent.triage import triage

    settings = get_settings()

    async def go() -> dict[str, Any]:
        async with connect(settings) as pd:
            catalog = await catalog_cache(settings, pd).get()
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
    from agent.history import history_cache
    from agent.pagerduty.embedded import connect
    from agent.runtime import catalog_cache
    from agent.triage.evaluate import evaluate_cases

    settings = get_settings()

    async def go() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with connect(settings) as pd:
            catalog = await catalog_cache(settings, pd).get()
            # The account's past incidents are evidence, as in a real run.
            return await evaluate_cases(cases, catalog, settings, history_cache(settings, pd))

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
    from agent.surfaces.server import serve as run_server

    run_server(get_settings(), host=host, port=port)


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Check the settings against what they connect to; one line each, exit 1 if any fails."""
    from agent.surfaces.doctor import run_checks

    checks = _run(run_checks(get_settings()))
    if as_json:
        _print_json([c.__dict__ for c in checks])
    else:
        for c in checks:
            mark = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}[c.status]
            console.print(f"{mark} {c.name}: ", end="")
            console.print(c.detail, markup=False, highlight=False)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)


def _register_optional() -> None:
    """Sub-commands that live with their feature."""
    from agent.pagerduty.sandbox.cli import app as sandbox_app
    from agent.surfaces.db import register as register_db
    from agent.surfaces.postmortem import register as register_postmortem

    app.add_typer(sandbox_app, name="sandbox", help="A PagerDuty REST API v2 sandbox on loopback.")
    register_postmortem(app)
    register_db(app)


def main() -> None:
    """Every failure ends as one line and its exit code; `--debug` shows the traceback."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    as_json = "--json" in sys.argv
    _register_optional()
    try:
        code = app(standalone_mode=False)  # returns the code of a typer.Exit
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted; anything paused stays paused (`incident-agent approvals`)")
        sys.exit(130)
    except Exception as exc:
        usage_code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(usage_code, int):
            exc.show()  # usage errors: Typer's own message (it vendors click's exceptions)
            sys.exit(usage_code)
        if debug:
            raise
        code, message = _classify(exc)
        _fail(message, code, as_json)
    sys.exit(code if isinstance(code, int) else 0)


def _classify(exc: Exception) -> tuple[int, str]:
    """The documented exit code and the one line for an error nobody caught earlier."""
    from agent.pagerduty.errors import PagerDutyError, plain
    from agent.surfaces.connecting import explain

    unusable = explain(exc, get_settings())  # the database or Redis: its setting, no password
    if unusable is not None:
        return 1, unusable
    if isinstance(exc, PagerDutyError):
        return 1, plain(exc)
    if isinstance(exc, RefusedAnswer):
        return 2, f"answer refused, nothing changed: {exc}"
    if isinstance(exc, ValueError):  # SenderError too: a setting to fix
        return 2, str(exc)
    if isinstance(exc, AlreadyDecided | UnknownApproval):
        return 4, str(exc)
    if isinstance(exc, OSError):
        return 1, f"{type(exc).__name__}: {exc}"
    return 1, f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)"
