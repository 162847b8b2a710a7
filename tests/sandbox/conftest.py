"""Sandbox test fixtures: HTTP clients whose every response is checked against the spec."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.pagerduty.sandbox import RunningSandbox

from . import contract

# The sandbox's own tests stand on a fixed account (Contoso, as the demo account was when they
# were written), so reshaping the product's demo account never moves the ids they name.
ACCOUNT = Path(__file__).parent / "contoso-account.json"
ACCEPT = "application/vnd.pagerduty+json;version=2"
TOKEN = "sandbox-token"
HANNAH = "hannah.fischer@contoso.example"  # a user of the dev account


@pytest.fixture
def dev_account() -> dict[str, Any]:
    """The Contoso account (a fresh parsed copy per test); overrides the suite-wide fixture."""
    return json.loads(ACCOUNT.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def openapi_spec():
    """The published spec (tests/sandbox/spec/), loaded once per session (it is 2.7 MB).
    A missing spec fails every test that needs it: never a silent skip."""
    return contract.openapi()


@pytest.fixture
def make_client(openapi_spec) -> Iterator[Callable[..., httpx.Client]]:
    """Build clients for a running sandbox; every response is validated against the spec."""
    clients: list[httpx.Client] = []

    def make(sb: RunningSandbox, *, token: str | None = TOKEN, from_: str | None = HANNAH,
             validate: bool = True) -> httpx.Client:
        headers = {"Accept": ACCEPT}
        if token is not None:
            headers["Authorization"] = f"Token token={token}"
        if from_ is not None:
            headers["From"] = from_
        client = httpx.Client(
            base_url=sb.base_url, headers=headers, timeout=10,
            verify=ssl.create_default_context(cafile=sb.cert_path) if sb.cert_path else True,
            event_hooks={"response": [contract.hook]} if validate else {},
        )
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def api(sandbox: RunningSandbox, make_client) -> httpx.Client:
    """An account-token client on the dev-account sandbox, acting as Hannah Fischer."""
    return make_client(sandbox)
