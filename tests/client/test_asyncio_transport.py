"""The client's transport on asyncio streams: real sockets, and httpx's errors as before.

What matters to the write path is which error a failure becomes: only a
request that never reached the server may be a connect error (`write` resends
only those); a connection dropped after the request was sent must not be one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from agent.pagerduty import PagerDutyClient
from agent.pagerduty.client import MAX_CONCURRENCY
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.pagerduty.sandbox.server import free_port
from agent.pagerduty.transport import AsyncioBackend, asyncio_transport
from tests.client.conftest import TOKEN
from tests.conftest import SANDBOX_NOW

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


def test_the_client_pages_through_the_asyncio_backend() -> None:
    pd = PagerDutyClient("https://api.example.test", TOKEN)
    pool = pd._http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool._network_backend, AsyncioBackend)
    assert pool._max_connections == MAX_CONCURRENCY


@pytest.fixture
async def hangs_up() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads a request and closes the connection without answering."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", received


async def test_a_connection_dropped_after_the_request_is_not_a_connect_error(hangs_up) -> None:
    url, received = hangs_up
    async with httpx.AsyncClient(transport=asyncio_transport(verify=True, limits=LIMITS)) as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.post(f"{url}/incidents", json={"incident": {}})
    assert received and received[0].startswith(b"POST /incidents")
    assert not isinstance(caught.value, httpx.ConnectError | httpx.ConnectTimeout)
    assert isinstance(caught.value, httpx.RemoteProtocolError | httpx.ReadError)


async def test_nothing_listening_and_a_refused_certificate_are_connect_errors() -> None:
    async with httpx.AsyncClient(transport=asyncio_transport(verify=True, limits=LIMITS)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/services")
    with running_sandbox(clock=Clock(SANDBOX_NOW), tls=True) as sb:
        # The sandbox's certificate is its own: with the system's CAs the handshake fails.
        untrusted = ssl.create_default_context()
        async with httpx.AsyncClient(
            transport=asyncio_transport(verify=untrusted, limits=LIMITS)
        ) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"{sb.base_url}/services")


async def test_tls_pages_arrive_whole_over_few_connections() -> None:
    with running_sandbox(clock=Clock(SANDBOX_NOW), tls=True) as sb:
        service = sb.state.list("services")[0]["id"]
        incident = sb.state.add_incident(service, "chatty", log=False)
        sb.state.add_log_entries(incident["id"], 450, start=SANDBOX_NOW, step_s=1)
        async with PagerDutyClient(
            sb.base_url, TOKEN, verify=sb.cert_path, page_concurrency=2
        ) as pd:
            entries = await pd.incident_log_entries(incident["id"])
            again = await pd.incident_log_entries(incident["id"])  # kept-alive connections
    assert len(entries) == len(again) == len(sb.state.log_entries(incident["id"]))
    assert [e.created_at for e in entries] == sorted(e.created_at for e in entries)
