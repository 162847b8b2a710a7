"""Log entries are validated once, into light models: a 2,400-entry log is thousands of
objects, and every one of them is memory and work for the garbage collector."""

from __future__ import annotations

import gc
import json

from agent.pagerduty.models import LogEntry, LogRef
from agent.pagerduty.pagination import _page_adapter


def _entry(n: int) -> dict[str, object]:
    return {
        "id": f"R{n:06d}",
        "type": "annotate_log_entry",
        "summary": f"Note {n}",
        "self": f"https://api.pagerduty.com/log_entries/R{n:06d}",
        "html_url": None,
        "created_at": "2026-06-01T12:00:00Z",
        "channel": {"type": "note", "summary": f"note {n}"},
        "note": {"content": "kept"},
        "service": {"id": "PSVC", "type": "service_reference", "summary": "Checkout",
                    "self": "https://api.pagerduty.com/services/PSVC",
                    "html_url": "https://acme.pagerduty.com/service-directory/PSVC"},
        "incident": {"id": "PINC", "type": "incident_reference",
                     "self": "https://api.pagerduty.com/incidents/PINC"},
        "agent": {"id": "PUSR", "type": "user_reference", "summary": "Ada"},
    }


def test_references_are_light_and_the_entry_keeps_its_fields() -> None:
    entry = LogEntry.model_validate_json(json.dumps(_entry(1)))
    assert entry.service == LogRef("PSVC", "service_reference", "Checkout",
                                   "https://acme.pagerduty.com/service-directory/PSVC")
    assert entry.agent is not None and entry.agent.type.startswith("user")
    assert not hasattr(entry.incident, "__dict__")  # slots: one object, no dict
    assert entry.assignees == () and entry.user is None
    assert entry.model_extra == {"self": "https://api.pagerduty.com/log_entries/R000001",
                                 "note": {"content": "kept"}}
    assert entry.created_at.tzinfo is not None and entry.created_at.utcoffset().total_seconds() == 0
    again = LogEntry.model_validate(entry.model_dump())
    assert again == entry


def test_a_page_of_entries_leaves_few_objects_for_the_collector() -> None:
    """With a `Reference` model per reference an entry with three references left 11
    objects for the collector (a model and a fields-set per reference, an empty
    assignees list, the entry's model, dict, fields-set and extras); now 7: the three
    references are one object each (slots, no dict, no fields-set) and no list."""
    body = json.dumps({"log_entries": [_entry(n) for n in range(100)], "more": False}).encode()
    adapter = _page_adapter("log_entries", LogEntry)
    adapter.validate_json(body)
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        page = adapter.validate_json(body)
        made = len(gc.get_objects()) - before
    finally:
        gc.enable()
    assert len(page["log_entries"]) == 100
    assert made <= 7 * 100 + 10, made
