from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.embedded import connect
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.pagerduty.sandbox.server import RunningSandbox
from tests.e2e.conftest import ACCOUNT, NOW
from tests.graph.conftest import make_settings


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.from_snapshot(json.loads(ACCOUNT.read_text()))


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        yield sb


@pytest.fixture
async def pd(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[PagerDutyClient]:
    async with connect(make_settings(sandbox.base_url, tmp_path)) as client:
        yield client
