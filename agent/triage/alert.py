"""An alert's structured fields, and what they say about the service.

Monitoring systems name the service in labels far better than in the
summary line. Each field is evidence with a weight (shown in the reasons):
a `service` or `app` label is nearly decisive, `job`/`namespace`/`component`
strong, `source`/`group` and other short labels medium, annotation and
custom-detail text as much as the summary's own words. The scorer is the
same one the words use (`rank_with_words`), run per field and weighted.

Severity maps to urgency and priority by one table (documented in
docs/intake.md):

| severity (Events API v2 / Alertmanager label) | urgency | priority level |
| --- | --- | --- |
| critical (also `page`, `emergency`, `fatal`) | high | 1 |
| error (also `high`, `major`) | high | 2 |
| warning (also `warn`, `minor`, `medium`) | low | 3 |
| info (also `informational`, `low`, `none`) | low | 4 |

The level becomes the account's priority named P<n>/SEV<n>, when there is one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import Service
from agent.triage.models import ServiceCandidate
from agent.triage.scoring import rank_with_words

SEVERITY_TABLE: dict[str, tuple[Literal["high", "low"], int]] = {
    "critical": ("high", 1),
    "page": ("high", 1),
    "emergency": ("high", 1),
    "fatal": ("high", 1),
    "error": ("high", 2),
    "high": ("high", 2),
    "major": ("high", 2),
    "warning": ("low", 3),
    "warn": ("low", 3),
    "minor": ("low", 3),
    "medium": ("low", 3),
    "info": ("low", 4),
    "informational": ("low", 4),
    "low": ("low", 4),
    "none": ("low", 4),
}

# Label (or field) name -> weight of its value as evidence for a service.
FIELD_WEIGHTS: dict[str, float] = {
    "service": 3.0,
    "service_name": 3.0,
    "app": 2.5,
    "app_kubernetes_io_name": 2.5,
    "application": 2.5,
    "component": 2.0,
    "job": 2.0,
    "namespace": 1.5,
    "container": 1.5,
    "deployment": 1.5,
    "source": 1.0,
    "group": 1.0,
    "class": 0.5,
    "instance": 1.0,
    "host": 1.0,
    "cluster": 1.0,
}
OTHER_LABEL_WEIGHT = 0.5
ROUTED_WEIGHT = 5.0
TEXT_WEIGHT = 1.0  # annotations and custom details: as much as the summary's words
MAX_FIELD_CHARS = 500
MAX_TEXT_FIELDS = 20


class AlertFields(BaseModel):
    """The structured part of an alert, as intake received it."""

    summary: str = ""
    severity: str | None = None
    source: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(
        default=None,
        validation_alias=AliasChoices("class", "class_"),
        serialization_alias="class",
    )
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    custom_details: dict[str, Any] = Field(default_factory=dict)
    sender: str | None = None
    """Which intake received it: events_v2, alertmanager, generic."""
    routed_service: str | None = None
    """The service the sender's routing key maps to in settings (id or name):
    configuration, not words, so it outweighs every other field."""

    model_config = {"populate_by_name": True}

    def text(self) -> str:
        """Everything a human would read, for the non-incident and failure checks."""
        parts = [self.summary, *self.annotations.values()]
        parts += [
            f"{k}: {_flat(v)}" for k, v in list(self.custom_details.items())[:MAX_TEXT_FIELDS]
        ]
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Evidence:
    field: str
    value: str
    weight: float


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return value[:MAX_FIELD_CHARS]
    try:
        return json.dumps(value, default=str)[:MAX_FIELD_CHARS]
    except (TypeError, ValueError):
        return str(value)[:MAX_FIELD_CHARS]


def _key(name: str) -> str:
    return name.lower().replace(".", "_").replace("/", "_").replace("-", "_")


def evidence(alert: AlertFields) -> list[Evidence]:
    """Every field that may name a service, with its weight."""
    out: list[Evidence] = []
    for name in ("component", "source", "group", "class_"):
        value = getattr(alert, name)
        if value:
            key = name.rstrip("_")
            out.append(Evidence(key, str(value)[:MAX_FIELD_CHARS], FIELD_WEIGHTS[key]))
    for name, value in alert.labels.items():
        if not value or _key(name) in ("severity", "alertname", "priority", "status"):
            continue
        weight = FIELD_WEIGHTS.get(_key(name), OTHER_LABEL_WEIGHT)
        out.append(Evidence(f"label {name}", str(value)[:MAX_FIELD_CHARS], weight))
    for name, value in list(alert.annotations.items())[:MAX_TEXT_FIELDS]:
        out.append(Evidence(f"annotation {name}", str(value)[:MAX_FIELD_CHARS], TEXT_WEIGHT))
    for name, value in list(alert.custom_details.items())[:MAX_TEXT_FIELDS]:
        weight = (
            FIELD_WEIGHTS.get(_key(name), TEXT_WEIGHT) if isinstance(value, str) else TEXT_WEIGHT
        )
        out.append(Evidence(f"custom_details.{name}", _flat(value), weight))
    return out


def rank_fields(alert: AlertFields, catalog: Catalog) -> dict[str, tuple[float, list[str]]]:
    """service id -> (weighted score from the structured fields, reasons)."""
    scores: dict[str, tuple[float, list[str]]] = {}
    if alert.routed_service and (service := named_service(alert.routed_service, catalog)):
        scores[service.id] = (
            ROUTED_WEIGHT,
            [f"routing key -> {service.name} (weight {ROUTED_WEIGHT})"],
        )
    for ev in evidence(alert):
        for candidate, _ in rank_with_words(ev.value, catalog)[:3]:
            # A field value is short; a weak partial match is noise, not evidence.
            if candidate.score < 0.5:
                continue
            score, why = scores.get(candidate.id, (0.0, []))
            gained = round(candidate.score * ev.weight, 3)
            why.append(f"{ev.field}={ev.value[:60]!r} (weight {ev.weight}, +{gained})")
            scores[candidate.id] = (score + gained, why)
    return scores


def named_service(words: str, catalog: Catalog) -> Service | None:
    return catalog.service(words) or next(
        (s for s in catalog.services if s.name.lower() == words.strip().lower()), None
    )


def merge(
    words: list[ServiceCandidate], fields: dict[str, tuple[float, list[str]]], catalog: Catalog
) -> list[ServiceCandidate]:
    """The words' candidates plus the fields' scores, best first."""
    merged = {c.id: c.model_copy() for c in words}
    for sid, (score, why) in fields.items():
        service = catalog.service(sid)
        if service is None:
            continue
        c = merged.get(sid) or ServiceCandidate(id=sid, name=service.name, score=0.0, why="")
        c.score = round(c.score + score, 3)
        c.why = "; ".join(x for x in (c.why, "fields: " + ", ".join(why)) if x)
        merged[sid] = c
    return sorted(merged.values(), key=lambda c: (-c.score, c.name))


def severity_of(alert: AlertFields) -> tuple[Literal["high", "low"], int, str] | None:
    """(urgency, level, the severity as sent) from the table, or None."""
    value = alert.severity or alert.labels.get("severity") or alert.labels.get("priority")
    if not value:
        return None
    found = SEVERITY_TABLE.get(value.strip().lower())
    return (found[0], found[1], value) if found else None
