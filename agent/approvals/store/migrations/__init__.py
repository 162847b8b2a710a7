"""Alembic's scripts for the Postgres schema (`env.py` runs them; `database.migrate` calls it)."""

VERSION_TABLE = "incident_agent_schema_version"
"""Our own version table: the database may be shared with an application that uses Alembic."""
