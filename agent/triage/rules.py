"""Triage with no model: intents from patterns, the service from the
catalog scorer, urgency from severity words.

Whether text is an incident at all: a service clearly named, or words of
operational failure (status codes, errors, latency, severity tags). Neither
-> `not_incident`, which pages nobody. A real alert that names no known
service is still a page, with `service_id` None and candidates for a human.
"""

from __future__ import annotations

import re

from agent.pagerduty.catalog import Catalog
from agent.triage.intents import detect
from agent.triage.models import Intent, TriageResult
from agent.triage.scoring import FLOOR, clear_winner, rank_with_words
from agent.triage.severity import default_urgency, priority_for_level, priority_named, read_severity
from agent.triage.text import make_details, make_title

MAX_CANDIDATES = 5

# One of these is enough to call text an operational problem.
_STRONG_SIGNAL = re.compile(
    r"\b(?:errors?|exceptions?|fail(?:s|ed|ing|ures?)?|timeouts?|timed\s+out|latency|outage"
    r"|degraded|unavailable|unreachable|unresponsive|crash(?:es|ed|ing|loop\w*)?|oom\w*"
    r"|out\s+of\s+memory|cpu|memory|disk|backlog|lag|replication|deadlock|throttl\w*"
    r"|5\d\d|4\d\d|[45]xx|http|https|api|database|db|server|host|node|pod|cluster|queue"
    r"|latenc\w+|p9\d|certificate|cert|tls|ssl|dns|deploy\w*|rollback|incident|alert\w*|firing"
    r"|triggered|paging|pager|on[\s-]?call|sev[\s-]?[0-5]|p[0-5]|critical|warning"
    r"|not\s+(?:arriving|loading|responding|reachable|ready|working\s+in\s+prod\w*)|notready"
    r"|stale|dropp(?:ed|ing)|rejected|refused|denied|accessdenied|white\s+screen|went\s+wrong"
    r"|cannot\s+log\s*in|can't\s+log\s*in|login|health\s*check|monitor\w*|spik\w+|saturat\w+)\b",
    re.I,
)
# Everyday trouble words: two of them are needed.
_WEAK_SIGNAL = re.compile(
    r"\b(?:down|broken|slow|stuck|not\s+working|issue|problem|bug|high|full)\b", re.I
)
# Plain-words outage reports: enough on their own unless the text is chatter.
_DESCRIPTIVE_SIGNAL = re.compile(
    r"\b(?:(?:is|are|went|goes|site|app|website|shop|store|server|service|checkout|payments?)"
    r"\s+(?:completely\s+|totally\s+)?down|on\s+fire|not\s+working|broken\s+for|nobody\s+can"
    r"|no\s+one\s+can|stopped\s+working)\b",
    re.I,
)
# Office and social life: with no failure words, these mark chatter even
# when a word happens to match a service ("the warehouse party").
_SOCIAL = re.compile(
    r"\b(?:party|lunch|dinner|breakfast|coffee|birthday|cake|snacks?|kitchen|meeting|offsite"
    r"|all[\s-]hands|holiday|vacation|reminder|parking|desk|stapler|printer\s+paper|welcome|farewell"
    r"|congrat\w*|celebrat\w*|drinks|team\s+building)\b",
    re.I,
)
_RECOVERY = re.compile(
    r"^\s*(?:\[\s*(?:resolved|recovered|ok)\s*\]|(?:resolved|recovered|recovery|ok)\s*:)", re.I
)
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|your)\s+"
    r"(?:instructions?|prompts?|rules?|messages?)|\bsystem\s+prompt\b|\byou\s+are\s+now\b"
    r"|\b(?:page|notify|alert|wake\s+up)\s+(?:everyone|everybody|all\s+(?:teams|engineers|responders|people|hands|on[\s-]?calls?|schedules|services))|\buse\s+service\s+\w+",
    re.I,
)
_ID_WORD = re.compile(r"\b[A-Z][A-Z0-9]{5,13}\b")


def looks_hostile(text: str) -> bool:
    """Words addressed to the agent rather than describing a problem."""
    return bool(_INJECTION.search(text))


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(0) if m else None


def operational_signal(text: str) -> str | None:
    """The words that make this look like a production problem, if any."""
    if m := _STRONG_SIGNAL.search(text):
        return m.group(0)
    weak = [m.group(0) for m in _WEAK_SIGNAL.finditer(text)]
    return " / ".join(weak[:2]) if len(weak) >= 2 else None


def pick_service(words: str, catalog: Catalog, full_text: str | None = None):
    """(service_id, service_words, candidates, reasons) for `words`.

    A catalog service id written in the text only counts when the words also
    point at that service; an id alone cannot choose what gets paged."""
    ranked = rank_with_words(words, catalog)
    reasons: list[str] = []
    text = full_text if full_text is not None else words
    scores = {c.id: c for c, _ in ranked}
    for word in dict.fromkeys(_ID_WORD.findall(text)):
        service = catalog.service(word)
        if service is None:
            if word.startswith("P") and any(ch.isdigit() for ch in word):
                reasons.append(f"ignored id {word}: no such service in the account")
            continue
        candidate = scores.get(word)
        if candidate is not None and candidate.score >= FLOOR / 2:
            candidate.score = round(candidate.score + FLOOR, 3)
            candidate.why += f", id {word} written in the text"
        else:
            reasons.append(f"ignored service id {word}: the words do not describe {service.name}")
    ranked.sort(key=lambda pair: (-pair[0].score, pair[0].name))
    candidates = [c for c, _ in ranked]
    winner = clear_winner(candidates)
    if winner:
        matched = next(m for c, m in ranked if c.id == winner.id)
        reasons.append(f"service {winner.name} ({winner.id}): {winner.why}")
        return winner.id, " ".join(matched) or None, candidates[:MAX_CANDIDATES], reasons
    if candidates:
        top = candidates[:MAX_CANDIDATES]
        if top[0].score < FLOOR:
            reasons.append("no service is clearly named; weak matches listed for a human to pick")
        else:
            reasons.append(
                "several services fit about equally: "
                + ", ".join(f"{c.name} ({c.score})" for c in top[:3])
            )
        matched = ranked[0][1]
        return None, " ".join(matched) or None, top, reasons
    reasons.append("no catalog service matches these words")
    return None, None, [], reasons


def triage_rules(text: str, catalog: Catalog) -> TriageResult:
    """The whole rules path; `verify` still runs on the result."""
    extracted = detect(text, catalog)
    reasons = list(extracted.reasons)
    if looks_hostile(text):
        reasons.append("the text contains instructions addressed to the agent; they are ignored")
    base = dict(
        title=make_title(text),
        details=make_details(text),
        incident_ref=extracted.incident_ref,
        people=extracted.people,
        schedule_words=extracted.schedule_words,
        time_words=extracted.time_words,
        message=extracted.message,
        leaving=extracted.leaving,
        covering=extracted.covering,
        policy_words=extracted.policy_words,
        source="rules",
    )
    intent = extracted.intent

    if intent is None:
        return _alert(text, catalog, reasons, base)

    service_id = service_words = None
    candidates = []
    if intent in (Intent.who_is_on_call, Intent.list_incidents) and extracted.subject_words:
        service_id, service_words, candidates, more = pick_service(
            extracted.subject_words, catalog, text
        )
        if intent == Intent.who_is_on_call and service_id is None and extracted.schedule_words:
            more = [f"schedule words '{extracted.schedule_words}' for the roster lookup"]
        reasons += more
    elif intent not in (Intent.override, Intent.who_is_on_call, Intent.list_incidents):
        # Updates may name the service instead of an incident number.
        service_id, service_words, candidates, _ = pick_service(text, catalog)
        if service_id is None:
            service_words, candidates = None, []

    urgency = priority = None
    if intent == Intent.change_urgency and extracted.level in ("high", "low"):
        urgency = extracted.level
        reasons.append(f"new urgency {urgency}")
    if intent == Intent.change_priority:
        found = priority_named(extracted.level, catalog)
        if found:
            priority = found.name
            reasons.append(f"new priority {found.name}")
        else:
            reasons.append(f"priority '{extracted.level}' is not one of the account's priorities")
    return TriageResult(
        intent=intent,
        service_id=service_id,
        service_words=service_words,
        candidates=candidates,
        urgency=urgency,
        priority=priority,
        reasons=reasons,
        **base,
    )


def _alert(text: str, catalog: Catalog, reasons: list[str], base: dict) -> TriageResult:
    """Plain text with no request verb: an alert to page, or nothing at all."""
    if _RECOVERY.search(text):
        reasons.append("a recovery notice: nothing to page")
        return TriageResult(intent=Intent.not_incident, reasons=reasons, **base)
    # Instructions to the agent are not evidence about the problem.
    text = _INJECTION.sub(" ", text)
    service_id, service_words, candidates, more = pick_service(text, catalog)
    severity = read_severity(text)
    signal = operational_signal(text)
    named = bool(candidates) and candidates[0].score >= FLOOR
    if signal is None and not severity.explicit:
        social = _SOCIAL.search(text)
        signal = None if social else _first(_DESCRIPTIVE_SIGNAL, text)
        if social or not (named or signal):
            why = (
                f"it reads as office chatter ('{social.group(0)}')"
                if social
                else "no service of the account is named"
            )
            reasons.append(f"not an incident: {why} and nothing describes a failure")
            return TriageResult(
                intent=Intent.not_incident, candidates=candidates, reasons=reasons, **base
            )
    reasons.append("intent page: an alert" + (f" ('{signal}')" if signal else ""))
    reasons += more
    if severity.urgency:
        urgency = severity.urgency
        reasons += severity.reasons
    else:
        urgency, why = default_urgency(catalog.service(service_id) if service_id else None)
        reasons.append(why)
    priority = None
    if severity.level is not None:
        found = priority_for_level(severity.level, catalog)
        if found:
            priority = found.name
            reasons.append(f"priority {found.name}: from level {severity.level}")
    return TriageResult(
        intent=Intent.page,
        service_id=service_id,
        service_words=service_words,
        candidates=candidates,
        urgency=urgency,
        priority=priority,
        reasons=reasons,
        **base,
    )
