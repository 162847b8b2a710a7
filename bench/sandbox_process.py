"""The sandbox in its own process, for measuring clients from outside.

    with sandbox_process(latency_ms=20, tls=True) as sb:
        sb.base_url, sb.cert_path, sb.incident_id, sb.tokens, sb.requests()

A client and a server in one Python process share one GIL, so each slows the
other and the comparison measures the pair. Here the server has its own
process (and core): the demo account plus one incident with `entries` log
entries, served over TLS with injected latency, each of `tokens` API keys with
its own 960/min window (a fresh budget per run). `/_bench/requests` answers
how many API requests arrived, 429s included: the count PagerDuty would see.

`window_s` below 60 shrinks the server's rate-limit window (same count per
window) so the budget case fits in CI; the figures say when it was used.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class SandboxProcess:
    base_url: str
    cert_path: str | None
    incident_id: str
    entries: int
    tokens: list[str]
    rate_per_minute: int
    window_s: float
    _used: int = field(default=0, repr=False)

    def fresh_token(self) -> str:
        """An API key no run has used: its rate-limit window is untouched."""
        token = self.tokens[self._used % len(self.tokens)]
        self._used += 1
        return token

    @functools.cached_property
    def _control(self) -> httpx.Client:
        """One client for the benchmark's own calls (counts, faults), kept for the run.

        A client per call made an SSL context per call (42 ms of CPU loading CA
        certificates) and left it to the cyclic collector, which freed it in the middle
        of whatever was being measured next: 3-5 ms inside a timed resume, the p99 of
        bench.paused_threads (78 ms with it, 48 without, same code)."""
        verify: Any = True
        if self.cert_path:
            import ssl

            verify = ssl.create_default_context(cafile=self.cert_path)
        return httpx.Client(base_url=self.base_url, verify=verify, timeout=30)

    def _get(self, path: str) -> Any:
        return self._control.get(path).json()

    def requests(self) -> int:
        """API requests the sandbox has answered so far (429s and 5xx included)."""
        return int(self._get("/_bench/requests")["total"])

    def storm_429(self, count: int, reset_s: int) -> None:
        self._control.post(
            "/_sandbox/faults",
            json={"storm_429": {"count": count, "reset_s": reset_s}},
            headers={"Authorization": f"Token token={self.tokens[0]}"},
        ).raise_for_status()


@contextlib.contextmanager
def sandbox_process(
    *,
    latency_ms: float = 20.0,
    entries: int = 2400,
    tls: bool = True,
    tokens: int = 400,
    rate_per_minute: int = 960,
    window_s: float = 60.0,
) -> Iterator[SandboxProcess]:
    """Start the sandbox process, wait for its address, stop it at the end of the block."""
    args = [
        sys.executable, "-m", "bench.sandbox_process",
        "--latency-ms", str(latency_ms), "--entries", str(entries), "--tokens", str(tokens),
        "--rate", str(rate_per_minute), "--window-s", str(window_s),
    ]
    if tls:
        args.append("--tls")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process exited before it was ready")
        info = json.loads(line)
        sb = SandboxProcess(**info)
        try:
            yield sb
        finally:
            if "_control" in sb.__dict__:
                sb._control.close()
    finally:
        if proc.stdin:
            proc.stdin.close()  # the child stops when its stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=10)


def _serve(args: argparse.Namespace) -> None:
    import threading

    import agent.pagerduty.sandbox.app as sandbox_app
    from agent.pagerduty.sandbox import Clock, Faults
    from agent.pagerduty.sandbox.ratelimit import RateLimiter
    from agent.pagerduty.sandbox.server import (
        _Server,
        free_port,
        load_state,
        self_signed_cert,
        uvicorn_config,
    )

    if args.window_s != 60:
        # The sandbox's limiter takes its window as a parameter; the app builds it with
        # the default. Only this benchmark process sees the shorter window.
        sandbox_app.RateLimiter = functools.partial(  # type: ignore[misc,assignment]
            RateLimiter, window_s=args.window_s
        )
    state = load_state(None, clock=Clock(NOW))
    service_id = state.list("services")[0]["id"]
    incident = state.add_incident(service_id, "bench: noisy incident", created_at=NOW, log=False)
    state.add_log_entries(incident["id"], args.entries, start=NOW, step_s=1)
    tokens = [f"bench-token-{n:04d}" for n in range(args.tokens)]
    faults = Faults(latency_s=args.latency_ms / 1000, jitter_s=0, error_rate=0, seed=0)
    # The sandbox's limiter allows `rate_per_minute` per window: scale it with the window.
    per_window = max(1, int(args.rate * args.window_s / 60))
    inner = sandbox_app.create_app(
        state, tokens=dict.fromkeys(tokens), faults=faults, rate_per_minute=per_window
    )

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/requests":
            body = json.dumps({"total": state.request_count()}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await inner(scope, receive, send)

    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        cert = self_signed_cert(tmp) if args.tls else None
        port = free_port()
        server = _Server(uvicorn_config(app, host="127.0.0.1", port=port, cert=cert))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise SystemExit("the sandbox server did not start")
            threading.Event().wait(0.02)
        scheme = "https" if args.tls else "http"
        print(json.dumps({
            "base_url": f"{scheme}://127.0.0.1:{port}",
            "cert_path": cert[0] if cert else None,
            "incident_id": incident["id"],
            "entries": len(state.log_entries(incident["id"])),
            "tokens": tokens,
            "rate_per_minute": args.rate,
            "window_s": args.window_s,
        }), flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or dies)
        server.should_exit = True
        thread.join(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--entries", type=int, default=2400)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--rate", type=int, default=960)
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    _serve(args)


if __name__ == "__main__":
    main()
