"""Text hygiene and tokenising shared by the scorer, severity and intents.

Alerts are written by machines and tired people: camelCase metric names,
hyphenated host names, plurals, "log in" meaning "login". The tokeniser turns
all of that into comparable terms; the same function runs over catalog text
and alert text so both sides agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from agent.triage.models import MAX_INPUT_CHARS, MAX_TITLE_CHARS, TriageInputError

MAX_DETAILS_CHARS = 8_000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# Words that carry no service meaning in an alert.
STOPWORDS = frozenset(
    """
    a an the and or but if of on in at to for from by with without into onto over under
    is are was were be been being am do does did done has have had having it its this that
    these those there here than then so as not no nor can cannot could should would will
    shall may might must just only very too also again still all any some every each both
    i me my we our us you your he she they them their his her who whom what which when where
    why how after before since until while about against between through during per via
    up down out off now new old get got getting please hi hello hey thanks
    s t re ve ll d m
    """.split()
)

# Alert-ese: words that say "something is wrong" but never which service.
GENERIC = frozenset(
    """
    service system alert alerting firing fire trigger triggered warn warning critical
    crit error fail failure issue problem incident severity sev urgent urgency high low
    info informational minor major prod production stag staging env environment
    user users customer customers firing
    return show respond request minute hour day second percent ms
    """.split()
)

# Everyday words that name a concept a catalog may spell differently. Each maps
# to extra terms added (at lower weight) on both sides of the comparison.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "postgresql": ("postgres",),
    "psql": ("postgres",),
    "pg": ("postgres",),
    "postgres": ("database",),
    "mysql": ("database",),
    "db": ("database",),
    "k8s": ("kubernetes",),
    "gke": ("kubernetes",),
    "eks": ("kubernetes",),
    "aks": ("kubernetes",),
    "kube": ("kubernetes",),
    "kubelet": ("kubernetes", "node"),
    "pod": ("kubernetes",),
    "e-mail": ("email",),
    "mail": ("email",),
    "smtp": ("email",),
    "cert": ("tls", "certificate"),
    "certificate": ("tls",),
    "ssl": ("tls",),
    "https": ("tls",),
    "browser": ("frontend", "web"),
    "safari": ("frontend", "web"),
    "chrome": ("frontend", "web"),
    "firefox": ("frontend", "web"),
    "homepage": ("frontend", "web"),
    "website": ("frontend", "web"),
    "site": ("frontend", "web"),
    "webpage": ("frontend", "web"),
    "css": ("frontend",),
    "javascript": ("frontend",),
    "front-end": ("frontend",),
    "ios": ("mobile", "app"),
    "android": ("mobile", "app"),
    "payment": ("billing",),
    "invoice": ("billing",),
    "subscription": ("billing",),
    "rabbit": ("rabbitmq",),
    "amqp": ("rabbitmq", "queue"),
    "kafka": ("queue",),
    "memcache": ("cache",),
    "memcached": ("cache",),
    "redis": ("cache",),
    "cdn": ("edge",),
    "elasticsearch": ("search",),
    "opensearch": ("search",),
    "solr": ("search",),
    "algolia": ("search",),
    "typesense": ("search",),
    "login": ("account", "auth"),
    "signup": ("account",),
    "logout": ("session", "account", "auth"),
    "password": ("account", "auth"),
    "sso": ("auth", "login"),
    "oauth": ("auth",),
    "authentication": ("auth",),
    "transcode": ("video",),
    "transcod": ("video",),
    "hls": ("video",),
    "ffmpeg": ("video",),
    "upload": ("uploader",),
    "logstash": ("log",),
    "fluentd": ("log",),
    "warehouse": ("analytics",),
    "etl": ("analytics", "pipeline"),
}

# Multi-word spellings folded into one term before tokenising.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\blog(?:ged|ging|s)?[\s-]+out\b", re.I), "logout"),
    (re.compile(r"\blog(?:ging)?[\s-]+(?:in|on)\b", re.I), "login"),
    (re.compile(r"\bsign(?:ing)?[\s-]+(?:in|on)\b", re.I), "login"),
    (re.compile(r"\bsignin\b", re.I), "login"),
    (re.compile(r"\bsign(?:ing)?[\s-]+up\b", re.I), "signup"),
    (re.compile(r"\bfront[\s-]+end\b", re.I), "frontend"),
    (re.compile(r"\be-mail", re.I), "email"),
    (re.compile(r"\bweb[\s-]+site\b", re.I), "website"),
    (re.compile(r"\bhome[\s-]+page\b", re.I), "homepage"),
)


def sanitise(text: str) -> str:
    """Drop control and invisible formatting characters, normalise Unicode."""
    text = unicodedata.normalize("NFKC", text)
    return _CONTROL.sub(" ", text)


def validate_input(text: object) -> str:
    """Refuse what cannot be triaged, with a message a human can act on."""
    if isinstance(text, bytes):
        raise TriageInputError("alert text must be text, not bytes")
    if not isinstance(text, str):
        raise TriageInputError(f"alert text must be a string, not {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise TriageInputError(
            f"alert text is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}"
        )
    if not sanitise(text).strip():
        raise TriageInputError("alert text is empty")
    return text


def make_title(text: str) -> str:
    """A one-line title: first non-empty line, clean, at most 255 characters."""
    clean = sanitise(text)
    line = next((ln for ln in clean.splitlines() if ln.strip()), clean)
    line = re.sub(r"\s+", " ", line).strip()
    if len(line) > MAX_TITLE_CHARS:
        line = line[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return line


def make_details(text: str) -> str:
    """The original text, minus control characters, cut at a sane size."""
    clean = _CONTROL.sub(lambda m: m.group(0) if m.group(0) in "\n\t" else " ", text)
    clean = clean.strip()
    if len(clean) > MAX_DETAILS_CHARS:
        clean = clean[:MAX_DETAILS_CHARS].rstrip() + "\n… [truncated]"
    return clean


# Names that end like plurals but are not.
_NO_STEM = frozenset(
    "postgres redis kubernetes jenkins aws dns status https sms ios news series analytics "
    "kafka express nginx less sass chaos canvas atlas".split()
)


def stem(word: str) -> str:
    """A deliberately light stemmer: plurals, -ing, -ed; enough to match
    "renders" with "rendering" and "logs" with "logging"."""
    w = word.lower()
    if len(w) <= 3 or not w.isalpha() or w in _NO_STEM:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is", "os")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            base = w[: -len(suffix)]
            if len(base) >= 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            return base
    return w


_GENERIC_TERMS = frozenset(GENERIC | {stem(w) for w in GENERIC})


@dataclass(frozen=True)
class Token:
    """One term found in a text: `term` is comparable, `raw` is as written."""

    term: str
    raw: str
    start: int
    compound: bool = False  # a hyphenated/underscored whole, e.g. "pg-main-replica-1"
    in_host: bool = False  # part of a host name ("api.example.com"), weaker evidence


def _fold_phrases(text: str) -> str:
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    return text


_HOST = re.compile(r"\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")


def tokens(text: str) -> list[Token]:
    """Terms of `text`: compounds kept whole and split, camelCase split,
    every part stemmed. Stopwords are kept here; callers decide."""
    text = _fold_phrases(sanitise(text))
    hosts = [(m.start(), m.end()) for m in _HOST.finditer(text)]
    out: list[Token] = []
    for m in _WORD.finditer(text):
        raw = m.group(0)
        host = any(a <= m.start() < b for a, b in hosts)
        parts = re.split(r"[-_]", raw)
        if len(parts) > 1:
            out.append(Token(raw.lower(), raw, m.start(), compound=True, in_host=host))
        for part in parts:
            sub = _CAMEL.findall(part) if not part.isupper() and not part.islower() else [part]
            if len(sub) > 1:
                out.append(Token(part.lower(), part, m.start(), in_host=host))
            for piece in sub:
                if len(piece) > 1 or piece.isdigit() or len(sub) == 1:
                    out.append(Token(stem(piece), piece, m.start(), in_host=host))
    return out


def is_content(term: str) -> bool:
    """True for a term that could name a service (not a stopword, not alert-ese)."""
    return term not in STOPWORDS and term not in _GENERIC_TERMS and not term.isdigit()


def terms(text: str) -> list[str]:
    """Content terms only, in order, duplicates kept."""
    return [t.term for t in tokens(text) if is_content(t.term)]


def expand(term: str) -> tuple[str, ...]:
    """Related terms for a concept (see CONCEPTS)."""
    return CONCEPTS.get(term, ())
