"""The schedule's memory: when it last looked and which post-mortems it wrote.

A SQLite file beside the checkpoint file (`<checkpoint>.postmortems.sqlite`),
separate from the checkpointer's so the two never contend for one lock; or,
with INCIDENT_AGENT_DATABASE_URL, the shared Postgres database
(`agent.approvals.store.database` decides). A
post-mortem is recorded after its file is in place, keyed by incident id:
each incident is written once, even across restarts; a crash between the
file and the row rewrites the same file once more, never a second copy.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from agent.approvals.store.database import open_database

if TYPE_CHECKING:
    from agent.config import Settings

DURATION = re.compile(r"(\d+)\s*(s|m|h|d|w)")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `1h30m`, `2d`, `1w` -> timedelta."""
    cleaned = text.strip().lower().replace("min", "m")
    parts = DURATION.findall(cleaned)
    if not parts or DURATION.sub("", cleaned).strip():
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 1h, 1h30m, 1d)")
    return timedelta(seconds=sum(int(n) * UNITS[u] for n, u in parts))


def parse_since(text: str, now: datetime) -> datetime:
    """An ISO time (naive = UTC), or a duration meaning that long ago."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def default_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(f"{checkpoint.stem}.postmortems.sqlite")


class ScheduleStore:
    def __init__(self, path: Path, settings: Settings | None = None) -> None:
        self._db = open_database(settings, path, "postmortems", keep_open=True)

    def last_until(self) -> datetime | None:
        """The end of the last completed run's window: where the next one starts."""
        until = self._db.run(lambda c: c.execute(text(
            "SELECT until FROM postmortem_runs ORDER BY id DESC LIMIT 1")).scalar())
        return datetime.fromisoformat(until) if until else None

    def written(self, incident_id: str) -> bool:
        return self._db.run(lambda c: c.execute(text(
            "SELECT 1 FROM postmortems_written WHERE incident_id = :i"), {"i": incident_id}
        ).first()) is not None

    def record_written(self, incident_id: str, resolved_at: str | None, path: Path) -> None:
        self._db.run(lambda c: c.execute(text(
            "INSERT INTO postmortems_written (incident_id, resolved_at, path, written_at)"
            " VALUES (:i, :r, :p, :at) ON CONFLICT (incident_id) DO NOTHING"),
            {"i": incident_id, "r": resolved_at, "p": str(path), "at": datetime.now(UTC).isoformat()}))

    def record_run(self, since: datetime, until: datetime, written: int) -> None:
        self._db.run(lambda c: c.execute(text(
            "INSERT INTO postmortem_runs (since, until, finished_at, written)"
            " VALUES (:since, :until, :at, :n)"),
            {"since": since.isoformat(), "until": until.isoformat(),
             "at": datetime.now(UTC).isoformat(), "n": written}))

    def close(self) -> None:
        self._db.close()
