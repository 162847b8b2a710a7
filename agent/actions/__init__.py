"""Writes as data: what a human approves is exactly what is executed.

Each action is a model of the fields a human may edit, and a builder that
turns those fields into the exact PagerDuty call after checking every id
against the live catalog. Proposing and editing go through the same builder,
so an edit is validated exactly like the original proposal.
"""

# Importing the modules registers their actions.
from agent.actions import incidents as _incidents  # noqa: F401, E402
from agent.actions import schedules as _schedules  # noqa: F401, E402
from agent.actions import updates as _updates  # noqa: F401, E402
from agent.actions.base import (
    ACTIONS,
    Action,
    ActionError,
    ApiCall,
    Proposal,
    build_proposal,
    rebuild_proposal,
)

__all__ = [
    "ACTIONS",
    "Action",
    "ActionError",
    "ApiCall",
    "Proposal",
    "build_proposal",
    "rebuild_proposal",
]
