"""`incident-agent postmortem`: one incident, every incident resolved since a time, or a schedule.

    postmortem 1201 [--format md|json] [--out FILE] [--note]
    postmortem --since 2026-11-01T00:00Z [--out DIR]
    postmortem --every 1h [--out DIR] [--once | --max-runs N]

Every post-mortem runs through the runner, as every thread does: with
`--note` its summary is proposed as an incident note, which waits for a human
like any write (`incident-agent approvals`, `approve`, `reject`, Slack).
The schedule remembers its last window and what it wrote in a SQLite file
beside the checkpoint (`schedule.py`); each post-mortem is written once,
keyed by incident id, and a restart catches up on incidents resolved while
it was down. Ctrl-C (or SIGTERM) stops it between two incidents.
Progress goes to stderr so stdout stays clean for `--format json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from agent.config import Settings, get_settings
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.models import Incident
from agent.surfaces.schedule import ScheduleStore, default_path, parse_duration, parse_since

if TYPE_CHECKING:  # LangGraph and LangChain load only when a post-mortem runs
    from agent.runner import Runner

OVERLAP = timedelta(minutes=5)
"""Each schedule window starts this much before the last one ended: late-listed incidents
are not missed, and the written-table keeps them from being written twice."""
STEPS = {"fetch_incident": "fetching the incident", "fetch_log_entries": "fetching every log entry",
         "build_timeline": "building the timeline", "narrate": "writing the narrative",
         "publish": "rendering"}

err = Console(stderr=True)


@contextlib.asynccontextmanager
async def open_runner(settings: Settings, *, note: bool = False) -> AsyncIterator[Runner]:
    """The post-mortem graph's runner: the same door, store and audit as every graph's."""
    from agent.checkpoint import open_checkpointer
    from agent.runner import Runner
    from agent.runtime import Context, open_services
    from graphs.postmortem import GRAPH, build_graph

    async with open_services(settings) as services, open_checkpointer(settings) as saver:
        on_pause = None
        if settings.slack_bot_token and settings.slack_channel:  # the note's pause, in Slack too
            from agent.surfaces.slack.notify import announcer

            on_pause = announcer(settings, services)
        yield Runner(build_graph(), services, saver, graph_name=GRAPH, surface="cli",
                     context=Context(propose_note=note), on_pause=on_pause)


async def make_postmortem(runner: Runner, incident: str,
                          progress: Progress | None = None) -> dict[str, Any]:
    """Run the graph for one incident; the final state (report, markdown, error), and
    `thread_id` and `paused` when the note waits for a human."""
    from graphs.postmortem import prompt_for

    pd = runner.services.pd
    task = progress.add_task(f"#{incident.lstrip('#')}: starting", total=len(STEPS)) \
        if progress else None
    step = "fetch_incident"

    def on_step(node: str) -> None:
        nonlocal step
        names = list(STEPS)
        step = names[min(names.index(node) + 1, len(names) - 1)] if node in STEPS else node
        if progress is not None and task is not None and node in STEPS:
            progress.advance(task)

    async def tick() -> None:  # the request count shows a long fetch is moving
        while progress is not None and task is not None:
            progress.update(task, description=f"{incident}: {STEPS.get(step, step)} "
                                              f"({pd.counter.total} requests)")
            await asyncio.sleep(0.2)

    runner.on_step = on_step
    ticker = asyncio.create_task(tick())
    try:
        # Reads up to the note's approval: one checkpoint when the run stops (done, or paused
        # for the note) rather than one per step; a crashed run simply runs again.
        outcome = await runner.start({"incident": incident},
                                     f"postmortem-{incident.lstrip('#')}-{uuid.uuid4().hex[:12]}",
                                     prompt=prompt_for(incident), durability="exit")
    finally:
        runner.on_step = None
        ticker.cancel()
        if progress is not None and task is not None:
            progress.remove_task(task)
    paused = outcome.status in ("awaiting_approval", "failed") and outcome.interrupt_id is not None
    return {**outcome.values, "thread_id": outcome.thread_id, "paused": paused}


def _tell_paused(state: dict[str, Any]) -> None:
    if state.get("paused"):
        thread = state["thread_id"]
        err.print(f"the note on {state['incident']} waits for approval: incident-agent approve "
                  f"{thread} | incident-agent reject {thread} --reason '…'", highlight=False)


def rendered(state: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(state["report"], indent=2, ensure_ascii=False) + "\n"
    return state["markdown"]


def _write(path: Path, text: str) -> None:
    """Whole file or nothing: a reader never sees half a post-mortem."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def resolved_at(incident: Incident) -> datetime | None:
    if incident.resolved_at:
        return incident.resolved_at
    last = (incident.model_extra or {}).get("last_status_change_at")
    return datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None


async def resolved_between(pd: PagerDutyClient, since: datetime, until: datetime,
                           lookback: timedelta) -> list[Incident]:
    """Incidents resolved in [since, until]. PagerDuty's window filters on `created_at`,
    so the ask reaches back `lookback` further and the result is filtered on `resolved_at`."""
    incidents = await pd.list_incidents(statuses=["resolved"], since=since - lookback, until=until)
    found = [i for i in incidents if (at := resolved_at(i)) is not None and since <= at <= until]
    return sorted(found, key=lambda i: (resolved_at(i), i.id))


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True)


async def one(settings: Settings, incident: str, fmt: str, out: Path | None,
              note: bool = False) -> int:
    async with open_runner(settings, note=note) as runner:
        with _progress() as progress:
            state = await make_postmortem(runner, incident, progress)
    if state.get("report") is None:
        err.print(f"[red]{state.get('error') or 'no post-mortem was made'}[/red]")
        return 1
    _tell_paused(state)
    text = rendered(state, fmt)
    if out:
        _write(out, text)
        err.print(f"wrote {out}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


async def since_mode(settings: Settings, since: datetime, fmt: str, out: Path | None,
                     lookback: timedelta, note: bool = False) -> int:
    now = datetime.now(UTC)
    async with open_runner(settings, note=note) as runner:
        incidents = await resolved_between(runner.services.pd, since, now, lookback)
        states = []
        with _progress() as progress:
            overall = progress.add_task(f"{len(incidents)} incidents resolved since {since:%Y-%m-%d %H:%M}Z",
                                        total=len(incidents))
            for incident in incidents:
                state = await make_postmortem(runner, incident.id, progress)
                _tell_paused(state)
                states.append(state)
                if out:
                    _write(out / f"{incident.id}.{fmt}", rendered(state, fmt))
                progress.advance(overall)
    if out:
        err.print(f"wrote {len(states)} post-mortem(s) to {out}")
    elif fmt == "json":
        sys.stdout.write(json.dumps([s["report"] for s in states], indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n---\n\n".join(s["markdown"] for s in states) + "\n")
    return 0


async def schedule(settings: Settings, every: timedelta, fmt: str, out: Path, since: str | None,
                   lookback: timedelta, max_runs: int | None, note: bool = False) -> int:
    """Every `every`: post-mortems for incidents resolved since the last run, each once."""
    store = ScheduleStore(default_path(settings.incident_agent_checkpoint), settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    runs = 0
    try:
        async with open_runner(settings, note=note) as runner:
            pd = runner.services.pd
            while not stop.is_set():
                now = datetime.now(UTC)
                last = store.last_until()
                start = last - OVERLAP if last else (
                    parse_since(since, now) if since else now - every)
                incidents = [i for i in await resolved_between(pd, start, now, lookback)
                             if not store.written(i.id)]
                written = 0
                with _progress() as progress:
                    overall = progress.add_task(f"run {runs + 1}: {len(incidents)} new", total=len(incidents))
                    for incident in incidents:
                        if stop.is_set():
                            break
                        state = await make_postmortem(runner, incident.id, progress)
                        _tell_paused(state)
                        path = out / f"{incident.id}.{fmt}"
                        _write(path, rendered(state, fmt))
                        at = resolved_at(incident)
                        store.record_written(incident.id, at.isoformat() if at else None, path)
                        written += 1
                        progress.advance(overall)
                if stop.is_set():
                    break  # an interrupted window is not recorded: the next run redoes it
                store.record_run(start, now, written)
                runs += 1
                err.print(f"run {runs}: wrote {written} post-mortem(s) for incidents resolved "
                          f"{start:%Y-%m-%d %H:%M:%S}Z..{now:%H:%M:%S}Z")
                if max_runs is not None and runs >= max_runs:
                    break
                # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancel that
                # arrives as its awaitable finishes, and the shutdown would wait for good.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(every.total_seconds()):
                        await stop.wait()
    finally:
        store.close()
    if stop.is_set():
        err.print("stopped")
    return 0


def postmortem(
    incident: Annotated[str | None, typer.Argument(
        help="Incident id (PINCD01) or number (1201, #1201).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md or json.")] = "md",
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="File for one incident; directory for --since/--every.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Every incident resolved since this ISO time (or a duration ago, e.g. 24h).")] = None,
    every: Annotated[str | None, typer.Option(help="Run on a schedule, e.g. 1h, 30m.")] = None,
    once: Annotated[bool, typer.Option("--once", help="With --every: one run, then exit.")] = False,
    max_runs: Annotated[int | None, typer.Option(help="With --every: stop after N runs.")] = None,
    lookback: Annotated[str, typer.Option(
        help="How long before the window an incident resolved in it may have been created.")] = "30d",
    note: Annotated[bool, typer.Option(
        "--note", help="Also propose the summary as an incident note; it waits for approval.")] = False,
) -> None:
    """Post-mortem: timeline, metrics, Mermaid chart and narrative for resolved incidents."""
    if fmt not in ("md", "json"):
        raise typer.BadParameter("--format must be md or json")
    if incident is not None and (since or every):
        raise typer.BadParameter("give an INCIDENT, or --since TIME, or --every INTERVAL, not both")
    if incident is None and not (since or every):
        raise typer.BadParameter("give an INCIDENT, or --since TIME, or --every INTERVAL")
    settings = get_settings()
    try:
        back = parse_duration(lookback)
        if every:
            code = asyncio.run(schedule(settings, parse_duration(every), fmt, out or Path("postmortems"),
                                        since, back, 1 if once else max_runs, note))
        elif since:
            code = asyncio.run(since_mode(settings, parse_since(since, datetime.now(UTC)), fmt, out, back,
                                          note))
        else:
            assert incident is not None
            code = asyncio.run(one(settings, incident, fmt, out, note))
    except KeyboardInterrupt:
        err.print("stopped")
        code = 130
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        code = 2
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `postmortem` to the CLI."""
    app.command("postmortem")(postmortem)
