"""The errors the sandbox raises, shaped the way PagerDuty reports them.

    SandboxError      an API rule was broken: becomes `{"error": {...}}` with a status
    SnapshotError     an account snapshot is unusable: refused before serving

PagerDuty's codes used here: 2000 internal error, 2001 invalid input,
2006 authentication failed, 2010 access denied, 2100 not found.
"""

from __future__ import annotations

from typing import Any

INTERNAL_ERROR = 2000
INVALID_INPUT = 2001
AUTHENTICATION_FAILED = 2006
ACCESS_DENIED = 2010
NOT_FOUND = 2100


class SnapshotError(ValueError):
    """A snapshot that cannot be served; the message names file, collection, index and id."""


class SandboxError(Exception):
    """A PagerDuty API error: HTTP status, PagerDuty code, message and detail strings."""

    def __init__(self, status: int, code: int, message: str, errors: list[str] | None = None):
        super().__init__(f"{status} {code} {message}: {errors or []}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors or [])

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "code": self.code, "errors": self.errors}}


def invalid(*errors: str) -> SandboxError:
    """400 / 2001, PagerDuty's answer to any malformed or unacceptable input."""
    return SandboxError(400, INVALID_INPUT, "Invalid Input Provided", list(errors))


def not_found(what: str | None = None) -> SandboxError:
    return SandboxError(404, NOT_FOUND, "Not Found", [what] if what else [])
