"""Two accounts: the dev snapshot, and a synthetic retailer that shares no
service names with it, to show the scorer is general."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import Settings
from agent.pagerduty.catalog import Catalog

ROOT = Path(__file__).resolve().parents[2]
SHARED_ACCOUNT = Path("/work/shared/eval/dev-account.json")
# The dev snapshot the cases were written for (a copy travels with the tests,
# so a changed demo account does not change what these cases mean).
DEV_ACCOUNT = (
    SHARED_ACCOUNT if SHARED_ACCOUNT.exists() else Path(__file__).with_name("dev-account.json")
)
WORDS_CASES = Path(__file__).with_name("dev-words.jsonl")
ALERT_CASES = Path(__file__).with_name("dev-alerts.jsonl")
SHARED_CASES = Path("/work/shared/eval/dev-triage.jsonl")
DEV_CASES = SHARED_CASES if SHARED_CASES.exists() else Path(__file__).with_name("dev-triage.jsonl")


def _ref(kind: str, id: str, summary: str) -> dict:
    return {"id": id, "type": f"{kind}_reference", "summary": summary}


def retail_snapshot() -> dict:
    teams = {
        "PTDIG01": "Digital Commerce",
        "PTSTO01": "Store Systems",
        "PTPLT01": "Platform",
        "PTSUP01": "Supply Chain",
    }
    policies = {tid: (f"PE{tid[2:]}", f"{name} Escalation") for tid, name in teams.items()}

    def service(id, name, description, team, urgency_rule=None):
        ep_id, ep_name = policies[team]
        return {
            "id": id,
            "type": "service",
            "name": name,
            "description": description,
            "status": "active",
            "escalation_policy": _ref("escalation_policy", ep_id, ep_name),
            "teams": [_ref("team", team, teams[team])],
            "incident_urgency_rule": urgency_rule or {"type": "constant", "urgency": "high"},
        }

    services = [
        service(
            "PSTOR01", "Storefront", "Next.js shop frontend and product pages (shop-web)", "PTDIG01"
        ),
        service(
            "PCHK001",
            "Checkout",
            "Cart and checkout flow, Adyen payments (checkout-svc)",
            "PTDIG01",
        ),
        service(
            "PINV001",
            "Inventory Sync",
            "Stock levels synced from the SAP ERP (inv-sync)",
            "PTSUP01",
        ),
        service(
            "PORD001", "Order Management", "Order lifecycle, refunds and returns (oms)", "PTDIG01"
        ),
        service(
            "PPSR001", "Product Search", "Algolia indices for product search and facets", "PTDIG01"
        ),
        service(
            "PODB001",
            "Orders Database",
            "MySQL cluster orders-db-main with read replicas",
            "PTPLT01",
        ),
        service(
            "PBUS001",
            "Event Bus",
            "Kafka cluster events-prod for order and stock events",
            "PTPLT01",
        ),
        service(
            "PPOS001", "Store POS", "Point-of-sale tills in 120 stores (pos-gateway)", "PTSTO01"
        ),
        service(
            "PWMS001",
            "Warehouse Management",
            "Pick, pack and ship in the distribution centres (wms)",
            "PTSUP01",
            {
                "type": "use_support_hours",
                "during_support_hours": {"type": "constant", "urgency": "high"},
                "outside_support_hours": {"type": "constant", "urgency": "low"},
            },
        ),
        service(
            "PNOT001",
            "Customer Notifications",
            "Order confirmation emails and SMS via SendGrid and Twilio",
            "PTDIG01",
        ),
        service(
            "PLOY001",
            "Loyalty Program",
            "Points balance and rewards (loyalty-api)",
            "PTDIG01",
            {"type": "constant", "urgency": "low"},
        ),
        service("PCDN001", "CDN", "Fastly CDN and image resizing", "PTPLT01"),
    ]
    users = [
        {"id": "PUR0001", "type": "user", "name": "Priya Raman", "email": "priya@shop.example"},
        {"id": "PUR0002", "type": "user", "name": "Tom Walsh", "email": "tom@shop.example"},
        {"id": "PUR0003", "type": "user", "name": "Aisha Bello", "email": "aisha@shop.example"},
        {"id": "PUR0004", "type": "user", "name": "Jonas Berg", "email": "jonas@shop.example"},
    ]
    schedules = [
        {
            "id": f"PS{tid[2:]}",
            "type": "schedule",
            "name": f"{name} On-Call",
            "time_zone": "Europe/London",
        }
        for tid, name in teams.items()
    ]
    escalation_policies = [
        {"id": ep_id, "type": "escalation_policy", "name": ep_name, "escalation_rules": []}
        for ep_id, ep_name in policies.values()
    ]
    priorities = [
        {"id": f"PRSEV0{n}", "type": "priority", "name": f"SEV-{n}", "description": d, "order": n}
        for n, d in [
            (1, "Store or checkout down"),
            (2, "Major degradation"),
            (3, "Minor"),
            (4, "Cosmetic"),
        ]
    ]
    return {
        "services": services,
        "users": users,
        "teams": [{"id": k, "type": "team", "name": v} for k, v in teams.items()],
        "schedules": schedules,
        "escalation_policies": escalation_policies,
        "priorities": priorities,
    }


@pytest.fixture(scope="session")
def dev_catalog() -> Catalog:
    return Catalog.from_snapshot(json.loads(DEV_ACCOUNT.read_text()))


@pytest.fixture(scope="session")
def retail_catalog() -> Catalog:
    return Catalog.from_snapshot(retail_snapshot())


@pytest.fixture
def settings() -> Settings:
    """No model configured, whatever the environment says."""
    return Settings(_env_file=None, openai_api_key=None, openai_base_url=None)
