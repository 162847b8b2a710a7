"""Broken or hostile snapshots are refused at start, with the problem named."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.pagerduty.sandbox import Clock, SandboxState, SnapshotError, running_sandbox


def refused(source) -> str:
    with pytest.raises(SnapshotError) as e:
        SandboxState.from_snapshot(source)
    return str(e.value)


def test_not_json(tmp_path: Path):
    bad = tmp_path / "account.json"
    bad.write_text("{ nope")
    msg = refused(bad)
    assert str(bad) in msg and "not valid JSON" in msg and "line 1" in msg


def test_missing_file(tmp_path: Path):
    assert "cannot read" in refused(tmp_path / "missing.json")


def test_wrong_shapes(dev_account):
    assert "top level must be a JSON object" in refused([1, 2])
    assert "collection 'services' must be a list" in refused({"services": {"PWEB001": {}}})
    assert "unknown collection(s) 'widgets'" in refused({"widgets": []})
    broken = copy.deepcopy(dev_account)
    broken["users"][3] = "PUWE004"
    assert "users[3]: must be an object" in refused(broken)
    broken = copy.deepcopy(dev_account)
    del broken["services"][2]["id"]
    assert "services[2]: missing 'id'" in refused(broken)
    broken = copy.deepcopy(dev_account)
    broken["services"][0]["type"] = "service_reference"
    assert "services[0] (id 'PWEB001'): 'type' is 'service_reference', expected 'service'" in refused(broken)
    broken = copy.deepcopy(dev_account)
    del broken["users"][0]["email"]
    assert "users[0] (id 'PUWE001'): field email: Field required" in refused(broken)
    broken = copy.deepcopy(dev_account)
    broken["schedules"][0]["schedule_layers"][0]["rotation_turn_length_seconds"] = "weekly"
    assert "schedules[0] (id 'PSWEB01'): field schedule_layers.0.rotation_turn_length_seconds" in refused(broken)


def test_duplicates(dev_account):
    broken = copy.deepcopy(dev_account)
    broken["teams"].append(copy.deepcopy(broken["teams"][0]))
    assert "duplicate id 'PTWEB01' in teams" in refused(broken)
    broken = copy.deepcopy(dev_account)
    broken["users"][1]["email"] = broken["users"][0]["email"]
    assert "is already used by 'PUWE001'" in refused(broken)


def test_missing_references(dev_account):
    broken = copy.deepcopy(dev_account)
    broken["services"][0]["escalation_policy"]["id"] = "PGONE01"
    msg = refused(broken)
    assert "services[0] (id 'PWEB001') escalation_policy: refers to escalation_policy 'PGONE01'" in msg
    broken = copy.deepcopy(dev_account)
    broken["escalation_policies"][0]["escalation_rules"][1]["targets"][0]["id"] = "PUGONE1"
    assert "escalation_rules[1].targets[0]: refers to user 'PUGONE1'" in refused(broken)
    broken = copy.deepcopy(dev_account)
    broken["services"][0]["escalation_policy"] = "Web Escalation"
    assert "services[0] (id 'PWEB001'): field escalation_policy: Input should be a valid dictionary" in refused(broken)
    broken = copy.deepcopy(dev_account)
    broken["log_entries"][0]["incident"]["id"] = "PNOINC1"
    assert "log_entries[0] (id 'RINCD0100000') incident: refers to incident 'PNOINC1'" in refused(broken)


def test_cli_refuses_with_exit_2(tmp_path: Path):
    bad = tmp_path / "account.json"
    bad.write_text(json.dumps({"services": [{"id": "PX", "type": "service", "name": "X",
                                              "escalation_policy": {"id": "PNOPE", "type": "escalation_policy_reference"}}]}))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run([sys.executable, "-m", "agent.pagerduty.sandbox.cli", "serve", "--account", str(bad)],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2
    assert "refers to escalation_policy 'PNOPE'" in out.stderr and "Traceback" not in out.stderr


def test_dump_round_trips_and_persists(tmp_path: Path, dev_account, make_client):
    store = tmp_path / "state.json"
    with running_sandbox(dev_account, clock=Clock(), persist_path=store) as sb:
        api = make_client(sb)
        inc = api.post("/incidents", json={"incident": {"type": "incident", "title": "Persist me",
                                                        "service": {"id": "PWEB001", "type": "service_reference"}}})
        iid = inc.json()["incident"]["id"]
        api.post(f"/incidents/{iid}/notes", json={"note": {"content": "kept"}})
        # Another process's view: a second state on the same file sees the write...
        other = SandboxState.from_snapshot(dev_account, persist_path=store)
        assert other.get_incident(iid)["title"] == "Persist me"
        # ...and its own write is seen here on the next request.
        other.add_note(iid, "from elsewhere", "hannah.fischer@contoso.example")
        notes = api.get(f"/incidents/{iid}/notes").json()["notes"]
        assert [n["content"] for n in notes] == ["kept", "from elsewhere"]
    reloaded = SandboxState.from_snapshot(store)
    assert reloaded.dump() == SandboxState.from_snapshot(dev_account, persist_path=store).dump()
