"""Every log entry of a 2,400-entry incident: our client against PagerDuty's own.

    python -m bench.log_entries [--entries 2400] [--latency-ms 20] [--runs 5]

The same fetch through both clients, alternating, against the sandbox in its
own process over TLS (`bench.vs_official` has every other case). The bounds
printed beside them are latency alone: pages x latency for a client that
reads one page after another (the official one), 2 x latency for one that
reads the first page and then all others at once (ours). An earlier version
compared with a "concurrent bound" that contained this same fetch, so its
ratio was near 1 by construction; the official client is the real yardstick.
Target (issue 16): ours <= 0.3 x the official client at 20 ms, <= 0.15 x at 100 ms.
"""

from __future__ import annotations

import argparse
import math
import statistics
from typing import Any

from bench.sandbox_process import sandbox_process
from bench.vs_official import Row, ab, load_note, ours_once, theirs_once


def measure(entries: int = 2400, latency_ms: float = 20.0, runs: int = 5) -> dict[str, Any]:
    with sandbox_process(latency_ms=latency_ms, entries=entries) as sb:
        row = ab(runs, lambda: ours_once(sb, "log_entries"), lambda: theirs_once(sb, "log_entries"),
                 Row("log_entries"))
        count = sb.entries
    pages = math.ceil(count / 100)
    return {
        "entries": count,
        "pages": pages,
        "latency_ms": latency_ms,
        "runs": runs,
        "ours_ms": row.median("ours") * 1000,
        "theirs_ms": row.median("theirs") * 1000,
        "ours_requests": int(statistics.median(s.requests for s in row.ours)),
        "theirs_requests": int(statistics.median(s.requests for s in row.theirs)),
        "ours_cpu_ms": row.median("ours", "cpu_s") * 1000,
        "theirs_cpu_ms": row.median("theirs", "cpu_s") * 1000,
        "ratio": row.ratio,
        "sequential_latency_ms": pages * latency_ms,
        "concurrent_latency_ms": 2 * latency_ms,
        "load": load_note(),
    }


def report(r: dict[str, Any]) -> str:
    target = 0.3 if r["latency_ms"] <= 20 else 0.15
    verdict = "PASS" if r["ratio"] <= target else "FAIL"
    return "\n".join([
        f"log entries: {r['entries']} of one incident, {r['latency_ms']:.0f} ms latency, TLS, "
        f"median of {r['runs']} A/B runs ({r['load']})",
        f"  ours     {r['ours_ms']:7.0f} ms, {r['ours_requests']} requests, "
        f"client CPU {r['ours_cpu_ms']:.0f} ms",
        f"  official {r['theirs_ms']:7.0f} ms, {r['theirs_requests']} requests, "
        f"client CPU {r['theirs_cpu_ms']:.0f} ms",
        f"  ours / official = {r['ratio']:.2f} (target <= {target}: {verdict})",
        f"  latency alone: {r['pages']} pages one by one {r['sequential_latency_ms']:.0f} ms; "
        f"first page, then the rest at once {r['concurrent_latency_ms']:.0f} ms",
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
