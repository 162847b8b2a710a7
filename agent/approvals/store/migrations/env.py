"""Alembic's entry point for the Postgres schema (`agent/approvals/store/postgres.py` runs it).

Online only, on the connection the store hands over. Workers starting together
queue on an advisory lock, so exactly one applies a revision and the others
find it applied.
"""

from alembic import context
from sqlalchemy import text

from agent.approvals.store.migrations import VERSION_TABLE

LOCK_KEY = 0x1A_6E_47  # any constant; the same for every worker

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    context.run_migrations()
