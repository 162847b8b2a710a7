"""10,000 paused threads in Postgres: `approvals` listing time, resume latency, worker memory.

    python -m bench.paused_threads [--threads 10000] [--sample 200] [--resumes 300]

Needs a Postgres server (INCIDENT_AGENT_DATABASE_URL or
INCIDENT_AGENT_TEST_DATABASE_URL, as `.ci/services` exports); the benchmark
makes a database of its own there and drops it at the end.

How the threads are made, and why. The real path (triage, the on-call and
open-incident reads, LangGraph's Postgres checkpoint after every step, the
approvals row) costs about 0.2 s of CPU a thread on this 2-core machine, so
10,000 would take over half an hour. So `--sample` threads go through the
real `Runner.start` (the same runner `serve` uses, concurrently), and the
rest are copies of them made inside Postgres: every checkpoint, blob and
pending-write row and the approvals row of a sampled thread, under a new
thread id, with the old id replaced by the new one inside the rows (ids have
one length, so the msgpack blobs stay valid). A copy is a real LangGraph
checkpoint of its own: it resumes, and its incident carries its own
`incident_key` (checked at the sandbox).

Measured:
- `incident-agent approvals --json` (a fresh process, as a user runs it):
  median wall time at 1,000 and at `--threads` paused threads, and the
  store's own `pending()` query in-process;
- `--resumes` approvals of threads picked at random among all of them, one at
  a time, through `Runner.resume` (what a Slack click or `approve` runs):
  wall time minus the time spent in PagerDuty round trips (each HTTP
  exchange timed at the client's transport, the sandbox in its own process
  with no injected latency), p50 and p99; target p99 < 50 ms;
- this process's RSS (it is the worker: it made the sampled threads and
  does the resumes), sampled after every resume: flat means the last sample
  within 5 % of the first after a warm-up fifth.

The sandbox's and the client's budgets are raised (`--rate`): this measures
storage, not the rate limit (bench.alert_storm and bench.burst do).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from pydantic import SecretStr

from agent.pagerduty.demo import demo_account
from bench.sandbox_process import SandboxProcess, sandbox_process

SERVICES = [s["name"] for s in demo_account()["services"]]  # the demo account's services
SYMPTOMS = [
    "High latency: p99 {a}.{b}s in us-central1 (critical)",
    "5xx error rate {a}{b}% over 5 minutes (critical)",
    "health checks failing on {a} of {b}0 pods (error)",
]
APPROVE: dict[str, Any] = {"decisions": [{"type": "approve"}]}


def alert(i: int) -> str:
    symptom = SYMPTOMS[i % len(SYMPTOMS)].format(a=1 + i % 9, b=i % 7)
    return f"{SERVICES[i % len(SERVICES)]}: {symptom} [alert {i}]"


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server `server_url` names, dropped afterwards."""
    name = f"ia_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_url(given: str | None) -> str:
    url = (
        given
        or os.environ.get("INCIDENT_AGENT_DATABASE_URL")
        or os.environ.get("INCIDENT_AGENT_TEST_DATABASE_URL")
    )
    if not url:
        raise SystemExit("no Postgres: set INCIDENT_AGENT_DATABASE_URL (or run `. .ci/services`)")
    return url


def rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class TimedTransport(httpx.AsyncBaseTransport):
    """The client's real transport, with each exchange's interval kept (body read included),
    so a resume's time in PagerDuty round trips can be taken out of its wall time."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.intervals: list[tuple[float, float]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.intervals.append((started, time.perf_counter()))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def busy_s(self, since: float) -> float:
        """Time inside at least one exchange since `since` (overlaps counted once)."""
        total, end = 0.0, since
        for a, b in sorted(i for i in self.intervals if i[1] > since):
            a = max(a, end)
            if b > a:
                total += b - a
                end = b
        return total


def bench_settings(sb: SandboxProcess, db_url: str, workdir: Path, rate: int) -> Any:
    from agent.config import Settings

    users = httpx.get(
        f"{sb.base_url}/users", headers={"Authorization": f"Token token={sb.tokens[0]}"}, timeout=30
    ).json()["users"]
    return Settings(
        _env_file=None,
        pagerduty_api_url=sb.base_url,  # type: ignore[call-arg]
        pagerduty_api_token=SecretStr(sb.tokens[0]),
        pagerduty_from=users[0]["email"],
        pagerduty_rate_per_minute=rate,
        incident_agent_checkpoint=workdir / "agent.sqlite",
        incident_agent_database_url=SecretStr(db_url),
        openai_api_key=None,
        slack_bot_token=None,
    )


@asynccontextmanager
async def worker(settings: Any) -> AsyncIterator[tuple[Any, TimedTransport]]:
    """The runner `serve` builds (Postgres saver and approvals store), its client's transport timed."""
    from agent.approvals.store import open_approval_store
    from agent.checkpoint import open_checkpointer
    from agent.history import history_cache
    from agent.pagerduty.client import MAX_CONCURRENCY, PagerDutyClient
    from agent.pagerduty.transport import asyncio_transport
    from agent.runner import Runner
    from agent.runtime import Services, catalog_cache
    from graphs.incident_response import build_graph

    limits = httpx.Limits(
        max_connections=MAX_CONCURRENCY, max_keepalive_connections=MAX_CONCURRENCY
    )
    timed = TimedTransport(asyncio_transport(verify=True, limits=limits))
    store = await asyncio.to_thread(open_approval_store, settings)
    try:
        async with (
            PagerDutyClient.from_settings(settings, transport=timed) as pd,
            open_checkpointer(settings) as saver,
        ):
            services = Services(
                settings=settings,
                pd=pd,
                catalog=catalog_cache(settings, pd),
                store=store,
                history=history_cache(settings, pd),
            )
            yield Runner(build_graph(), services, saver, surface="slack"), timed
    finally:
        await store.aclose()


async def make_sample(runner: Any, n: int, concurrency: int) -> tuple[list[str], float]:
    """`n` threads through the real path, `concurrency` at a time; (thread ids, seconds)."""
    gate = asyncio.Semaphore(concurrency)
    threads: list[str] = []

    async def one(i: int) -> None:
        async with gate:
            outcome = await runner.start({"prompt": alert(i)})
        if outcome.status != "awaiting_approval":
            raise RuntimeError(f"alert {i} ended {outcome.status}: {outcome.report[:300]}")
        threads.append(outcome.thread_id)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return threads, time.perf_counter() - started


COPY_SQL = [
    """INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type,
                                checkpoint, metadata)
       SELECT m.new_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.type,
              replace(c.checkpoint::text, m.old_id, m.new_id)::jsonb,
              replace(c.metadata::text, m.old_id, m.new_id)::jsonb
       FROM checkpoints c JOIN bench_ids m ON c.thread_id = m.old_id""",
    """INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
       SELECT m.new_id, b.checkpoint_ns, b.channel, b.version, b.type,
              decode(replace(encode(b.blob, 'hex'), m.old_hex, m.new_hex), 'hex')
       FROM checkpoint_blobs b JOIN bench_ids m ON b.thread_id = m.old_id""",
    """INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel,
                                      type, blob, task_path)
       SELECT m.new_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx, w.channel, w.type,
              decode(replace(encode(w.blob, 'hex'), m.old_hex, m.new_hex), 'hex'), w.task_path
       FROM checkpoint_writes w JOIN bench_ids m ON w.thread_id = m.old_id""",
    """INSERT INTO approvals (thread_id, graph, interrupt_id, kind, prompt, request, status,
                              created_at, updated_at, action, description)
       SELECT m.new_id, a.graph, a.interrupt_id, a.kind, a.prompt,
              replace(a.request, m.old_id, m.new_id), a.status, a.created_at + m.n * 0.001,
              a.updated_at + m.n * 0.001, a.action, replace(a.description, m.old_id, m.new_id)
       FROM approvals a JOIN bench_ids m ON a.thread_id = m.old_id""",
]


def copy_threads(db_url: str, sources: list[str], count: int) -> tuple[list[str], float]:
    """`count` more paused threads, each a copy of one of `sources` under a new id (see the
    module's docstring); done by Postgres, so the worker's memory does not see them."""
    new = [uuid.uuid4().hex[:12] for _ in range(count)]
    pairs = [(n, sources[i % len(sources)], i) for i, n in enumerate(new)]
    started = time.perf_counter()
    with psycopg.connect(db_url) as c:
        c.execute(
            "CREATE TEMP TABLE bench_ids (new_id text, old_id text, n int, new_hex text,"
            " old_hex text) ON COMMIT DROP"
        )
        with c.cursor().copy("COPY bench_ids (new_id, old_id, n) FROM STDIN") as copy:
            for row in pairs:
                copy.write_row(row)
        c.execute(
            "UPDATE bench_ids SET new_hex = encode(convert_to(new_id, 'UTF8'), 'hex'),"
            " old_hex = encode(convert_to(old_id, 'UTF8'), 'hex')"
        )
        for sql in COPY_SQL:
            c.execute(sql)
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
    return new, time.perf_counter() - started


def time_listing(env: dict[str, str], cwd: Path, runs: int, expect: int) -> float:
    """Median wall time of `incident-agent approvals --json` in fresh processes."""
    cmd = [sys.executable, "-m", "agent", "approvals", "--json"]
    times = []
    for i in range(runs + 1):  # the first, unmeasured, writes the byte-code cache
        started = time.perf_counter()
        out = subprocess.run(
            cmd, env=env, cwd=cwd, capture_output=True, timeout=300, stdin=subprocess.DEVNULL
        )
        wall = time.perf_counter() - started
        if out.returncode != 0:
            raise RuntimeError(f"approvals failed: {out.stderr.decode()[-2000:]}")
        listed = len(json.loads(out.stdout))
        if listed != expect:
            raise RuntimeError(f"approvals listed {listed} threads, {expect} are paused")
        if i:
            times.append(wall)
    return statistics.median(times)


async def time_pending(runner: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await runner.services.store.pending()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def resumes(
    runner: Any, timed: TimedTransport, threads: list[str], sb: SandboxProcess
) -> dict[str, Any]:
    """Approve each thread in turn; wall time, its round trips, requests, RSS after each."""
    from agent.approvals import Approver

    approver = Approver(name="bench", source="api")
    walls, trips, beyond, rss, requests, cpu = [], [], [], [], [], []
    for thread in threads:
        before = sb.requests()
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = await runner.resume(thread, APPROVE, approver)
        wall = time.perf_counter() - started
        cpu.append(time.process_time() - cpu_started)
        requests.append(sb.requests() - before)
        if outcome.status != "done":
            raise RuntimeError(f"resume of {thread} ended {outcome.status}: {outcome.report[:300]}")
        result = outcome.values.get("result") or {}
        trip = timed.busy_s(started)
        walls.append(wall)
        trips.append(trip)
        beyond.append(wall - trip)
        rss.append(rss_mib())
        if result.get("action") == "create_incident":
            incident = result.get("incident_id") or result.get("id")
            if incident:
                await check_key(runner, incident, thread)
    return {
        "walls": walls,
        "trips": trips,
        "beyond": beyond,
        "rss": rss,
        "requests": requests,
        "cpu": cpu,
    }


_checked: list[str] = []


async def check_key(runner: Any, incident_id: str, thread: str) -> None:
    """A copy's incident carries the copy's own key (only the first few are read back)."""
    if len(_checked) >= 5:
        return
    body = await runner.services.pd.request("GET", f"/incidents/{incident_id}")
    key = body["incident"].get("incident_key")
    if key != f"incident-agent/{thread}":
        raise RuntimeError(f"thread {thread}'s incident has key {key!r}")
    _checked.append(thread)


async def run(
    args: argparse.Namespace, sb: SandboxProcess, db_url: str, workdir: Path
) -> dict[str, Any]:
    settings = bench_settings(sb, db_url, workdir, args.rate)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("INCIDENT_AGENT_", "PAGERDUTY_"))
    }
    env.update(
        INCIDENT_AGENT_DATABASE_URL=db_url,
        INCIDENT_AGENT_CHECKPOINT=str(settings.incident_agent_checkpoint),
    )
    first_list = min(1000, args.threads // 10) if args.threads < 10_000 else 1000
    out: dict[str, Any] = {"threads": args.threads, "sample": args.sample}
    async with worker(settings) as (runner, timed):
        await runner.start({"prompt": alert(0)})  # warm: catalog, history, imports
        out["rss_start_mib"] = rss_mib()
        sample, took = await make_sample(runner, args.sample, args.concurrency)
        out["sample_s_per_thread"] = took / args.sample
        out["rss_after_sample_mib"] = rss_mib()
        sample.append((await runner.pending())[0].thread_id)  # the warm-up's thread too
        made = list(sample)
        listings = {}
        for size in sorted({first_list, args.threads}):
            if size > len(made):
                copies, copy_s = copy_threads(db_url, sample, size - len(made))
                made += copies
                out.setdefault("copy_s", 0.0)
                out["copy_s"] += copy_s
            listings[size] = {
                "cli_s": time_listing(env, workdir, args.runs, len(made)),
                "pending_s": await time_pending(runner, args.runs),
            }
        out["listing"] = listings
        out["rss_after_listing_mib"] = rss_mib()  # the store's query held every row at once
        picked = random.Random(7).sample(made, min(args.resumes, len(made)))
        out["resumed_real"] = len(set(picked) & set(sample))
        out["resume"] = await resumes(runner, timed, picked, sb)
        out["pending_after"] = len(await runner.pending())
        out["keys_checked"] = len(_checked)  # resumed threads whose incident key was read back
    out["load"] = os.getloadavg()[0]
    return out


def report(r: dict[str, Any]) -> str:
    res = r["resume"]
    warm = max(1, len(res["rss"]) // 5)
    rss_first, rss_last = res["rss"][warm - 1], res["rss"][-1]
    lines = [
        f"paused threads in Postgres: {r['threads']:,} ({r['sample']} through the real path at "
        f"{r['sample_s_per_thread'] * 1000:.0f} ms a thread, the rest copied in "
        f"{r.get('copy_s', 0):.1f} s)"
    ]
    for size, fig in r["listing"].items():
        lines.append(
            f"  approvals --json, {int(size):>6,} paused: {fig['cli_s'] * 1000:6.0f} ms "
            f"(the store's query {fig['pending_s'] * 1000:.0f} ms)"
        )
    n = len(res["walls"])
    lines += [
        f"  {n} resumes (approve -> incident created), one at a time, {r['resumed_real']} of them "
        "real-path threads:",
        f"    wall p50 {percentile(res['walls'], 50) * 1000:.1f} ms, p99 "
        f"{percentile(res['walls'], 99) * 1000:.1f} ms; PagerDuty requests a resume "
        f"{statistics.median(res['requests']):.0f}, their round trips p50 "
        f"{percentile(res['trips'], 50) * 1000:.1f} ms",
        f"    beyond the round trips: p50 {percentile(res['beyond'], 50) * 1000:.1f} ms, p99 "
        f"{percentile(res['beyond'], 99) * 1000:.1f} ms (target p99 < 50 ms); this process's CPU "
        f"a resume p50 {percentile(res['cpu'], 50) * 1000:.1f} ms (steadier than wall on a busy machine)",
        f"  worker RSS: {r['rss_start_mib']:.0f} MiB warm, {r['rss_after_sample_mib']:.0f} MiB "
        f"after the sample, {r['rss_after_listing_mib']:.0f} MiB after listing in-process; "
        f"{rss_first:.0f} -> {rss_last:.0f} MiB over the resumes after {warm} warm-up "
        f"({(rss_last / rss_first - 1) * 100:+.1f} %, flat if within 5 %), peak {max(res['rss']):.0f} MiB",
        f"  load average {r['load']:.1f} on {os.cpu_count()} CPUs",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument(
        "--sample", type=int, default=200, help="threads made through the real path"
    )
    parser.add_argument("--resumes", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8, help="real-path runs at once")
    parser.add_argument("--runs", type=int, default=3, help="timed listings per size")
    parser.add_argument("--rate", type=int, default=10**7, help="requests/min, sandbox and client")
    parser.add_argument("--database-url", help="a Postgres server (default: the environment's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="bench-paused-") as tmp,
        scratch_database(server_url(args.database_url)) as db_url,
        sandbox_process(
            latency_ms=0, entries=0, tls=False, tokens=1, rate_per_minute=args.rate
        ) as sb,
    ):
        r = asyncio.run(run(args, sb, db_url, Path(tmp)))
    print(json.dumps(r) if args.json else report(r))


if __name__ == "__main__":
    main()
