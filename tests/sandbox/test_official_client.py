"""PagerDuty's own Python client, unmodified, against the sandbox over HTTPS."""

from __future__ import annotations

import pagerduty

from agent.pagerduty.sandbox import running_sandbox

HANNAH = "hannah.fischer@contoso.example"


def test_official_client_over_tls(dev_account):
    with running_sandbox(dev_account, tls=True) as sb:
        assert sb.base_url.startswith("https://") and sb.cert_path
        for n in range(120):  # 16 + 120 services: iter_all must really page
            sb.state.add_service(f"Bulk Service {n:03d}", "PEWEB01")
        client = pagerduty.RestApiV2Client("sandbox-token", default_from=HANNAH, base_url=sb.base_url,
                                           verify=sb.cert_path)
        services = list(client.iter_all("services"))
        assert len(services) == 136 and len({s["id"] for s in services}) == 136
        assert sb.state.request_count(route="GET /services") >= 2
        web = client.rget("/services/PWEB001")
        assert web["name"] == "Web Frontend"
        incident = client.rpost("/incidents", json={
            "type": "incident", "title": "Checkout errors",
            "service": {"id": "PWEB001", "type": "service_reference"},
        })
        assert incident["status"] == "triggered"
        updated = client.rput(f"/incidents/{incident['id']}", json={"type": "incident", "status": "acknowledged"})
        assert updated["status"] == "acknowledged"
        note = client.rpost(f"/incidents/{incident['id']}/notes", json={"content": "Looking"})
        assert note["content"] == "Looking"
        assert sb.state.notes(incident["id"])[0]["user"]["id"] == "PUWE001"
