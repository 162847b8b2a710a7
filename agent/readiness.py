"""`/readyz` for a load balancer: this worker can take traffic when its database
(the approvals store: SQLite or Postgres) and, when one is shared, Redis answer.

`/healthz` says the process is up; `/readyz` says its dependencies are. A
failed check names the dependency and the error's type only (a URL or a
driver message may carry a password).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

TIMEOUT_S = 2.0


async def _check(probe: Callable[[], Awaitable[Any]]) -> str:
    try:
        async with asyncio.timeout(TIMEOUT_S):  # not wait_for: see agent/surfaces/webhooks.py
            await probe()
    except Exception as exc:  # any failure means not ready; the type says which
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def readyz(request: Request) -> JSONResponse:
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"ready": False, "checks": {"services": "starting"}}, status_code=503)
    checks = {"database": await _check(services.store.ping)}
    ping = getattr(services.pd.limiter, "ping", None)  # only a limiter shared through Redis has one
    if ping is not None:
        checks["redis"] = await _check(ping)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
