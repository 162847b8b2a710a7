"""The pools' connection check, without a round trip on every use.

psycopg_pool's `check_connection` sends an empty query before lending a
connection: one round trip per use, about 30 of them per resume (every
checkpoint read and write, every store call). Its `max_idle` only shrinks the
pool, it does not skip checks. So the check here looks first at what costs
nothing, and runs the library's own check only when there is a reason to:

- the socket has something to read while the connection is idle: a server
  that restarts, terminates the backend (`pg_terminate_backend`) or hits
  `idle_session_timeout` sends its FATAL error and closes the socket, which
  makes it readable (an idle connection is sent nothing else: we never LISTEN);
- the connection has been idle for more than `RECHECK_IDLE_S` (a firewall or
  NAT may have dropped it silently), or was never returned to the pool yet.

A connection that fails the check is discarded by the pool, which lends
another or connects again: a restart still costs a reconnect, not an error.
"""

from __future__ import annotations

import select
import time
import weakref
from typing import Any

from psycopg import pq

RECHECK_IDLE_S = 30.0
"""A connection idle longer than this is checked with a round trip before it is lent."""

_returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _needs_round_trip(conn: Any) -> bool:
    if conn.closed or conn.broken or conn.pgconn.status != pq.ConnStatus.OK:
        raise ConnectionError("the connection is closed")
    returned = _returned.get(conn)
    if returned is None or time.monotonic() - returned > RECHECK_IDLE_S:
        return True
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return bool(readable)


def check(conn: Any) -> None:
    """`ConnectionPool(check=…)`: raises if the connection is not fit to lend."""
    from psycopg_pool import ConnectionPool

    if _needs_round_trip(conn):
        ConnectionPool.check_connection(conn)


async def acheck(conn: Any) -> None:
    """`AsyncConnectionPool(check=…)`."""
    from psycopg_pool import AsyncConnectionPool

    if _needs_round_trip(conn):
        await AsyncConnectionPool.check_connection(conn)


def returned(conn: Any) -> None:
    """`ConnectionPool(reset=…)`: when the connection came back (the check's idle clock)."""
    _returned[conn] = time.monotonic()


async def areturned(conn: Any) -> None:
    """`AsyncConnectionPool(reset=…)`."""
    returned(conn)
