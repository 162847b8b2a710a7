"""A post-mortem of a 2,400-entry incident at 20 ms latency: the work beyond the request chain.

    python -m bench.postmortem [--entries 2400] [--latency-ms 20] [--runs 5]

The graph runs as the CLI runs it (SQLite checkpointer, one thread per
post-mortem, template narrative) against the sandbox in its own process over
TLS. The request chain is what no client can avoid: the incident, the first
page of log entries (which brings the total), then every other page at once:
3 round trips. "Work" is the CPU this process spends on the post-mortem
(client, parsing, timeline, metrics, rendering, checkpoints); the wall time
also includes the sandbox serving 24 pages one after another. Printed apart:
the work after the last page arrived, which is the post-mortem's own (the
fetch is the client's, measured against the official one in bench.vs_official).
Target (issue 16): work beyond the request chain <= 2 x the chain.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.sandbox_process import SandboxProcess, sandbox_process


async def _measure(sb: SandboxProcess, runs: int, workdir: Path) -> dict[str, Any]:
    from agent.approvals.store import open_approval_store
    from agent.checkpoint import open_checkpointer
    from agent.config import Settings
    from agent.pagerduty.client import PagerDutyClient
    from agent.runtime import Context, Services, catalog_cache
    from graphs.postmortem import build_graph

    settings = Settings(_env_file=None, incident_agent_checkpoint=workdir / "bench.sqlite")  # type: ignore[call-arg]
    walls, cpus, sizes, counts = [], [], [], []
    after: list[tuple[float, float]] = []
    token = sb.fresh_token()
    async with PagerDutyClient(sb.base_url, SecretStr(token), verify=sb.cert_path or True) as pd, \
            open_checkpointer(settings.incident_agent_checkpoint) as saver:
        graph: Any = build_graph().compile(checkpointer=saver)
        store = open_approval_store(settings)
        services = Services(settings=settings, pd=pd, catalog=catalog_cache(settings, pd),
                            store=store)
        context = Context(services=services, surface="cli", chat_model=lambda _s: None)
        for n in range(runs + 1):  # the first run warms imports, pools and SQLite
            config = {"configurable": {"thread_id": f"bench-{uuid.uuid4().hex}"}}
            before = pd.counter.total
            cpu, started = time.process_time(), time.perf_counter()
            fetched_cpu = fetched_wall = 0.0
            async for update in graph.astream({"incident": sb.incident_id}, config,
                                              context=context, stream_mode="updates",
                                              durability="exit"):  # as the CLI runs it
                if "fetch_log_entries" in update:  # the request chain ends here
                    fetched_cpu = time.process_time() - cpu
                    fetched_wall = time.perf_counter() - started
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            state = (await graph.aget_state(config)).values
            assert state["report"]["metrics"]["log_entries"] == sb.entries, state.get("error")
            if n == 0:
                continue
            walls.append(wall)
            cpus.append(cpu)
            after.append((cpu - fetched_cpu, wall - fetched_wall))
            counts.append(pd.counter.total - before)
            sizes.append(await _checkpoint_bytes(saver, config))
    return {"walls": walls, "cpus": cpus, "requests": counts, "checkpoint_bytes": sizes,
            "after": after}


async def _checkpoint_bytes(saver: Any, config: dict[str, Any]) -> int:
    """Bytes the thread's checkpoints and writes take in the SQLite file."""
    thread = config["configurable"]["thread_id"]
    total = 0
    for table, column in (("checkpoints", "checkpoint"), ("writes", "value")):
        async with saver.conn.execute(
            f"SELECT COALESCE(SUM(LENGTH({column})), 0) FROM {table} WHERE thread_id = ?", (thread,)
        ) as cursor:
            row = await cursor.fetchone()
            total += int(row[0] or 0)
    return total


def measure(entries: int = 2400, latency_ms: float = 20.0, runs: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, sandbox_process(
        latency_ms=latency_ms, entries=entries
    ) as sb:
        r = asyncio.run(_measure(sb, runs, Path(tmp)))
    chain = 3 * latency_ms / 1000
    return {
        "entries": entries,
        "latency_ms": latency_ms,
        "runs": runs,
        "requests": statistics.median(r["requests"]),
        "wall_ms": statistics.median(r["walls"]) * 1000,
        "work_ms": statistics.median(r["cpus"]) * 1000,
        "chain_ms": chain * 1000,
        "checkpoint_kib": statistics.median(r["checkpoint_bytes"]) / 1024,
        "after_fetch_cpu_ms": statistics.median(a[0] for a in r["after"]) * 1000,
        "after_fetch_wall_ms": statistics.median(a[1] for a in r["after"]) * 1000,
    }


def report(r: dict[str, Any]) -> str:
    ratio = r["work_ms"] / r["chain_ms"]
    after = r["after_fetch_wall_ms"] / r["chain_ms"]
    return "\n".join([
        f"post-mortem: {r['entries']} log entries, {r['latency_ms']:.0f} ms latency, "
        f"median of {r['runs']} warm runs",
        f"  requests {r['requests']:.0f}; request chain 3 x {r['latency_ms']:.0f} ms = "
        f"{r['chain_ms']:.0f} ms",
        f"  after the last page (timeline, metrics, narrative, Markdown, checkpoints): "
        f"{r['after_fetch_wall_ms']:.0f} ms wall, {r['after_fetch_cpu_ms']:.0f} ms CPU = "
        f"{after:.1f} x the chain (target <= 2: {'PASS' if after <= 2 else 'FAIL'})",
        f"  all the work, the fetch included (CPU of this process): {r['work_ms']:.0f} ms = "
        f"{ratio:.1f} x the chain",
        f"  wall {r['wall_ms']:.0f} ms (includes the sandbox serving the pages one by one)",
        f"  checkpoints of the thread: {r['checkpoint_kib']:.0f} KiB",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2400)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(report(measure(args.entries, args.latency_ms, args.runs)))


if __name__ == "__main__":
    main()
