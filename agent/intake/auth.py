"""Who may send, and how much: a bounded body, then a token, an HMAC or a
routing key, every comparison constant-time and every secret a SecretStr.

The body is read in chunks and refused with 413 past the limit, before any
JSON parsing; a `Content-Length` over the limit is refused unread.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr
from starlette.requests import Request


class TooLarge(Exception):
    """The body is over the configured limit."""


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _matches(offered: str, secrets: list[SecretStr]) -> bool:
    matched = False
    for secret in secrets:  # every secret compared, each in constant time
        matched |= hmac.compare_digest(offered.encode(), secret.get_secret_value().encode())
    return matched


def bearer_ok(request: Request, tokens: list[SecretStr]) -> bool:
    """`Authorization: Bearer <token>` with one of `tokens`."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return (
        bool(tokens)
        and scheme.lower() == "bearer"
        and bool(token)
        and _matches(token.strip(), tokens)
    )


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex>`: the signature a sender puts in `X-Signature`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hmac_ok(body: bytes, header: str | None, secrets: list[SecretStr]) -> bool:
    """`X-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under one of `secrets`
    (a bare hex digest is accepted too, as Grafana sends it)."""
    if not header or not secrets:
        return False
    offered = header.strip()
    if not offered.startswith("sha256="):
        offered = "sha256=" + offered
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(
            sign(body, secret.get_secret_value()).encode(), offered.encode()
        )
    return matched


def routing_service(routing_key: str, keys: dict[str, SecretStr]) -> str | None:
    """The service (id or name) whose routing key this is, or None."""
    found = None
    for service, key in keys.items():
        if hmac.compare_digest(routing_key.encode(), key.get_secret_value().encode()):
            found = service
    return found
