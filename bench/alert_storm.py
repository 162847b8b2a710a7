"""An alert storm on three `serve` workers: one approval per problem, one PagerDuty budget.

    python -m bench.alert_storm [--alerts 1000] [--seconds 50] [--problems 20] [--workers 3]

Three `incident-agent serve` processes, each with a state directory of its
own (as on three hosts), share one Postgres database and one Redis
(INCIDENT_AGENT_DATABASE_URL / INCIDENT_AGENT_REDIS_URL, or the _TEST_ ones
`.ci/services` exports; the benchmark makes a database of its own and drops
it; `incident-agent db upgrade` makes the schema first, as compose.yaml's
`migrate` does, then the workers start together). `--alerts` Events API v2
triggers about `--problems` distinct problems (each its own dedup_key and
summary, spread over the demo account's 14 services; the numbers in a
summary change from alert to alert) are sent within `--seconds`,
round-robin over the workers. Every problem's first
alert is among the first ones, so its later alerts reach the other workers
while its run is still in flight: the case a per-process lock cannot decide.

The PagerDuty sandbox runs in a process of its own with PagerDuty's budget
(960 requests a minute per key, 429 beyond) and records when each API
request arrived and what it answered: the benchmark reports the most
requests in any 60 s, the 429s, the approvals pending in the shared
database, and the runs that failed (intake rows closed "run failed", and
the workers' logs).

`--rate` scales the budget on both sides (as in bench.burst): 20 problems cost
about 80 requests, far under 960, so `--rate 60` is the run where the shared
budget has work to do. `--no-redis` is the control: each worker its own budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from agent.pagerduty.demo import demo_account
from bench.paused_threads import rss_mib, scratch_database, server_url

_DEMO = demo_account()["services"]  # the bundled demo, which the workers serve
SERVICES = [s["id"] for s in _DEMO]
NAMES = [s["name"] for s in _DEMO]
SYMPTOMS = [
    "High latency on {name}: p99 {a}.{b}s in us-central1",
    "Disk usage {a}{b}% on the {name} database volume, writes failing",
    "Error budget burn: {a}{b}% of {name} requests answer 5xx",
]
INTAKE_TOKEN = "bench-intake-token-0123456789"
TOKEN = "bench-storm-token"


@dataclass(frozen=True)
class Problem:
    n: int
    service: str
    routing_key: str
    dedup_key: str
    template: str

    def summary(self, rng: random.Random) -> str:
        return self.template.format(a=rng.randint(1, 9), b=rng.randint(0, 9))


def problems(count: int) -> list[Problem]:
    out = []
    for n in range(count):
        s = n % len(SERVICES)
        template = SYMPTOMS[(n // len(SERVICES)) % len(SYMPTOMS)].replace("{name}", NAMES[s])
        out.append(
            Problem(
                n, SERVICES[s], f"R0UT1NG{s:02d}".ljust(32, "0"), f"storm-{n:03d}-{s}", template
            )
        )
    return out


# -- the sandbox, in a process of its own, recording each request's arrival ---------------------


def _serve_sandbox(rate: int) -> None:
    import uvicorn

    from agent.pagerduty.sandbox import Clock, Faults
    from agent.pagerduty.sandbox.app import create_app
    from agent.pagerduty.sandbox.server import _Server, free_port, load_state

    state = load_state(None, clock=Clock())  # the demo account, dated today
    inner = create_app(
        state,
        tokens={TOKEN: None},
        faults=Faults(latency_s=0, jitter_s=0, error_rate=0, seed=0),
        rate_per_minute=rate,
    )
    arrivals: list[tuple[float, int]] = []  # (monotonic seconds, status) per API request
    lock = threading.Lock()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        if scope["path"] == "/_bench/arrivals":
            with lock:
                body = json.dumps({"arrivals": arrivals}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        at = time.monotonic()

        async def noted(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                with lock:
                    arrivals.append((at, int(message["status"])))
            await send(message)

        await inner(scope, receive, noted)

    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("the sandbox did not start")
        time.sleep(0.02)
    users = state.list("users")
    print(
        json.dumps({"base_url": f"http://127.0.0.1:{port}", "from": users[0]["email"]}), flush=True
    )
    sys.stdin.read()  # until the parent closes our stdin
    server.should_exit = True
    thread.join(timeout=10)


@contextmanager
def sandbox(rate: int) -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.alert_storm", "--serve-sandbox", "--rate", str(rate)],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process exited before it was ready")
        yield json.loads(line)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=10)


def busiest_minute(times: list[float], window_s: float = 60.0) -> int:
    """The most arrivals in any `window_s` (a window starting at each arrival)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while j < len(times) and times[j] < t + window_s:
            j += 1
        best = max(best, j - i)
    return best


# -- the workers -------------------------------------------------------------------------------


@dataclass
class Worker:
    n: int
    port: int
    home: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return (self.home / "serve.log").read_text(errors="replace")


def worker_env(
    sb: dict[str, Any],
    db_url: str,
    redis_url: str | None,
    home: Path,
    keys: dict[str, str],
    rate: int,
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("INCIDENT_AGENT_", "PAGERDUTY_", "SLACK_", "OPENAI_", "INTAKE_", "XDG_")
        )
    }
    env.update(
        PAGERDUTY_API_URL=sb["base_url"],
        PAGERDUTY_API_TOKEN=TOKEN,
        PAGERDUTY_FROM=sb["from"],
        INCIDENT_AGENT_DATABASE_URL=db_url,
        INCIDENT_AGENT_CHECKPOINT=str(home / "agent.sqlite"),
        XDG_STATE_HOME=str(home / "state"),
        INTAKE_ROUTING_KEYS=json.dumps(keys),
        INTAKE_TOKENS=json.dumps([INTAKE_TOKEN]),
        PAGERDUTY_RATE_PER_MINUTE=str(rate),
    )
    if redis_url:  # else each worker keeps its own in-process budget (the control run)
        env["INCIDENT_AGENT_REDIS_URL"] = redis_url
    return env


@contextmanager
def workers(
    count: int,
    sb: dict[str, Any],
    db_url: str,
    redis_url: str | None,
    root: Path,
    keys: dict[str, str],
    rate: int,
) -> Iterator[list[Worker]]:
    from agent.pagerduty.sandbox.server import free_port

    started: list[Worker] = []

    def start(n: int) -> Worker:
        home = root / f"worker-{n}"
        home.mkdir(parents=True)
        port = free_port()
        with (home / "serve.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agent", "serve", "--port", str(port)],
                env=worker_env(sb, db_url, redis_url, home, keys, rate),
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(Worker(n, port, home, proc))
        return started[-1]

    def ready(ws: list[Worker]) -> None:
        deadline = time.monotonic() + 180
        for w in ws:
            while True:
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker {w.n} exited:\n{w.log()[-3000:]}")
                try:
                    if httpx.get(f"{w.url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker {w.n} not ready:\n{w.log()[-3000:]}")
                time.sleep(0.2)

    try:
        # As a deploy does (compose.yaml's `migrate`): the schema first, once, then every
        # worker at once. Workers starting together on an empty database can wait on each
        # other for ever (one holds the checkpointer's setup lock while LangGraph's CREATE
        # INDEX CONCURRENTLY waits for the others' pg_advisory_lock statements to end).
        env = worker_env(sb, db_url, redis_url, root, keys, rate)
        subprocess.run(
            [sys.executable, "-m", "agent", "db", "upgrade"],
            env=env,
            cwd=root,
            check=True,
            capture_output=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        ready([start(n) for n in range(1, count + 1)])
        yield started
    finally:
        for w in started:
            if w.proc.poll() is None:
                w.proc.terminate()
        for w in started:
            try:
                w.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()


# -- the storm ---------------------------------------------------------------------------------


async def storm(
    ws: list[Worker], probs: list[Problem], alerts: int, seconds: float, seed: int
) -> dict[str, Any]:
    """Send the alerts on schedule; what the workers answered."""
    rng = random.Random(seed)
    plan = [probs[j] if j < len(probs) else rng.choice(probs) for j in range(alerts)]
    answers: Counter[str] = Counter()
    late = 0.0
    clients = [httpx.AsyncClient(base_url=w.url, timeout=60) for w in ws]
    started = time.monotonic()

    async def send(j: int, problem: Problem) -> None:
        nonlocal late
        due = started + j * seconds / alerts
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        late = max(late, time.monotonic() - due)
        event = {
            "routing_key": problem.routing_key,
            "event_action": "trigger",
            "dedup_key": problem.dedup_key,
            "payload": {
                "summary": problem.summary(rng),
                "source": "prometheus-eu-1",
                "severity": "critical",
                "custom_details": {"alert": j},
            },
        }
        r = await clients[j % len(clients)].post("/v2/enqueue", json=event)
        if r.status_code != 202:
            answers[f"http {r.status_code}"] += 1
            return
        answers[r.json().get("intake", {}).get("status", "?")] += 1

    try:
        await asyncio.gather(*(send(j, p) for j, p in enumerate(plan)))
    finally:
        for c in clients:
            await c.aclose()
    return {"answers": dict(answers), "sent_s": time.monotonic() - started, "late_s": late}


def pending_approvals(db_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "SELECT thread_id, prompt FROM approvals WHERE status IN ('pending', 'claimed')"
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def intake_rows(ws: list[Worker]) -> list[dict[str, Any]]:
    """Every worker's intake rows (the same rows on each when they live in the shared database)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for w in ws:
        r = httpx.get(
            f"{w.url}/intake/alerts",
            headers={"Authorization": f"Bearer {INTAKE_TOKEN}"},
            timeout=60,
        )
        r.raise_for_status()
        for row in r.json()["alerts"]:
            seen[(row["thread_id"], row["key"])] = row
    return list(seen.values())


def arrivals(sb: dict[str, Any]) -> list[tuple[float, int]]:
    return [
        (t, s)
        for t, s in httpx.get(f"{sb['base_url']}/_bench/arrivals", timeout=60).json()["arrivals"]
    ]


def settle(
    ws: list[Worker], db_url: str, sb: dict[str, Any], quiet_s: float, within_s: float
) -> None:
    """Wait until every open intake row's run is paused for a human and neither the
    approvals nor the sandbox's count moved for `quiet_s` (a paced run may wait a while
    for its budget, so quiet alone is not enough)."""
    last, since = None, time.monotonic()
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        now = (len(pending_approvals(db_url)), len(arrivals(sb)))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            open_rows = sum(1 for r in intake_rows(ws) if r["state"] == "open")
            if now[0] >= open_rows:
                return
        time.sleep(0.5)


def measure(
    alerts: int = 1000,
    seconds: float = 50.0,
    n_problems: int = 20,
    n_workers: int = 3,
    rate: int = 960,
    database_url: str | None = None,
    redis: str | None = None,
    shared_budget: bool = True,
    quiet_s: float = 8.0,
    seed: int = 14,
) -> dict[str, Any]:
    redis_url = (
        redis
        or os.environ.get("INCIDENT_AGENT_REDIS_URL")
        or os.environ.get("INCIDENT_AGENT_TEST_REDIS_URL")
    )
    if shared_budget and not redis_url:
        raise SystemExit("no Redis: set INCIDENT_AGENT_REDIS_URL (or run `. .ci/services`)")
    probs = problems(n_problems)
    keys = {p.service: p.routing_key for p in probs}
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-storm-")))
        db_url = stack.enter_context(scratch_database(server_url(database_url)))
        sb = stack.enter_context(sandbox(rate))
        shared = redis_url if shared_budget else None
        ws = stack.enter_context(workers(n_workers, sb, db_url, shared, root, keys, rate))
        rss_ready = [rss_mib(w.proc.pid) for w in ws]
        before = len(arrivals(sb))  # the workers' start-up reads (catalog, integrations)
        sent = asyncio.run(storm(ws, probs, alerts, seconds, seed))
        settle(ws, db_url, sb, quiet_s, within_s=max(600.0, 4 * seconds))
        pending = pending_approvals(db_url)
        rows = intake_rows(ws)
        got = arrivals(sb)
        logs = "\n".join(w.log() for w in ws)
        rss_end = [rss_mib(w.proc.pid) for w in ws]
    failed = [r for r in rows if (r.get("note") or "").startswith("run failed")]
    failed_429 = [r for r in failed if "RateLimited" in (r.get("note") or "")]
    log_failures = re.findall(r"intake run \S+ failed", logs)
    per_key = Counter(r["key"] for r in rows if r["thread_id"] in {t for t, _ in pending})
    return {
        "alerts": alerts,
        "seconds": seconds,
        "problems": n_problems,
        "workers": n_workers,
        "rate": rate,
        "shared_budget": shared_budget,
        **sent,
        "pending": len(pending),
        "pending_per_problem_max": max(per_key.values(), default=0),
        "intake_rows": len(rows),
        "alerts_counted": sum(int(r["count"]) for r in rows),
        "requests": len(got),
        "requests_at_start": before,
        "busiest_minute": busiest_minute([t for t, _ in got]),
        "answered_429": sum(1 for _, s in got if s == 429),
        "runs_failed": len(failed),
        "runs_failed_429": len(failed_429),
        "log_run_failures": len(log_failures),
        "rss_ready_mib": rss_ready,
        "rss_end_mib": rss_end,
        "load": os.getloadavg()[0],
    }


def report(r: dict[str, Any]) -> str:
    a = r["answers"]
    lines = [
        f"alert storm: {r['alerts']:,} Events API triggers about {r['problems']} problems in "
        f"{r['sent_s']:.1f} s over {r['workers']} serve workers (one Postgres, "
        + ("one Redis budget)" if r["shared_budget"] else "no Redis: a budget per worker)"),
        f"  answers: {', '.join(f'{k} {v}' for k, v in sorted(a.items()))}; alerts counted on "
        f"the intake rows {r['alerts_counted']:,}",
        f"  pending approvals: {r['pending']} (want {r['problems']}: one per problem; most for one "
        f"problem {r['pending_per_problem_max']})",
        f"  PagerDuty requests at the sandbox: {r['requests']:,} ({r['requests_at_start']} at "
        f"start-up), at most {r['busiest_minute']:,} in any 60 s (budget {r['rate']}/min), "
        f"429 answered {r['answered_429']}",
        f"  runs failed: {r['runs_failed']} ({r['runs_failed_429']} by 429; worker logs: "
        f"{r['log_run_failures']} failed runs)",
        f"  worker RSS: ready {', '.join(f'{m:.0f}' for m in r['rss_ready_mib'])} MiB -> after "
        f"{', '.join(f'{m:.0f}' for m in r['rss_end_mib'])} MiB",
        f"  load average {r['load']:.1f} on {os.cpu_count()} CPUs",
    ]
    if r["rate"] != 960:
        lines.insert(
            4,
            f"  note: budget scaled to {r['rate']}/min on sandbox and workers "
            "(PagerDuty's is 960/min), so that the storm's requests exceed it",
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=50.0, help="send them within this")
    parser.add_argument("--problems", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rate", type=int, default=960, help="the sandbox's budget (requests/min)")
    parser.add_argument("--database-url", help="a Postgres server (default: the environment's)")
    parser.add_argument("--redis-url", help="default: the environment's")
    parser.add_argument(
        "--no-redis", action="store_true", help="control: each worker its own budget, no Redis"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_sandbox:
        _serve_sandbox(args.rate)
        return
    # SIGTERM unwinds like Ctrl-C: the workers are stopped and the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    r = measure(
        args.alerts,
        args.seconds,
        args.problems,
        args.workers,
        args.rate,
        args.database_url,
        args.redis_url,
        shared_budget=not args.no_redis,
    )
    print(json.dumps(r) if args.json else report(r))


if __name__ == "__main__":
    main()
