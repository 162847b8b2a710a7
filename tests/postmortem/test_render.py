"""The Markdown report: header, metrics with human durations, a Mermaid block Mermaid accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.pagerduty.models import Incident
from agent.postmortem.metrics import compute_metrics
from agent.postmortem.narrate import template_narrative
from agent.postmortem.render import human_duration, mermaid_gantt, report_of, to_markdown
from agent.postmortem.timeline import build_timeline

from .entries import dev_account, entry, incident, long_incident_entries

MERMAID_DIR = Path(__file__).parent / "mermaid"


def report_for(inc, entries):
    timeline = build_timeline(inc.id, entries)
    metrics = compute_metrics(timeline, inc)
    report = report_of(inc, timeline, metrics)
    report["narrative"] = template_narrative(report)
    return report


def dev_report():
    account = dev_account()
    return report_for(Incident.model_validate(account["incidents"][0]), account["log_entries"])


def long_report():
    return report_for(incident(), long_incident_entries())


def test_human_durations():
    assert [human_duration(s) for s in (0, 45, 390, 2865, 3600, 93784, None)] == [
        "0 s", "45 s", "6 min 30 s", "47 min 45 s", "1 h", "1 d 2 h 3 min 4 s", "—"]


def test_markdown_sections_and_metrics():
    md = to_markdown(dev_report())
    assert md.startswith("# Post-mortem: #1201 Public API returning 5xx")
    assert "[#1201 PINCD01](https://contoso.pagerduty.com/incidents/PINCD01)" in md
    assert "| Time to acknowledge | 6 min 30 s | 390 |" in md
    assert "| Time to resolve | 47 min 45 s | 2865 |" in md
    assert "| Urgency | high |" in md and "| Status | resolved |" in md
    for heading in ("## Metrics", "## Timeline", "## Anomalies", "## Narrative"):
        assert heading in md
    assert md.count("```mermaid") == 1
    assert "| 2026-11-12 09:30:00 UTC | 15 min | Note | David Miller | Scaled public-api to 12 replicas |" in md


def test_json_report_shape():
    report = json.loads(json.dumps(dev_report()))
    assert set(report) >= {"incident", "metrics", "timeline", "anomalies", "narrative"}
    assert report["incident"]["id"] == "PINCD01" and len(report["timeline"]) == 6


def test_mermaid_labels_cannot_break_the_grammar():
    chart = mermaid_gantt(long_report())
    task_lines = [line for line in chart.splitlines()[5:] if not line.strip().startswith("section")]
    for line in task_lines:
        label, _, data = line.partition(" :")
        assert not re.search(r"[:;#\"'`]", label), line
        assert re.fullmatch(r"(crit, |active, |milestone, )?\w+, [\d\- :]+, ([\d\- :]+|0s)", data), line
    assert "Rolled back deploy 4521 errors 40 watching" in chart


def test_unresolved_report_says_so():
    report = report_for(incident(status="triggered"), [entry(1, "trigger", 0)])
    md = to_markdown(report)
    assert "| Time to resolve | — | — |" in md and "It is not resolved" in md


def _mermaid_blocks(md: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", md, flags=re.S)


def test_mermaid_block_parses_with_mermaids_own_parser():
    """Shells out to node with mermaid + jsdom (tests/postmortem/mermaid/package.json)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are needed to run Mermaid's parser; install Node.js 20+")
    if not (MERMAID_DIR / "node_modules" / "mermaid").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=MERMAID_DIR, check=True,
                       capture_output=True, timeout=300)
    retriggered = [entry(1, "trigger", 0), entry(2, "resolve", 60, agent="PU1"),
                   entry(3, "trigger", 120), entry(4, "annotate", 130, agent="PU1",
                                                   channel={"type": "note", "summary": "a:b;c#d\"e'f\nsection x"})]
    reports = [dev_report(), long_report(), report_for(incident(status="triggered"), retriggered)]
    for report in reports:
        (block,) = _mermaid_blocks(to_markdown(report))
        done = subprocess.run([node, "parse.mjs"], cwd=MERMAID_DIR, input=block, text=True,
                              capture_output=True, timeout=120)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result == {"ok": True, "type": "gantt"}, (result, block)
    broken = subprocess.run([node, "parse.mjs"], cwd=MERMAID_DIR, input="gantt\n  x :: ;;\n",
                            text=True, capture_output=True, timeout=120)
    assert json.loads(broken.stdout)["ok"] is False  # the parser does reject bad input
