"""One line for a database or Redis that cannot be used, for every command and `serve`.

A wrong INCIDENT_AGENT_DATABASE_URL (closed port, wrong password, no such database)
or an unreachable INCIDENT_AGENT_REDIS_URL surfaces as a driver exception deep in a
store or a pool; the user needs the setting it came from and the driver's first line,
with the URL's password as `***` (libpq and redis-py never print the password, but
the URL we add would).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from agent.config import Settings

CONNECT_TIMEOUT_S = 5


def explain(exc: BaseException, settings: Settings) -> str | None:
    """The line for `exc` when it comes from the database or Redis; None otherwise."""
    if from_database(exc):
        return f"cannot use the database {_database(settings)}: {_first_line(exc)}"
    if _from_redis(exc):
        return (f"cannot reach Redis {_redis(settings)} (INCIDENT_AGENT_REDIS_URL): "
                f"{_first_line(exc)}")
    return None


def database_problem(settings: Settings) -> str | None:
    """None when the store can be used (`database.check`), else its one line: `serve` and
    `doctor` ask first, so a wrong URL or an unwritable file is a line, not a traceback."""
    from agent.approvals.store.database import check

    try:
        check(settings, CONNECT_TIMEOUT_S)
    except OSError as exc:
        return f"cannot use the database {_database(settings)}: {exc}"
    except Exception as exc:
        line = explain(exc, settings)
        if line is None:
            raise
        return line
    return None


async def redis_check(settings: Settings) -> tuple[Literal["ok", "fail"], str]:
    """`doctor`'s line for INCIDENT_AGENT_REDIS_URL (the shared PagerDuty budget)."""
    import asyncio

    from agent.pagerduty.shared_limit import RedisLimiter, limiter_for

    limiter = limiter_for(settings)
    assert isinstance(limiter, RedisLimiter)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await limiter.ping()
    except Exception as exc:  # any failure: the line says which
        line = explain(exc, settings) or f"cannot reach Redis {_redis(settings)}: {type(exc).__name__}"
        return "fail", (f"{line}; until it answers each worker keeps 1/"
                        f"{settings.incident_agent_workers} of the PagerDuty budget on its own")
    return "ok", f"{_redis(settings)} answers: one PagerDuty budget for every worker"


def from_database(exc: BaseException) -> bool:
    """The database (Postgres through psycopg or SQLAlchemy, or its pool) failed `exc`."""
    import psycopg
    from psycopg_pool import PoolTimeout
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, psycopg.Error | DBAPIError | PoolTimeout)


def _from_redis(exc: BaseException) -> bool:
    try:
        from limits.errors import StorageError
        from redis.exceptions import ConnectionError, TimeoutError
    except ImportError:  # pragma: no cover - both come with the package
        return False
    return isinstance(exc, ConnectionError | TimeoutError | StorageError)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or getattr(exc, "storage_error", None) or exc
    text = str(cause).strip()
    line = text.splitlines()[0].strip() if text else type(cause).__name__
    return line.removeprefix("connection failed: ").strip()


def _database(settings: Settings) -> str:
    from agent.approvals.store.database import where

    return where(settings)


def _redis(settings: Settings) -> str:
    url = settings.incident_agent_redis_url
    if url is None:
        return "(not set)"
    try:
        parts = urlsplit(url.get_secret_value())
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(INCIDENT_AGENT_REDIS_URL)"
    auth = "***@" if parts.password or parts.username else ""
    return f"{parts.scheme}://{auth}{parts.hostname or '?'}{port}{parts.path}"
