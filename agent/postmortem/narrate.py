"""The narrative: a template by default, the LLM's prose when one is configured.

The numbers are never the LLM's: it gets the computed metrics as facts, and
its text is kept only if every number in it is one of ours (in a unit the
report renders: seconds, whole or decimal minutes and hours, duration parts
like the 6 and 30 of "6 min 30 s", counts, clock times and dates of events,
and numbers already present in titles, names and notes). Anything else and
the template is used, with the reason recorded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent import llm
from agent.config import Settings

from .render import human_duration

NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_UNIT = r"(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b"
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*" + _UNIT, re.I)
DURATION_RUN = re.compile(r"\d+(?:\.\d+)?\s*" + _UNIT + r"(?:(?:\s+and\s+|\s+)\d+(?:\.\d+)?\s*"
                          + _UNIT + ")*", re.I)
UNIT_SECONDS = {"day": 86400, "d": 86400, "hour": 3600, "hr": 3600, "h": 3600, "minute": 60,
                "min": 60, "m": 60, "second": 1, "sec": 1, "s": 1}


@dataclass(frozen=True)
class Narrative:
    text: str
    source: str
    """`llm` or `template`."""
    fallback_reason: str | None = None


def template_narrative(report: dict[str, Any]) -> str:
    """Plain sentences built from the computed facts; the default and the fallback."""
    inc, m = report["incident"], report["metrics"]
    who = _names(report)
    name = f"#{inc['number']}" if inc.get("number") else inc["id"]
    service = inc["service"].get("name") or inc["service"]["id"]
    parts = [f"Incident {name} ({inc['title']}) on {service} was triggered at "
             f"{_clock(m.get('triggered_at'))}."]
    if m.get("paged_users"):
        channels = ", ".join(f"{k} ({v})" for k, v in m.get("notifications_by_channel", {}).items())
        parts.append(f"{m['notifications']} notification(s) paged {', '.join(who(u) for u in m['paged_users'])}"
                     f"{f' by {channels}' if channels else ''}.")
    if m.get("time_to_acknowledge_s") is not None:
        parts.append(f"{who(m['first_acknowledged_by'])} acknowledged it after "
                     f"{human_duration(m['time_to_acknowledge_s'])}.")
    else:
        parts.append("Nobody acknowledged it.")
    if m.get("escalations"):
        parts.append(f"It escalated {m['escalations']} time(s).")
    if m.get("reassignments"):
        parts.append(f"It was reassigned {m['reassignments']} time(s).")
    if m.get("retriggers"):
        parts.append(f"It was re-opened {m['retriggers']} time(s) after a resolve.")
    for note in m.get("notes_list") or []:
        parts.append(f"{who(note['by'])} noted at {_clock(note['at'])}: \"{note['text']}\".")
    if m.get("time_to_resolve_s") is not None:
        parts.append(f"It was resolved {human_duration(m['time_to_resolve_s'])} after the trigger, "
                     f"at {_clock(m.get('resolved_at'))}.")
    else:
        parts.append(f"It is not resolved (status {inc['status']}).")
    if report.get("anomalies"):
        parts.append(f"{len(report['anomalies'])} anomalies in the log were set aside.")
    return " ".join(parts)


def _names(report: dict[str, Any]) -> Any:
    """user id -> "Name (id)" from the names the log entries carry."""
    names: dict[str, str] = {}
    for event in report.get("timeline") or []:
        if event.get("actor_id") and event.get("actor_name"):
            names.setdefault(event["actor_id"], event["actor_name"])
        for user, name in zip(event.get("users") or [], event.get("user_names") or [], strict=False):
            names.setdefault(user, name)

    def who(user: str | None) -> str:
        if not user:
            return "Someone"
        name = names.get(user)
        return f"{name} ({user})" if name and name != user else user

    return who


def allowed_numbers(report: dict[str, Any]) -> set[Decimal]:
    """Every number the report can truthfully mention, in every unit it renders."""
    values: set[Decimal] = set()

    def add(value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int | float):
            values.add(_norm(str(value)))
        elif isinstance(value, str):
            values.update(_norm(n) for n in NUMBER.findall(value.replace(",", "")))
        elif isinstance(value, dict):
            for item in value.values():
                add(item)
        elif isinstance(value, list | tuple):
            for item in value:
                add(item)

    m = report["metrics"]
    add(m)
    add(report["incident"])
    add(len(report.get("anomalies") or []))
    for event in report.get("timeline") or []:
        add([event.get("at"), event.get("text"), event.get("user_names"), event.get("actor_name")])
    durations = [m.get("time_to_acknowledge_s"), m.get("time_to_resolve_s"),
                 *(m.get("time_in_status_s") or {}).values()]
    for seconds in (s for s in durations if isinstance(s, int)):
        for size in (60, 3600, 86400):
            whole, rest = divmod(seconds, size)
            values.update({Decimal(whole), Decimal(whole + (1 if rest else 0)),
                           _norm(f"{seconds / size:.1f}"), _norm(f"{seconds / size:.2f}")})
        add(human_duration(seconds))
    for stamp in [m.get("triggered_at"), m.get("acknowledged_at"), m.get("resolved_at")]:
        if stamp:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            values.update(Decimal(v) for v in (at.hour % 12 or 12, at.year % 100))
    return values


def allowed_durations(report: dict[str, Any]) -> set[int]:
    """Seconds the report shows as durations: the metrics and each event's offset from the trigger."""
    m = report["metrics"]
    found = {v for v in (m.get("time_to_acknowledge_s"), m.get("time_to_resolve_s"),
                         *(m.get("time_in_status_s") or {}).values()) if isinstance(v, int)}
    if m.get("triggered_at"):
        start = datetime.fromisoformat(m["triggered_at"].replace("Z", "+00:00"))
        for event in report.get("timeline") or []:
            at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
            found.add(int((at - start).total_seconds()))
    return found


def _texts(report: dict[str, Any]) -> list[str]:
    """Free texts of the facts (title, service, notes, names) that may hold numbers."""
    inc = report["incident"]
    texts = [inc.get("title") or "", inc["service"].get("name") or ""]
    for event in report.get("timeline") or []:
        texts += [event.get("text") or "", event.get("actor_name") or "", *event.get("user_names", [])]
    return texts


def _duration_ok(parts: list[tuple[Decimal, int]], durations: set[int]) -> bool:
    """A compound duration must be exact; a single unit may be rounded as people do."""
    if len(parts) > 1:
        return sum(v * size for v, size in parts) in durations
    value, size = parts[0]
    for seconds in durations:
        exact = Decimal(seconds) / size
        whole, rest = divmod(seconds, size)
        if value in {whole, whole + (1 if rest else 0), round(exact),
                     exact.quantize(Decimal("0.1")), exact.quantize(Decimal("0.01"))}:
            return True
    return False


def unknown_numbers(text: str, report: dict[str, Any]) -> list[str]:
    """Numbers in `text` that none of the computed facts supports.

    Durations ("6 min 30 s", "390 seconds", "about 7 minutes") are checked as
    durations against the report's; every other number against `allowed_numbers`.
    """
    allowed = allowed_numbers(report)
    durations = allowed_durations(report)
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    bad: list[str] = []
    spans: list[tuple[int, int]] = []
    quoted = " ".join(_texts(report)).lower()
    for run in DURATION_RUN.finditer(cleaned):
        if run.group(0).lower() in quoted:
            continue  # e.g. "502s" in the title: a plain number from the facts, checked below
        parts = [(_norm(n), UNIT_SECONDS[u.lower().rstrip("s") or "s"])
                 for n, u in DURATION_PART.findall(run.group(0))]
        spans.append(run.span())
        if not _duration_ok(parts, durations):
            bad.append(run.group(0).strip())
    rest = "".join(" " if any(a <= i < b for a, b in spans) else c for i, c in enumerate(cleaned))
    bad += [n for n in NUMBER.findall(rest) if _norm(n) not in allowed]
    return bad


async def llm_narrative(report: dict[str, Any], model: BaseChatModel) -> Narrative:
    """Ask the model for prose around the facts; keep it only if its numbers are ours."""
    facts = {k: report[k] for k in ("incident", "metrics", "anomalies")}
    facts["key_events"] = [e for e in report["timeline"] if e["kind"] != "notify"][:200]
    facts["durations_rendered"] = {
        k: human_duration(report["metrics"].get(k))
        for k in ("time_to_acknowledge_s", "time_to_resolve_s")
    }
    template = template_narrative(report)
    try:
        system = llm.load_prompt("postmortem")
        reply = await model.ainvoke([
            ("system", system),
            ("human", "Facts (JSON, computed; use only these numbers):\n"
                      + json.dumps(facts, indent=1, default=str)),
        ])
    except Exception as error:  # noqa: BLE001 -- any model failure means the template
        return Narrative(template, "template", f"LLM call failed: {type(error).__name__}")
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    text = text.strip()
    if not text:
        return Narrative(template, "template", "LLM returned an empty narrative")
    bad = unknown_numbers(text, report)
    if bad:
        return Narrative(template, "template",
                         f"LLM narrative had numbers not in the computed facts: {', '.join(bad[:10])}")
    return Narrative(text, "llm")


def chat_model(settings: Settings) -> BaseChatModel | None:
    """ChatOpenAI at `openai_base_url`, or None when no LLM is configured."""
    return llm.chat_model(settings, max_tokens=600, timeout_s=60) if llm.llm_configured(settings) else None


async def narrate(report: dict[str, Any], model: BaseChatModel | None) -> Narrative:
    if model is None:
        return Narrative(template_narrative(report), "template")
    return await llm_narrative(report, model)


def _norm(text: str) -> Decimal:
    try:
        return Decimal(text).normalize()
    except InvalidOperation:
        return Decimal(-1)


def _clock(value: str | None) -> str:
    if not value:
        return "an unknown time"
    if _UTC_STAMP.fullmatch(value):  # the report's own form: cut, don't parse (once a note)
        return f"{value[11:19]} UTC on {value[:10]}"
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at.strftime("%H:%M:%S UTC on %Y-%m-%d")
