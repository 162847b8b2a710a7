"""Log entries are validated once, into light models: a 2,400-entry log is thousands of
objects, and every one of them is memory and work for the garbage collector."""

from __future__ import annotations

import gc
import json
import tracemalloc
from datetime import UTC, datetime

import pydantic
import pytest

from agent.pagerduty.models import LogChannel, LogEntry, LogRef, adapter_for
from agent.pagerduty.pagination import _page_adapter
from agent.postmortem.timeline import build_timeline


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


def test_an_entry_is_one_slotted_object_with_the_fields_the_post_mortem_reads() -> None:
    entry = adapter_for(LogEntry).validate_json(json.dumps(_entry(1)))
    assert entry.service == LogRef("PSVC", "service_reference", "Checkout",
                                   "https://acme.pagerduty.com/service-directory/PSVC")
    assert entry.agent is not None and entry.agent.type.startswith("user")
    assert not hasattr(entry, "__dict__") and not hasattr(entry.incident, "__dict__")  # slots
    assert entry.assignees == () and entry.user is None
    assert entry.note == {"content": "kept"}  # read by the timeline, so a field
    assert entry.channel == LogChannel("note", "note 1")  # type and text; no dict
    assert not hasattr(entry, "self")  # the API link nothing reads is not kept
    assert entry.created_at.tzinfo is not None and entry.created_at.utcoffset().total_seconds() == 0
    again = adapter_for(LogEntry).validate_python(adapter_for(LogEntry).dump_python(entry))
    assert again == entry


def _page_body(count: int) -> bytes:
    return json.dumps({"log_entries": [_entry(n) for n in range(count)], "more": False}).encode()


def test_a_page_of_entries_leaves_few_objects_for_the_collector() -> None:
    """As models (a `Reference` model per reference) an entry with three references left 11
    objects for the collector; with `LogRef` 7 (the entry's model, dict, fields-set and
    extras, and the references); as a slotted dataclass 2: itself and its channel. Its
    references are shared with every other entry naming the same incident, service or
    person, and its note (a dict of plain values) is not tracked."""
    body = _page_body(100)
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
    entries = page["log_entries"]
    assert len(entries) == 100
    assert entries[0].service is entries[99].service  # one shared reference
    assert made <= 2 * 100 + 10, made


def test_a_page_of_entries_is_small_in_memory() -> None:
    """The memory a parsed log keeps: 2,441 bytes an entry of this page as a model (its
    dict, fields-set and extras with the `self` link), 1,043 as a dataclass with a channel
    dict and references of its own, 658 with a `LogChannel` and shared references. The
    benchmark's 2,400-entry log is then 0.8 MiB, not 4.75: the most of what fetching it
    added to a process's peak (bench.vs_official's `rss` case). Fails if an entry grows
    back a dict, its own references or a model."""
    body = _page_body(100)
    adapter = _page_adapter("log_entries", LogEntry)
    adapter.validate_json(body)  # jiter's string cache and pydantic's lazy parts, warmed
    gc.collect()
    tracemalloc.start()
    try:
        page = adapter.validate_json(body)
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(page["log_entries"]) == 100
    assert kept / 100 <= 750, kept / 100


def test_the_timeline_reads_the_fields_that_were_extras() -> None:
    """`note`, `responders`, `responder_request_targets` and `escalation_level` were read from
    the model's extras; they are fields now, and the events carry them as before."""
    raw = [
        {**_entry(1), "type": "escalate_log_entry", "escalation_level": 2, "channel": {"type": "timeout"},
         "note": None},
        {**_entry(2), "created_at": "2026-06-01T12:00:01Z", "channel": {"type": "note"},
         "note": "rolled back"},
        {**_entry(3), "created_at": "2026-06-01T12:00:02Z", "type": "responder_request_log_entry",
         "channel": {"type": "web"}, "note": None,
         "responder_request_targets": [{"id": "PU9", "type": "user_reference", "summary": "Grace"}]},
    ]
    for entry in raw:
        entry.pop("incident")
    events = build_timeline("PINC", raw).events
    assert [e.escalation_level for e in events] == [2, None, None]
    assert events[1].text == "rolled back"
    assert (events[2].users, events[2].user_names) == (("PU9",), ("Grace",))


def test_times_are_read_into_the_one_utc_zone_whatever_their_form() -> None:
    """PagerDuty's `...Z` form is read by the standard library, the rest by pydantic; every
    one ends in `datetime.UTC` (sorting a log compares times thousands of times, and times
    in zones of their own call those zones back), and a wrong one is refused by pydantic."""
    adapter = adapter_for(LogEntry)
    forms = {
        "2026-06-01T12:00:00Z": datetime(2026, 6, 1, 12, tzinfo=UTC),
        "2026-06-01T12:00:00.250Z": datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=UTC),
        "2026-06-01T14:00:00+02:00": datetime(2026, 6, 1, 12, tzinfo=UTC),
        "2026-06-01T12:00:00": datetime(2026, 6, 1, 12, tzinfo=UTC),  # naive means UTC
    }
    for text, expected in forms.items():
        entry = adapter.validate_json(json.dumps({**_entry(1), "created_at": text}))
        assert entry.created_at == expected and entry.created_at.tzinfo is UTC, text
    with pytest.raises(pydantic.ValidationError, match="month value is outside"):
        adapter.validate_json(json.dumps({**_entry(1), "created_at": "2026-13-01T12:00:00Z"}))
