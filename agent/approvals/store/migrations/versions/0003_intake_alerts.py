"""The intake's alerts in the approvals' database: one open row per problem, for every worker.

The SQLite group "intake" of `agent/approvals/store/schema.py`, for Postgres.
`intake_alerts_open_problem` is the rule that an alert storm spread over
many workers opens one run per problem: a second open row with the same
problem key is refused by the database, and its worker joins the first.
`intake_lanes` has one row per service hint; a worker opening a new problem
holds that row's lock until it commits, so similar (not identical) alerts
for one service are decided one after the other (`agent/intake/store.py`).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE intake_alerts (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key          TEXT NOT NULL,
        sender       TEXT NOT NULL,
        service_hint TEXT,
        summary      TEXT NOT NULL,
        thread_id    TEXT NOT NULL,
        state        TEXT NOT NULL,
        count        INTEGER NOT NULL,
        first_at     DOUBLE PRECISION NOT NULL,
        last_at      DOUBLE PRECISION NOT NULL,
        latest       TEXT,
        note         TEXT,
        inputs       TEXT,
        resumes      INTEGER NOT NULL DEFAULT 0,
        problem      TEXT,
        started_at   DOUBLE PRECISION
    )""")
    op.execute("CREATE INDEX intake_alerts_key ON intake_alerts (key, state)")
    op.execute("CREATE INDEX intake_alerts_thread ON intake_alerts (thread_id)")
    op.execute("""
    CREATE UNIQUE INDEX intake_alerts_open_problem ON intake_alerts (problem)
        WHERE state = 'open'""")
    op.execute("""
    CREATE INDEX intake_alerts_open_hint ON intake_alerts (service_hint, last_at)
        WHERE state = 'open'""")
    op.execute("""
    CREATE TABLE intake_lanes (
        lane TEXT PRIMARY KEY,
        at   DOUBLE PRECISION NOT NULL
    )""")


def downgrade() -> None:
    for table in ("intake_lanes", "intake_alerts"):
        op.execute(f"DROP TABLE {table}")
