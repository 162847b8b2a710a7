"""Several `incident-agent serve` processes on one Postgres database and one Redis, as
on several hosts: the PagerDuty sandbox behind a fault proxy (so a test can hold a write
where it wants), a fake Slack that signs its clicks, and a terminal for the CLI.

Each worker is a real subprocess with its own port and its own state directory (no
file shared between workers: everything shared is in Postgres and Redis).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.pagerduty.sandbox import Clock, RunningSandbox, running_sandbox
from agent.pagerduty.sandbox.server import free_port
from agent.surfaces.webhooks import sign
from tests.conftest import SANDBOX_NOW
from tests.fakes.fault_proxy import FaultProxy, Rule
from tests.fakes.slack import FakeSlack, running_fake_slack
from tests.services import fresh_database, redis_url

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = REPO / "tests" / "slack" / "account.json"  # David Miller on call for the Public API
BOT_TOKEN = "xoxb-WORKERS-PLANTED-7777"
SIGNING_SECRET = "signing-WORKERS-PLANTED-6666"
WEBHOOK_SECRET = "whsec-WORKERS-PLANTED-5555"
ROUTING_KEY = "R0UT1NGKEYF0RPUBL1CAP100000000000"
CHANNEL, ALICE = "C0INCIDENTS", "U0ALICE"
READY_S = 120.0


# -- a proxy that can also make one write slow ------------------------------------------------


class HoldingProxy(FaultProxy):
    """The fault proxy plus `hold`: a matching request waits until released, then goes
    through (a slow write that still lands, unlike `before`, which drops it)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self._holds: list[Rule] = []

    def hold(self, method: str, path: str) -> Rule:
        rule = Rule(method, path, "before")  # its point is not used: `forward` below decides
        with self._lock:
            self._holds.append(rule)
        return rule

    async def forward(self, request: Request) -> Response:
        with self._lock:
            rule = next((r for r in self._holds if r.matches(request.method, request.url.path)), None)
            if rule is not None:
                rule.times -= 1
        if rule is not None:
            await self._wait(rule)
        return await super().forward(request)

    def clear(self) -> None:
        with self._lock:
            for rule in self._holds:
                rule.release()
            self._holds.clear()
        super().clear()


@contextmanager
def running_holding_proxy(upstream: str) -> Iterator[HoldingProxy]:
    """As `running_proxy`, serving `HoldingProxy.forward`."""
    proxy = HoldingProxy(upstream)
    app = Starlette(routes=[Route("/{path:path}", proxy.forward,
                                  methods=["GET", "POST", "PUT", "DELETE"])])
    port = free_port("127.0.0.1")
    server = _QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                         lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"holding-proxy-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the proxy did not start")
        time.sleep(0.02)
    proxy.base_url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        proxy.clear()
        server.should_exit = True
        thread.join(timeout=10)


class _QuietServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a background thread must not take signals
        pass


# -- the shared database and Redis -----------------------------------------------------------


# -- the workers -----------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    port: int
    env: dict[str, str]
    home: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "serve.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent", "serve", "--port", str(self.port)],
                env=self.env, cwd=self.home, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)

    def wait_ready(self, within_s: float = READY_S) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.name} exited ({self.proc and self.proc.returncode}):\n"
                                     f"{self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready within {within_s} s:\n{self.log()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(30) == -signal.SIGKILL

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(30)


@dataclass
class Cluster:
    sandbox: RunningSandbox
    proxy: HoldingProxy
    slack: FakeSlack
    database_url: str
    token: str
    workers: list[Worker]
    env: dict[str, str]
    """The terminal's environment (the CLI as an SRE runs it, against the same database)."""
    cwd: Path

    def up(self) -> None:
        """Every worker running and ready (a test before may have killed one)."""
        for w in self.workers:
            if not w.alive:
                w.start()
        for w in self.workers:
            w.wait_ready()

    # -- what a human and PagerDuty do

    def cli(self, *args: str, timeout: float = 120) -> tuple[int, Any]:
        proc = subprocess.run([sys.executable, "-m", "agent", *args, "--json"], env=self.env,
                              cwd=self.cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON from {args} (exit {proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}") from None

    async def alert(self, worker: Worker, summary: str, within_s: float = 90) -> str:
        """Monitoring sends a trigger (Events API v2) to `worker`; returns the thread that
        the alert started, once its approval (with an Approve button) is in Slack."""
        seen = {m.ts for m in self.slack.state.messages}
        body = {
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "dedup_key": uuid.uuid4().hex,
            "payload": {"summary": summary, "source": "prometheus-eu-1", "severity": "critical"},
        }
        async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
            r = await http.post("/v2/enqueue", json=body)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + within_s
        while True:
            with self.slack.state.lock:
                for msg in self.slack.state.messages:
                    if msg.ts in seen:
                        continue
                    for block in msg.blocks:
                        for el in block.get("elements") or []:
                            if el.get("action_id") == "hitl_approve":
                                return str(el["value"]).rpartition(":")[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no approval was posted to Slack:\n{worker.log()[-3000:]}")
            await asyncio.sleep(0.1)

    async def click_approve(self, thread: str, worker: Worker) -> httpx.Response:
        """Alice clicks Approve on `thread`'s message; Slack sends the signed click to `worker`."""
        async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
            self.slack.deliver_to(http, SIGNING_SECRET)
            msg, _, el = next((m, b, e) for m in self.slack.state.messages for b in m.blocks
                              for e in b.get("elements") or []
                              if e.get("action_id") == "hitl_approve"
                              and str(e.get("value", "")).startswith(f"{thread}:"))
            return await self.slack.click("hitl_approve", el["value"], user=ALICE)

    def webhook(self, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"event": event}).encode()
        return body, {"content-type": "application/json",
                      "x-pagerduty-signature": sign(body, WEBHOOK_SECRET)}

    # -- what is in PagerDuty and in the shared database

    def incidents_of(self, thread: str) -> list[dict[str, Any]]:
        return self.sandbox.state.list_incidents(incident_key=f"incident-agent/{thread}")

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as c:
            return c.execute(query, args).fetchall()

    async def until(self, predicate: Any, within_s: float = 60, what: str = "") -> Any:
        deadline = time.monotonic() + within_s
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}")
            await asyncio.sleep(0.1)


def worker_env(base: dict[str, str], home: Path) -> dict[str, str]:
    return {**base, "HOME": str(home), "XDG_STATE_HOME": str(home / ".state"),
            "INCIDENT_AGENT_CHECKPOINT": str(home / "agent.sqlite")}


@contextmanager
def running_cluster(tmp: Path, n: int = 3, *, database: str | None = None,
                    redis: str | None = None, **settings: str) -> Iterator[Cluster]:
    """`n` serve workers, started and ready; `settings` are extra environment variables.
    On a fresh database of the suite's Postgres and its Redis, unless given others."""
    redis = redis or redis_url()
    token = f"workers-{uuid.uuid4().hex[:8]}"  # its own key in Redis: one budget for these workers
    with ExitStack() as stack:
        if database is None:
            database = stack.enter_context(fresh_database("ia_workers"))
        sandbox = stack.enter_context(running_sandbox(ACCOUNT, clock=Clock(SANDBOX_NOW),
                                                      tokens={token: None}))
        proxy = stack.enter_context(running_holding_proxy(sandbox.base_url))
        slack = stack.enter_context(running_fake_slack(BOT_TOKEN))
        slack.state.new_channel(CHANNEL, "incidents")
        slack.state.new_user(ALICE, "Alice Approver", "david.miller@contoso.example")
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_", "INTAKE_"))}
        base = {
            **keep,
            "PAGERDUTY_API_URL": proxy.base_url,
            "PAGERDUTY_API_TOKEN": token,
            "PAGERDUTY_FROM": "david.miller@contoso.example",
            "PAGERDUTY_MAX_RETRIES": "2",
            "INCIDENT_AGENT_DATABASE_URL": database,
            "INCIDENT_AGENT_REDIS_URL": redis,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_CHANNEL": CHANNEL,
            "SLACK_API_URL": slack.base_url,
            "SLACK_APPROVER_IDS": json.dumps([ALICE]),
            "PAGERDUTY_WEBHOOK_SECRETS": json.dumps([WEBHOOK_SECRET]),
            "INTAKE_ROUTING_KEYS": json.dumps({"PAPI001": ROUTING_KEY}),
            "LANGGRAPH_NO_VERSION_CHECK": "true",
            "COLUMNS": "200",
            **settings,
        }
        workers = [Worker(f"worker{i + 1}", free_port(), {}, tmp / f"worker{i + 1}") for i in range(n)]
        for w in workers:
            w.env = worker_env(base, w.home)
        cluster = Cluster(sandbox, proxy, slack, database, token, workers,
                          worker_env(base, tmp / "terminal"), tmp)
        (tmp / "terminal").mkdir(parents=True, exist_ok=True)
        try:
            cluster.up()  # together, on an empty database: one makes the schema, the others wait
            yield cluster
        finally:
            proxy.clear()
            for w in workers:
                w.stop()
            if os.environ.get("WORKERS_SHOW_LOGS"):
                for w in workers:
                    print(f"--- {w.name}\n{w.log()[-5000:]}", file=sys.stderr)

