"""Start-up time of the command a user types: `incident-agent --help` and `triage`.

    python -m bench.startup [--runs 7]

Each figure is the median wall time of fresh processes (`python -m agent ...`,
what the `incident-agent` script runs), after one unmeasured warm-up run so
the byte-code cache is written. `triage` runs on the embedded sandbox without
an LLM (rules), in a private state directory, so it counts the sandbox start
and the catalog read as a user's first command does. The child also reports
whether LangChain's agent stack (`langchain.agents`) was imported: it must
not be (issue 12).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"
COMMANDS = {"--help": ["--help"], "triage": ["triage", ALERT, "--json"]}
_PROBE = ("import runpy, sys; sys.argv = ['incident-agent', *sys.argv[1:]]\n"
          "try:\n    runpy.run_module('agent', run_name='__main__')\n"
          "finally:\n    print('langchain.agents' in sys.modules, file=sys.stderr)\n")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_", "XDG_"))}
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / "state"), COLUMNS="120")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, bool]:
    """Wall time, CPU time (user + system: steadier than wall on a busy machine), and
    whether langchain.agents was imported."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return wall, cpu, proc.stderr.strip().splitlines()[-1] == "True"


def measure(runs: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env, cwd = _env(Path(tmp)), Path(tmp)
        out: dict[str, Any] = {"runs": runs}
        for name, args in COMMANDS.items():
            _once(args, env, cwd)  # warm-up: byte-code cache, sandbox state on disk
            walls, cpus, agents = zip(*(_once(args, env, cwd) for _ in range(runs)), strict=True)
            out[name] = {"median_s": statistics.median(walls), "min_s": min(walls),
                         "max_s": max(walls), "cpu_median_s": statistics.median(cpus),
                         "langchain_agents_imported": any(agents)}
        return out


def report(m: dict[str, Any]) -> str:
    lines = [f"python -m bench.startup                  # fresh processes, median of {m['runs']}"]
    for name in COMMANDS:
        r = m[name]
        lines.append(f"  incident-agent {name:<7} median {r['median_s']:.2f} s "
                     f"(min {r['min_s']:.2f}, max {r['max_s']:.2f}), CPU {r['cpu_median_s']:.2f} s; "
                     f"langchain.agents imported: {'yes' if r['langchain_agents_imported'] else 'no'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print(report(measure(runs=args.runs)))


if __name__ == "__main__":
    main()
