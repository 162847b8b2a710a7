"""The transport layer over real HTTP: headers, retries, the 429 wait, typed errors, secrecy."""

from __future__ import annotations

import logging
import time
import traceback

import pytest

from agent.pagerduty import (
    InvalidInput,
    NotFound,
    PagerDutyClient,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
)
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.pagerduty.sandbox.server import free_port
from tests.client.conftest import TOKEN, RecordingSleep
from tests.conftest import SANDBOX_NOW


async def test_429_storm_is_waited_out_for_exactly_ratelimit_reset(sandbox, pd, recording_sleep):
    sandbox.faults.storm_429(3, reset_s=7)
    services = await pd.list_services()
    assert len(services) == 16
    assert recording_sleep.waits == [7, 7, 7]  # the header's value, not a guess
    assert pd.counter.rate_limited == 3
    assert pd.counter[("GET", "/services")] == 4


async def test_429_wait_is_really_spent(sandbox):
    sleep = RecordingSleep(real=True)
    async with PagerDutyClient(sandbox.base_url, TOKEN, sleep=sleep) as pd:
        sandbox.faults.storm_429(1, reset_s=1)
        started = time.perf_counter()
        await pd.list_priorities()
        assert time.perf_counter() - started >= 1.0
    assert sleep.waits == [1]


async def test_5xx_burst_is_retried_with_bounded_backoff(sandbox, pd, recording_sleep):
    sandbox.faults.burst_5xx(3)
    incident = await pd.get_incident("PINCD01")
    assert incident.incident_number == 1201
    assert pd.counter.retries == 3
    assert len(recording_sleep.waits) == 3
    for attempt, wait in enumerate(recording_sleep.waits):
        assert 0 <= wait <= min(8.0, 0.5 * 2**attempt)


async def test_retries_are_bounded_and_the_error_is_typed(sandbox, recording_sleep):
    async with PagerDutyClient(sandbox.base_url, TOKEN, max_retries=2, sleep=recording_sleep) as pd:
        sandbox.faults.burst_5xx(10, status=502)
        with pytest.raises(ServerError) as caught:
            await pd.get_incident("PINCD01")
        assert caught.value.status_code == 502
        assert caught.value.message == "Internal Error (injected fault)"
        assert "Internal Error (injected fault)" in str(caught.value)
        assert pd.counter.total == 3  # the first try and two retries
        sandbox.faults.clear()

        sandbox.faults.storm_429(10, reset_s=2)
        with pytest.raises(RateLimited) as limited:
            await pd.list_teams()
        assert limited.value.status_code == 429
        assert limited.value.message == "Rate Limit Exceeded"
        assert recording_sleep.waits[-2:] == [2, 2]
        sandbox.faults.clear()


async def test_a_post_is_repeated_after_a_5xx_only_once_pagerduty_shows_it_did_not_land(sandbox, pd):
    sender = (await pd.list_users())[0].email
    sandbox.faults.burst_5xx(1)  # refused before it reached the notes
    note = await pd.add_note("PINCD01", "once only", from_=sender)
    assert note.content == "once only"
    assert pd.counter[("GET", "/incidents/{id}/notes")] == 1  # looked before sending again
    assert pd.counter[("POST", "/incidents/{id}/notes")] == 2
    assert [n["content"] for n in sandbox.state.notes("PINCD01")].count("once only") == 1

    # A write that fails every time ends as the typed error, after as many looks.
    sandbox.faults.burst_5xx(100)
    with pytest.raises(ServerError):
        await pd.add_note("PINCD01", "never lands", from_=sender)
    sandbox.faults.clear()
    assert "never lands" not in [n["content"] for n in sandbox.state.notes("PINCD01")]


async def test_create_with_incident_key_is_retried_and_lands_once(sandbox, pd):
    users = await pd.list_users()
    sender = users[0].email
    sandbox.faults.burst_5xx(2)
    first = await pd.create_incident(
        "PWEB001", "Checkout is slow", incident_key="thread-42", from_=sender
    )
    # 503, look (503, retried), not there: send again, which lands.
    assert pd.counter[("POST", "/incidents")] == 2
    # A resumed graph repeats the create: same incident, no duplicate page.
    again = await pd.create_incident(
        "PWEB001", "Checkout is slow", incident_key="thread-42", from_=sender
    )
    assert again.id == first.id
    keyed = sandbox.state.list_incidents(incident_key="thread-42", date_range="all")
    assert [i["id"] for i in keyed] == [first.id]


async def test_connection_errors_are_retried_then_typed(recording_sleep):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with PagerDutyClient(url, TOKEN, max_retries=2, sleep=recording_sleep) as pd:
        with pytest.raises(TransportError) as caught:
            await pd.list_services()
    assert len(recording_sleep.waits) == 2
    assert caught.value.method == "GET" and caught.value.url == f"{url}/services"


async def test_typed_errors_carry_the_api_message(sandbox, pd):
    with pytest.raises(NotFound) as not_found:
        await pd.get_incident("PNOSUCH")
    assert not_found.value.status_code == 404 and not_found.value.code == 2100
    assert not_found.value.message == "Not Found"

    with pytest.raises(InvalidInput) as invalid:
        await pd.list_incidents(statuses=["on-fire"])
    assert invalid.value.status_code == 400 and invalid.value.code == 2001
    assert any("Status must be" in e for e in invalid.value.errors)
    assert "Status must be" in str(invalid.value)

    with pytest.raises(InvalidInput) as past_cap:
        await pd.request("GET", "/incidents", params={"offset": 9950, "limit": 100})
    assert "must not exceed 10000" in str(past_cap.value)

    async with PagerDutyClient(sandbox.base_url, "not-a-key-0000") as wrong:
        with pytest.raises(Unauthorized) as unauthorized:
            await wrong.list_services()
    assert unauthorized.value.status_code == 401
    assert unauthorized.value.message == "Authentication failed"
    assert unauthorized.value.request is not None and unauthorized.value.response is not None


async def test_headers_follow_pagerduty(sandbox, pd):
    sandbox.faults.clear()
    # The sandbox refuses a wrong Accept and answers writes only with a valid From.
    note = await pd.add_note("PINCD01", "hello", from_=(await pd.list_users())[0].email)
    assert note.content == "hello"
    with pytest.raises(InvalidInput):
        await pd.add_note("PINCD01", "no From")  # an account key must say who acts


PLANTED = "tok-SECRET-PLANTED-1234"


async def test_a_planted_token_never_appears_in_logs_errors_or_reprs(caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore
    seen: list[str] = []
    with running_sandbox(None, clock=Clock(SANDBOX_NOW), tokens={PLANTED: None}) as sb:
        sleep = RecordingSleep()
        async with PagerDutyClient(sb.base_url, PLANTED, max_retries=2, sleep=sleep) as pd:
            seen += [repr(pd), str(pd), repr(pd.counter), repr(pd.limiter)]
            sb.faults.storm_429(1, reset_s=1)
            sb.faults.burst_5xx(1)
            await pd.list_services()
            for call in (
                pd.get_incident("PNOSUCH"),
                pd.list_incidents(statuses=["bogus"]),
                pd.add_note("Q0FB2041", "x"),  # the bundled demo's incident #2041; no From
            ):
                with pytest.raises(Exception) as caught:
                    await call
                err = caught.value
                seen += [str(err), repr(err), "".join(traceback.format_exception(err))]
                seen += [repr(err.request), repr(err.response)]
                seen += [repr(err.request.headers)]
        async with PagerDutyClient(sb.base_url, PLANTED[:-1] + "9", token_type="bearer") as bad:
            with pytest.raises(Unauthorized) as caught:
                await bad.list_services()
            seen += [str(caught.value), repr(caught.value), repr(bad)]
    url = f"http://127.0.0.1:{free_port()}"
    async with PagerDutyClient(url, PLANTED, max_retries=0) as gone:
        with pytest.raises(TransportError) as caught:
            await gone.list_users()
        seen += [
            str(caught.value),
            repr(caught.value),
            "".join(traceback.format_exception(caught.value)),
        ]
    assert caught.value.__cause__ is not None
    seen += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert any("GET" in s for s in seen)  # something was actually logged and captured
    for text in seen:
        assert PLANTED not in text
        assert "SECRET-PLANTED" not in text
    assert repr(PagerDutyClient("http://x", PLANTED)).count("1234") == 1  # the last four only
