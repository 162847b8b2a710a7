"""Approvals, audit, write records and attempts: the SQLite schema's tables, for Postgres.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE approvals (
        thread_id    TEXT PRIMARY KEY,
        graph        TEXT NOT NULL,
        interrupt_id TEXT,
        kind         TEXT,
        prompt       TEXT NOT NULL DEFAULT '',
        request      TEXT,
        status       TEXT NOT NULL,
        claimed_by   TEXT,
        claimed_at   DOUBLE PRECISION,
        created_at   DOUBLE PRECISION NOT NULL,
        updated_at   DOUBLE PRECISION NOT NULL,
        holder_host  TEXT,
        holder_pid   INTEGER,
        lease_until  DOUBLE PRECISION,
        answer       TEXT,
        error        TEXT
    )""")
    op.execute("CREATE INDEX approvals_open ON approvals (status, created_at)")
    op.execute("""
    CREATE TABLE audit (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        thread_id    TEXT NOT NULL,
        interrupt_id TEXT NOT NULL,
        at           DOUBLE PRECISION NOT NULL,
        approver     TEXT NOT NULL,
        decision     TEXT NOT NULL,
        proposal     TEXT NOT NULL,
        reasons      TEXT NOT NULL,
        result       TEXT,
        message      TEXT,
        UNIQUE (thread_id, interrupt_id)
    )""")
    op.execute("""
    CREATE TABLE write_records (
        key          TEXT PRIMARY KEY,
        thread_id    TEXT NOT NULL,
        step         TEXT NOT NULL,
        call         TEXT NOT NULL,
        status       TEXT NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        result       TEXT,
        error        TEXT,
        updated_at   DOUBLE PRECISION NOT NULL
    )""")
    op.execute("CREATE INDEX write_records_by_thread ON write_records (thread_id)")
    op.execute("""
    CREATE TABLE write_attempts (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key          TEXT NOT NULL,
        thread_id    TEXT NOT NULL,
        step         TEXT NOT NULL,
        at           DOUBLE PRECISION NOT NULL,
        outcome      TEXT NOT NULL,
        detail       TEXT
    )""")
    op.execute("CREATE INDEX write_attempts_by_thread ON write_attempts (thread_id)")


def downgrade() -> None:
    for table in ("write_attempts", "write_records", "audit", "approvals"):
        op.execute(f"DROP TABLE {table}")
