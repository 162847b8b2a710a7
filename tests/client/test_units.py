"""Pure parts of the client: the window splitter, path templates, the rate limiter's arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import agent.pagerduty as pagerduty
from agent.pagerduty.endpoints import ENDPOINTS, endpoint_for, template_of
from agent.pagerduty.pagination import format_time, split_windows
from agent.pagerduty.ratelimit import RequestLimiter, WindowLimiter


def test_all_is_sorted_and_complete() -> None:
    assert pagerduty.__all__ == sorted(pagerduty.__all__)
    for name in pagerduty.__all__:
        assert hasattr(pagerduty, name), name


def test_split_windows_covers_the_span_in_ceil_span_over_six_months() -> None:
    since = datetime(2025, 1, 1, tzinfo=UTC)
    until = datetime(2026, 3, 1, tzinfo=UTC)  # 14 months
    windows = split_windows(since, until, timedelta(days=180))
    assert len(windows) == math.ceil((until - since) / timedelta(days=180)) == 3
    assert windows[0][0] == since and windows[-1][1] == until
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert all(end - start <= timedelta(days=180) for start, end in windows)


def test_templates_and_quirks_table() -> None:
    assert template_of("/incidents/Q1AB2C3/log_entries") == "/incidents/{id}/log_entries"
    assert template_of("/users/me") == "/users/me"
    assert (
        endpoint_for("/incidents/Q1AB2C3/log_entries") is ENDPOINTS["/incidents/{id}/log_entries"]
    )
    assert endpoint_for("/audit/records").paging == "cursor"
    assert endpoint_for("/business_services").wrapper == "business_services"


def test_format_time_is_utc_z() -> None:
    assert format_time("2026-01-02T03:04:05+01:00") == "2026-01-02T02:04:05Z"


def _replay(limiter: WindowLimiter, requests: int, arrive_s, answer_s) -> list[tuple[float, float]]:
    """Drive the limiter on its fake clock: admit whatever it lets through, answer each request
    `answer_s(i)` after its admission. Returns (admitted, arrived at the server) per request."""
    clock = limiter._clock.__self__  # type: ignore[attr-defined]  # the FakeClock below
    out: list[tuple[float, float]] = []
    answers: list[float] = []  # pending answer times
    while len(out) < requests:
        while len(out) < requests and limiter.try_acquire():
            i = len(out)
            out.append((clock.now, clock.now + arrive_s(i)))
            answers.append(clock.now + answer_s(i))
        answers.sort()
        due = [answers[0]] if answers else []
        if limiter.free() <= 0 and limiter._stamps:
            due.append(limiter._stamps[0] + limiter.span_s)
        clock.now = min(due)
        while answers and answers[0] <= clock.now:
            answers.pop(0)
            limiter.done()
    return out


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now


def _max_in_any_window(times: list[float], span: float) -> int:
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + span) for i, t in enumerate(times))


def test_the_window_is_spent_at_once_then_paced_never_over_the_rate() -> None:
    clock = FakeClock()
    limiter = WindowLimiter(960, clock=clock.time)
    rtt = 0.05
    sent = _replay(limiter, 3000, arrive_s=lambda i: rtt / 2, answer_s=lambda i: rtt)
    admitted = [a for a, _ in sent]
    assert admitted == sorted(admitted)
    assert sum(1 for t in admitted if t == 0) == 960  # the whole window at once
    assert _max_in_any_window([s for _, s in sent], 60.0) <= 960
    # No idle budget: the 961st goes the moment the first answer is a window old.
    assert admitted[960] == rtt + 60.0
    assert admitted[1919] == rtt + 60.0 and admitted[1920] == 2 * (rtt + 60.0)


def test_requests_that_reach_the_server_late_never_meet_a_429() -> None:
    """The budget case of bench.vs_official under load: the first of a burst reached the
    server seconds after its admission, and a limiter counting from admissions sent the
    961st inside the server's window. Counted from answers, however late they arrive:
    the sandbox's own window (and any sliding 60 s) never refuses one."""
    from agent.pagerduty.sandbox.ratelimit import RateLimiter

    clock = FakeClock()
    limiter = WindowLimiter(120, clock=clock.time)
    late = [3.0 if i % 120 == 0 else 0.01 for i in range(600)]  # some arrive 3 s late
    sent = _replay(limiter, 600, arrive_s=lambda i: late[i], answer_s=lambda i: late[i] + 0.01)
    arrivals = sorted(s for _, s in sent)
    assert _max_in_any_window(arrivals, 60.0) <= 120
    server_clock = [0.0]
    server = RateLimiter(120, now=lambda: server_clock[0])
    for at in arrivals:
        server_clock[0] = at
        assert server.take("key").allowed


def test_a_hundred_requests_are_never_held_back() -> None:
    """The reused-client case: four fetches of 25 pages are a tenth of the budget."""
    clock = FakeClock()
    limiter = WindowLimiter(960, clock=clock.time)
    for _ in range(4):
        assert all(limiter.try_acquire() for _ in range(25))
        clock.now += 0.3
        for _ in range(25):
            limiter.done()
    assert limiter.waited_s == 0 and limiter.in_window == 100


async def test_waiters_are_served_in_order_when_the_oldest_answer_leaves_the_window() -> None:
    import asyncio
    import time

    limiter = WindowLimiter(900, window_s=0.2)  # 3 a 0.2 s window, real clock
    assert limiter.limit == 3
    for _ in range(3):
        await limiter.acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        await limiter.acquire()
        order.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0.05)
    assert order == []  # three in flight, none answered: nothing frees a slot
    waiters[1].cancel()  # a caller that gives up leaves no slot taken
    started = time.monotonic()
    limiter.done()
    await asyncio.wait_for(waiters[0], 2)
    assert time.monotonic() - started >= 0.19  # a window after the answer
    limiter.done()
    await asyncio.wait_for(waiters[2], 2)
    assert order == [0, 2]
    assert limiter.in_window == 3  # three in flight again: the cancelled waiter took none
    assert limiter.waited_s > 0


def test_the_client_takes_a_shared_limiter() -> None:
    class Shared:
        rate_per_minute = 960.0

        async def acquire(self) -> None:
            return None

    shared = Shared()
    assert isinstance(shared, RequestLimiter)
    client = pagerduty.PagerDutyClient("https://api.example.test", "t0ken-value", limiter=shared)
    assert client.limiter is shared


async def test_cursor_endpoints_follow_next_cursor_to_the_end() -> None:
    """The sandbox has no cursor endpoint yet, so the paginator's seam (`fetch`) serves one."""
    from agent.pagerduty.pagination import Paginator

    records = [
        {"id": f"R{i:04d}", "execution_time": f"2026-01-01T00:{i % 60:02d}:00Z"} for i in range(250)
    ]
    asked: list[dict] = []

    async def fetch(path: str, params: dict) -> dict:
        asked.append(params)
        start = int(params.get("cursor") or 0)
        end = start + params["limit"]
        return {
            "records": records[start:end],
            "limit": params["limit"],
            "next_cursor": str(end) if end < len(records) else None,
        }

    got = [r async for r in Paginator(fetch).iter_all("/audit/records")]
    assert [r["id"] for r in got] == [r["id"] for r in records]
    assert [p.get("cursor") for p in asked] == [None, "100", "200"]
    assert all("offset" not in p for p in asked)


async def test_remaining_pages_are_spread_over_the_fewest_rounds_and_connections() -> None:
    """22 pages after the first with 16 allowed: two rounds of 11, not 16 then 6."""
    import asyncio

    from agent.pagerduty.pagination import Paginator

    items = [{"id": f"T{i:04d}"} for i in range(2_300)]
    flight = {"now": 0, "peak": 0}

    async def fetch(path: str, params: dict) -> dict:
        flight["now"] += 1
        flight["peak"] = max(flight["peak"], flight["now"])
        await asyncio.sleep(0.01)
        flight["now"] -= 1
        start = params["offset"]
        page = items[start : start + params["limit"]]
        return {"teams": page, "more": start + len(page) < len(items), "total": len(items)}

    got = await Paginator(fetch, concurrency=16).list_all("/teams")
    assert [t["id"] for t in got] == [t["id"] for t in items]
    assert flight["peak"] == 11
    assert (await Paginator(fetch, concurrency=24).list_all("/teams")) == got
    assert flight["peak"] == 22


def test_log_entry_and_incident_times_share_the_one_utc_zone() -> None:
    """Compared tens of thousands of times when a long log is sorted and walked: one zone
    object makes each comparison a plain field compare."""
    from datetime import UTC

    from agent.pagerduty.models import LogEntry, adapter_for

    raw = '{"id": "R1", "type": "annotate_log_entry", "created_at": "2026-06-01T14:00:00+02:00"}'
    entry = adapter_for(LogEntry).validate_json(raw)
    assert entry.created_at.tzinfo is UTC and entry.created_at.hour == 12
    naive = adapter_for(LogEntry).validate_python(
        {"id": "R2", "type": "x", "created_at": "2026-06-01T12:00:00"})
    assert naive.created_at == entry.created_at and naive.created_at.tzinfo is UTC
