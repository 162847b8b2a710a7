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

With a `model`, each page is validated once, from the bytes PagerDuty sent,
into that model (`fetch_raw`): no dicts in between, and the items carry
parsed times for the cap, the de-duplication and the sort. Without one, items
are the decoded JSON.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs it (not typing's) before 3.12

from agent.pagerduty.endpoints import MAX_OFFSET_WINDOW, PAGE_LIMIT, Endpoint, endpoint_for

__all__ = ["Paginator", "format_time", "parse_time", "split_windows"]

log = logging.getLogger(__name__)

Fetch = Callable[[str, dict[str, Any]], Awaitable[Any]]
"""`fetch(path, params)`: the decoded JSON body of one GET."""
FetchRaw = Callable[[str, dict[str, Any]], Awaitable[bytes]]
"""`fetch_raw(path, params)`: the bytes of one GET's body."""
TimeLike = datetime | str
M = TypeVar("M")


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
    if isinstance(item, dict):
        return str(item["id"]) if item.get("id") else json.dumps(item, sort_keys=True, default=str)
    oid = getattr(item, "id", None)  # a model, or a dataclass (`LogEntry`)
    if oid:
        return str(oid)
    if isinstance(item, BaseModel):
        return item.model_dump_json()
    return json.dumps(item, sort_keys=True, default=str)


def _time(item: Any, name: str) -> datetime | None:
    """The item's `name` field as a datetime (models and dataclasses hold it parsed already)."""
    if isinstance(item, dict):
        return parse_time(item[name]) if item.get(name) else None
    value = getattr(item, name, None)
    return value if isinstance(value, datetime) else None


@functools.cache
def _page_adapter(wrapper: str, model: type) -> TypeAdapter[Any]:
    """A page of `model`s (a model or a pydantic-validated dataclass) under `wrapper` (`{"log_entries": [...], "more", "total"}`)."""
    fields = {wrapper: list[model], "more": bool, "total": int | None, "next_cursor": str | None}  # type: ignore[valid-type]
    # The wrapper key is data (endpoints.py), so the TypedDict is made, not declared.
    return TypeAdapter(TypedDict(f"{model.__name__}Page", fields, total=False))  # type: ignore[operator]


@dataclass
class _Page:
    items: list[Any]
    offset: int
    more: bool


class Paginator:
    """Lists whole collections through `fetch(path, params) -> body` (or `fetch_raw`, bytes)."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        fetch_raw: FetchRaw | None = None,
        concurrency: int = 8,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._fetch = fetch
        self._fetch_raw = fetch_raw
        self.concurrency = max(1, concurrency)
        self._now = now

    async def _body(self, path: str, params: dict[str, Any], model: type | None) -> Any:
        """One page's body: decoded JSON, or with a `model`, validated once into models."""
        if model is None:
            return await self._fetch(path, params)
        adapter = _page_adapter(endpoint_for(path).wrapper, model)
        if self._fetch_raw is not None:
            return adapter.validate_json(await self._fetch_raw(path, params))
        return adapter.validate_python(await self._fetch(path, params))

    async def iter_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        model: type | None = None,
    ) -> AsyncIterator[Any]:
        """Every item of a list endpoint, once each, window by window."""
        async for batch in self._batches(path, params, since=since, until=until, model=model):
            for item in batch:
                yield item

    async def _batches(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        model: type | None = None,
        _seen: set[str] | None = None,
    ) -> AsyncIterator[list[Any]]:
        """`iter_all` a page at a time: each batch the page's items not seen before."""
        endpoint = endpoint_for(path)
        params = dict(params or {})
        seen: set[str] = set() if _seen is None else _seen
        start = parse_time(since) if since is not None else None
        end = parse_time(until) if until is not None else None
        if endpoint.paging == "none":
            body = await self._body(path, self._with_window(params, start, end), model)
            yield _new(_items(body, endpoint), seen)
            return
        windows: list[tuple[datetime | None, datetime | None]] = [(start, end)]
        if endpoint.max_span is not None and start is not None and "date_range" not in params:
            windows = list(split_windows(start, end or self._now(), endpoint.max_span))
        for w_since, w_until in windows:
            async for batch in self._iter_window(
                path, endpoint, params, w_since, w_until, seen, model
            ):
                yield batch

    async def list_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        sort_by: str | None = None,
        model: type[M] | None = None,
    ) -> list[Any]:
        """`iter_all` collected; sorted by a field (e.g. `created_at`) when asked."""
        items: list[Any] = []
        async for batch in self._batches(path, params, since=since, until=until, model=model):
            items += batch
        if sort_by is not None:
            if endpoint_for(path).newest_first:
                items.reverse()  # so equal times stay in the order they happened
            lowest = datetime.min.replace(tzinfo=UTC)
            field = sort_by
            items.sort(key=lambda i: _time(i, field) or lowest)
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
        model: type | None,
    ) -> AsyncIterator[list[Any]]:
        """One window completely; past the offset cap, restart with the window narrowed."""
        if endpoint.paging == "cursor":
            async for items in self._cursor_pages(
                path, endpoint, self._with_window(params, since, until), model
            ):
                yield _new(items, seen)
            return
        while True:
            first_t = last_t = None
            new = 0
            last_page: _Page | None = None
            async for page in self._offset_pages(
                path, endpoint, self._with_window(params, since, until), model
            ):
                last_page = page
                if endpoint.time_field and page.items:
                    # Only the run's first and last times matter (to go on past the cap).
                    times = (_time(i, endpoint.time_field) for i in page.items)
                    first_t = first_t or next((t for t in times if t is not None), None)
                    last_t = next(
                        (t for i in reversed(page.items) if (t := _time(i, endpoint.time_field))),
                        last_t,
                    )
                batch = _new(page.items, seen)
                new += len(batch)
                if batch:
                    yield batch
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
                    async for batch in self._batches(
                        path, rest, since=last_t, until=until, model=model, _seen=seen
                    ):
                        yield batch
                    return
                since = last_t
            else:  # descending: go on below the last time seen (+1 s: `until` may be exclusive)
                until = last_t + timedelta(seconds=1)
            log.debug(
                "%s: offset cap reached, continuing with since=%s until=%s", path, since, until
            )

    async def _offset_pages(
        self, path: str, endpoint: Endpoint, params: dict[str, Any], model: type | None
    ) -> AsyncIterator[_Page]:
        """Pages in order up to the offset cap; concurrent once the total is known."""
        first = await self._body(
            path, {**params, "limit": PAGE_LIMIT, "offset": 0, "total": "true"}, model
        )
        page = _page(first, endpoint, 0)
        yield page
        if not page.more:
            return
        offset = PAGE_LIMIT
        total = first.get("total") if isinstance(first, dict) else None
        if isinstance(total, int):
            offsets = list(range(PAGE_LIMIT, min(total, MAX_OFFSET_WINDOW), PAGE_LIMIT))
            # As few round trips as `concurrency` allows, over as few connections as they need
            # (23 pages: one round of 23 with 24 allowed; two of 12, not 16 + 7, with 16).
            rounds = max(1, math.ceil(len(offsets) / self.concurrency))
            sem = asyncio.Semaphore(max(1, math.ceil(len(offsets) / rounds)))

            async def get(o: int) -> Any:
                async with sem:
                    return await self._body(
                        path, {**params, "limit": PAGE_LIMIT, "offset": o}, model
                    )

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
                await self._body(path, {**params, "limit": PAGE_LIMIT, "offset": offset}, model),
                endpoint,
                offset,
            )
            yield page
            offset += PAGE_LIMIT

    async def _cursor_pages(
        self, path: str, endpoint: Endpoint, params: dict[str, Any], model: type | None
    ) -> AsyncIterator[list[Any]]:
        cursor: str | None = None
        while True:
            query = {**params, "limit": PAGE_LIMIT}
            if cursor:
                query["cursor"] = cursor
            body = await self._body(path, query, model)
            yield _items(body, endpoint)
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
                return


def _new(items: list[Any], seen: set[str]) -> list[Any]:
    """The items not seen before (recording them as seen)."""
    out = []
    for item in items:
        key = _key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _items(body: Any, endpoint: Endpoint) -> list[Any]:
    if isinstance(body, list):
        return body
    items = body.get(endpoint.wrapper) if isinstance(body, dict) else None
    return list(items or [])


def _page(body: Any, endpoint: Endpoint, offset: int) -> _Page:
    more = bool(body.get("more")) if isinstance(body, dict) else False
    return _Page(_items(body, endpoint), offset, more)
