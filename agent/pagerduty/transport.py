"""httpx's HTTP transport on asyncio's own streams instead of anyio's.

httpcore reaches the network through a backend; on asyncio its default is
anyio, whose TLS stream runs the TLS record layer in Python and builds its
attributes on every call. Measured on the TLS sandbox (24 pages of log
entries, 8 connections): 93-115 ms of client CPU through anyio, 57-82 ms
through asyncio's streams (`loop.start_tls`), the same bytes. Everything
above the socket (HTTP/1.1, the pool, timeouts, httpx's errors) is
httpcore's and httpx's as before.

Hand-written, and small, because the library that swaps the transport
wholesale (httpx-aiohttp) maps a connection dropped while the answer was
awaited to `ConnectTimeout`, which the client reads as "never sent": an
approved write would be sent again. Here a failure to connect or handshake
is `ConnectError`/`ConnectTimeout` and a failure after that is a read or
write error, exactly as with anyio.
"""

# ruff: noqa: ASYNC109  # `timeout` parameters are httpcore's backend interface

from __future__ import annotations

import asyncio
import asyncio.sslproto
import ssl
import typing

import httpcore
from httpcore._backends.base import SOCKET_OPTION, AsyncNetworkBackend, AsyncNetworkStream
from httpcore._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
    map_exceptions,
)
from httpcore._utils import is_socket_readable

from agent.pagerduty._http import httpx

__all__ = ["TLS_READ_BUFFER", "AsyncioBackend", "SessionResumingContext", "asyncio_transport"]

TLS_READ_BUFFER = 24 * 1024
"""Bytes asyncio's TLS protocol reads from a socket at a time (its default: 256 KiB).

`asyncio.sslproto.SSLProtocol` zero-fills a read buffer of `max_size` for every TLS
connection as it is made (and its memory BIO grows to what one read brings), and a
log-entry fetch opens 23 at once: peak RSS of bench.vs_official's fetch 54 MiB at
256 KiB, 49 at 32 KiB, and 0.5 less again at 24 KiB. asyncio has no per-connection
setting, so the class attribute is lowered when this module is imported, for every
asyncio TLS connection in the process: it changes only how much ciphertext one
socket read takes (TLS records are at most 16 KiB), not what is read. Not 16 KiB: a
68 KB page then takes 5 reads instead of 3, and the fetch's 24 pages cost 10-11 ms
more client CPU (40 alternating fetches, twice); 24 and 32 KiB take the same reads
(135 and 130 for the fetch) and measured the same CPU (2026-11-28)."""

if asyncio.sslproto.SSLProtocol.max_size > TLS_READ_BUFFER:
    asyncio.sslproto.SSLProtocol.max_size = TLS_READ_BUFFER


class SessionResumingContext(ssl.SSLContext):
    """An SSL context whose new connections resume the last TLS session its connections
    to the same host were given (a session ticket), instead of a full handshake.

    A log-entry fetch opens 23 connections at once, right after the first page came back
    over one: each full handshake took about 1.05 ms of the client's CPU (most of it
    decoding and checking the server's certificate, in OpenSSL 3.0), a resumed one 0.53
    (96 handshakes each way on the TLS sandbox, 2026-11-28), and the server sends and
    signs no certificate for it. Handing a session to a new connection costs 0.37 ms of
    that back (CPython copies it through its DER encoding, certificate included), so the
    client saves about 0.15 ms a connection: handshakes and `wrap_bio` 30.6 -> 26.9 ms a
    fetch, medians of 40 alternating fetches (the sandbox's certificate is one
    self-signed P-256 certificate; a real chain has more to decode and check).

    A resumed session is one a full handshake verified, with this context's CA
    certificates and for this host name (sessions are kept by host name, and OpenSSL
    refuses a session made by another context), so nothing is checked less.
    A server that does not take the ticket (expired, rotated keys) makes a full handshake
    instead; every connection keeps the newest ticket it is given. RFC 8446 asks clients
    not to reuse a TLS 1.3 ticket on several connections, so that a passive observer
    cannot link them; these connections carry the same API key to the same host at the
    same time, which links them anyway.

    asyncio's `start_tls` takes no session, so the context hands it to `wrap_bio`
    (asyncio's TLS protocol calls it for each connection). Made from a context built
    with the usual defaults by `session_resuming`: a context the caller passed in is
    theirs, and is left as it is."""

    tls_sessions: dict[str | None, ssl.SSLSession]

    def wrap_bio(  # type: ignore[override]
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        if session is None and not server_side:
            session = self.tls_sessions.get(server_hostname)
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)


def session_resuming(context: ssl.SSLContext) -> ssl.SSLContext:
    """`context` (one this module's caller made, with `ssl.create_default_context`'s
    defaults for this Python) as a `SessionResumingContext`: the same OpenSSL context,
    with `wrap_bio` handing out the kept sessions. A subclass that adds only a method and
    a dict, so the class can be swapped on the object rather than copying every setting
    (protocols, verify flags, CA store) into a new context.

    Only the standard library's own context is changed; any other is returned as it is.
    `truststore.inject_into_ssl()` (LangGraph's server calls it) makes every new context
    truststore's, which checks certificates against the system's store in a wrapper of
    its own: such contexts make full handshakes, as before."""
    if type(context) is not ssl.SSLContext or ssl.SSLContext.__module__ != "ssl":
        return context
    context.__class__ = SessionResumingContext
    typing.cast(SessionResumingContext, context).tls_sessions = {}
    return context


SESSION_READS = 1
"""Reads of a connection made with a full handshake that look for a session ticket to keep.
TLS 1.3 sends tickets right after the handshake, ahead of the first answer, so by the
first read they are in. Only those connections look, and only so often: reading
`SSLObject.session` costs 0.37 ms (CPython copies a session through its DER encoding,
certificate included), about what a resumed handshake saves, so a server that gives no
tickets costs each new connection one such read and no more."""


class AsyncioStream(AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._sessions: dict[str | None, ssl.SSLSession] | None = None
        self._hostname: str | None = None
        self._session_reads = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with map_exceptions({TimeoutError: ReadTimeout, OSError: ReadError}):
            async with asyncio.timeout(timeout):
                data = await self._reader.read(max_bytes)  # b"" at the end, as httpcore expects
        if self._sessions is not None:
            self._keep_session()
        return data

    def _keep_session(self) -> None:
        """Keep this connection's session for the next ones, once it has a ticket."""
        self._session_reads += 1
        sslobj = self._writer.get_extra_info("ssl_object")
        session = sslobj.session if sslobj is not None else None
        if session is not None and session.has_ticket:
            self._sessions[self._hostname] = session  # type: ignore[index]
            self._sessions = None
        elif self._session_reads >= SESSION_READS:
            self._sessions = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with map_exceptions({TimeoutError: WriteTimeout, OSError: WriteError}):
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass  # the peer went first; the socket is closed either way

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        errors = {TimeoutError: ConnectTimeout, OSError: ConnectError, ssl.SSLError: ConnectError}
        with map_exceptions(errors):  # type: ignore[arg-type]
            try:
                async with asyncio.timeout(timeout):
                    await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
            except BaseException:
                await self.aclose()
                raise
        if isinstance(ssl_context, SessionResumingContext):
            sslobj = self._writer.get_extra_info("ssl_object")
            if sslobj is not None and not sslobj.session_reused:  # no session kept, or a stale one
                self._sessions, self._hostname = ssl_context.tls_sessions, server_hostname
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return is_socket_readable(self._writer.get_extra_info("socket"))
        return None


class AsyncioBackend(AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        with map_exceptions({TimeoutError: ConnectTimeout, OSError: ConnectError}):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)  # asyncio already sets TCP_NODELAY
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def asyncio_transport(
    *, verify: ssl.SSLContext | bool, limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its connection pool on `AsyncioBackend`.

    httpx has no parameter for httpcore's backend, so the pool it built is
    replaced by one with the same settings (tests/client checks that it is).
    The context httpx makes for `verify=True` or `False` resumes TLS sessions
    (`SessionResumingContext`); a context passed in is used as it is (make it
    with `session_resuming` for the same)."""
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
    ssl_context = transport._pool._ssl_context
    if ssl_context is not None and not isinstance(verify, ssl.SSLContext):
        ssl_context = session_resuming(ssl_context)  # httpx made it, with certifi's CAs
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport
