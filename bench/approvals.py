"""`incident-agent approvals --json` with 200 and 2,000 paused threads.

    python -m bench.approvals [--runs 5]

The listing reads the approvals table (an index of pending threads kept next
to the checkpoints), never a scan of checkpoints, and prints with `json.dumps`,
so its time should not grow with the store. Each paused thread carries a
realistic approval request (about 6 KB, as a create with its reasons and API
call). Figures: median wall time of fresh processes, as a user runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _request(i: int) -> dict:
    body = {"incident": {"type": "incident", "title": f"Checkout 5xx burst #{i}",
                         "service": {"id": "PSVC001", "type": "service_reference"},
                         "urgency": "high", "incident_key": f"incident-agent/{i:012x}",
                         "body": {"type": "incident_body", "details": "x" * 3000}}}
    return {"action_requests": [{"name": "create_incident", "args": {"title": f"#{i}", "api_call": body},
                                 "description": "Open a high-urgency incident … " + "y" * 2000}],
            "review_configs": [{"action_name": "create_incident",
                                "allowed_decisions": ["approve", "edit", "reject"]}]}


async def _fill(path: Path, n: int) -> None:
    from agent.approvals.store import ApprovalStore

    store = ApprovalStore(path)
    try:
        for i in range(n):
            await store.record_pause(f"{i:012x}", graph="incident_response", interrupt_id=f"i{i}",
                                     kind="awaiting_approval", prompt=f"alert {i}", request=_request(i))
    finally:
        await store.aclose()


def _time_listing(path: Path, runs: int) -> float:
    env = {**os.environ, "INCIDENT_AGENT_CHECKPOINT": str(path)}
    cmd = [sys.executable, "-m", "agent", "approvals", "--json"]
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm the byte-code cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
        assert out.stdout.count(b'"thread_id"') > 0
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (200, 2000):
            path = Path(tmp) / f"store-{n}.sqlite"
            asyncio.run(_fill(path, n))
            figures[n] = _time_listing(path, args.runs)
            size = path.stat().st_size / 2**20
            print(f"approvals --json, {n:>5} paused threads: {figures[n] * 1000:7.0f} ms "
                  f"(store {size:.1f} MiB)")
    ratio = figures[2000] / figures[200]
    print(f"2,000 vs 200: {ratio:.2f}x (bar: within 1.20x)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
