"""Approvals: the action and description a listing shows, in columns of their own.

`incident-agent approvals` over 10,000 paused threads parsed every row's whole
request (about 3 kB of JSON each, TOASTed) for two fields; Postgres's own JSON
parsing of them in the query was no faster. `record_pause` now writes both,
and the listing reads them without the request. Rows paused before this
revision get theirs here.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE approvals ADD COLUMN action TEXT, ADD COLUMN description TEXT")
    op.execute("""
    UPDATE approvals SET action = a->>'name', description = COALESCE(a->>'description', '')
    FROM (SELECT thread_id AS t, request::json->'action_requests'->0 AS a FROM approvals
          WHERE request IS NOT NULL AND status IN ('pending', 'claimed')) r
    WHERE thread_id = r.t""")


def downgrade() -> None:
    op.execute("ALTER TABLE approvals DROP COLUMN action, DROP COLUMN description")
