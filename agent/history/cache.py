"""The account's resolved incidents, cached exactly as the catalog is.

`HistoryCache` is a `CatalogCache` whose snapshot is a `History` (the
resolved incidents of the last `days`, or of all time): loaded over every
page and window the API allows (`PagerDutyClient.list_incidents`), kept on
disk beside the catalog for warm starts, served from memory, refreshed in
the background past its TTL. Its TF-IDF index is built once per copy
(`History.index`), off the event loop.

Resolution notes are not part of the copy: an account has thousands of
incidents and an approval shows three, so `resolutions()` reads the notes
of the shown ones only, concurrently, and keeps them (a resolved
incident's notes rarely change).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.pagerduty.catalog import Catalog, CatalogCache, CatalogFile
from agent.pagerduty.errors import PagerDutyError
from agent.pagerduty.models import Incident, Service
from agent.triage.models import SimilarIncident

from .index import HistoryIndex

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.pagerduty.client import PagerDutyClient

log = logging.getLogger(__name__)

HISTORY_TTL_S = 3_600.0
"""Past incidents change slowly: an hour-old copy is fresh enough to compare against."""
HISTORY_DAYS = 365
MAX_NOTE_CHARS = 400


@dataclass(frozen=True)
class History(Catalog):
    """A snapshot of resolved incidents (a `Catalog` subclass so the catalog's
    cache and file keep it; its catalog collections stay empty)."""

    services: list[Service] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        return {"incidents": [i.model_dump(mode="json", exclude_none=True) for i in self.incidents]}

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, list[dict[str, Any]]]) -> History:
        """The resolved incidents of a snapshot (the sandbox's format or `as_json`'s)."""
        incidents = [Incident.model_validate(i) for i in snapshot.get("incidents", [])]
        return cls(incidents=[i for i in incidents if i.status == "resolved"])

    @cached_property
    def index(self) -> HistoryIndex:
        return HistoryIndex.of(self.incidents)


class HistoryFile(CatalogFile):
    snapshot_type = History


class HistoryCache(CatalogCache):
    """`CatalogCache` for `History`; `index()` and `resolutions()` for triage."""

    file_type = HistoryFile

    def __init__(
        self,
        client: PagerDutyClient,
        ttl_s: float = HISTORY_TTL_S,
        *,
        days: int | None = HISTORY_DAYS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **options: Any,
    ) -> None:
        super().__init__(client, ttl_s, **options)
        self.days = days
        self._now = now
        self._notes: dict[str, str | None] = {}

    async def load(self) -> History:
        pd = self._client
        if self.days is None:
            incidents = await pd.list_incidents(statuses=["resolved"], date_range="all")
        else:
            now = self._now()
            incidents = await pd.list_incidents(
                statuses=["resolved"], since=now - timedelta(days=self.days), until=now
            )
        return History(incidents=incidents)

    async def history(self) -> History:
        copy = await self.get()
        assert isinstance(copy, History)
        return copy

    async def index(self) -> HistoryIndex:
        """The current copy's index; the first call per copy builds it in a thread."""
        copy = await self.history()
        if "index" in copy.__dict__:
            return copy.index
        return await asyncio.to_thread(lambda: copy.index)

    async def resolutions(self, similar: list[SimilarIncident]) -> list[SimilarIncident]:
        """`similar` with each incident's notes as its resolution: one request per
        incident not read before, all at once; a failed read leaves it unknown."""
        if not self._notes:
            self._notes = await asyncio.to_thread(self._read_kept_notes)
        todo = list(dict.fromkeys(s.id for s in similar if s.id not in self._notes))
        found = await asyncio.gather(*(self._read_notes(i) for i in todo))
        for incident_id, notes in zip(todo, found, strict=True):
            if notes is not _UNKNOWN:
                self._notes[incident_id] = notes
        if todo:
            await asyncio.to_thread(self._keep_notes)
        return [
            s.model_copy(update={"resolution": self._notes.get(s.id, s.resolution)})
            for s in similar
        ]

    # A resolved incident's notes rarely change: kept beside the history file (same
    # account check, owner-only), so a fresh CLI process reads none of them again.
    def _notes_path(self) -> Path | None:
        return None if self.file is None else self.file.path.with_suffix(".notes.json")

    def _read_kept_notes(self) -> dict[str, str | None]:
        path = self._notes_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or self.file is None or data.get("account") != self.file.account:
            return {}
        notes = data.get("notes")
        return {str(k): v for k, v in notes.items() if v is None or isinstance(v, str)} \
            if isinstance(notes, dict) else {}

    def _keep_notes(self) -> None:
        path = self._notes_path()
        if path is None or self.file is None:
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"account": self.file.account, "notes": self._notes}, f)
            os.replace(tmp, path)
        except OSError as exc:
            log.info("history: notes not kept on disk: %s", exc)

    async def _read_notes(self, incident_id: str) -> Any:
        try:
            body = await self._client.request("GET", f"/incidents/{incident_id}/notes")
        except PagerDutyError as exc:
            log.info("history: notes of %s not read: %s", incident_id, type(exc).__name__)
            return _UNKNOWN
        notes = [n.get("content", "") for n in body.get("notes", []) if isinstance(n, dict)]
        text = " / ".join(n.strip() for n in notes if n and n.strip())
        if len(text) > MAX_NOTE_CHARS:
            text = text[: MAX_NOTE_CHARS - 1].rstrip() + "…"
        return text or None


_UNKNOWN = object()


def history_cache(settings: Settings, pd: PagerDutyClient) -> HistoryCache:
    """The history cache, on disk beside the catalog's file (same account key)."""
    from agent.pagerduty.embedded import settings_account

    checkpoint = settings.incident_agent_checkpoint
    return HistoryCache(
        pd,
        path=checkpoint.with_name(f"{checkpoint.stem}.history.json"),
        account=settings_account(settings),
    )
