"""What a fetch of many pages leaves in memory beyond its entries: no pages waiting for the
cyclic collector, and small TLS read buffers (bench.vs_official's `rss` case)."""

from __future__ import annotations

import asyncio.sslproto
import gc
import weakref

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.pagerduty.transport import TLS_READ_BUFFER
from tests.client.conftest import TOKEN
from tests.conftest import SANDBOX_NOW


async def test_each_page_is_freed_once_parsed_without_the_cyclic_collector() -> None:
    """httpx's response and its stream refer to each other; unbroken, every page's response
    (and its body) lived until the collector ran: 1.6 MiB at the end of a 24-page fetch."""
    with running_sandbox(clock=Clock(SANDBOX_NOW), tls=True) as sb:
        service = sb.state.list("services")[0]["id"]
        incident = sb.state.add_incident(service, "chatty", log=False)
        sb.state.add_log_entries(incident["id"], 450, start=SANDBOX_NOW, step_s=1)
        async with PagerDutyClient(sb.base_url, TOKEN, verify=sb.cert_path) as pd:
            responses: list[weakref.ref[object]] = []

            async def keep(response: object) -> None:
                responses.append(weakref.ref(response))

            pd._http.event_hooks["response"].append(keep)
            gc.collect()
            gc.disable()
            try:
                entries = await pd.incident_log_entries(incident["id"])
                alive = [r for r in responses if r() is not None]
            finally:
                gc.enable()
    assert len(entries) == len(sb.state.log_entries(incident["id"]))
    assert len(responses) == 5  # pages of 100
    assert alive == []


def test_asyncio_tls_connections_read_24_kib_at_a_time() -> None:
    """asyncio zero-fills a read buffer of `max_size` for each TLS connection (256 KiB by
    default, 5.8 MiB for the 23 connections of a log fetch); importing the client lowers it."""
    assert asyncio.sslproto.SSLProtocol.max_size == TLS_READ_BUFFER == 24 * 1024
