"""Slack posts, webhook deliveries and the post-mortem schedule, in the approvals' database.

The SQLite groups of `agent/approvals/store/schema.py`, for Postgres: every
worker sees which message shows a thread, which webhook event was handled
and which post-mortem was written.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE slack_posts (
        interrupt_id TEXT PRIMARY KEY,
        thread_id    TEXT NOT NULL,
        channel      TEXT,
        ts           TEXT,
        created_at   DOUBLE PRECISION NOT NULL,
        request      TEXT,
        closed_at    DOUBLE PRECISION
    )""")
    op.execute("CREATE INDEX slack_posts_thread ON slack_posts (thread_id, created_at)")
    op.execute("""
    CREATE TABLE pagerduty_webhook_events (
        event_id    TEXT PRIMARY KEY,
        event_type  TEXT NOT NULL,
        incident_id TEXT,
        title       TEXT,
        kind        TEXT,
        received_at TEXT NOT NULL,
        started_at  TEXT,
        finished_at TEXT,
        error       TEXT
    )""")
    op.execute("""
    CREATE INDEX pagerduty_webhook_events_unfinished ON pagerduty_webhook_events (received_at)
        WHERE finished_at IS NULL""")
    op.execute("""
    CREATE TABLE postmortem_runs (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        since       TEXT NOT NULL,
        until       TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        written     INTEGER NOT NULL
    )""")
    op.execute("""
    CREATE TABLE postmortems_written (
        incident_id TEXT PRIMARY KEY,
        resolved_at TEXT,
        path        TEXT NOT NULL,
        written_at  TEXT NOT NULL
    )""")


def downgrade() -> None:
    for table in ("postmortems_written", "postmortem_runs", "pagerduty_webhook_events", "slack_posts"):
        op.execute(f"DROP TABLE {table}")
