"""State of the post-mortem graph: small and JSON-friendly, so every checkpoint stays cheap.

The log and the timeline are large: the state refers to them (`log_ref`) and
`agent.postmortem.held` holds them for the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class InputState:
    incident: str
    """The incident asked for: an id (PINCD01) or a number (1201 or #1201)."""


@dataclass
class State(InputState):
    incident_record: dict[str, Any] | None = None
    """The incident as the API returns it."""
    log_ref: dict[str, Any] | None = None
    """Which log was fetched (agent.postmortem.held.LogRef): every entry of the incident,
    all pages and windows, and the timeline built from it are held by reference, not
    copied into every checkpoint; the report carries the timeline's events."""
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    """Entries set aside as contradictory or foreign, with why."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """The computed numbers (agent/postmortem/metrics.py); never the LLM's."""
    narrative: str = ""
    """The prose section: the LLM's if it passed the number guard, else the template."""
    narrative_source: str = "template"
    """llm or template."""
    narrative_fallback_reason: str | None = None
    """Why an LLM narrative was discarded, if one was."""
    report: dict[str, Any] | None = None
    """The JSON post-mortem: incident, metrics, timeline, anomalies, narrative."""
    markdown: str = ""
    """The Markdown post-mortem with its Mermaid timeline."""
    summary: str = ""
    """The post-mortem in one line (what the note proposes; what surfaces show as the outcome)."""
    proposal: dict[str, Any] | None = None
    """The incident note as a write (agent.actions.Proposal): sent only once approved."""
    feedback: str | None = None
    """Why the last edit of the note was refused, shown when asking again."""
    decision: dict[str, Any] | None = None
    """The human's answer to the note (approve or edit, with who and from where)."""
    closed_by: dict[str, Any] | None = None
    """The reject that closed a note which had failed, if one did."""
    result: dict[str, Any] | None = None
    """The note as PagerDuty holds it (id, content), once posted."""
    status: Literal["running", "done", "error", "failed", "rejected"] = "running"
    """done (the post-mortem, and the note if one was asked, are made), error (no such incident),
    failed (the note did not land: it waits for a retry) or rejected (the note was)."""
    proposed_slack_post: dict[str, Any] | None = None
    """A Slack post (channel, text) for whoever posts; data only."""
    error: str | None = None
    """Why the post-mortem could not be made (incident not found), or why the note did not land."""
