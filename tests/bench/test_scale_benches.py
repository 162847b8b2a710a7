"""`bench.paused_threads` and `bench.alert_storm` at tiny sizes, as CI runs them: each runs
end to end on the Postgres and Redis `.ci/services` starts, and says what it must.

Timing is the benchmarks' business (README figures); here, behaviour: every resume
wrote its incident, the listing saw every paused thread, a storm became one approval
per problem within PagerDuty's budget, with no 429 and no failed run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.alert_storm import busiest_minute
from bench.paused_threads import TimedTransport
from tests.services import redis_url, server_url

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", *args, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_round_trips_overlapping_are_counted_once() -> None:
    timed = TimedTransport(inner=None)  # type: ignore[arg-type]
    timed.intervals = [(0.0, 1.0), (10.0, 12.0), (11.0, 13.0), (20.0, 21.0)]
    assert timed.busy_s(since=5.0) == pytest.approx(4.0)  # 10-13 and 20-21; the first is before
    assert busiest_minute([0, 30, 59.9, 60, 61, 200]) == 4  # 0 .. 59.9 and 30 .. 61
    assert busiest_minute([]) == 0


@pytest.mark.slow
def test_paused_threads_tiny() -> None:
    server_url()  # skips (or fails in CI) without Postgres
    r = run_bench(
        "bench.paused_threads",
        "--threads",
        "200",
        "--sample",
        "10",
        "--resumes",
        "10",
        "--runs",
        "1",
    )
    assert set(r["listing"]) == {"20", "200"}  # listed at a tenth and at all of them
    assert all(fig["cli_s"] > 0 for fig in r["listing"].values())
    res = r["resume"]
    assert len(res["walls"]) == 10 and r["pending_after"] == 190
    assert all(n >= 1 for n in res["requests"])  # each approval sent its write
    assert r["keys_checked"] >= 1  # a copy's incident carries the copy's own key
    assert all(0 < t < w for t, w in zip(res["trips"], res["walls"], strict=True))
    assert len(res["rss"]) == 10 and min(res["rss"]) > 50


@pytest.mark.slow
def test_alert_storm_tiny() -> None:
    server_url()
    redis_url()
    r = run_bench("bench.alert_storm", "--alerts", "60", "--seconds", "5", "--problems", "4")
    assert r["answers"].get("started", 0) + r["answers"].get("joined", 0) == 60, r["answers"]
    assert r["alerts_counted"] == 60
    assert r["pending"] == 4 and r["pending_per_problem_max"] == 1, r
    assert 0 < r["busiest_minute"] <= 960 and r["answered_429"] == 0
    assert r["runs_failed"] == 0 and r["log_run_failures"] == 0
