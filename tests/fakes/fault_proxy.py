"""A fault proxy on loopback in front of the sandbox: hold, drop or 502 a chosen request.

The sandbox's own faults fail a request before it is applied; what breaks
exactly-once is the other side of the wire: a write that landed but whose
answer never came back, or a client killed while its write is in flight.
This proxy puts those moments under a test's control:

- `before`: the request is held before it reaches PagerDuty; on release it is
  dropped (a 502), never forwarded: the write did not land.
- `after`: the request is forwarded (the write lands), then the answer is held;
  on release it is dropped (a 502): the write landed, its answer was lost.
- `fail`: the request is forwarded, the answer replaced by a 502;
- `flaky`: the same for a seeded share of the matching requests.

`Rule.reached` is set when a matching request is at the chosen point, so a
test can `kill -9` the client exactly there. One lock over the rules; the
routes only forward.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.pagerduty.sandbox.server import free_port

Point = Literal["before", "after", "fail"]
BAD_GATEWAY = Response(b'{"error": {"message": "Bad Gateway (fault proxy)", "code": 5000}}',
                       status_code=502, media_type="application/json")


@dataclass
class Rule:
    method: str
    path: str
    """A regular expression matched against the whole path."""
    point: Point
    times: int = 1
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.fullmatch(self.path, path) is not None

    def release(self) -> None:
        self.released.set()


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self._rules: list[Rule] = []
        self._flaky: list[tuple[str, re.Pattern[str], float, random.Random]] = []
        self._lock = threading.Lock()
        self.base_url = ""

    def add(self, method: str, path: str, point: Point, times: int = 1) -> Rule:
        rule = Rule(method, path, point, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def flaky(self, method: str, path: str, *, rate: float, rng: random.Random) -> None:
        """From now on, `rate` of the matching requests land and answer 502 (seeded)."""
        with self._lock:
            self._flaky.append((method, re.compile(path), rate, rng))

    def clear(self) -> None:
        with self._lock:
            for rule in self._rules:
                rule.release()
            self._rules.clear()
            self._flaky.clear()

    def _take(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    rule.seen += 1
                    return rule
        return None

    async def _wait(self, rule: Rule) -> None:
        rule.reached.set()
        await asyncio.to_thread(rule.released.wait)  # set from the test's thread

    async def forward(self, request: Request) -> Response:
        rule = self._take(request.method, request.url.path)
        if rule is not None and rule.point == "before":
            await self._wait(rule)
            return BAD_GATEWAY
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            upstream = await client.request(
                request.method, request.url.path, params=request.query_params.multi_items(),
                content=await request.body(), headers=headers,
            )
        if rule is not None and rule.point == "after":
            await self._wait(rule)
            return BAD_GATEWAY
        with self._lock:
            lost = any(m == request.method and p.fullmatch(request.url.path) and rng.random() < rate
                       for m, p, rate, rng in self._flaky)
        if lost or (rule is not None and rule.point == "fail"):
            if rule is not None:
                rule.reached.set()
            return BAD_GATEWAY
        keep = {k: v for k, v in upstream.headers.items()
                if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")}
        return Response(upstream.content, status_code=upstream.status_code, headers=keep)


@contextmanager
def running_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    app = Starlette(routes=[Route("/{path:path}", proxy.forward,
                                  methods=["GET", "POST", "PUT", "DELETE"])])
    port = free_port("127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"fault-proxy-{port}", daemon=True)
    thread.start()
    proxy.base_url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{proxy.base_url}/_proxy_up", timeout=1)
            break
        except httpx.TransportError:
            threading.Event().wait(0.05)
    try:
        yield proxy
    finally:
        proxy.clear()
        server.should_exit = True
        thread.join(timeout=10)
