"""`python -m bench.vs_official --quick`, as CI runs it: every case runs and says what it must.

Timing is the benchmark's business; these assertions are about behaviour both
clients must show whatever the machine: the same items for the same requests,
a 429 storm waited out, a burst kept within the budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_comparison_with_the_official_client() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.vs_official", "--quick", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    rows = {r["case"]: r for r in out["rows"]}
    assert "load average" in out["header"]

    entries = rows["log_entries@20ms"]
    assert entries["ours"]["items"] == entries["theirs"]["items"] == 2400
    assert entries["ours"]["requests"] == entries["theirs"]["requests"] == 24  # 100 a page
    reused = rows["reused_client@20ms"]
    assert reused["ours"]["requests"] == 24 and reused["ours"]["items"] == 2400

    lists = [r for case, r in rows.items() if case.startswith("list ")]
    assert len(lists) == 8
    for row in lists:
        assert row["ours"]["items"] == row["theirs"]["items"] > 0, row["case"]
        assert row["ours"]["requests"] == row["theirs"]["requests"] == 1, row["case"]

    storm = rows["429 storm 1 x 1 s"]
    assert storm["ours"]["requests"] == 2  # one 429, one answer
    assert storm["ours"]["wall_ms"] >= storm["bound_ms"]  # waited what ratelimit-reset said
    assert storm["ours"]["wall_ms"] < storm["theirs"]["wall_ms"]  # and not 1.5 s x 2^n

    budget = next(r for case, r in rows.items() if case.startswith("100 GETs"))
    assert budget["ours"]["requests"] == 100  # the limiter kept every request within the window
    assert budget["theirs"]["requests"] > 100  # the official client met the server's 429

    rss = next(r for case, r in rows.items() if case.startswith("peak RSS"))
    assert rss["ours"]["items"] == rss["theirs"]["items"] == 2400
    assert 10 < rss["ours"]["rss_mib"] < 1000 and 10 < rss["theirs"]["rss_mib"] < 1000
