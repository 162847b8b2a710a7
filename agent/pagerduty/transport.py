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

__all__ = ["TLS_READ_BUFFER", "AsyncioBackend", "asyncio_transport"]

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


class AsyncioStream(AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with map_exceptions({TimeoutError: ReadTimeout, OSError: ReadError}):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)  # b"" at the end, as httpcore expects

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
    replaced by one with the same settings (tests/client checks that it is)."""
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
    ssl_context = transport._pool._ssl_context
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport
