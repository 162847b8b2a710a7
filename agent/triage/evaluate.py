"""Run triage over a JSONL file of cases and score it.

A case is `{"alert": ..., "expected_service_id": ..., "expected_urgency": ...,
"expected_intent": ...}`; every `expected_*` is optional, and `fields` (an
alert's structured fields, `agent.triage.alert.AlertFields`) may go with it. A null expected
service means "not an incident": the case is right only if nothing would be
paged (intent not_incident, no service).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config import Settings
from agent.pagerduty.catalog import Catalog
from agent.triage.alert import AlertFields
from agent.triage.models import Intent, TriageInputError
from agent.triage.service import triage

if TYPE_CHECKING:
    from agent.triage.service import HistorySource


def read_cases(path: str | Path) -> list[dict[str, Any]]:
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            case = json.loads(line)
            if not isinstance(case, dict) or "alert" not in case:
                raise ValueError(f"{path}:{n}: each line needs an 'alert'")
            cases.append(case)
    return cases


async def evaluate_cases(
    cases_path: str | Path,
    catalog: Catalog,
    settings: Settings,
    history: HistorySource | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one prediction per case, a summary with accuracy per field); with
    `history`, the account's past incidents are evidence as in a real run."""
    predictions: list[dict[str, Any]] = []
    for case in read_cases(cases_path):
        try:
            fields = AlertFields.model_validate(case["fields"]) if case.get("fields") else None
            result = await triage(case["alert"], catalog, settings, alert=fields, history=history)
            pred: dict[str, Any] = {
                "alert": case["alert"],
                "intent": result.intent.value,
                "service_id": result.service_id,
                "urgency": result.urgency,
                "priority": result.priority,
                "candidates": [c.id for c in result.candidates],
                "source": result.source,
                "reasons": result.reasons,
            }
        except TriageInputError as exc:
            pred = {
                "alert": case["alert"],
                "intent": None,
                "service_id": None,
                "urgency": None,
                "priority": None,
                "error": str(exc),
            }
        _score(case, pred)
        predictions.append(pred)
    return predictions, _summary(predictions)


def _score(case: dict[str, Any], pred: dict[str, Any]) -> None:
    checks: dict[str, bool] = {}
    if "expected_service_id" in case:
        expected = case["expected_service_id"]
        pred["expected_service_id"] = expected
        if expected is None:
            checks["service_id"] = (
                pred["service_id"] is None and pred["intent"] == Intent.not_incident
            )
        else:
            checks["service_id"] = pred["service_id"] == expected
    if "expected_urgency" in case:
        pred["expected_urgency"] = case["expected_urgency"]
        checks["urgency"] = pred["urgency"] == case["expected_urgency"]
    if "expected_intent" in case:
        pred["expected_intent"] = case["expected_intent"]
        checks["intent"] = pred["intent"] == case["expected_intent"]
    for name, ok in checks.items():
        pred[f"correct_{name}"] = ok
    if checks:
        pred["correct"] = all(checks.values())


def _summary(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"cases": len(predictions)}
    for name in ("service_id", "urgency", "intent"):
        scored = [p[f"correct_{name}"] for p in predictions if f"correct_{name}" in p]
        if scored:
            summary[f"{name}_accuracy"] = round(sum(scored) / len(scored), 4)
    scored = [p["correct"] for p in predictions if "correct" in p]
    if scored:
        summary["accuracy"] = round(sum(scored) / len(scored), 4)
        summary["correct"] = sum(scored)
    summary["paged_non_incidents"] = sum(
        1
        for p in predictions
        if "expected_service_id" in p
        and p["expected_service_id"] is None
        and p["intent"] != Intent.not_incident
    )
    return summary
