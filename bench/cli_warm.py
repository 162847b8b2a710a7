"""`incident-agent run "..." --no-wait` from a fresh process: what an alert from the CLI costs.

    python -m bench.cli_warm [--runs 5]

Each run is a new process on the embedded sandbox (no PAGERDUTY_API_URL),
as a user's shell runs it, sharing one state directory. The first process
finds no catalog on disk and fetches it (6 lists); the next ones read it from
beside the checkpoint, so an alert costs the two reads it needs (/oncalls and
/incidents). Requests are counted in the child from the client's own log of
each answered request (the embedded sandbox lives and dies with the process).
Target (issue 16): 2 PagerDuty requests with a warm on-disk catalog.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"
MARK = "bench-requests:"


class _Count(logging.Handler):
    """Counts the client's "METHOD path -> status" records: one per answered request."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.answered = 0

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and "->" in record.msg:
            self.answered += 1


def _child(args: list[str]) -> None:
    count = _Count()
    client_log = logging.getLogger("agent.pagerduty.client")
    client_log.setLevel(logging.DEBUG)
    client_log.addHandler(count)
    client_log.propagate = False
    from agent.surfaces.cli import main as cli

    sys.argv = ["incident-agent", *args]
    try:
        cli()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    print(f"{MARK} {count.answered}", file=sys.stderr)
    sys.exit(code)


def _run_once(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli_warm", "--child", "run", ALERT, "--no-wait", "--json"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    marks = [line for line in proc.stderr.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not marks:
        raise RuntimeError(f"run failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    status = json.loads(proc.stdout)["status"]
    return {"wall_s": wall, "requests": int(marks[-1].split()[1]), "status": status}


def measure(runs: int = 5) -> dict[str, Any]:
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_"))}
        env.update(INCIDENT_AGENT_CHECKPOINT=str(Path(tmp) / "state" / "agent.sqlite"),
                   PYTHONPATH=str(repo))
        cold = _run_once(env, Path(tmp))
        warm = [_run_once(env, Path(tmp)) for _ in range(runs)]
    return {"cold": cold, "warm": warm, "runs": runs}


def report(r: dict[str, Any]) -> str:
    warm_requests = sorted({w["requests"] for w in r["warm"]})
    ok = warm_requests == [2]
    return "\n".join([
        f"run --no-wait from a fresh process, embedded sandbox ({r['runs']} warm runs)",
        f"  first process (no catalog on disk): {r['cold']['requests']} requests, "
        f"{r['cold']['wall_s']:.2f} s, {r['cold']['status']}",
        f"  next processes (catalog on disk):   {'/'.join(map(str, warm_requests))} requests, "
        f"median {statistics.median(w['wall_s'] for w in r['warm']):.2f} s",
        f"  target 2 requests: {'PASS' if ok else 'FAIL'}",
    ])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(report(measure(args.runs)))


if __name__ == "__main__":
    main()
