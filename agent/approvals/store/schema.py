"""The surface stores' tables on SQLite, by group, each in the file it has always had.

On Postgres the same tables are Alembic revisions (`migrations/versions/`);
on SQLite a group is made as it always was: `CREATE … IF NOT EXISTS`, then
the columns added since the first release, once, in order. Keep the two in
step: a column added here is a revision there.
"""

from __future__ import annotations

import sqlite3

SQLITE: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    # Which Slack message shows which paused thread (in the checkpoint's file).
    "slack_posts": ("""
        CREATE TABLE IF NOT EXISTS slack_posts (
            interrupt_id TEXT PRIMARY KEY,
            thread_id    TEXT NOT NULL,
            channel      TEXT,
            ts           TEXT,
            created_at   REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS slack_posts_thread ON slack_posts (thread_id, created_at);
        """, [("slack_posts", "request", "TEXT"), ("slack_posts", "closed_at", "REAL")]),
    # PagerDuty webhook deliveries by event id (`<checkpoint>.webhooks.sqlite`).
    "webhook_events": ("""
        CREATE TABLE IF NOT EXISTS pagerduty_webhook_events (
            event_id TEXT PRIMARY KEY,
            event_type TEXT NOT NULL,
            incident_id TEXT,
            title TEXT,
            kind TEXT,
            received_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            error TEXT
        );
        """, []),
    # The post-mortem schedule's runs and written incidents (`<checkpoint>.postmortems.sqlite`).
    "postmortems": ("""
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
        """, []),
    # Alerts received by the intake, one open row per problem (`<checkpoint>.intake.sqlite`);
    # `intake_lanes` holds one row per service hint, locked while a new problem is opened.
    "intake": ("""
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
        CREATE TABLE IF NOT EXISTS intake_lanes (
            lane TEXT PRIMARY KEY,
            at   REAL NOT NULL
        );
        """, [("intake_alerts", "inputs", "TEXT"),
              ("intake_alerts", "resumes", "INTEGER NOT NULL DEFAULT 0"),
              ("intake_alerts", "problem", "TEXT"),
              ("intake_alerts", "started_at", "REAL")]),
}

SQLITE_AFTER_COLUMNS: dict[str, str] = {
    # Indexes on added columns, made once the columns exist (an older file's rows have no
    # problem: NULLs never collide, so they need no rewriting).
    "intake": """
        CREATE UNIQUE INDEX IF NOT EXISTS intake_alerts_open_problem ON intake_alerts (problem)
            WHERE state = 'open';
        CREATE INDEX IF NOT EXISTS intake_alerts_open_hint ON intake_alerts (service_hint, last_at)
            WHERE state = 'open';
        """,
}


def create_sqlite_tables(conn: sqlite3.Connection, group: str) -> None:
    script, added = SQLITE[group]
    conn.executescript(script)
    add_columns(conn, added)
    if group in SQLITE_AFTER_COLUMNS:
        conn.executescript(SQLITE_AFTER_COLUMNS[group])


def add_columns(conn: sqlite3.Connection, added: list[tuple[str, str, str]]) -> None:
    """The columns an older file lacks, added under the write lock: processes opening one
    file together would otherwise each see a column missing and each add it ("duplicate
    column name")."""

    def missing() -> list[tuple[str, str, str]]:
        have: dict[str, set[str]] = {}
        for table, _, _ in added:
            if table not in have:
                have[table] = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        return [(t, c, k) for t, c, k in added if c not in have[t]]

    if not missing():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, column, kind in missing():  # again, now that no one else can add them
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
