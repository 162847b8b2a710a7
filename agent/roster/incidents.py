"""Which incident do the words mean: "#1201", "incident 1201", "PINCD01",
"the Public API incident", "the open incident on Checkout"?

Only parsing: the graph looks the reference up through the client, by number,
by id, or among the open incidents of the service the words name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["IncidentRef", "parse_incident_ref"]


@dataclass(frozen=True)
class IncidentRef:
    number: int | None = None
    id: str | None = None
    service_words: str | None = None

    @property
    def empty(self) -> bool:
        return self.number is None and self.id is None and self.service_words is None


_NUMBER = re.compile(
    r"(?:#\s*|\b(?:incident|inc|ticket|number|no\.?)\s*(?:#|-|number\s+|no\.?\s*)?\s*)(\d{1,9})\b",
    re.IGNORECASE,
)
_URL_ID = re.compile(r"/incidents/([A-Za-z0-9]{5,20})\b")
# PagerDuty ids are upper-case letters and digits starting with P or Q; a
# digit is required so shouted words ("PROD", "PUBLIC") are not taken for ids.
_ID = re.compile(r"\b([PQ](?=[A-Z0-9]*\d)[A-Z0-9]{5,19})\b")
_ON_SERVICE = re.compile(
    r"\b(?:incident|outage|alert|page|problem|issue)s?\s+(?:on|for|in|with|affecting|about|of)\s+"
    r"(?:the\s+)?(.+?)(?:\s+(?:service|api\s+service))?\s*(?=$|[,.;:!?()\[\]]|\s+(?:and|but|because|since|as|so|with|to|-|—)\s)",
    re.IGNORECASE,
)
_BEFORE_INCIDENT = re.compile(r"([^,.;:!?#]*?)\s+incident\b", re.IGNORECASE)
_LEADING = {
    "please", "can", "could", "you", "we", "i", "acknowledge", "ack", "resolve", "close",
    "reassign", "escalate", "snooze", "update", "add", "note", "to", "on", "the", "this", "that",
    "our", "an", "a", "open", "current", "ongoing", "active", "latest", "last", "new",
    "triggered", "acknowledged", "big", "major",
}  # fmt: skip


def _service_before_incident(text: str) -> str | None:
    """'resolve the Public API incident' -> 'Public API'."""
    for m in _BEFORE_INCIDENT.finditer(text):
        words = m.group(1).split()
        while words and words[0].lower() in _LEADING:
            words.pop(0)
        if words and words[-1].lower() == "service":
            words.pop()
        if words and not any(w.lower() in {"an", "the", "this", "that"} for w in words):
            return " ".join(words)
    return None


def parse_incident_ref(words: str | None) -> IncidentRef:
    """The number, id and/or service words in `words`; `.empty` if none."""
    text = (words or "").strip()
    if not text:
        return IncidentRef()
    number: int | None = None
    if m := _NUMBER.search(text):
        number = int(m.group(1))
    elif text.isdigit():
        number = int(text)
    ident = None
    if m := _URL_ID.search(text):
        ident = m.group(1)
    elif m := _ID.search(text):
        ident = m.group(1)
    service = None
    if number is None and ident is None:
        if m := _ON_SERVICE.search(text):
            service = m.group(1).strip()
        else:
            service = _service_before_incident(text)
    return IncidentRef(number, ident, service)
