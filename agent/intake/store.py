"""Which alert started which run, and how many joined it since (storms).

One row per problem: the sender's key (dedup_key or groupKey), a service
hint read before triage (routing key, `service`/`app`/`job` label, source),
the summary, the run's thread, a count and the latest alert's details. A
row is open until its problem is resolved or its run ended without a write.

A row also keeps the run's inputs and how often it was re-driven: a run
accepted (202) whose process died before it reached a pause is started
again once on the next start (`IntakeReceiver.recover`).

"Similar summary" is difflib's ratio (the standard library's sequence
matcher) on summaries with digits masked, so "p99 3.1s" and "p99 4.7s" are
the same alert; it is enough for one service's alerts within a window.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIMILAR = 0.85

SCHEMA = """
CREATE TABLE IF NOT EXISTS intake_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    sender TEXT NOT NULL,
    service_hint TEXT,
    summary TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    state TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    latest TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS intake_alerts_key ON intake_alerts (key, state);
CREATE INDEX IF NOT EXISTS intake_alerts_thread ON intake_alerts (thread_id);
"""
# Columns added after the first release: added to an older file when it is opened.
LATER_COLUMNS = {"inputs": "TEXT", "resumes": "INTEGER NOT NULL DEFAULT 0"}


@dataclass
class AlertRow:
    id: int
    key: str
    sender: str
    service_hint: str | None
    summary: str
    thread_id: str
    state: str
    """open or closed."""
    count: int
    first_at: float
    last_at: float
    latest: dict[str, Any] | None
    note: str | None
    inputs: dict[str, Any] | None = None
    """The run's inputs (prompt and alert fields), to start it again after a crash."""
    resumes: int = 0
    """How often the run was started again after the process died."""

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "inputs"}


def _mask(summary: str) -> str:
    return re.sub(r"\d+(?:\.\d+)?", "#", summary.lower()).strip()


def similar(a: str, b: str) -> bool:
    """Same text up to numbers, or one summary extending the other ("… (17 in the last minute)")."""
    x, y = sorted((_mask(a), _mask(b)), key=len)
    if x and y.startswith(x):
        return True
    return difflib.SequenceMatcher(None, x, y).ratio() >= SIMILAR


def storm_line(row: AlertRow | None) -> str | None:
    """`200 alerts about this; latest: …`, for an approval whose run a storm joined."""
    if row is None or row.count <= 1:
        return None
    latest = (row.latest or {}).get("summary") or row.summary
    return f"{row.count} alerts about this; latest: {latest[:160]}"


def rows_for_threads(path: Path, thread_ids: list[str]) -> dict[str, AlertRow]:
    """The intake rows behind these runs (surfaces show their counts); nothing
    when this process's intake never ran (the file is not created here)."""
    if not thread_ids or not path.exists():
        return {}
    store = AlertStore(path)
    try:
        rows = (store.for_thread(t) for t in dict.fromkeys(thread_ids))
        return {r.thread_id: r for r in rows if r is not None}
    finally:
        store.close_db()


class AlertStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        have = {r["name"] for r in self._db.execute("PRAGMA table_info(intake_alerts)")}
        for name, kind in LATER_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE intake_alerts ADD COLUMN {name} {kind}")

    def _row(self, row: sqlite3.Row | None) -> AlertRow | None:
        if row is None:
            return None
        data = dict(row)
        data["latest"] = json.loads(data["latest"]) if data["latest"] else None
        data["inputs"] = json.loads(data["inputs"]) if data.get("inputs") else None
        return AlertRow(**data)

    def open_by_key(self, key: str) -> AlertRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM intake_alerts WHERE key = ? AND state = 'open' ORDER BY id DESC",
                (key,),
            ).fetchone()
        return self._row(row)

    def open_similar(self, service_hint: str, summary: str, since: float) -> AlertRow | None:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM intake_alerts WHERE service_hint = ? AND state = 'open'"
                " AND last_at >= ? ORDER BY id DESC LIMIT 50",
                (service_hint, since),
            ).fetchall()
        for row in rows:
            if similar(row["summary"], summary):
                return self._row(row)
        return None

    def create(
        self, *, key: str, sender: str, service_hint: str | None, summary: str, thread_id: str,
        count: int, now: float, latest: dict[str, Any], inputs: dict[str, Any] | None = None,
    ) -> AlertRow:  # fmt: skip
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO intake_alerts (key, sender, service_hint, summary, thread_id, state,"
                " count, first_at, last_at, latest, inputs)"
                " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
                (
                    key,
                    sender,
                    service_hint,
                    summary,
                    thread_id,
                    count,
                    now,
                    now,
                    json.dumps(latest),
                    json.dumps(inputs) if inputs is not None else None,
                ),
            )
            row_id = cursor.lastrowid
        row = self.get(int(row_id or 0))
        assert row is not None
        return row

    def get(self, row_id: int) -> AlertRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM intake_alerts WHERE id = ?", (row_id,)).fetchone()
        return self._row(row)

    def join(self, row_id: int, count: int, now: float, latest: dict[str, Any]) -> AlertRow:
        with self._lock:
            self._db.execute(
                "UPDATE intake_alerts SET count = count + ?, last_at = ?, latest = ? WHERE id = ?",
                (count, now, json.dumps(latest), row_id),
            )
        row = self.get(row_id)
        assert row is not None
        return row

    def close(self, row_id: int, note: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE intake_alerts SET state = 'closed', note = ? WHERE id = ?", (note, row_id)
            )

    def annotate(self, row_id: int, note: str) -> None:
        with self._lock:
            self._db.execute("UPDATE intake_alerts SET note = ? WHERE id = ?", (note, row_id))

    def open_with_inputs(self) -> list[AlertRow]:
        """Open rows that started a run (the candidates for `recover`), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM intake_alerts WHERE state = 'open' AND inputs IS NOT NULL"
                " ORDER BY id"
            ).fetchall()
        return [r for r in (self._row(x) for x in rows) if r is not None]

    def claim_resume(self, row_id: int, resumes: int, thread_id: str) -> bool:
        """Count one more start of the row's run, on `thread_id`, if nobody else just
        did (compare-and-set on `resumes`): two workers starting at once re-drive it once."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE intake_alerts SET resumes = resumes + 1, thread_id = ?"
                " WHERE id = ? AND resumes = ? AND state = 'open'",
                (thread_id, row_id, resumes),
            )
        return cursor.rowcount == 1

    def for_thread(self, thread_id: str) -> AlertRow | None:
        """The alert row behind a run: its count and latest details, for the approval."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM intake_alerts WHERE thread_id = ? ORDER BY id DESC", (thread_id,)
            ).fetchone()
        return self._row(row)

    def all(self, limit: int = 200) -> list[AlertRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM intake_alerts ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [r for r in (self._row(x) for x in rows) if r is not None]

    def close_db(self) -> None:
        with self._lock:
            self._db.close()
