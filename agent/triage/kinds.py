"""Messages that reach an alert channel but are not incidents.

Review requests, announcements, questions, office chatter and instructions
addressed to the agent all mention services and sometimes failure words,
so "names a service" is not enough to page. Each kind is recognised by its
shape, never by an account's names; `not_incident_kind()` says which one and
quotes the words, and the caller turns that into `not_incident` with the
quote in the reasons. A kind only silences text that carries no evidence of
a current failure, except where the kind itself explains the failure words
(a review of a fix, a planned maintenance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that describe something failing now. Narrower than "operational
# words": "API", "deploy" or "database" are topics, not symptoms.
FAILURE = re.compile(
    r"\b(?:errors?|erroring|exceptions?|fail(?:s|ed|ing|ures?)?|timeouts?|timing\s+out|timed\s+out"
    r"|latency|slow(?:ness|ly)?|sluggish|outage|degraded|unavailable|unreachable|unresponsive"
    r"|crash(?:es|ed|ing|loop\w*)?|oom\w*|out\s+of\s+memory|backlog|lagg?(?:ing)?|deadlock\w*"
    r"|throttl\w*|[45]\d\ds?|[45]xx|down|broken|stuck|hang(?:s|ing)?|dropp(?:ed|ing)|rejected|refused"
    r"|denied|accessdenied|spik\w+|saturat\w+|stale|white\s+screen|went\s+wrong|not\s+(?:loading"
    r"|responding|working|arriving|reachable|ready)|notready|cannot|can't|nobody\s+can|no\s+one\s+can"
    r"|expir\w+|firing|full|leak\w*|corrupt\w*|missing|empty|blank|flaky|flapping|offline|dead)\b",
    re.I,
)
# A request to look at someone's change: "review my PR", "PTAL", a pull URL.
_REVIEW = re.compile(
    r"\b(?:review|approve|look\s+(?:at|over)|take\s+a\s+look|eyes\s+on|feedback\s+on|sign[\s-]?off\s+on|stamp)"
    r"\b[^.?!\n]{0,60}?\b(?:PRs?|pull[\s-]?requests?|MRs?|merge[\s-]?requests?|diffs?|patch(?:es)?|commits?"
    r"|branch|changes?|changeset|RFC|design\s+docs?|docs?|proposal|runbook)\b"
    r"|\b(?:PR|MR|pull[\s-]?request|merge[\s-]?request)\b[^.?!\n]{0,80}?\b(?:review|approv\w+|ready|lgtm|merge)\b"
    r"|\bPTAL\b|\bcode[\s-]?review\b|/pull/\d+|/merge_requests/\d+",
    re.I,
)
# Telling, not reporting: FYIs, heads-ups, release and maintenance notices.
_ANNOUNCE = re.compile(
    r"^\W*(?:fyi|heads[\s-]?up|psa|announcement|reminder|notice|note|update)\b"
    r"|\b(?:fyi|for\s+your\s+information|heads[\s-]?up|just\s+so\s+you\s+know|announc\w+|release\s+notes?"
    r"|changelog|is\s+now\s+live|now\s+available|has\s+shipped|went\s+live"
    r"|(?:we|i|they|the\s+team)(?:'re|'ll|\s+are|\s+will|\s+have|'ve|\s+just)?\s+(?:be\s+)?(?:releas|deploy|ship|roll(?:ed|ing)?\s+out"
    r"|upgrad|migrat|launch|rotat|publish|merg)\w*"
    r"|(?:scheduled|planned)\s+(?:maintenance|downtime|upgrade|migration|release|deploy\w*)"
    r"|maintenance\s+window)\b",
    re.I,
)
# Future or planned: a notice about what will happen is not a failure now.
_PLANNED = re.compile(
    r"\b(?:will|going\s+to|tomorrow|tonight|next\s+\w+|later\s+(?:today|this\s+\w+)|scheduled|planned"
    r"|expect(?:ed)?|upcoming|this\s+(?:weekend|evening|afternoon)|no\s+action\s+(?:is\s+)?(?:needed|required)"
    r"|nothing\s+to\s+do|no\s+impact)\b",
    re.I,
)
_QUESTION_START = re.compile(
    r"^\W*(?:@\w+[\s,:]*)?(?:(?:hey|hi|hello|quick\s+question|question|q)[\s,:!-]+)*"
    r"(?:how|what|what's|why|where|when|which|does|do|did|is|are|can|could|should|would|has|have"
    r"|any(?:one|body)|is\s+there|are\s+there)\b",
    re.I,
)
# About a problem that is over: thanks, kudos, a fix explained, closing the loop.
_OVER = re.compile(
    r"^\W*(?:(?:many|big|huge)\s+)?(?:thanks|thank\s+you|thx|kudos|shout[\s-]?out|props"
    r"|(?:great|nice|good|awesome)\s+(?:work|job|catch)|well\s+done)\b"
    r"|\b(?:closing\s+the\s+loop|lessons\s+learned|root\s+cause\s+was|was\s+caused\s+by"
    r"|(?:resolved|fixed|mitigated)\s*[,;:!.-]*\s*(?:thanks|thank\s+you|thx|cheers)"
    r"|(?:is|was|has\s+been|have\s+been)\s+(?:now\s+)?(?:resolved|fixed|mitigated)\b(?!\s*\?)"
    r"|all\s+clear|back\s+to\s+normal"
    r"|(?:outage|incident|issue|problem|degradation|disruption)s?\b[^.?!\n]{0,40}?\b(?:is|are|was)\s+(?:now\s+)?over"
    r"|(?:has|have)\s+(?:fully\s+)?recovered)\b",
    re.I,
)
# After "it was fixed": a failure that goes on or came back is a current one
# ("fixed, but 5xx still at 12%", "resolved yesterday; latency is back again").
_CONTRAST = re.compile(r"\b(?:but|however|though|although|yet)\b", re.I)
_ONGOING = re.compile(
    r"\b(?:still|again|persist\w*|keeps?|continu\w*|re-?opened|recurr\w*|came\s+back"
    r"|(?:is|are)\s+back(?!\s+to\s+normal)|returned|returning)\b",
    re.I,
)
# Office life and the building: not the account's production systems.
OFFICE = re.compile(
    r"\b(?:party|lunch|dinner|breakfast|coffee|birthday|cake|snacks?|kitchen|meeting|offsite"
    r"|all[\s-]hands|holiday|vacation|parking|desk|chair|stapler|printer|toner|paper\s+jam|projector"
    r"|whiteboard|elevator|lift|air[\s-]?con\w*|heating|fridge|microwave|dishwasher|toilet|bathroom"
    r"|badge|office|wi-?fi|welcome|farewell|congrat\w*|celebrat\w*|drinks|team\s+building|meeting\s+room)\b",
    re.I,
)


@dataclass(frozen=True)
class Kind:
    name: str
    """review_request, announcement, question, office or over."""
    words: str
    """The words that show it, quoted in the reasons."""

    def reason(self) -> str:
        what = {
            "review_request": "a request for review",
            "announcement": "an announcement or FYI",
            "question": "a question",
            "office": "office chatter",
            "over": "about a problem that is over (thanks, a fix explained, closing the loop)",
        }[self.name]
        return f"not an incident: {what} ('{self.words}'), and nothing describes a current failure"


def failure_words(text: str) -> str | None:
    m = FAILURE.search(text)
    return m.group(0) if m else None


def _goes_on(after: str) -> bool:
    """The words after "it is fixed" describe a failure now: after a "but", or beside "still"."""
    if (c := _CONTRAST.search(after)) and FAILURE.search(after[c.end():]):
        return True
    return any(FAILURE.search(part) and _ONGOING.search(part) for part in re.split(r"[.;!?\n]", after))


def not_incident_kind(text: str) -> Kind | None:
    """The kind of non-incident `text` is, or None when it may be an incident."""
    failing = failure_words(text)
    if m := _REVIEW.search(text):
        # Review requests mention the failure they fix; the request is the point.
        return Kind("review_request", m.group(0).strip())
    if (m := _OVER.search(text)) and not _goes_on(text[m.end():]):
        # Its failure words are the story of a finished problem.
        return Kind("over", m.group(0).strip(" ,;:!.-"))
    if (m := _QUESTION_START.search(text)) and failing is None and "?" in text:
        return Kind("question", text.strip().splitlines()[0][:60])
    if m := _ANNOUNCE.search(text):
        if failing is None or _PLANNED.search(text):
            return Kind("announcement", m.group(0).strip(" :-"))
    if (m := OFFICE.search(text)) and failing is None:
        return Kind("office", m.group(0))
    return None
