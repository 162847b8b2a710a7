"""The schedule's memory: when it last looked and which post-mortems it wrote.

A SQLite file beside the checkpoint file (`<checkpoint>.postmortems.sqlite`),
separate from the checkpointer's so the two never contend for one lock. A
post-mortem is recorded after its file is in place, keyed by incident id:
each incident is written once, even across restarts; a crash between the
file and the row rewrites the same file once more, never a second copy.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS postmortem_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    since TEXT NOT NULL,
    until TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    written INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS postmortems_written (
    incident_id TEXT PRIMARY KEY,
    resolved_at TEXT,
    path TEXT NOT NULL,
    written_at TEXT NOT NULL
);
"""
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
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def last_until(self) -> datetime | None:
        """The end of the last completed run's window: where the next one starts."""
        row = self._db.execute("SELECT until FROM postmortem_runs ORDER BY id DESC LIMIT 1").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def written(self, incident_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM postmortems_written WHERE incident_id = ?",
                                (incident_id,)).fetchone() is not None

    def record_written(self, incident_id: str, resolved_at: str | None, path: Path) -> None:
        self._db.execute("INSERT OR IGNORE INTO postmortems_written VALUES (?, ?, ?, ?)",
                         (incident_id, resolved_at, str(path), datetime.now(UTC).isoformat()))

    def record_run(self, since: datetime, until: datetime, written: int) -> None:
        self._db.execute(
            "INSERT INTO postmortem_runs (since, until, finished_at, written) VALUES (?, ?, ?, ?)",
            (since.isoformat(), until.isoformat(), datetime.now(UTC).isoformat(), written))

    def close(self) -> None:
        self._db.close()
