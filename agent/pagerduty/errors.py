"""What can go wrong talking to PagerDuty, as types a caller can catch.

    PagerDutyError                 any failed call; carries method, url, status, code,
     │                             message, errors, and the httpx request/response
     ├── Unauthorized              401: the token is wrong or revoked
     ├── Forbidden                 403, or code 2010: the token may not do this
     ├── AccountExpired            code 2012 (any status): the account cannot be used
     ├── NotFound                  404, or code 2100
     ├── InvalidInput              400, or code 2001: the request was wrong, `errors` says how
     ├── RateLimited               429 still answered after every retry
     ├── ServerError               5xx still answered after every retry
     └── TransportError            no answer: connection refused, reset, timed out

The message is the API's own (`error.message` and `error.errors`), never a
header: the token travels only in the request headers, and httpx masks those
in its reprs.
"""

from __future__ import annotations

from typing import Any

from agent.pagerduty._http import httpx

__all__ = [
    "AccountExpired",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PagerDutyError",
    "RateLimited",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "error_from_response",
]


class PagerDutyError(Exception):
    """A PagerDuty call that did not succeed."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
        code: int | None = None,
        errors: list[str] | None = None,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.message = message
        self.method = method
        self.url = url
        self.status_code = status_code
        self.code = code
        self.errors = list(errors or [])
        self.request = request
        self.response = response
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        status = f"{self.status_code} " if self.status_code is not None else ""
        code = f"(code {self.code}) " if self.code is not None else ""
        details = f" [{'; '.join(self.errors)}]" if self.errors else ""
        return f"{where}{status}{code}{self.message}{details}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r}, errors={self.errors!r}, method={self.method!r}, "
            f"url={self.url!r})"
        )


class Unauthorized(PagerDutyError):
    """401: the token is missing, wrong or revoked."""


class Forbidden(PagerDutyError):
    """403 / 2010: the token is valid but may not do this."""


class AccountExpired(PagerDutyError):
    """2012: the account is expired or locked."""


class NotFound(PagerDutyError):
    """404 / 2100: no such object (or not visible to this token)."""


class InvalidInput(PagerDutyError):
    """400 / 2001: the API refused the request's content; `errors` lists why."""


class RateLimited(PagerDutyError):
    """429 after every retry: the key's request budget is spent for now."""


class ServerError(PagerDutyError):
    """5xx after every retry."""


class TransportError(PagerDutyError):
    """No HTTP answer at all (connection or timeout) after every retry."""


# PagerDuty's error codes win over the HTTP status: 2012 arrives as 402 or 403.
_BY_CODE: dict[int, type[PagerDutyError]] = {
    2001: InvalidInput,
    2010: Forbidden,
    2012: AccountExpired,
    2100: NotFound,
}
_BY_STATUS: dict[int, type[PagerDutyError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_from_response(response: httpx.Response) -> PagerDutyError:
    """The typed error for a non-2xx response, with the API's message and details."""
    code: int | None = None
    errors: list[str] = []
    message = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        message = str(err.get("message") or message)
        raw_code = err.get("code")
        code = (
            int(raw_code) if isinstance(raw_code, int | str) and str(raw_code).isdigit() else None
        )
        raw_errors = err.get("errors") or []
        errors = [str(e) for e in raw_errors] if isinstance(raw_errors, list) else [str(raw_errors)]
    elif isinstance(body, dict) and isinstance(body.get("error"), str):
        message = body["error"]
    status = response.status_code
    cls = _BY_CODE.get(code or 0) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else PagerDutyError
    request = response.request
    return cls(
        message,
        method=request.method,
        url=str(request.url),
        status_code=status,
        code=code,
        errors=errors,
        request=request,
        response=response,
    )


_WHAT_TO_DO: dict[type[PagerDutyError], str] = {
    Unauthorized: "PagerDuty refused the token: check PAGERDUTY_API_TOKEN (and PAGERDUTY_TOKEN_TYPE)",
    Forbidden: "the token may not do this: it needs a key or user with write access",
    AccountExpired: "the PagerDuty account is expired or locked",
    RateLimited: "PagerDuty kept answering 429 (rate limited) through every retry; try again in a minute",
    ServerError: "PagerDuty kept answering with a server error through every retry",
    TransportError: "PagerDuty could not be reached",
}


def plain(exc: PagerDutyError) -> str:
    """One line a human can act on: what happened, in words, then the API's own message."""
    hint = next((h for cls, h in _WHAT_TO_DO.items() if isinstance(exc, cls)), "")
    if isinstance(exc, InvalidInput) and any("from" in e.lower() for e in [exc.message, *exc.errors]):
        hint = "PagerDuty needs to know who acts: set PAGERDUTY_FROM to the email of a user of the account"
    status = f"{exc.status_code} " if exc.status_code is not None else ""
    details = f" [{'; '.join(exc.errors)}]" if exc.errors else ""
    said = f"{status}{exc.message}{details}"
    if isinstance(exc, TransportError) and exc.url:
        said = f"{exc.message} ({exc.url.split('/', 3)[:3][-1] if '//' in exc.url else exc.url})"
    return f"{hint} ({said})" if hint else said
