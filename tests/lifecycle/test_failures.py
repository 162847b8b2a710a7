"""No dead ends: outages, rate-limit storms and bad settings during `approve` leave a
failed thread with its reason; once the cause is gone `retry` writes exactly once.
And no command shows a traceback: one line, a JSON status object, the documented code.
"""

from __future__ import annotations

import asyncio
import os
import pty
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.pagerduty.sandbox.server import free_port
from tests.lifecycle.conftest import Rig
from tests.lifecycle.test_exactly_once import ALERT, opening_notes

pytestmark = pytest.mark.slow


def created(rig: Rig, thread: str) -> int:
    return len([i for i in rig.incidents() if i.get("incident_key") == f"incident-agent/{thread}"])


def approve_with(rig: Rig, thread: str, **env: str | None) -> tuple[int, dict]:
    saved = dict(rig.env)
    for k, v in env.items():
        if v is None:
            rig.env.pop(k, None)
        else:
            rig.env[k] = v
    try:
        return rig.json("approve", thread)
    finally:
        rig.env.clear()
        rig.env.update(saved)


CAUSES = {
    # cause: (how to break it, words the error must contain)
    "nothing listening": (lambda rig, sb: {"PAGERDUTY_API_URL": f"http://127.0.0.1:{free_port('127.0.0.1')}"},
                          "could not be reached"),
    "429 storm": (lambda rig, sb: sb.faults.storm_429(80, reset_s=1) or {}, "429"),
    "502 burst": (lambda rig, sb: sb.faults.burst_5xx(80, status=502) or {}, "server error"),
    "From missing": (lambda rig, sb: {"PAGERDUTY_FROM": None}, "PAGERDUTY_FROM"),
    "From not a user": (lambda rig, sb: {"PAGERDUTY_FROM": "nobody@nowhere.example"}, "PAGERDUTY_FROM"),
}


@pytest.mark.parametrize("cause", list(CAUSES))
def test_a_failed_approve_ends_failed_with_its_cause_then_retry_writes_once(rig: Rig, cause: str) -> None:
    code, out = rig.json("run", ALERT, "--no-wait")
    assert code == 0 and out["status"] == "awaiting_approval", out
    thread = out["thread_id"]
    breaks, words = CAUSES[cause]
    env = breaks(rig, rig.sandbox)

    started = time.monotonic()
    code, failed = approve_with(rig, thread, **env)
    rig.sandbox.faults.clear()
    assert code == 1, failed
    assert failed["status"] in ("failed", "error"), failed
    message = failed.get("error") or ""
    assert words.lower() in message.lower(), message
    assert time.monotonic() - started < 90
    assert created(rig, thread) == 0

    code, listed = rig.json("approvals")
    [entry] = [a for a in listed if a["thread_id"] == thread]
    assert entry["status"] == "failed" and words.lower() in entry["error"].lower(), entry

    code, done = rig.json("retry", thread)
    assert code == 0 and done["status"] == "done", done
    assert created(rig, thread) == 1 and opening_notes(rig, thread) == 1
    assert rig.json("retry", thread)[0] == 4


def test_a_failed_write_can_be_closed_without_writing(rig: Rig) -> None:
    code, out = rig.json("run", ALERT, "--no-wait")
    rig.sandbox.faults.burst_5xx(80, status=502)
    code, failed = rig.json("approve", out["thread_id"])
    rig.sandbox.faults.clear()
    assert code == 1 and failed["status"] == "failed", failed
    code, closed = rig.json("reject", out["thread_id"], "--reason", "paged by phone instead")
    assert code == 3 and closed["status"] == "rejected", closed
    assert "paged by phone instead" in closed["report"]
    assert created(rig, out["thread_id"]) == 0
    code, audit = rig.json("audit", out["thread_id"])
    assert [a["decision"] for a in audit] == ["approve", "reject"]
    assert audit[1]["message"] == "paged by phone instead"
    assert [t["outcome"] for t in audit[0]["attempts"]] == ["failed"]
    assert rig.json("retry", out["thread_id"])[0] == 4


def test_from_missing_is_caught_at_run_before_anyone_is_asked(rig: Rig) -> None:
    del rig.env["PAGERDUTY_FROM"]  # an account-level key: PagerDuty needs to know who acts
    code, out = rig.json("run", ALERT, "--no-wait")
    assert code == 2 and out["status"] == "error", out
    assert "PAGERDUTY_FROM" in out["error"]
    code, listed = rig.json("approvals")
    assert listed == []


@pytest.mark.parametrize(("setup", "code_wanted"), [
    ({"PAGERDUTY_API_TOKEN": "wrong-token"}, 1),
    ({"PAGERDUTY_API_URL": "http://127.0.0.1:9"}, 1),
    ({"storm": "yes"}, 1),
])
def test_run_errors_are_one_line_and_a_json_status(rig: Rig, setup: dict, code_wanted: int) -> None:
    if setup.pop("storm", None):
        rig.sandbox.faults.storm_429(200, reset_s=1)
    rig.env.update(setup)
    proc = rig.cli("run", ALERT, "--no-wait", "--json")
    rig.sandbox.faults.clear()
    assert proc.returncode == code_wanted, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 3, proc.stderr
    import json

    out = json.loads(proc.stdout)
    assert out["status"] == "error" and out["error"], out
    assert "wrong-token" not in proc.stdout + proc.stderr


def test_invalid_utf8_is_refused_in_one_line(rig: Rig) -> None:
    proc = subprocess.run([sys.executable, "-m", "agent", "run", b"bad \xff\xfe text", "--json"],
                          env=rig.env, cwd=rig.cwd, capture_output=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert b"Traceback" not in proc.stderr and b"UTF-8" in proc.stdout


def test_30_percent_5xx_every_incident_once_every_report_true(rig: Rig) -> None:
    """20 approved creates while 30 % of writes land but answer 502 (and reads flake too)."""
    from agent.approvals import Approver
    from agent.checkpoint import open_checkpointer
    from agent.config import Settings
    from agent.runner import Runner
    from agent.runtime import open_services
    from graphs.incident_response import build_graph

    settings = Settings(_env_file=None, pagerduty_api_url=rig.proxy.base_url,
                        pagerduty_api_token="sandbox-token", pagerduty_from=rig.env["PAGERDUTY_FROM"],
                        incident_agent_checkpoint=Path(rig.env["INCIDENT_AGENT_CHECKPOINT"]))
    rng = random.Random(7)
    names = [s["name"] for s in rig.api.get("/services", params={"limit": 100}).json()["services"]]
    symptoms = ["error rate above {}%", "p99 latency at {} s", "{} pods crash-looping",
                "disk {}% full on the primary"]

    async def go() -> list[tuple[str, str, str]]:
        async with open_services(settings) as services, open_checkpointer(
            settings.incident_agent_checkpoint
        ) as saver:
            runner = Runner(build_graph(), services, saver)
            paused = [await runner.start({"prompt": f"{names[i % len(names)]}: "
                                                    f"{symptoms[i % 4].format(40 + i)} (critical)"})
                      for i in range(20)]
            rig.proxy.flaky("POST", r"/incidents(/[A-Z0-9]+/notes)?", rate=0.3, rng=rng)
            results = []
            for p in paused:
                if p.status != "awaiting_approval" or p.values["proposal"]["action"] != "create_incident":
                    continue
                out = await runner.resume(p.thread_id, {"decisions": [{"type": "approve"}]},
                                          Approver(name="chaos", source="cli"))
                while out.status == "failed":
                    landed = bool((out.values.get("result") or {}).get("id"))
                    if landed:  # the page went out: the report must say so
                        assert "opened and paged" in out.report and "note" in out.report, out.report
                    else:
                        assert out.report.startswith("Not written"), out.report
                    out = await runner.retry(p.thread_id, Approver(name="chaos", source="cli"))
                results.append((p.thread_id, out.status, out.report))
            return results

    results = asyncio.run(go())
    assert len(results) >= 15
    for thread, status, report in results:
        assert status == "done", report
        assert "failed" not in report.lower()
        assert created(rig, thread) == 1, thread
        assert opening_notes(rig, thread) == 1, thread


# -- the interactive prompt, through a real pseudo-terminal -------------------------------


def _read_until(fd: int, needle: bytes, timeout: float = 120) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while needle not in seen:
        left = end - time.monotonic()
        assert left > 0, f"never saw {needle!r}; screen: {seen[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_the_prompt_takes_whole_words_and_ctrl_c_leaves_it_paused(rig: Rig) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on a terminal
        os.chdir(rig.cwd)
        os.execve(sys.executable, [sys.executable, "-m", "agent", "run", ALERT], rig.env)
    try:
        _read_until(fd, b"Decision [")
        for nonsense in (b"abort", b"exit", b"yes", b""):
            os.write(fd, nonsense + b"\r")
            _read_until(fd, b"Please answer with one of")
        assert created_any(rig) == 0
        os.kill(pid, signal.SIGINT)  # Ctrl-C
        screen = _read_until(fd, b"Left paused")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 130, screen[-500:]
    finally:
        os.close(fd)
    code, listed = rig.json("approvals")
    assert [a["status"] for a in listed] == ["awaiting_approval"]
    assert created_any(rig) == 0


def created_any(rig: Rig) -> int:
    return len([i for i in rig.incidents() if (i.get("incident_key") or "").startswith("incident-agent/")])
