"""Pure parts of the client: the window splitter, path templates, the bucket's arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import agent.pagerduty as pagerduty
from agent.pagerduty.endpoints import ENDPOINTS, endpoint_for, template_of
from agent.pagerduty.pagination import format_time, split_windows
from agent.pagerduty.ratelimit import TokenBucket


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


def test_bucket_never_admits_more_than_the_rate_in_any_minute() -> None:
    now = [0.0]
    bucket = TokenBucket(960, clock=lambda: now[0])
    # Reserve a long burst at t=0 and replay the send times it hands out.
    send_times = sorted(bucket.reserve() for _ in range(3000))
    assert sum(1 for t in send_times if t == 0) == int(bucket.capacity) == 32
    for i, t in enumerate(send_times):
        in_window = sum(1 for u in send_times[i:] if u < t + 60)
        assert in_window <= 960
    # Steady state: the budget minus the burst.
    assert bucket.refill_per_s * 60 == 960 - 32


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
