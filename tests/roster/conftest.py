"""A small synthetic account (names the dev account does not have) and the dev one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.pagerduty.catalog import Catalog

DEV_ACCOUNT = Path(__file__).resolve().parents[1] / "triage" / "dev-account.json"


def _ref(kind: str, id: str, summary: str | None = None) -> dict:
    return {"id": id, "type": f"{kind}_reference", **({"summary": summary} if summary else {})}


def _user(id: str, name: str, email: str) -> dict:
    return {"id": id, "type": "user", "name": name, "email": email}


def _schedule(id: str, name: str, team: str | None, users: list[str]) -> dict:
    return {
        "id": id,
        "type": "schedule",
        "name": name,
        "teams": [_ref("team", team)] if team else [],
        "users": [_ref("user", u) for u in users],
    }


SNAPSHOT = {
    "teams": [
        {"id": "T1", "type": "team", "name": "Payments"},
        {"id": "T2", "type": "team", "name": "Platform"},
    ],
    "users": [
        _user("U1", "Elena Sokolova", "elena.sokolova@example.com"),
        _user("U2", "Elena Petrova", "e.petrova@example.com"),
        _user("U3", "José Álvarez", "jose.alvarez@example.com"),
        _user("U4", "Clark Kent", "ck@example.com"),
        _user("U5", "Susan Clark", "susan@example.com"),
        _user("U6", "Sarah Connor", "sarah.connor@example.com"),
        _user("U7", "Marcus Lee", "mlee@example.com"),
        _user("U8", "Zed Nobody", "zed@example.com"),
    ],
    "schedules": [
        _schedule("S1", "Payments Primary", "T1", ["U1", "U6"]),
        _schedule("S2", "Payments Secondary", "T1", ["U2", "U6"]),
        _schedule("S3", "Platform Weekly", "T2", ["U3", "U4"]),
        # no team of its own: it inherits the team of the policy that pages it
        _schedule("S4", "Night Watch", None, ["U7"]),
    ],
    "escalation_policies": [
        {
            "id": "E1", "type": "escalation_policy", "name": "Payments Escalation",
            "teams": [_ref("team", "T1")],
            "escalation_rules": [
                {"escalation_delay_in_minutes": 30, "targets": [_ref("schedule", "S1")]}
            ],
        },
        {
            "id": "E2", "type": "escalation_policy", "name": "Platform EP",
            "teams": [_ref("team", "T2")],
            "escalation_rules": [
                {"escalation_delay_in_minutes": 30,
                 "targets": [_ref("schedule", "S3"), _ref("schedule", "S4")]}
            ],
        },
    ],
    "services": [
        {"id": "SV1", "type": "service", "name": "Checkout", "escalation_policy": _ref("escalation_policy", "E1")},
        {"id": "SV2", "type": "service", "name": "Kubernetes", "escalation_policy": _ref("escalation_policy", "E2")},
    ],
}  # fmt: skip


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.from_snapshot(SNAPSHOT)


@pytest.fixture(scope="session")
def dev_catalog() -> Catalog:
    return Catalog.from_snapshot(json.loads(DEV_ACCOUNT.read_text()))
