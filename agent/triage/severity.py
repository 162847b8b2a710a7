"""Severity words -> urgency and a catalog priority.

An explicit level (`SEV1`, `P3`, `severity=critical`, `(warning)`) outranks
descriptive words (`outage`, `all users`); with both a high and a low
explicit level, high wins, because a missed page costs more than an extra one.
SEV2/P2 is a major degradation, not an outage: low urgency, priority P2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import Priority, Service

Urgency = Literal["high", "low"]

_LEVEL = re.compile(r"\b(sev|severity|p|pri|priority)[\s:=_-]*([0-5])\b", re.I)
_HIGH_WORDS = re.compile(
    r"\b(critical|crit|fatal|emergency|urgent|blocker|disaster|page\s+immediately)\b", re.I
)
_LOW_WORDS = re.compile(r"\b(warning|warn|minor|info|informational|notice|low)\b", re.I)
# A word only counts as an explicit level when it is written as a tag:
# "(critical)", "[warning]", "severity=critical", "CRITICAL:" at the start.
_TAG = re.compile(
    r"(?:[(\[]\s*(?:severity\s*[:=]\s*)?(?P<a>\w+)\s*[)\]])"
    r"|(?:\b(?:severity|level|urgency|priority|status)\s*[:=]\s*\"?(?P<b>\w+))"
    r"|(?:^\s*(?P<c>[A-Za-z]+)\s*[:!])",
    re.I,
)
_DESCRIPTIVE_HIGH = re.compile(
    r"\b(outage|is\s+down|are\s+down|went\s+down|down\s+for|completely\s+down|hard\s+down"
    r"|all\s+(?:users|customers|requests|traffic|regions)|every\s+(?:user|customer|request)"
    r"|worldwide|global(?:ly)?|data\s+loss|security\s+breach|breach|unreachable"
    r"|cannot\s+(?:log\s*in|login|sign\s*in|pay|check\s*out)|can't\s+(?:log\s*in|login|sign\s*in))\b",
    re.I,
)
_DESCRIPTIVE_LOW = re.compile(
    r"\b(not\s+urgent|no\s+rush|low\s+priority|fyi|when\s+you\s+(?:can|get\s+a\s+chance)"
    r"|expires?\s+in\s+\d+\s+days|slowly|cosmetic)\b",
    re.I,
)


@dataclass
class Severity:
    urgency: Urgency | None = None
    level: int | None = None  # 0..5 from SEVn / Pn, when written
    explicit: bool = False  # a level or a severity tag, not just descriptive words
    reasons: list[str] = field(default_factory=list)


def _level_urgency(level: int) -> Urgency:
    return "high" if level <= 1 else "low"


def read_severity(text: str) -> Severity:
    """What the text itself says about urgency; None when it says nothing."""
    explicit: list[tuple[Urgency, str]] = []
    level: int | None = None
    for m in _LEVEL.finditer(text):
        n = int(m.group(2))
        level = n if level is None else min(level, n)
        explicit.append((_level_urgency(n), m.group(0)))
    for m in _TAG.finditer(text):
        word = next(g for g in m.groups() if g)
        if _HIGH_WORDS.fullmatch(word) or word.lower() == "high":
            explicit.append(("high", m.group(0).strip()))
        elif _LOW_WORDS.fullmatch(word):
            explicit.append(("low", m.group(0).strip()))
    if explicit:
        urgency: Urgency = "high" if any(u == "high" for u, _ in explicit) else "low"
        said = ", ".join(dict.fromkeys(w for _, w in explicit))
        return Severity(
            urgency, level, explicit=True, reasons=[f"urgency {urgency}: the text says {said}"]
        )
    if low := _DESCRIPTIVE_LOW.search(text):
        return Severity("low", None, reasons=[f"urgency low: '{low.group(0)}'"])
    if high := _DESCRIPTIVE_HIGH.search(text) or _HIGH_WORDS.search(text):
        return Severity("high", None, reasons=[f"urgency high: '{high.group(0)}'"])
    if word := _LOW_WORDS.search(text):
        return Severity("low", None, reasons=[f"urgency low: '{word.group(0)}'"])
    return Severity()


def default_urgency(service: Service | None) -> tuple[Urgency, str]:
    """The service's own rule when it is constant; otherwise high (a page
    that turns out minor costs less than a missed one)."""
    rule = (service.model_extra or {}).get("incident_urgency_rule") if service else None
    if (
        isinstance(rule, dict)
        and rule.get("type") == "constant"
        and rule.get("urgency") in ("high", "low")
    ):
        return rule["urgency"], f"urgency {rule['urgency']}: the service's constant urgency rule"
    return "high", "urgency high: no severity in the text, so the safe default"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def priority_for_level(level: int, catalog: Catalog) -> Priority | None:
    """The catalog priority a level maps to by name (P2, SEV-2, Sev2...)."""
    wanted = {f"p{level}", f"sev{level}", f"severity{level}", f"priority{level}"}
    return next((p for p in catalog.priorities if _norm(p.name) in wanted), None)


def priority_named(name: str | None, catalog: Catalog) -> Priority | None:
    """A catalog priority matched by name, loosely ("p1" finds "P1")."""
    if not name:
        return None
    exact = catalog.priority_by_name(name)
    if exact:
        return exact
    key = _norm(name)
    found = next((p for p in catalog.priorities if _norm(p.name) == key), None)
    if found is None and (m := re.fullmatch(r"(?:p|sev|severity|priority)([0-5])", key)):
        found = priority_for_level(int(m.group(1)), catalog)
    return found
