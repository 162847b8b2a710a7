"""What the words ask for, and the words another step will resolve.

Intent comes from verbs and patterns, checked in a fixed order so the most
specific request wins ("who is on call" before "override"). Update intents
(ack, resolve, note...) need the verb at the start of the request or an
incident reference, so an alert that merely contains "resolved" stays an
alert. Nothing here can turn text into more paging than a plain alert: the
default is `page`, and every other intent is narrower.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.pagerduty.catalog import Catalog
from agent.triage.models import Intent

_LEAD = r"^\s*(?:@\w+[\s,:]*)?(?:(?:hey|hi|ok|okay|so)[\s,]+)?(?:please\s+|pls\s+|can\s+you\s+|could\s+you\s+|would\s+you\s+|let'?s\s+|go\s+ahead\s+and\s+|i\s+need\s+(?:you\s+)?to\s+)*"

INCIDENT_REF = re.compile(
    r"(?<![\w#])#\s?(\d{1,9})\b|\bincident\s+(?:number\s+|no\.?\s*)?#?(\d{1,9})\b|\b(P[A-Z0-9]{5,13})\b"
)

_PATTERNS: list[tuple[Intent, re.Pattern[str], bool]] = [
    # (intent, pattern, needs an imperative lead or an incident reference)
    (
        Intent.postmortem,
        re.compile(
            r"\b(post[\s-]?mortems?|pir|retro(?:spective)?|incident\s+review|after[\s-]action\s+review)\b",
            re.I,
        ),
        False,
    ),
    (
        Intent.who_is_on_call,
        re.compile(
            r"\bwho(?:'s|\s+is|\s+are|\s+will\s+be|\s+was)?\s+(?:currently\s+|now\s+)?on[\s-]?call\b|\bwho\s+(?:do\s+i|should\s+i|to)\s+page\b|\bwho(?:'s|\s+is)\s+(?:covering|primary|secondary)\b",
            re.I,
        ),
        False,
    ),
    (
        Intent.list_incidents,
        re.compile(
            r"\b(?:list|show|get|what\s+are|which|any|are\s+there(?:\s+any)?|how\s+many)\b[\w\s'-]{0,40}?\bincidents\b",
            re.I,
        ),
        False,
    ),
    (
        Intent.change_urgency,
        re.compile(
            r"\b(?:change|set|make|raise|lower|bump|downgrade|upgrade|switch|update)\b.{0,60}\burgency\b|\burgency\b.{0,40}\bto\s+(?:high|low)\b",
            re.I,
        ),
        True,
    ),
    (
        Intent.change_priority,
        re.compile(
            r"\b(?:change|set|make|raise|lower|bump|downgrade|upgrade|escalate|update)\b.{0,60}\b(?:priority|p[0-5]|sev[\s-]?[0-5])\b",
            re.I,
        ),
        True,
    ),
    (
        Intent.reassign,
        re.compile(r"\b(?:re-?assign|assign|hand\s+(?:it\s+|this\s+)?over|transfer)\b", re.I),
        True,
    ),
    (
        Intent.add_responder,
        re.compile(r"\bresponders?\b|\b(?:loop|pull|bring|call)\s+in\b|\binvite\b", re.I),
        True,
    ),
    (
        Intent.add_note,
        re.compile(r"\b(?:add\s+(?:a\s+)?)?(?:note|comment)s?\b|\bannotate\b", re.I),
        True,
    ),
    (Intent.acknowledge, re.compile(r"\b(?:ack|acknowledge|acked|acknowledged)\b", re.I), True),
    (
        Intent.resolve,
        re.compile(r"\b(?:resolve|close|mark\b.{0,40}\b(?:resolved|closed|fixed))\b", re.I),
        True,
    ),
    (
        Intent.override,
        re.compile(
            r"\b(?:swap|replace|cover|covers|covering|override|take\s+over|takes\s+over|drop|remove|put|switch)\b.{0,80}\b(?:rotation|shift|schedule|on[\s-]?call|pager)\b|\b(?:rotation|shift|schedule|on[\s-]?call)\b.{0,40}\b(?:swap|override|cover)\b"
            r"|\b(?:take|takes|taking|grab|grabs)\s+[A-Z]\w*'s\s+(?:[\w-]+\s+){0,3}(?:shift|rotation|on[\s-]?call|pager)\b",
            re.I,
        ),
        False,
    ),
]

_TIME = re.compile(
    r"\b(?:until|till|til|through)\s+.+"
    r"|\bfor\s+the\s+(?:next|rest\s+of)\s+.+"
    r"|\bfor\s+\d+\s*(?:h|hrs?|hours?|m|mins?|minutes?|d|days?|weeks?)\b.*"
    r"|\bfrom\s+(?:now|today|tonight|tomorrow|mon|tue|wed|thu|fri|sat|sun|\d|noon|midnight|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*\b.+"
    r"|\bbetween\s+.+\s+and\s+.+"
    r"|\b(?:starting|beginning)\s+.+"
    r"|\b(?:tonight|today|tomorrow|this\s+(?:weekend|week|evening|afternoon|morning)|over\s+the\s+weekend|next\s+(?:week|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b.*",
    re.I,
)
_SCHEDULE_NOUN = r"(?:rotation|shift|schedule|on[\s-]?call|pager)"
_SCHEDULE = re.compile(
    r"\b(?:on|for|in|of|off|from|to|into)\s+(?:the\s+)?((?:[A-Z0-9][\w&.-]*\s+){0,4}?[A-Z0-9][\w&.-]*)(?:'s)?\s+("
    + _SCHEDULE_NOUN
    + r")\b"
)
# "covers the Payments rotation": no preposition, but a named rotation all the same.
_SCHEDULE_AFTER_THE = re.compile(
    r"\b(?:the|his|her|their|my|our)\s+((?:[A-Z0-9][\w&.-]*\s+){0,4}?[A-Z0-9][\w&.-]*)(?:'s)?\s+("
    + _SCHEDULE_NOUN
    + r")\b"
)
_NOT_NAMES = frozenset(
    """
    I I'm Im Me My We Our You The A An On For To From In At By With And Or But If Please Can Could
    Would Should Will Swap Replace Cover Covers Override Take Drop Remove Put Switch Reassign Assign
    Add Note Ack Acknowledge Resolve Close Mark Who Whos List Show Get What Which Any Are Is Change
    Set Make Raise Lower Bump Hand Transfer Loop Pull Bring Invite Post Mortem PIR Hey Hi Ok Okay
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mon Tue Wed Thu Fri Sat Sun Today
    Tonight Tomorrow Yesterday January February March April May June July August September October
    November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec AM PM UTC GMT CET EST PST
    Rotation Shift Schedule Primary Secondary Incident Incidents Responder Responders Urgency
    Priority High Low Thanks Then Until Till Next Rest Noon Midnight Also Now It This That He She They
    """.split()
)
_ME = re.compile(
    r"\b(?:me|myself)\b|\bI(?:'m|\s+am|\s+will|'ll)?\b(?=\s+(?:take|cover|be|am|'ll|will|do|can))"
)


@dataclass
class Extracted:
    intent: Intent | None  # None: not a request; the caller decides page / not_incident
    incident_ref: str | None = None
    people: list[str] = field(default_factory=list)
    schedule_words: str | None = None
    time_words: str | None = None
    message: str | None = None
    subject_words: str | None = None  # the part naming a service, for lookups
    level: str | None = None  # "high"/"low" or a priority word for change_* intents
    leaving: str | None = None  # override: who hands the shift over
    covering: str | None = None  # override: who takes it
    policy_words: str | None = None  # reassign / add responder: "Infrastructure escalation policy"
    reasons: list[str] = field(default_factory=list)


def find_incident_ref(text: str, catalog: Catalog) -> str | None:
    """`#1201`, `incident 1201`, or an id-shaped word that is not some other
    catalog object's id."""
    known = {
        o.id
        for group in (
            catalog.services,
            catalog.users,
            catalog.schedules,
            catalog.escalation_policies,
            catalog.priorities,
            catalog.teams,
        )
        for o in group
    }
    for m in INCIDENT_REF.finditer(text):
        if m.group(1) or m.group(2):
            return f"#{m.group(1) or m.group(2)}"
        if m.group(3) not in known and re.search(r"\d", m.group(3)):
            return m.group(3)
    return None


def find_people(text: str, catalog: Catalog) -> list[str]:
    """Person words in order of mention: catalog users by full, first or last
    name (as capitalised words), other capitalised names, emails, and "me"."""
    hits: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, word: str) -> None:
        if not any(a < end and start < b for a, b in taken):
            taken.append((start, end))
            hits.append((start, word))

    for m in re.finditer(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text):
        add(m.start(), m.end(), m.group(0))
    names = sorted({u.name for u in catalog.users}, key=len, reverse=True)
    parts = sorted({p for n in names for p in n.split() if len(p) > 1}, key=len, reverse=True)
    for name in names + parts:
        for m in re.finditer(rf"(?<![\w@.]){re.escape(name)}(?:'s)?\b", text):
            add(m.start(), m.end(), name)
    schedule_spans = [m.span(1) for m in _SCHEDULE.finditer(text)]
    # Words of the account's own object names are not people ("Core Backend").
    object_words = {
        w
        for group in (
            catalog.services,
            catalog.teams,
            catalog.schedules,
            catalog.escalation_policies,
        )
        for o in group
        for w in re.findall(r"[A-Za-z]+", o.name)
    } - set(parts)
    for m in re.finditer(r"(?<![\w@.])([A-Z][a-z]+(?:[-'][A-Z][a-z]+)?)(?:'s)?\b", text):
        word = m.group(1)
        in_schedule = any(a <= m.start() < b for a, b in schedule_spans)
        pieces = re.split(r"[-']", word)
        known = any(p in _NOT_NAMES or p in object_words for p in [word, *pieces])
        if not known and not in_schedule and m.start() > 0:
            add(m.start(), m.end(), word)
    for m in _ME.finditer(text):
        add(m.start(), m.end(), "me")
    return [w for _, w in sorted(hits)]


def find_time_words(text: str) -> str | None:
    m = _TIME.search(text)
    if not m:
        return None
    words = re.split(
        r"[.;\n]\s|\s+(?:on|for)\s+(?:the\s+)?[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*\s+" + _SCHEDULE_NOUN,
        m.group(0),
    )[0]
    return words.strip(" ,.;:!?") or None


def find_schedule_words(text: str, catalog: Catalog) -> str | None:
    """A catalog schedule named in full, else "<Words> rotation" as written."""
    lowered = text.lower()
    for schedule in sorted(catalog.schedules, key=lambda s: len(s.name), reverse=True):
        if schedule.name.lower() in lowered:
            return schedule.name
    if m := _SCHEDULE.search(text) or _SCHEDULE_AFTER_THE.search(text):
        return f"{m.group(1)} {m.group(2)}".strip()
    for team in sorted(catalog.teams, key=lambda t: len(t.name), reverse=True):
        if re.search(rf"\b{re.escape(team.name)}\b", text, re.I):
            return team.name
    return None


_POLICY = re.compile(
    r"((?:[A-Z0-9][\w&.-]*\s+){1,4}?)(?i:escalation\s+polic(?:y|ies)|escalation|EP)\b"
    r"|\b(?i:escalation\s+policy)\s+(?:for\s+|of\s+)?(?:the\s+)?((?:[A-Z0-9][\w&.-]*\s*){1,4})"
)


def find_policy_words(text: str) -> str | None:
    """ "the Infrastructure escalation policy" -> "Infrastructure escalation policy"."""
    m = _POLICY.search(text)
    if not m:
        return None
    if m.group(1):
        return f"{m.group(1).strip()} escalation policy"
    return f"{m.group(2).strip()} escalation policy"


def _role_patterns(name: str) -> tuple[list[str], list[str]]:
    n = re.escape(name)
    if name == "me":
        n = r"(?:me|myself)"
    covering = [
        rf"\b(?:with|by)\s+{n}\b",
        rf"\b(?:swap|switch|trade|exchange)\b[^.;]{{0,60}}?\bfor\s+{n}\b",
        rf"\b(?:hand|give|pass)\b[^.;]{{0,40}}?\bto\s+{n}\b",
        rf"\b{n}(?:'ll|\s+will|\s+can|\s+is\s+going\s+to|\s+to|\s+should)?\s+"
        r"(?:covers?|covering|takes?\s+over|taking\s+over|steps?\s+in|fills?\s+in|replaces?|is\s+covering)\b",
        # "Arjun (can) take Susan's shift": the taker covers.
        rf"\b{n}\s+(?:can\s+|could\s+|will\s+|to\s+)?(?:take|takes|taking|grab|grabs)\s+[A-Z]\w*'s\b",
    ]
    leaving = [
        rf"\b{n}'s\s+(?:[\w-]+\s+){{0,4}}(?:shift|rotation|on[\s-]?call|pager|slot)\b",
        rf"\b(?:instead\s+of|in\s+place\s+of|covers?\s+for|covering\s+for|takes?\s+over\s+from"
        rf"|relieves?|replac(?:e|es|ing))\s+{n}\b",
        rf"\b{n}(?:'s)?\s+(?:is\s+(?:unwell|sick|ill|out|off|away|leaving|unavailable)|has\b|can'?t|cannot"
        r"|needs\s+to\s+(?:drop|leave|be\s+off|go)|drops?\b|leaves\b|is\s+dropping)",
    ]
    if name == "me":
        covering.append(
            r"\bI(?:'ll|\s+will|\s+can|'m\s+going\s+to)?\s+(?:cover|take\s+over|step\s+in)\b"
        )
        leaving.append(
            r"\bI(?:'m|\s+am)\s+(?:unwell|sick|ill|out|off|away)\b|\bI\s+(?:can'?t|cannot|need\s+to\s+drop)\b"
        )
    return covering, leaving


def override_roles(text: str, people: list[str]) -> tuple[str | None, str | None]:
    """(leaving, covering) among the person words of an override request.

    Explicit words decide ("replace her with Arjun", "swap him for Elena",
    "Elena covers ... instead of David"); with two people and no such words
    the first named hands over to the second, as in "Sarah ... Marcus".
    """
    roles: dict[str, set[str]] = {}
    for person in dict.fromkeys(people):
        covering_words, leaving_words = _role_patterns(person)
        found = set()
        if any(re.search(p, text, re.I) for p in covering_words):
            found.add("covering")
        if any(re.search(p, text, re.I) for p in leaving_words):
            found.add("leaving")
        roles[person] = found
    sure = {p: next(iter(r)) for p, r in roles.items() if len(r) == 1}
    leaving = next((p for p, r in sure.items() if r == "leaving"), None)
    covering = next((p for p, r in sure.items() if r == "covering" and p != leaving), None)
    rest = [p for p in roles if p not in (leaving, covering)]
    if leaving is None and covering is None and len(rest) >= 2:
        return rest[0], rest[1]
    if leaving is None and covering is not None and rest:
        leaving = rest[0]
    elif covering is None and leaving is not None and rest:
        covering = rest[0]
    elif leaving is None and covering is None and rest:
        leaving = rest[0]
    return leaving, covering


def _message_after(text: str, anchor: re.Match[str] | None) -> str | None:
    """Text after the first `:` / `,` / "saying" / "with message" past the anchor."""
    start = anchor.end() if anchor else 0
    m = re.search(
        r"(?:[:,\u2013\u2014-]\s+|\s+(?:saying|with\s+(?:the\s+)?(?:message|note|resolution(?:\s+note)?)|that\s+says|message)\s*:?\s*)(.+)",
        text[start:],
        re.S | re.I,
    )
    if not m:
        return None
    message = m.group(1).strip().strip("\"'“”")
    return message or None


def _subject_after(text: str, words: str) -> str | None:
    m = re.search(words, text, re.I)
    if not m:
        return None
    rest = text[m.end() :]
    rest = re.split(r"[?.!;\n]|\b(?:right\s+now|now|today|tonight|currently|this\s+week)\b", rest)[
        0
    ]
    rest = re.sub(r"^\s*(?:the\s+)?", "", rest).strip(" ,:")
    rest = re.sub(r"\s+(?:service|team|rotation|schedule)$", "", rest, flags=re.I)
    return rest or None


def detect(text: str, catalog: Catalog) -> Extracted:
    """The request the words make, if they make one; None for an alert."""
    lead = re.match(_LEAD, text, re.I)
    lead_end = lead.end() if lead else 0
    ref = find_incident_ref(text, catalog)
    for intent, pattern, needs_anchor in _PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        at_start = m.start() <= lead_end + 1
        if needs_anchor and not (at_start or ref):
            continue
        out = Extracted(
            intent, incident_ref=ref, reasons=[f"intent {intent.value}: '{m.group(0).strip()}'"]
        )
        _fill(out, text, m, catalog)
        return out
    if shape := _override_shape(text, catalog):
        return shape
    return Extracted(None, incident_ref=ref)


_SWAP_WORDS = re.compile(
    r"\b(?:swap|switch|trade|exchange|replace|cover|covers|covering|sub|subs|stand\s+in|stands\s+in"
    r"|fill\s+in|fills\s+in|take|takes|instead\s+of|in\s+place\s+of|for)\b",
    re.I,
)


def _override_shape(text: str, catalog: Catalog) -> Extracted | None:
    """A schedule change known by its shape, not its vocabulary: one person
    for another, on a named schedule (or a team's), over a time window.

    "swap Elena for Marco on Core Backend Primary until 9 AM tomorrow" has
    no word like "schedule", but two people, a schedule the account has and
    a window; that is an override. Without all three it stays an alert."""
    schedule = find_schedule_words(text, catalog)
    if schedule is None or find_time_words(text) is None:
        return None
    people = find_people(text, catalog)
    if len(dict.fromkeys(people)) < 2 or not _SWAP_WORDS.search(text):
        return None
    out = Extracted(
        Intent.override,
        reasons=[
            f"intent override: two people ({', '.join(dict.fromkeys(people))}), schedule "
            f"'{schedule}' and a time window"
        ],
    )
    out.people = people
    out.schedule_words = schedule
    out.time_words = find_time_words(text)
    out.leaving, out.covering = override_roles(text, people)
    return out


def _fill(out: Extracted, text: str, m: re.Match[str], catalog: Catalog) -> None:
    intent = out.intent
    if intent in (Intent.reassign, Intent.add_responder, Intent.override, Intent.who_is_on_call):
        out.people = find_people(text, catalog)
    if intent in (Intent.override, Intent.who_is_on_call):
        out.schedule_words = find_schedule_words(text, catalog)
        out.time_words = find_time_words(text)
    if intent == Intent.override:
        out.leaving, out.covering = override_roles(text, out.people)
    if intent in (Intent.reassign, Intent.add_responder):
        out.policy_words = find_policy_words(text)
    if intent == Intent.who_is_on_call:
        out.subject_words = (
            _subject_after(text, r"\bon[\s-]?call\b\s*(?:for|on|in|at|of)?") or out.schedule_words
        )
    elif intent == Intent.list_incidents:
        out.subject_words = _subject_after(text, r"\bincidents\b\s*(?:for|on|in|at|of|affecting)\b")
    elif intent in (Intent.resolve, Intent.add_note, Intent.acknowledge):
        anchor = INCIDENT_REF.search(text, m.start()) or m
        out.message = _message_after(text, anchor)
    elif intent == Intent.add_responder:
        out.message = _message_after(text, re.search(r"\bresponders?\b", text, re.I) or m)
    if intent == Intent.change_urgency:
        level = re.search(r"\b(high|low)\b", text[m.start() :], re.I)
        out.level = level.group(1).lower() if level else None
    if intent == Intent.change_priority:
        level = re.search(
            r"\b(?:to|as|at)\s+((?:p|sev|severity|priority)[\s-]?[0-5]|[A-Za-z0-9-]+)\b",
            text[m.start() :],
            re.I,
        )
        level = level or re.search(r"\b((?:p|sev)[\s-]?[0-5])\b", text, re.I)
        out.level = level.group(1) if level else None
