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
}


def create_sqlite_tables(conn: sqlite3.Connection, group: str) -> None:
    script, added = SQLITE[group]
    conn.executescript(script)
    for table, column, kind in added:
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
