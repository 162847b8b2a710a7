"""Serve the sandbox on loopback: uvicorn in a background thread, optionally over TLS.

`running_sandbox` is a plain (sync) context manager so it works from sync and
async tests alike: the server has its own thread and event loop.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx
import uvicorn

from .app import create_app
from .clock import Clock
from .faults import Faults
from .state import SandboxState


@dataclass
class RunningSandbox:
    base_url: str
    state: SandboxState
    faults: Faults
    clock: Clock
    cert_path: str | None = None


def demo_account_path() -> Path:
    """The bundled demo account (agent/data/demo-account.json)."""
    return Path(str(resources.files("agent") / "data" / "demo-account.json"))


def load_state(account, *, clock: Clock | None = None, persist_path=None) -> SandboxState:
    """A SandboxState from a path, a dict, an existing state, or None (the demo account)."""
    if isinstance(account, SandboxState):
        if clock is not None:
            account.clock = clock
        return account
    clock = clock or Clock()
    if account is None:  # the bundled demo, dated as of the sandbox's clock
        from agent.pagerduty.demo import demo_account

        account = demo_account(clock.now())
    return SandboxState.from_snapshot(account, clock=clock, persist_path=persist_path)


def self_signed_cert(directory: str | os.PathLike) -> tuple[str, str]:
    """A fresh key and certificate for 127.0.0.1 and localhost; returns (cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "incident-agent sandbox")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    cert_path, key_path = directory / "sandbox-cert.pem", directory / "sandbox-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_path, 0o600)
    return str(cert_path), str(key_path)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a background thread must not take signals
        pass


def uvicorn_config(app, *, host: str, port: int, cert: tuple[str, str] | None) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
        ssl_certfile=cert[0] if cert else None, ssl_keyfile=cert[1] if cert else None,
    )


@contextmanager
def running_sandbox(
    account=None,
    *,
    clock: Clock | None = None,
    faults: Faults | None = None,
    tokens: dict[str, str | None] | None = None,
    rate_per_minute: int = 960,
    tls: bool = False,
    persist_path: str | os.PathLike | None = None,
    host: str = "127.0.0.1",
    debug_endpoints: bool = True,
) -> Iterator[RunningSandbox]:
    """Serve an account on a free loopback port until the block ends."""
    state = load_state(account, clock=clock, persist_path=persist_path)
    faults = faults or Faults()
    app = create_app(state, tokens=tokens, faults=faults, rate_per_minute=rate_per_minute,
                     debug_endpoints=debug_endpoints)
    with tempfile.TemporaryDirectory(prefix="pd-sandbox-") as tmp:
        cert = self_signed_cert(tmp) if tls else None
        port = free_port(host)
        server = _Server(uvicorn_config(app, host=host, port=port, cert=cert))
        thread = threading.Thread(target=server.run, name=f"pd-sandbox-{port}", daemon=True)
        thread.start()
        scheme = "https" if tls else "http"
        base_url = f"{scheme}://{host}:{port}"
        try:
            _wait_until_up(base_url, cert[0] if cert else None, thread)
            yield RunningSandbox(base_url, state, faults, state.clock, cert[0] if cert else None)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _wait_until_up(base_url: str, cert_path: str | None, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the sandbox server at {base_url} stopped while starting")
        try:
            verify = ssl.create_default_context(cafile=cert_path) if cert_path else True
            httpx.get(f"{base_url}/_sandbox/clock", verify=verify, timeout=1)  # any answer (401) = up
            return
        except httpx.TransportError:
            time.sleep(0.02)
    raise RuntimeError(f"the sandbox server at {base_url} did not answer within 10 s")
