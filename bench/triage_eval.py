"""Triage, rules path against model path, on any cases file.

    python -m bench.triage_eval CASES.jsonl [--account SNAPSHOT.json] [--history FILE]
        [--no-history] [--base-url URL] [--model NAME] [--out predictions.jsonl] [--json]

The account is `--account`, else `SANDBOX_ACCOUNT`, else the bundled demo.
Its resolved incidents (plus any in `--history`, a JSON file of `incidents`
and `notes` in the snapshot format) are the history triage consults, read
the way `serve` reads them: from a sandbox serving the snapshot, through
`agent.history.HistoryCache` (every page, notes for the shown incidents).

A case is a JSON line: `alert` (the text), optional `fields` (an alert's
structured fields, `agent.triage.alert.AlertFields`), and what is expected:
`expected_service_id` (null = not an incident) and/or `expected_intent`.
The model path runs when a base URL is given (or `OPENAI_BASE_URL` is set),
against any OpenAI-compatible server (llama.cpp, vLLM, Ollama, OpenAI).

Each case lands in one bucket per path:

- right: the expected service paged (or the expected intent, or nothing paged
  for a non-incident);
- wrong: another service proposed, or another request than the one expected;
- asked: a page with no service, so a human picks (never a wrong page);
- dropped: a real incident called not an incident (or left unpaged);
- noise: a non-incident for which a page would be proposed.

"wrong + dropped + noise" is what an approver would be misled by; the model
path is never worse than the rules path when its count is not higher.
The model's latency (seconds per case) is printed per case and summarised;
`rules_answer` counts the cases where the rules' answer was used (the model
failed, was not consulted for hostile text, or was overruled by the evidence).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from agent.config import Settings
from agent.pagerduty.catalog import Catalog
from agent.triage import Intent, TriageResult, triage
from agent.triage.alert import AlertFields
from agent.triage.evaluate import read_cases

if TYPE_CHECKING:
    from agent.history import HistoryCache

BUCKETS = ("right", "wrong", "asked", "dropped", "noise")
READS = {Intent.who_is_on_call, Intent.list_incidents}
DEFAULT_ACCOUNT = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo-account.json"


def bucket(case: dict[str, Any], result: TriageResult) -> str:
    """Which of BUCKETS `result` falls in for `case`."""
    intent = result.intent
    expected_intent = case.get("expected_intent")
    if "expected_service_id" not in case or expected_intent not in (None, "page", "not_incident"):
        if expected_intent is None:
            return "right"
        if intent.value == expected_intent:
            return "right"
        if intent == Intent.not_incident:
            return "dropped"
        return "asked" if intent == Intent.page and result.service_id is None else "wrong"
    expected = case["expected_service_id"]
    if expected is None:
        if intent == Intent.not_incident or intent in READS:
            return "right"
        if intent == Intent.page:
            return "noise" if result.service_id else "asked"
        return "wrong"
    if intent == Intent.page:
        if result.service_id is None:
            return "asked"
        return "right" if result.service_id == expected else "wrong"
    if intent == Intent.not_incident:
        return "dropped"
    return "wrong"


async def run_path(
    cases: list[dict[str, Any]],
    catalog: Catalog,
    settings: Settings,
    history: HistoryCache | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        fields = AlertFields.model_validate(case["fields"]) if case.get("fields") else None
        started = time.perf_counter()
        result = await triage(case["alert"], catalog, settings, alert=fields, history=history)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "bucket": bucket(case, result),
                "intent": result.intent.value,
                "service_id": result.service_id,
                "source": result.source,
                "seconds": round(seconds, 3),
                "reasons": result.reasons,
            }
        )
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {b: sum(r["bucket"] == b for r in rows) for b in BUCKETS}
    counts["misleading"] = counts["wrong"] + counts["dropped"] + counts["noise"]
    seconds = [r["seconds"] for r in rows]
    if seconds:
        counts["median_s"] = round(statistics.median(seconds), 3)
        counts["max_s"] = round(max(seconds), 3)
    counts["rules_answer"] = sum(r["source"] == "rules" for r in rows)
    return counts


def rules_settings() -> Settings:
    return Settings(_env_file=None, openai_api_key=None, openai_base_url=None)  # type: ignore[call-arg]


def model_settings(base_url: str, model: str) -> Settings:
    key = os.environ.get("OPENAI_API_KEY")
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        openai_base_url=base_url,
        openai_api_key=SecretStr(key) if key else None,
        openai_model=model,
    )


@asynccontextmanager
async def served_history(snapshot: dict[str, Any]):
    """A `HistoryCache` over a sandbox serving `snapshot` (index built, timed)."""
    from agent.history import HistoryCache
    from agent.pagerduty.client import PagerDutyClient
    from agent.pagerduty.embedded import SANDBOX_TOKEN
    from agent.pagerduty.sandbox import running_sandbox

    with running_sandbox(snapshot, tokens={SANDBOX_TOKEN: None}) as sandbox:
        async with PagerDutyClient(sandbox.base_url, SecretStr(SANDBOX_TOKEN)) as pd:
            cache = HistoryCache(pd, days=None)
            started = time.perf_counter()
            index = await cache.index()
            built = time.perf_counter() - started
            listed = pd.counter.total
            pd.counter.reset()
            yield cache
            print(
                f"history: {len(index)} past incidents, listed in {listed} requests and indexed"
                f" in {built:.2f} s; {pd.counter.total} note reads for the cases",
                file=sys.stderr,
            )


async def compare(
    cases: list[dict[str, Any]],
    catalog: Catalog,
    base_url: str | None,
    model: str,
    snapshot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Both paths over `cases`; with `snapshot`, its past incidents are the history."""
    if snapshot is not None and snapshot.get("incidents"):
        async with served_history(snapshot) as history:
            return await _compare(cases, catalog, base_url, model, history)
    return await _compare(cases, catalog, base_url, model, None)


async def _compare(
    cases: list[dict[str, Any]],
    catalog: Catalog,
    base_url: str | None,
    model: str,
    history: HistoryCache | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cases": cases,
        "rules": await run_path(cases, catalog, rules_settings(), history),
    }
    if base_url:
        out["model"] = await run_path(cases, catalog, model_settings(base_url, model), history)
    return out


def report(result: dict[str, Any]) -> str:
    paths = [p for p in ("rules", "model") if p in result]
    lines = [
        f"{'case':<58} "
        + " ".join(f"{p:<9}" for p in paths)
        + ("  model s" if "model" in paths else "")
    ]
    for i, case in enumerate(result["cases"]):
        cells = " ".join(f"{result[p][i]['bucket']:<9}" for p in paths)
        latency = f"  {result['model'][i]['seconds']:.2f}" if "model" in paths else ""
        lines.append(f"{case['alert'][:58]:<58} {cells}{latency}")
    lines.append("")
    summaries = {p: summarise(result[p]) for p in paths}
    keys = [*BUCKETS, "misleading", "median_s", "max_s", "rules_answer"]
    lines.append(f"{'':<12}" + " ".join(f"{k:>10}" for k in keys))
    for p in paths:
        lines.append(f"{p:<12}" + " ".join(f"{summaries[p].get(k, '-'):>10}" for k in keys))
    if "model" in paths:
        worse = summaries["model"]["misleading"] > summaries["rules"]["misleading"]
        lines.append(
            "model path is WORSE than rules on wrong/dropped/noise"
            if worse
            else "model path is never worse than rules on wrong/dropped/noise"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("cases", type=Path)
    parser.add_argument(
        "--account",
        type=Path,
        default=Path(os.environ.get("SANDBOX_ACCOUNT") or DEFAULT_ACCOUNT),
        help="account snapshot JSON (default: $SANDBOX_ACCOUNT, else the bundled demo)",
    )
    parser.add_argument(
        "--history", type=Path, help="more past incidents: JSON with 'incidents' and 'notes'"
    )
    parser.add_argument(
        "--no-history", action="store_true", help="triage without the account's past incidents"
    )
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"))
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    parser.add_argument("--out", type=Path, help="one JSON line per case and path")
    parser.add_argument("--json", action="store_true", help="print the summaries as JSON")
    args = parser.parse_args(argv)
    cases = read_cases(args.cases)
    snapshot = json.loads(args.account.read_text(encoding="utf-8"))
    catalog = Catalog.from_snapshot(snapshot)
    if args.history:
        more = json.loads(args.history.read_text(encoding="utf-8"))
        for name in ("incidents", "notes"):
            snapshot[name] = [*snapshot.get(name, []), *more.get(name, [])]
    history = None if args.no_history else snapshot
    result = asyncio.run(compare(cases, catalog, args.base_url, args.model, history))
    paths = [p for p in ("rules", "model") if p in result]
    if args.out:
        with args.out.open("w", encoding="utf-8") as fh:
            for i, case in enumerate(result["cases"]):
                row: dict[str, Any] = {"alert": case["alert"]}
                row.update({p: result[p][i] for p in paths})
                fh.write(json.dumps(row) + "\n")
    if args.json:
        print(json.dumps({p: summarise(result[p]) for p in paths}))
    else:
        print(report(result))
    if "model" in paths:
        return int(
            summarise(result["model"])["misleading"] > summarise(result["rules"])["misleading"]
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
