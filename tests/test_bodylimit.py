"""Request-body cap (agent.bodylimit) on the sandbox and on `serve`: a 50 MB body gets 413
before it is read, declared or chunked, and the server's memory stays flat.

Raw sockets on loopback, because the point is what the server does while a client is still
sending: the client writes the body in 64 KiB pieces and stops at the server's answer.
"""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from pydantic import SecretStr
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp

from agent.config import Settings
from agent.pagerduty.sandbox import running_sandbox
from agent.surfaces.server import create_app

FIFTY_MB = 50 * 1024 * 1024
PIECE = b"x" * 65536


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _post(port: int, path: str, *, chunked: bool, extra: bytes = b"") -> tuple[int, bytes, int]:
    """POST a 50 MB body; returns (status, response bytes, body bytes sent before the answer)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n").encode() + extra
    head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {FIFTY_MB}\r\n\r\n".encode()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        s.setblocking(False)
        answer = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and b"\r\n\r\n" not in answer:
            try:
                answer += s.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionError:
                break
            if sent < FIFTY_MB and b"\r\n\r\n" not in answer:
                piece = (b"%x\r\n" % len(PIECE) + PIECE + b"\r\n") if chunked else PIECE
                try:
                    sent += s.send(piece)
                except (BlockingIOError, ConnectionError):
                    time.sleep(0.001)
        s.setblocking(True)
        try:
            while True:
                more = s.recv(65536)
                if not more:
                    break
                answer += more
        except (OSError, TimeoutError):
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer, sent


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


@contextmanager
def _serving(app) -> Iterator[int]:
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_sandbox_refuses_50_mb_before_reading_it(dev_account, chunked):
    with running_sandbox(dev_account) as sb:
        port = int(sb.base_url.rsplit(":", 1)[1])
        before = _peak_rss_mib()
        status, answer, sent = _post(port, "/incidents/PINCD01/notes", chunked=chunked,
                                     extra=b"Authorization: Token token=sandbox-token\r\nFrom: x@example.com\r\n")
        assert status == 413, answer[:300]
        error = json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
        assert error["message"] == "Request Entity Too Large" and error["code"] == 2001
        assert sent < FIFTY_MB / 4  # refused long before the end of the body
        assert _peak_rss_mib() - before < 30  # flat: nowhere near the 50 MB that was offered


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/webhooks/pagerduty", "/slack/events"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_serve_refuses_50_mb_on_webhook_and_slack_endpoints(tmp_path, path, chunked):
    settings = Settings(_env_file=None, incident_agent_checkpoint=tmp_path / "agent.sqlite",
                        pagerduty_webhook_secrets=[SecretStr("whsec-test")],
                        slack_signing_secret=SecretStr("slack-signing-test"))
    app = create_app(settings)
    # What the lifespan installs for /slack/events (bolt's Starlette adapter, which reads the
    # body), without starting the agent behind it: the limit is in front of both endpoints.
    app.state.slack_handler = AsyncSlackRequestHandler(AsyncApp(token="xoxb-test", signing_secret="slack-signing-test"))
    with _serving(app) as port:
        before = _peak_rss_mib()
        status, answer, sent = _post(port, path, chunked=chunked)
        assert status == 413, answer[:300]
        assert sent < FIFTY_MB / 4
        assert _peak_rss_mib() - before < 30
