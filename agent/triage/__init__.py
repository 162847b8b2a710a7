"""Free text -> a typed, catalog-verified request (intent, service, urgency...).

`triage()` is the entry point; `rank_services()` is reused wherever words
must be matched to services (who is on call for X, a human's edit).
"""

from agent.triage.models import Intent, ServiceCandidate, TriageInputError, TriageResult
from agent.triage.scoring import rank_services
from agent.triage.service import triage

__all__ = [
    "Intent",
    "ServiceCandidate",
    "TriageInputError",
    "TriageResult",
    "rank_services",
    "triage",
]
