"""A burst of 2,000 reads against PagerDuty's 960-a-minute budget: no 429 reaches the caller.

    python -m bench.burst [--reads 2000] [--rate 960]

The sandbox enforces `--rate` requests per 60 s per key, as PagerDuty does;
the client is given the same budget. At the real 960/min, 2,000 reads take
a little over two minutes, which is the point: the limiter spends the window
at once and then paces the rest, so the server never answers 429. `--rate`
scales both sides together (e.g. 9600 runs ten times faster) and the output
says which budget was used.

A control run on a fresh sandbox sends the same burst with the limiter
effectively off and no retries, to show what the budget does to a naive
client.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from pydantic import SecretStr

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.embedded import SANDBOX_TOKEN
from agent.pagerduty.errors import RateLimited
from agent.pagerduty.sandbox import Clock, Faults, running_sandbox

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PATHS = ("/services", "/users", "/escalation_policies", "/schedules", "/teams", "/priorities")


async def _burst(base_url: str, reads: int, rate: float, max_retries: int) -> dict:
    async with PagerDutyClient(
        base_url, SecretStr(SANDBOX_TOKEN), rate_per_minute=rate, max_retries=max_retries
    ) as pd:
        failures = 0

        async def read(i: int) -> None:
            nonlocal failures
            try:
                await pd.request("GET", PATHS[i % len(PATHS)], params={"limit": 1})
            except RateLimited:
                failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(read(i) for i in range(reads)))
        wall = time.perf_counter() - started
        return {
            "reads": reads,
            "requests": pd.counter.total,
            "seen_429": pd.counter.rate_limited,
            "failed_429": failures,
            "wall_s": wall,
            "waited_s": getattr(pd.limiter, "waited_s", 0.0),
        }


def measure(reads: int = 2000, rate: int = 960, control: bool = True) -> dict:
    faults = Faults(latency_s=0, jitter_s=0, error_rate=0, seed=0)
    with running_sandbox(account=None, clock=Clock(NOW), faults=faults, rate_per_minute=rate) as sb:
        paced = asyncio.run(_burst(sb.base_url, reads, rate, max_retries=5))
    out = {"rate": rate, "paced": paced}
    if control:
        with running_sandbox(
            account=None, clock=Clock(NOW), faults=faults, rate_per_minute=rate
        ) as sb:
            out["naive"] = asyncio.run(_burst(sb.base_url, reads, 10**9, max_retries=0))
    return out


def report(r: dict) -> str:
    p = r["paced"]
    lines = [
        f"burst: {p['reads']} concurrent reads, budget {r['rate']}/min on both sandbox and client",
        f"  requests {p['requests']}, 429 answered by the server {p['seen_429']}, "
        f"429 surfaced to the caller {p['failed_429']}",
        f"  wall {p['wall_s']:.1f} s (window limiter: {r['rate']} at once, then one as each "
        f"leaves its 60 s window, so no 60 s span exceeds {r['rate']})",
    ]
    if "naive" in r:
        n = r["naive"]
        lines.append(
            f"  control (no limiter, no retries): {n['failed_429']} of {n['reads']} reads failed with 429 "
            f"in {n['wall_s']:.1f} s"
        )
    if r["rate"] != 960:
        lines.append(f"  note: budget scaled to {r['rate']}/min (PagerDuty's is 960/min)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument(
        "--rate", type=int, default=960, help="requests/min for sandbox and client alike"
    )
    parser.add_argument("--no-control", action="store_true")
    args = parser.parse_args(argv)
    print(report(measure(args.reads, args.rate, control=not args.no_control)))


if __name__ == "__main__":
    main()
