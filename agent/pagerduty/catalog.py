"""The account's slow-changing objects, read once and cached with a TTL.

Triage and lookups match words against this snapshot; every id the agent
proposes must be found here first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agent.pagerduty.models import EscalationPolicy, Priority, Schedule, Service, Team, User


@dataclass(frozen=True)
class Catalog:
    services: list[Service]
    users: list[User] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    escalation_policies: list[EscalationPolicy] = field(default_factory=list)
    priorities: list[Priority] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    fetched_at: float = field(default_factory=time.monotonic)

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, list[dict[str, Any]]]) -> Catalog:
        """Build from the sandbox's snapshot format (collection name -> API objects)."""
        return cls(
            services=[Service.model_validate(s) for s in snapshot.get("services", [])],
            users=[User.model_validate(u) for u in snapshot.get("users", [])],
            schedules=[Schedule.model_validate(s) for s in snapshot.get("schedules", [])],
            escalation_policies=[
                EscalationPolicy.model_validate(p) for p in snapshot.get("escalation_policies", [])
            ],
            priorities=[Priority.model_validate(p) for p in snapshot.get("priorities", [])],
            teams=[Team.model_validate(t) for t in snapshot.get("teams", [])],
        )

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def user(self, user_id: str) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def user_by_email(self, email: str) -> User | None:
        email = email.strip().lower()
        return next((u for u in self.users if u.email.lower() == email), None)

    def schedule(self, schedule_id: str) -> Schedule | None:
        return next((s for s in self.schedules if s.id == schedule_id), None)

    def escalation_policy(self, policy_id: str) -> EscalationPolicy | None:
        return next((p for p in self.escalation_policies if p.id == policy_id), None)

    def priority(self, priority_id: str) -> Priority | None:
        return next((p for p in self.priorities if p.id == priority_id), None)

    def priority_by_name(self, name: str) -> Priority | None:
        name = name.strip().lower()
        return next((p for p in self.priorities if p.name.lower() == name), None)
