"""Complete lists from PagerDuty: every page, every window, past the 10,000 cap.

The REST layer between the transport (`PagerDutyClient.request`) and the
endpoint methods. Three mechanisms, chosen by the table in `endpoints.py`:

- offset pages of 100. The first page asks `total=true`; knowing the total,
  the remaining pages are fetched concurrently (bounded) and yielded in order.
- the 10,000 offset cap: when a run hits it, the run starts again with the
  time window narrowed to the last item seen (`since` for ascending results,
  `until` for descending), de-duplicating by id.
- time windows: an ask longer than the endpoint's `max_span` is split into
  consecutive windows, each listed completely.

Cursor endpoints follow `next_cursor` until it is null.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.pagerduty.endpoints import MAX_OFFSET_WINDOW, PAGE_LIMIT, Endpoint, endpoint_for

__all__ = ["Paginator", "format_time", "parse_time", "split_windows"]

log = logging.getLogger(__name__)

Fetch = Callable[[str, dict[str, Any]], Awaitable[Any]]
TimeLike = datetime | str


def parse_time(value: TimeLike) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string (naive means UTC)."""
    dt = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(value.replace("Z", "+00:00"))
    )
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def format_time(value: TimeLike) -> str:
    """ISO 8601 in UTC with a `Z`, the form PagerDuty documents."""
    return parse_time(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def split_windows(
    since: datetime, until: datetime, span: timedelta
) -> list[tuple[datetime, datetime]]:
    """Consecutive [since, until) windows no longer than `span`: ceil(total / span) of them."""
    if until <= since:
        return [(since, until)]
    count = math.ceil((until - since) / span)
    edges = [since + span * i for i in range(count)] + [until]
    return list(zip(edges, edges[1:], strict=False))


def _key(item: Any) -> str:
    """Identity for de-duplication: the id, or the whole object for id-less rows (on-calls)."""
    if isinstance(item, dict) and item.get("id"):
        return str(item["id"])
    return json.dumps(item, sort_keys=True, default=str)


@dataclass
class _Page:
    items: list[Any]
    offset: int
    more: bool


class Paginator:
    """Lists whole collections through a `fetch(path, params) -> body` callable."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        concurrency: int = 8,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._fetch = fetch
        self.concurrency = max(1, concurrency)
        self._now = now

    async def iter_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        _seen: set[str] | None = None,
    ) -> AsyncIterator[Any]:
        """Every item of a list endpoint, once each, window by window."""
        endpoint = endpoint_for(path)
        params = dict(params or {})
        seen: set[str] = set() if _seen is None else _seen
        start = parse_time(since) if since is not None else None
        end = parse_time(until) if until is not None else None
        if endpoint.paging == "none":
            body = await self._fetch(path, self._with_window(params, start, end))
            for item in _items(body, endpoint):
                if _key(item) not in seen:
                    seen.add(_key(item))
                    yield item
            return
        windows: list[tuple[datetime | None, datetime | None]] = [(start, end)]
        if endpoint.max_span is not None and start is not None and "date_range" not in params:
            windows = list(split_windows(start, end or self._now(), endpoint.max_span))
        for w_since, w_until in windows:
            async for item in self._iter_window(path, endpoint, params, w_since, w_until, seen):
                yield item

    async def list_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        sort_by: str | None = None,
    ) -> list[Any]:
        """`iter_all` collected; sorted by a field (e.g. `created_at`) when asked."""
        items = [i async for i in self.iter_all(path, params, since=since, until=until)]
        if sort_by is not None:
            if endpoint_for(path).newest_first:
                items.reverse()  # so equal times stay in the order they happened
            lowest = datetime.min.replace(tzinfo=UTC)
            items.sort(key=lambda i: parse_time(i[sort_by]) if i.get(sort_by) else lowest)
        return items

    @staticmethod
    def _with_window(
        params: dict[str, Any], since: datetime | None, until: datetime | None
    ) -> dict[str, Any]:
        out = dict(params)
        if since is not None:
            out["since"] = format_time(since)
        if until is not None:
            out["until"] = format_time(until)
        return out

    async def _iter_window(
        self,
        path: str,
        endpoint: Endpoint,
        params: dict[str, Any],
        since: datetime | None,
        until: datetime | None,
        seen: set[str],
    ) -> AsyncIterator[Any]:
        """One window completely; past the offset cap, restart with the window narrowed."""
        if endpoint.paging == "cursor":
            async for item in self._cursor_items(
                path, endpoint, self._with_window(params, since, until)
            ):
                if _key(item) not in seen:
                    seen.add(_key(item))
                    yield item
            return
        while True:
            first_t = last_t = None
            new = 0
            last_page: _Page | None = None
            async for page in self._offset_pages(
                path, endpoint, self._with_window(params, since, until)
            ):
                last_page = page
                for item in page.items:
                    if (
                        endpoint.time_field
                        and isinstance(item, dict)
                        and item.get(endpoint.time_field)
                    ):
                        t = parse_time(item[endpoint.time_field])
                        first_t = t if first_t is None else first_t
                        last_t = t
                    key = _key(item)
                    if key in seen:
                        continue
                    seen.add(key)
                    new += 1
                    yield item
            capped = (
                last_page is not None
                and last_page.more
                and last_page.offset + PAGE_LIMIT >= MAX_OFFSET_WINDOW
            )
            if not capped:
                return
            if first_t is None or last_t is None or first_t == last_t or new == 0:
                log.warning(
                    "%s: stopped at the %d-result offset cap: results cannot be narrowed by time",
                    path,
                    MAX_OFFSET_WINDOW,
                )
                return
            if last_t > first_t:  # ascending: go on from the last time seen
                if "date_range" in params:
                    # `date_range=all` ignores since/until: go on as ordinary windows from here.
                    rest = {k: v for k, v in params.items() if k != "date_range"}
                    async for item in self.iter_all(
                        path, rest, since=last_t, until=until, _seen=seen
                    ):
                        yield item
                    return
                since = last_t
            else:  # descending: go on below the last time seen (+1 s: `until` may be exclusive)
                until = last_t + timedelta(seconds=1)
            log.debug(
                "%s: offset cap reached, continuing with since=%s until=%s", path, since, until
            )

    async def _offset_pages(
        self, path: str, endpoint: Endpoint, params: dict[str, Any]
    ) -> AsyncIterator[_Page]:
        """Pages in order up to the offset cap; concurrent once the total is known."""
        first = await self._fetch(
            path, {**params, "limit": PAGE_LIMIT, "offset": 0, "total": "true"}
        )
        page = _page(first, endpoint, 0)
        yield page
        if not page.more:
            return
        offset = PAGE_LIMIT
        total = first.get("total") if isinstance(first, dict) else None
        if isinstance(total, int):
            offsets = list(range(PAGE_LIMIT, min(total, MAX_OFFSET_WINDOW), PAGE_LIMIT))
            sem = asyncio.Semaphore(self.concurrency)

            async def get(o: int) -> Any:
                async with sem:
                    return await self._fetch(path, {**params, "limit": PAGE_LIMIT, "offset": o})

            tasks = [asyncio.create_task(get(o)) for o in offsets]
            try:
                for o, task in zip(offsets, tasks, strict=True):
                    page = _page(await task, endpoint, o)
                    yield page
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            offset = (offsets[-1] + PAGE_LIMIT) if offsets else PAGE_LIMIT
        # Sequential: no total, or the collection grew while we paged.
        while page.more and offset + PAGE_LIMIT <= MAX_OFFSET_WINDOW:
            page = _page(
                await self._fetch(path, {**params, "limit": PAGE_LIMIT, "offset": offset}),
                endpoint,
                offset,
            )
            yield page
            offset += PAGE_LIMIT

    async def _cursor_items(
        self, path: str, endpoint: Endpoint, params: dict[str, Any]
    ) -> AsyncIterator[Any]:
        cursor: str | None = None
        while True:
            query = {**params, "limit": PAGE_LIMIT}
            if cursor:
                query["cursor"] = cursor
            body = await self._fetch(path, query)
            for item in _items(body, endpoint):
                yield item
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
                return


def _items(body: Any, endpoint: Endpoint) -> list[Any]:
    if isinstance(body, list):
        return body
    items = body.get(endpoint.wrapper) if isinstance(body, dict) else None
    return list(items or [])


def _page(body: Any, endpoint: Endpoint, offset: int) -> _Page:
    more = bool(body.get("more")) if isinstance(body, dict) else False
    return _Page(_items(body, endpoint), offset, more)
