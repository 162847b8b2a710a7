"""Which alert started which run, and how many joined it since (storms).

One row per problem: the sender's key (dedup_key or groupKey), a service
hint read before triage (routing key, `service`/`app`/`job` label, source),
the summary, the run's thread, a count and the latest alert's details. A
row is open until its problem is resolved or its run ended without a write.

The rows live beside the approvals (`agent.approvals.store.database`): the
file `<checkpoint>.intake.sqlite` on one machine, the shared Postgres
database when INCIDENT_AGENT_DATABASE_URL is set, so every worker sees every
storm. "One open row per problem" is the database's rule, not the luck of
which worker answers first:

- A row's `problem` is `<service hint> | <signature>`, the signature being
  the summary lowercased, numbers masked, trailing "(…)" dropped; without a
  hint, the sender's key. A unique index over open rows' problems refuses
  a second open row: `create` is `INSERT … ON CONFLICT DO NOTHING`, and the
  worker that lost joins the winner.
- "Similar" is wider than the signature: difflib's ratio (the standard
  library's sequence matcher) on masked summaries, so "p99 3.1s on
  /v1/orders" and "p99 4.7s on /v1/orders (critical)" are one alert. A
  ratio cannot be an index, so a worker opening a new problem for a service
  first takes that service's lane (an `INSERT … ON CONFLICT DO UPDATE` on
  `intake_lanes`, whose row lock Postgres holds until the commit; SQLite's
  write lock does the same) and looks again for an open row by key or
  similarity: similar alerts for one service are decided one at a time.

A row also keeps the run's inputs and how often it was re-driven: a run
accepted (202) whose process died before it reached a pause is started
again once on the next start (`IntakeReceiver.recover`).
"""

from __future__ import annotations

import difflib
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, text

from agent.approvals.store.database import Database, open_database

if TYPE_CHECKING:
    from agent.config import Settings

SIMILAR = 0.85
SCAN = 50
"""Open rows of one service looked at for a similar summary, newest first."""
SIGNATURE_CHARS = 300

COLUMNS = ("key, sender, service_hint, summary, thread_id, state, count, first_at, last_at,"
           " latest, inputs, problem, started_at")
VALUES = (":key, :sender, :service_hint, :summary, :thread_id, 'open', :count, :now, :now,"
          " :latest, :inputs, :problem, :now")


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
    problem: str | None = None
    """What the database keeps unique among open rows (None on rows from before it did)."""
    started_at: float | None = None
    """When the row's current run was started (created, or started again by `recover`)."""

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "inputs"}


def default_db_path(settings: Settings) -> Path:
    """The SQLite file when no shared database is configured: beside the checkpoint."""
    checkpoint = Path(settings.incident_agent_checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}.intake.sqlite")


def _mask(summary: str) -> str:
    return re.sub(r"\d+(?:\.\d+)?", "#", summary.lower()).strip()


def similar(a: str, b: str) -> bool:
    """Same text up to numbers, or one summary extending the other ("… (17 in the last minute)")."""
    x, y = sorted((_mask(a), _mask(b)), key=len)
    if x and y.startswith(x):
        return True
    return difflib.SequenceMatcher(None, x, y).ratio() >= SIMILAR


def signature(summary: str) -> str:
    """The part of a summary that names the problem: numbers masked, trailing "(…)" dropped."""
    masked = re.sub(r"(\s*\([^()]*\))+\s*$", "", _mask(summary))
    return " ".join(masked.split())[:SIGNATURE_CHARS]


def problem_key(service_hint: str | None, key: str, summary: str) -> str:
    """The identity the database keeps unique among open rows."""
    if service_hint:
        return f"{service_hint} | {signature(summary)}"
    return f"key | {key}"


def storm_line(row: AlertRow | None) -> str | None:
    """`200 alerts about this; latest: …`, for an approval whose run a storm joined."""
    if row is None or row.count <= 1:
        return None
    latest = (row.latest or {}).get("summary") or row.summary
    return f"{row.count} alerts about this; latest: {latest[:160]}"


def rows_for_threads(settings: Settings, thread_ids: list[str]) -> dict[str, AlertRow]:
    """The intake rows behind these runs (surfaces show their counts). Blocking."""
    if not thread_ids:
        return {}
    store = AlertStore(default_db_path(settings), settings, keep_open=False)
    try:
        return store.for_threads(thread_ids)
    finally:
        store.close_db()


def _row(data: Mapping[Any, Any] | None) -> AlertRow | None:
    if data is None:
        return None
    values = dict(data)
    values["latest"] = json.loads(values["latest"]) if values["latest"] else None
    values["inputs"] = json.loads(values["inputs"]) if values.get("inputs") else None
    return AlertRow(**values)


def _one(conn: Connection, sql: str, params: dict[str, Any]) -> AlertRow | None:
    return _row(conn.execute(text(sql), params).mappings().fetchone())


def _open_by_key(conn: Connection, key: str) -> AlertRow | None:
    return _one(conn, "SELECT * FROM intake_alerts WHERE key = :key AND state = 'open'"
                      " ORDER BY id DESC LIMIT 1", {"key": key})


def _open_similar(conn: Connection, service_hint: str, summary: str, since: float) -> AlertRow | None:
    found = conn.execute(text(
        "SELECT * FROM intake_alerts WHERE service_hint = :hint AND state = 'open'"
        " AND last_at >= :since ORDER BY id DESC LIMIT :scan"),
        {"hint": service_hint, "since": since, "scan": SCAN}).mappings().fetchall()
    return next((_row(r) for r in found if similar(r["summary"], summary)), None)


class AlertStore:
    def __init__(self, path: Path, settings: Settings | None = None, *, keep_open: bool = True) -> None:
        self._path, self._settings, self._keep_open = path, settings, keep_open
        self._database: Database | None = None
        self._opening = threading.Lock()

    @property
    def _db(self) -> Database:
        """Opened on first use (blocking: the receiver calls the store in a worker thread)."""
        with self._opening:  # once: threads opening one SQLite file together race on its WAL pragma
            if self._database is None:
                self._database = open_database(self._settings, self._path, "intake",
                                               keep_open=self._keep_open)
        return self._database

    def open_by_key(self, key: str) -> AlertRow | None:
        return self._db.run(lambda c: _open_by_key(c, key))

    def open_similar(self, service_hint: str, summary: str, since: float) -> AlertRow | None:
        return self._db.run(lambda c: _open_similar(c, service_hint, summary, since))

    def find(self, key: str, service_hint: str | None, summary: str, since: float) -> AlertRow | None:
        """The open row this alert belongs to: the same key, else the same service and a
        similar summary seen since `since`."""

        def op(c: Connection) -> AlertRow | None:
            row = _open_by_key(c, key)
            if row is None and service_hint:
                row = _open_similar(c, service_hint, summary, since)
            return row

        return self._db.run(op)

    def create(
        self, *, key: str, sender: str, service_hint: str | None, summary: str, thread_id: str,
        count: int, now: float, latest: dict[str, Any], inputs: dict[str, Any] | None = None,
        similar_since: float | None = None,
    ) -> tuple[AlertRow, bool]:  # fmt: skip
        """Open a row for a new problem: `(row, True)`; or `(the open row, False)` when the
        problem already has one (another worker's, maybe created a moment ago), which the
        caller joins. With `similar_since`, a similar summary of the same service seen since
        then counts as the same problem."""
        params = {"key": key, "sender": sender, "service_hint": service_hint, "summary": summary,
                  "thread_id": thread_id, "count": count, "now": now, "latest": json.dumps(latest),
                  "inputs": json.dumps(inputs) if inputs is not None else None,
                  "problem": problem_key(service_hint, key, summary)}

        def op(c: Connection) -> tuple[AlertRow, bool]:
            if service_hint:
                # The lane's row lock: another worker opening a problem for this service waits
                # here until we commit, then sees our row below.
                c.execute(text("INSERT INTO intake_lanes (lane, at) VALUES (:lane, :now)"
                               " ON CONFLICT (lane) DO UPDATE SET at = excluded.at"),
                          {"lane": service_hint, "now": now})
                held = _open_by_key(c, key) or (
                    _open_similar(c, service_hint, summary, similar_since)
                    if similar_since is not None else None)
                if held is not None:
                    return held, False
            for _ in range(3):  # the winner may close between our insert and our read
                created = _one(c, f"INSERT INTO intake_alerts ({COLUMNS}) VALUES ({VALUES})"
                                  " ON CONFLICT DO NOTHING RETURNING *", params)
                if created is not None:
                    return created, True
                winner = _one(c, "SELECT * FROM intake_alerts WHERE problem = :problem"
                                 " AND state = 'open'", params)
                if winner is not None:
                    return winner, False
            raise RuntimeError(f"intake: no open row for problem {params['problem']!r}, and none made")

        return self._db.run(op)

    def get(self, row_id: int) -> AlertRow | None:
        return self._db.run(lambda c: _one(c, "SELECT * FROM intake_alerts WHERE id = :id",
                                           {"id": row_id}))

    def join(self, row_id: int, count: int, now: float, latest: dict[str, Any]) -> AlertRow | None:
        """Add `count` alerts to an open row (one statement: concurrent joins all count);
        None if the row was closed meanwhile."""
        return self._db.run(lambda c: _one(c,
            "UPDATE intake_alerts SET count = count + :count, last_at = :now, latest = :latest"
            " WHERE id = :id AND state = 'open' RETURNING *",
            {"count": count, "now": now, "latest": json.dumps(latest), "id": row_id}))  # fmt: skip

    def close(self, row_id: int, note: str) -> bool:
        """Close an open row; False if it was closed already (by another worker)."""
        return self._db.run(lambda c: c.execute(text(
            "UPDATE intake_alerts SET state = 'closed', note = :note"
            " WHERE id = :id AND state = 'open'"), {"note": note, "id": row_id}).rowcount == 1)

    def annotate(self, row_id: int, note: str) -> None:
        self._db.run(lambda c: c.execute(text(
            "UPDATE intake_alerts SET note = :note WHERE id = :id"), {"note": note, "id": row_id}))

    def open_with_inputs(self) -> list[AlertRow]:
        """Open rows that started a run (the candidates for `recover`), oldest first."""
        return self._rows("SELECT * FROM intake_alerts WHERE state = 'open' AND inputs IS NOT NULL"
                          " ORDER BY id", {})

    def claim_resume(self, row_id: int, resumes: int, thread_id: str, now: float | None = None) -> bool:
        """Count one more start of the row's run, on `thread_id`, if nobody else just
        did (compare-and-set on `resumes`): two workers starting at once re-drive it once."""
        return self._db.run(lambda c: c.execute(text(
            "UPDATE intake_alerts SET resumes = resumes + 1, thread_id = :thread, started_at = :now"
            " WHERE id = :id AND resumes = :resumes AND state = 'open'"),
            {"thread": thread_id, "now": time.time() if now is None else now, "id": row_id,
             "resumes": resumes}).rowcount == 1)  # fmt: skip

    def for_thread(self, thread_id: str) -> AlertRow | None:
        """The alert row behind a run: its count and latest details, for the approval."""
        return self.for_threads([thread_id]).get(thread_id)

    def for_threads(self, thread_ids: list[str]) -> dict[str, AlertRow]:
        """The newest row behind each of these runs."""
        if not thread_ids:
            return {}
        query = text("SELECT * FROM intake_alerts WHERE thread_id IN :threads ORDER BY id"
                     ).bindparams(bindparam("threads", expanding=True))
        found = self._db.run(lambda c: c.execute(
            query, {"threads": list(dict.fromkeys(thread_ids))}).mappings().fetchall())
        rows = (_row(r) for r in found)
        return {r.thread_id: r for r in rows if r is not None}  # the newest wins (ORDER BY id)

    def all(self, limit: int = 200) -> list[AlertRow]:
        return self._rows("SELECT * FROM intake_alerts ORDER BY id DESC LIMIT :limit",
                          {"limit": limit})

    def _rows(self, sql: str, params: dict[str, Any]) -> list[AlertRow]:
        found = self._db.run(lambda c: c.execute(text(sql), params).mappings().fetchall())
        return [r for r in (_row(x) for x in found) if r is not None]

    def close_db(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None
