"""`incident-agent sandbox serve`: the PagerDuty sandbox as a foreground server."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from .app import DEFAULT_TOKENS, create_app
from .clock import Clock
from .errors import SnapshotError
from .faults import Faults
from .server import free_port, load_state, self_signed_cert, uvicorn_config

app = typer.Typer(help="A stateful PagerDuty REST API v2 sandbox on loopback, loaded from an account snapshot.")


@app.callback()
def main() -> None:
    """PagerDuty sandbox commands."""


@app.command()
def serve(
    account: Annotated[Path, typer.Option("--account", help="Account snapshot JSON (collection -> list of API objects).")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8765,
    token: Annotated[list[str], typer.Option("--token", help="Account-level API token to accept (repeatable).")] = None,  # type: ignore[assignment]
    user_token: Annotated[list[str], typer.Option("--user-token", help="EMAIL=TOKEN: a user-level token (repeatable).")] = None,  # type: ignore[assignment]
    seed: Annotated[int, typer.Option(help="Seed for injected faults, for reproducible runs.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Added latency per API request, in ms.")] = 0.0,
    jitter_ms: Annotated[float, typer.Option(help="Random extra latency up to this many ms.")] = 0.0,
    error_rate: Annotated[float, typer.Option(help="Fraction of API requests answered with 500.")] = 0.0,
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a self-signed certificate (path printed).")] = False,
    persist: Annotated[Path | None, typer.Option("--persist", help="Load from and save every write to this file.")] = None,
    debug_endpoints: Annotated[bool, typer.Option(
        "--debug-endpoints/--no-debug-endpoints",
        help="Serve /_sandbox/state, /clock and /faults (they always need a token the sandbox accepts).",
    )] = True,
) -> None:
    """Serve the sandbox until interrupted; prints the base URL."""
    tokens: dict[str, str | None] = {t: None for t in token or []} or dict(DEFAULT_TOKENS)
    for pair in user_token or []:
        email, sep, value = pair.partition("=")
        if not sep or not email or not value:
            _fail(f"--user-token must be EMAIL=TOKEN, got {pair!r}")
        tokens[value] = email
    try:
        state = load_state(account, clock=Clock(), persist_path=persist)
        faults = Faults(latency_ms / 1000, jitter_ms / 1000, error_rate, seed)
        asgi = create_app(state, tokens=tokens, faults=faults, debug_endpoints=debug_endpoints)
    except (SnapshotError, ValueError) as e:
        _fail(str(e))
    port = port or free_port(host)
    with tempfile.TemporaryDirectory(prefix="pd-sandbox-") as tmp:
        cert = self_signed_cert(tmp) if tls else None
        server = uvicorn.Server(uvicorn_config(asgi, host=host, port=port, cert=cert))
        scheme = "https" if tls else "http"
        typer.echo(f"PagerDuty sandbox: {scheme}://{host}:{port}")
        if cert:
            typer.echo(f"TLS certificate: {cert[0]}")
        typer.echo(f"tokens: {', '.join('…' + t[-4:] for t in tokens)}")
        server.run()


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


if __name__ == "__main__":
    sys.exit(app())
