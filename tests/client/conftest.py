"""Helpers for the client tests: a recording sleep and an instrumented (real) transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.sandbox import RunningSandbox

TOKEN = "sandbox-token"


class RecordingSleep:
    """Stands in for asyncio.sleep: records every wait the client asks for.

    `real=False` returns at once (the sandbox's 429 storms and 5xx bursts are
    counted in requests, not time), so a test asserts the waits without
    spending them."""

    def __init__(self, real: bool = False) -> None:
        self.real = real
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds if self.real else 0)


class InFlight(httpx.AsyncBaseTransport):
    """The real HTTP transport, counting how many requests are in flight at once."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.now = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def pd(
    sandbox: RunningSandbox, recording_sleep: RecordingSleep
) -> AsyncIterator[PagerDutyClient]:
    """A client on the shared `sandbox` fixture, its sleeps recorded instead of spent."""
    async with PagerDutyClient(sandbox.base_url, TOKEN, sleep=recording_sleep) as client:
        yield client
