"""The approvals store: paused threads, claims with leases, write records and audit.

Two implementations of one interface, `ApprovalStore`: SQLite (the embedded
default, `sqlite.py`) and Postgres (`postgres.py`, shared by many workers).
`open_approval_store` is the one place that picks between them; nothing else
in the agent asks which database it talks to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.approvals.store.sqlite import (
    HOST,
    LEASE_S,
    AlreadyDecided,
    ApprovalStore,
    Claim,
    PendingApproval,
    UnknownApproval,
    WriteRecord,
    connect_sqlite,
)

if TYPE_CHECKING:
    from agent.config import Settings

__all__ = [
    "HOST",
    "LEASE_S",
    "AlreadyDecided",
    "ApprovalStore",
    "Claim",
    "PendingApproval",
    "UnknownApproval",
    "WriteRecord",
    "connect_sqlite",
    "open_approval_store",
]


def open_approval_store(settings: Settings) -> ApprovalStore:
    """Postgres when INCIDENT_AGENT_DATABASE_URL is set, else the SQLite file.

    Blocking (it connects and migrates): call it off the event loop in servers."""
    if settings.incident_agent_database_url is not None:
        from agent.approvals.store.postgres import PostgresApprovalStore

        return PostgresApprovalStore(settings.incident_agent_database_url.get_secret_value())
    return ApprovalStore(settings.incident_agent_checkpoint)
