"""A client's connections after its first resume that connection's TLS session: a log fetch
opens a connection per page at once, and a full handshake is most of each one's CPU."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import truststore

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.sandbox import Clock, Faults, running_sandbox
from agent.pagerduty.sandbox.server import self_signed_cert
from agent.pagerduty.transport import SessionResumingContext, session_resuming
from tests.client.conftest import TOKEN
from tests.conftest import SANDBOX_NOW


def _noisy_incident(sb: Any, entries: int = 450) -> str:
    service = sb.state.list("services")[0]["id"]
    incident = sb.state.add_incident(service, "chatty", log=False)
    sb.state.add_log_entries(incident["id"], entries, start=SANDBOX_NOW, step_s=1)
    return str(incident["id"])


def _resumed(pd: PagerDutyClient) -> list[bool]:
    """For each connection in the client's pool: was its TLS session resumed?"""
    pool = pd._http._transport._pool  # type: ignore[attr-defined]
    return [
        c._connection._network_stream.get_extra_info("ssl_object").session_reused
        for c in pool.connections
    ]


async def test_the_pages_after_the_first_resume_its_session() -> None:
    slow = Faults(latency_s=0.05)  # the 4 pages after the first are in flight together
    with running_sandbox(clock=Clock(SANDBOX_NOW), faults=slow, tls=True) as sb:
        incident = _noisy_incident(sb)
        async with PagerDutyClient(sb.base_url, TOKEN, verify=sb.cert_path) as pd:
            entries = await pd.incident_log_entries(incident)
            resumed = _resumed(pd)
    assert len(entries) == 450
    # The first page's connection made the one full handshake; of the 4 pages after it,
    # one went on that connection again and 3 on new ones, which resumed its session.
    assert sorted(resumed) == [False, True, True, True]


@contextlib.asynccontextmanager
async def _tls_server(
    cert: tuple[str, str], resumed: list[bool], tickets: int = 2
) -> AsyncIterator[str]:
    """A TLS server on loopback answering every request with an empty page of services;
    `resumed` gets, for each connection, whether its handshake resumed a session. Each
    server has its own context, so its own session-ticket key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    context.num_tickets = tickets  # session tickets sent after each TLS 1.3 handshake
    body = json.dumps({"services": [], "more": False, "limit": 100, "offset": 0}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        resumed.append(writer.get_extra_info("ssl_object").session_reused)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    async with server:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_a_server_that_refuses_the_session_gets_a_full_handshake(tmp_path) -> None:
    """Two servers with one certificate and their own ticket keys: the session the first
    gave is offered to the second, which cannot read it. That handshake is a full one (the
    certificate checked again) and the session it gives is kept in place of the other."""
    cert = self_signed_cert(tmp_path)
    first_seen: list[bool] = []
    second_seen: list[bool] = []
    context = session_resuming(ssl.create_default_context(cafile=cert[0]))
    async with _tls_server(cert, first_seen) as first, _tls_server(cert, second_seen) as second:
        async with PagerDutyClient(first, TOKEN, verify=context) as pd:
            assert await pd.list_services() == []
        kept = context.tls_sessions["127.0.0.1"]
        async with PagerDutyClient(first, TOKEN, verify=context) as pd:
            assert await pd.list_services() == []
        async with PagerDutyClient(second, TOKEN, verify=context) as pd:
            assert await pd.list_services() == []
        assert context.tls_sessions["127.0.0.1"] is not kept
        async with PagerDutyClient(second, TOKEN, verify=context) as pd:
            assert await pd.list_services() == []
    assert first_seen == [False, True]
    assert second_seen == [False, True]


async def test_a_server_that_gives_no_tickets_gets_full_handshakes(tmp_path) -> None:
    cert = self_signed_cert(tmp_path)
    seen: list[bool] = []
    context = session_resuming(ssl.create_default_context(cafile=cert[0]))
    async with _tls_server(cert, seen, tickets=0) as url:
        for _ in range(3):
            async with PagerDutyClient(url, TOKEN, verify=context) as pd:
                assert await pd.list_services() == []
    assert seen == [False, False, False]
    assert context.tls_sessions == {}  # nothing kept that could not be resumed


async def test_a_context_passed_in_is_used_as_it_is() -> None:
    with running_sandbox(clock=Clock(SANDBOX_NOW), tls=True) as sb:
        context = ssl.create_default_context(cafile=sb.cert_path)
        async with PagerDutyClient(sb.base_url, TOKEN, verify=context) as pd:
            assert await pd.list_services()
            pool_context = pd._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert type(context) is ssl.SSLContext and pool_context is context


def test_contexts_the_client_makes_resume_sessions() -> None:
    for verify in (True, False):
        pd = PagerDutyClient("https://api.example.test", TOKEN, verify=verify)
        context = pd._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert isinstance(context, SessionResumingContext) and context.tls_sessions == {}
    default = ssl.create_default_context()
    assert context.verify_mode == ssl.CERT_NONE  # verify=False stays unverified
    made = PagerDutyClient("https://api.example.test", TOKEN)._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    # The defaults of a context made the usual way: only the class differs.
    assert (made.verify_mode, made.check_hostname, made.options, made.minimum_version) == (
        default.verify_mode,
        default.check_hostname,
        default.options,
        default.minimum_version,
    )


def test_truststores_contexts_are_left_as_they_are() -> None:
    """LangGraph's server injects truststore into `ssl`: every context made after that is
    truststore's (certificates checked against the system's store), and stays so."""
    truststore.inject_into_ssl()
    try:
        pd = PagerDutyClient("https://api.example.test", TOKEN)
        context = pd._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert type(context) is truststore.SSLContext
        assert session_resuming(context) is context and type(context) is truststore.SSLContext
    finally:
        truststore.extract_from_ssl()
    assert ssl.SSLContext.__module__ == "ssl"
