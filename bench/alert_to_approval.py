"""Prompt -> approval request, with a warm catalog and 20 ms of injected API latency.

    python -m bench.alert_to_approval [--latency-ms 20] [--runs 20]

Prints the PagerDuty requests one alert costs and the time from prompt to the
paused approval, against the bound set by the round trips: the on-call and
open-incident reads are concurrent, so the critical path is one round trip.
Target (issue 5): at most 3 requests, at most 50 ms beyond the round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from agent.checkpoint import open_checkpointer
from agent.config import Settings
from agent.pagerduty.embedded import demo_account_path
from agent.pagerduty.sandbox import Clock, Faults, running_sandbox
from agent.runner import Runner
from agent.runtime import open_services
from graphs.incident_response import build_graph

ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"


async def measure(base_url: str, workdir: Path, runs: int) -> tuple[list[float], dict[str, int]]:
    settings = Settings(
        _env_file=None,
        pagerduty_api_url=base_url,
        pagerduty_api_token=SecretStr("sandbox-token"),
        pagerduty_from="susan.clark@contoso.example",
        incident_agent_checkpoint=workdir / "bench.sqlite",
    )
    async with open_services(settings) as services, open_checkpointer(
        settings.incident_agent_checkpoint
    ) as saver:
        runner = Runner(build_graph(), services, saver)
        await services.catalog.get()  # warm
        await runner.start({"prompt": ALERT})  # warm imports and SQLite pages
        walls, counts = [], {}
        for _ in range(runs):
            services.pd.counter.reset()
            started = time.perf_counter()
            outcome = await runner.start({"prompt": ALERT})
            walls.append(time.perf_counter() - started)
            assert outcome.status == "awaiting_approval", outcome.report
            counts = services.pd.counter.snapshot()
        return walls, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    clock = Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(
        demo_account_path(), clock=clock, faults=Faults(latency_s=latency)
    ) as sb:
        walls, counts = asyncio.run(measure(sb.base_url, Path(tmp), args.runs))
    rounds = 1  # /oncalls and /incidents in parallel
    median = statistics.median(walls)
    overhead = median - rounds * latency
    print(f"alert -> approval request ({args.runs} runs, warm catalog, {args.latency_ms:.0f} ms latency)")
    print(f"  PagerDuty requests per alert: {counts['total']}  {counts}")
    print(f"  wall time: median {median * 1000:.1f} ms, p90 "
          f"{sorted(walls)[int(0.9 * len(walls)) - 1] * 1000:.1f} ms")
    print(f"  round-trip bound: {rounds} x {args.latency_ms:.0f} ms = {rounds * latency * 1000:.0f} ms")
    print(f"  overhead beyond round trips: {overhead * 1000:.1f} ms (target <= 50 ms)")
    ok = counts["total"] <= 3 and overhead <= 0.050
    print("  PASS" if ok else "  FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
