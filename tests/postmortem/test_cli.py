"""`incident-agent postmortem` as an SRE runs it: separate processes, a PagerDuty on loopback."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.pagerduty.sandbox import Clock, running_sandbox

from .entries import dev_account

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def env_for(tmp_path: Path, api_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PAGERDUTY_", "INCIDENT_AGENT_", "SLACK_"))}
    env.update(INCIDENT_AGENT_CHECKPOINT=str(tmp_path / "agent.sqlite"), PYTHONPATH=str(REPO),
               COLUMNS="120")
    if api_url:
        env.update(PAGERDUTY_API_URL=api_url, PAGERDUTY_API_TOKEN="sandbox-token")
    return env


def cli(tmp_path: Path, *args: str, api_url: str | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "agent", "postmortem", *args], cwd=tmp_path,
                          env=env_for(tmp_path, api_url), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


# The bundled demo's #2041 (agent/data/demo-account.json), by hand from its log entries:
# trigger 14:05:00, acknowledged by Fatima Zahra 14:09:12, resolved 14:43:30; push + SMS.
DEMO_2041 = {"time_to_acknowledge_s": 252, "time_to_resolve_s": 2310, "escalations": 0,
             "notifications": 2, "log_entries": 8, "first_acknowledged_by": "PFBU042",
             "notes": 2, "reassignments": 0}


def test_one_incident_json_against_the_embedded_sandbox(tmp_path):
    for ask in ("2041", "#2041", "Q0FB2041"):
        done = cli(tmp_path, ask, "--format", "json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert {k: report["metrics"][k] for k in DEMO_2041} == DEMO_2041
    out = tmp_path / "pm.md"
    done = cli(tmp_path, "Q0FB2041", "--out", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert "```mermaid" in out.read_text()
    missing = cli(tmp_path, "PNOSUCH")
    assert missing.returncode == 1 and "no incident" in missing.stderr


def _resolved(state, title: str, created: datetime) -> str:
    return state.add_incident("PAPI001", title, created_at=created, status="resolved")["id"]


def test_schedule_writes_each_postmortem_once_and_catches_up_after_downtime(tmp_path):
    account = dev_account()
    email = account["users"][0]["email"]
    out = tmp_path / "postmortems"
    with running_sandbox(account, clock=Clock()) as sb:
        now = datetime.now(UTC)
        _resolved(sb.state, "Old, before the first run's window", now - timedelta(days=3))
        a = _resolved(sb.state, "Resolved ten minutes ago", now - timedelta(minutes=10))
        b = _resolved(sb.state, "Resolved five minutes ago", now - timedelta(minutes=5))

        first = cli(tmp_path, "--every", "1h", "--once", "--out", str(out), "--format", "json",
                    api_url=sb.base_url)
        assert first.returncode == 0, first.stderr
        assert sorted(p.name for p in out.iterdir()) == sorted([f"{a}.json", f"{b}.json"])
        stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

        # Down for a while: incidents resolve meanwhile, one of them opened days ago.
        d = _resolved(sb.state, "Resolved while the schedule was down", datetime.now(UTC))
        e = sb.state.add_incident("PAPI001", "Opened two days ago", created_at=now - timedelta(days=2))
        sb.state.update_incident(e["id"], {"type": "incident_reference", "status": "resolved"}, email)
        time.sleep(0.01)

        second = cli(tmp_path, "--every", "1h", "--max-runs", "1", "--out", str(out), "--format",
                     "json", api_url=sb.base_url)
        assert second.returncode == 0, second.stderr
        names = sorted(p.name for p in out.iterdir())
        assert names == sorted(f"{i}.json" for i in (a, b, d, e["id"]))
        assert {n: (out / n).stat().st_mtime_ns for n in stamps} == stamps  # not rewritten
        assert json.loads((out / f"{e['id']}.json").read_text())["incident"]["status"] == "resolved"

        third = cli(tmp_path, "--every", "1h", "--once", "--out", str(out), api_url=sb.base_url)
        assert third.returncode == 0 and "wrote 0 post-mortem" in third.stderr
        assert sorted(p.name for p in out.iterdir()) == names

    db = sqlite3.connect(tmp_path / "agent.postmortems.sqlite")
    written = sorted(r[0] for r in db.execute("SELECT incident_id FROM postmortems_written"))
    runs = db.execute("SELECT count(*) FROM postmortem_runs").fetchone()[0]
    assert written == sorted([a, b, d, e["id"]]) and runs == 3


def test_schedule_stops_cleanly_on_ctrl_c(tmp_path):
    with running_sandbox(dev_account(), clock=Clock()) as sb:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "postmortem", "--every", "1s", "--out",
             str(tmp_path / "pm")], cwd=tmp_path, env=env_for(tmp_path, sb.base_url),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        db = tmp_path / "agent.postmortems.sqlite"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and sqlite3.connect(db).execute(
                    "SELECT count(*) FROM sqlite_master WHERE name='postmortem_runs'").fetchone()[0] \
                    and sqlite3.connect(db).execute("SELECT count(*) FROM postmortem_runs").fetchone()[0]:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped" in stderr and "Traceback" not in stderr


def agent(tmp_path: Path, api_url: str, *args: str) -> tuple[int, Any]:
    """Another `incident-agent` command (`approvals`, `approve`) on the same files, as JSON."""
    env = {**env_for(tmp_path, api_url), "PAGERDUTY_FROM": "susan.clark@contoso.example"}
    done = subprocess.run([sys.executable, "-m", "agent", *args, "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return done.returncode, json.loads(done.stdout)


def test_a_schedule_with_note_proposes_each_note_once_through_the_approvals(tmp_path):
    out = tmp_path / "postmortems"
    with running_sandbox(dev_account(), clock=Clock()) as sb:
        now = datetime.now(UTC)
        a = _resolved(sb.state, "Resolved ten minutes ago", now - timedelta(minutes=10))
        first = cli(tmp_path, "--every", "1h", "--once", "--note", "--out", str(out),
                    api_url=sb.base_url)
        assert first.returncode == 0, first.stderr
        assert [p.name for p in out.iterdir()] == [f"{a}.md"]
        assert "waits for approval" in first.stderr
        code, listed = agent(tmp_path, sb.base_url, "approvals")
        [entry] = listed
        assert entry["graph"] == "postmortem" and a in entry["prompt"], entry

        second = cli(tmp_path, "--every", "1h", "--once", "--note", "--out", str(out),
                     api_url=sb.base_url)
        assert second.returncode == 0 and "wrote 0 post-mortem" in second.stderr
        assert [e["thread_id"] for e in agent(tmp_path, sb.base_url, "approvals")[1]] == [
            entry["thread_id"]]  # the written-table keeps the note from being proposed twice

        code, done = agent(tmp_path, sb.base_url, "approve", entry["thread_id"])
        assert code == 0 and done["status"] == "done", done
        assert len([n for n in sb.state.notes(a) if n["content"].startswith("Post-mortem for #")]) == 1
