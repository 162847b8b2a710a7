"""Fetch every log entry of a 2,400-entry incident through the sandbox with 20 ms latency.

    python -m bench.log_entries [--entries 2400] [--latency-ms 20] [--runs 5]

Bounds the result is compared with:
- sequential: one page after another, pages x latency;
- concurrent: the first page (which brings the total), then every other
  page in one concurrent round: 2 x latency, plus the transfer time, measured
  as the same fetch with no injected latency (the CPU both ends spend on the
  JSON, which concurrency cannot hide in one process).
Target: wall time at most 1.5 x the concurrent bound.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from datetime import UTC, datetime

from pydantic import SecretStr

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.embedded import SANDBOX_TOKEN
from agent.pagerduty.sandbox import Clock, Faults, running_sandbox

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _seed(sb, entries: int) -> str:
    """An incident with exactly `entries` log entries; returns its id."""
    service_id = sb.state.list("services")[0]["id"]
    incident = sb.state.add_incident(service_id, "bench: noisy incident", created_at=NOW, log=False)
    existing = len(sb.state.log_entries(incident["id"]))
    sb.state.add_log_entries(incident["id"], entries - existing, start=NOW, step_s=1)
    return incident["id"]


async def _fetch(base_url: str, incident_id: str, rate: int) -> tuple[float, int, int]:
    async with PagerDutyClient(base_url, SecretStr(SANDBOX_TOKEN), rate_per_minute=rate) as pd:
        started = time.perf_counter()
        entries = await pd.incident_log_entries(incident_id)
        wall = time.perf_counter() - started
        return wall, len(entries), pd.counter.total


def measure(entries: int = 2400, latency_ms: float = 20.0, runs: int = 5) -> dict:
    latency = latency_ms / 1000
    # A generous budget on both sides: this measures paging, not the rate limit.
    rate = 60_000
    faults = Faults(latency_s=latency, jitter_s=0, error_rate=0, seed=0)
    with running_sandbox(account=None, clock=Clock(NOW), faults=faults, rate_per_minute=rate) as sb:
        incident_id = _seed(sb, entries)
        walls, count, requests = [], 0, 0
        for _ in range(runs):
            wall, count, requests = asyncio.run(_fetch(sb.base_url, incident_id, rate))
            walls.append(wall)
        # What the sandbox does for every page before slicing it (it copies every entry).
        server_started = time.perf_counter()
        sb.state.log_entries(incident_id)
        server_per_page = time.perf_counter() - server_started
        sb.faults.latency_s = 0
        transfer = statistics.median(
            asyncio.run(_fetch(sb.base_url, incident_id, rate))[0] for _ in range(runs)
        )
    pages = math.ceil(count / 100)
    wall = statistics.median(walls)
    concurrent_bound = 2 * latency + transfer
    return {
        "entries": count,
        "pages": pages,
        "requests": requests,
        "latency_ms": latency_ms,
        "wall_ms": wall * 1000,
        "wall_min_ms": min(walls) * 1000,
        "transfer_ms": transfer * 1000,
        "sequential_bound_ms": pages * latency * 1000,
        "concurrent_bound_ms": concurrent_bound * 1000,
        "ratio": wall / concurrent_bound,
        "ratio_latency_only": wall / (2 * latency),
        "speedup_vs_sequential": pages * latency / wall,
        "runs": runs,
        "server_per_page_ms": server_per_page * 1000,
    }


def report(r: dict) -> str:
    verdict = "PASS" if r["ratio"] <= 1.5 else "FAIL"
    return "\n".join(
        [
            f"log entries: {r['entries']} entries of one incident, sandbox latency {r['latency_ms']:.0f} ms",
            f"  pages {r['pages']}, requests {r['requests']}, wall {r['wall_ms']:.0f} ms "
            f"(median of {r['runs']}; best {r['wall_min_ms']:.0f} ms)",
            f"  sequential bound  pages x latency          {r['sequential_bound_ms']:7.0f} ms",
            f"  transfer (same fetch, no injected latency)  {r['transfer_ms']:7.0f} ms",
            f"  concurrent bound  2 x latency + transfer    {r['concurrent_bound_ms']:7.0f} ms",
            f"  (sandbox work per page, before slicing:     {r['server_per_page_ms']:7.0f} ms,"
            f" x {r['pages']} pages, serialised in one process)",
            f"  wall / concurrent bound = {r['ratio']:.2f} (target <= 1.5: {verdict}); "
            f"wall / (2 x latency) = {r['ratio_latency_only']:.2f}; "
            f"{r['speedup_vs_sequential']:.1f}x faster than the sequential bound",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2400)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(report(measure(args.entries, args.latency_ms, args.runs)))


if __name__ == "__main__":
    main()
