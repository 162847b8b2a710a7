"""`connect(settings)`: the embedded sandbox when no PAGERDUTY_API_URL, a real URL otherwise."""

from __future__ import annotations

import pytest

from agent.config import Settings
from agent.pagerduty import PagerDutyClient, connect
from agent.pagerduty.embedded import SANDBOX_TOKEN, sandbox_persist_path
from tests.conftest import DEV_ACCOUNT


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    for name in ("PAGERDUTY_API_URL", "PAGERDUTY_API_TOKEN", "SANDBOX_ACCOUNT", "PAGERDUTY_FROM"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, incident_agent_checkpoint=tmp_path / "agent.sqlite")


async def test_without_a_url_connect_serves_the_demo_account_and_persists_it(settings):
    assert settings.pagerduty_api_url is None
    async with connect(settings) as pd:
        assert pd.base_url.startswith("http://127.0.0.1:")
        services = await pd.list_services()
        assert any(s.id == "PFBSV01" and s.name == "Web Shop" for s in services)
        # Dated as of today: the open incidents are inside PagerDuty's default 30-day window.
        open_now = await pd.list_incidents(statuses=["triggered", "acknowledged"])
        assert sorted(i.incident_number for i in open_now) == [2047, 2048]
        sender = (await pd.list_users())[0].email
        created = await pd.create_incident("PFBSV01", "from the first process", from_=sender)
    persisted = sandbox_persist_path(settings)
    assert persisted == settings.incident_agent_checkpoint.with_suffix(".sandbox.json")
    assert persisted.exists()
    # A later CLI process starts its own embedded sandbox from the same file.
    async with connect(settings) as again:
        assert (await again.get_incident(created.id)).title == "from the first process"


async def test_another_account_starts_from_its_own_snapshot_not_the_saved_demo(
    settings, tmp_path
):
    async with connect(settings) as demo:
        await demo.create_incident("PFBSV01", "on the demo", from_=(await demo.list_users())[0].email)
    dev = settings.model_copy(update={"sandbox_account": DEV_ACCOUNT})
    async with connect(dev) as pd:
        names = {s.name for s in await pd.list_services()}
        assert "Web Shop" not in names and len(names) > 0
        assert "on the demo" not in {i.title for i in await pd.list_incidents(date_range="all")}
    assert sandbox_persist_path(dev) != sandbox_persist_path(settings)
    # The demo's own state is still there for when SANDBOX_ACCOUNT is unset again.
    async with connect(settings) as demo:
        assert "on the demo" in {i.title for i in await demo.list_incidents(date_range="all")}
    # An edited snapshot is another account: it starts again from the file.
    edited = tmp_path / "edited.json"
    edited.write_bytes(DEV_ACCOUNT.read_bytes() + b"\n")
    assert sandbox_persist_path(dev.model_copy(update={"sandbox_account": edited})) != \
        sandbox_persist_path(dev)


async def test_with_a_url_connect_uses_it(sandbox, tmp_path):
    settings = Settings(
        _env_file=None,
        pagerduty_api_url=sandbox.base_url,
        pagerduty_api_token=SANDBOX_TOKEN,
        incident_agent_checkpoint=tmp_path / "x.sqlite",
    )
    async with connect(settings) as pd:
        assert pd.base_url == sandbox.base_url
        assert len(await pd.list_priorities()) == 5
    assert not (tmp_path / "x.sandbox.json").exists()


async def test_from_settings_needs_a_url(tmp_path):
    settings = Settings(_env_file=None, incident_agent_checkpoint=tmp_path / "x.sqlite")
    with pytest.raises(ValueError, match="embedded"):
        PagerDutyClient.from_settings(settings)
    async with PagerDutyClient.from_settings(settings, base_url="https://api.example.test") as pd:
        assert pd.base_url == "https://api.example.test"
        assert pd.limiter.rate_per_minute == settings.pagerduty_rate_per_minute


async def test_the_client_speaks_tls_to_a_sandbox_with_its_certificate(dev_account):
    from agent.pagerduty.sandbox import running_sandbox

    with running_sandbox(dev_account, tls=True) as sb:
        assert sb.base_url.startswith("https://") and sb.cert_path
        async with PagerDutyClient(sb.base_url, SANDBOX_TOKEN, verify=sb.cert_path) as pd:
            assert len(await pd.list_teams()) == 5
