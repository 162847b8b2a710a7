"""The bundled demo account (Fernbrook, an online grocer), as of today.

The account's history is written as of `DEMO_EPOCH`: its open incidents are
minutes and hours old, its resolved ones days old, and every weekly rotation
hands off on Monday at 09:00, so nobody changes shift in the day after the
epoch. Loading shifts every timestamp by whole days so that "now" always
falls in that day: the open incidents stay fresh (inside PagerDuty's default
30-day incident window), and the README's examples name the people who are
on call whenever they run.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["DEMO_EPOCH", "demo_account", "demo_account_path", "shift_times"]

DEMO_EPOCH = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
"""The instant the account file is written as of (a Wednesday, 00:00 UTC)."""

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")


def demo_account_path() -> Path:
    """The file itself (`agent/data/demo-account.json`), dated as of `DEMO_EPOCH`."""
    return Path(str(resources.files("agent") / "data" / "demo-account.json"))


def demo_account(now: datetime | None = None) -> dict[str, Any]:
    """The demo snapshot moved forward by whole days so that `now` is within a day after the epoch."""
    now = now or datetime.now(UTC)
    data = json.loads(demo_account_path().read_text(encoding="utf-8"))
    return shift_times(data, timedelta(days=(now - DEMO_EPOCH) // timedelta(days=1)))


def shift_times(node: Any, by: timedelta) -> Any:
    """A copy of `node` with every ISO-8601 timestamp string moved by `by` (written back in UTC, `Z`).

    Whole days keep times of day in UTC; a schedule in a zone with daylight saving may see its
    09:00 handoff at 08:00 or 10:00 local after a shift across a change, never on another day."""
    if isinstance(node, dict):
        return {k: shift_times(v, by) for k, v in node.items()}
    if isinstance(node, list):
        return [shift_times(v, by) for v in node]
    if isinstance(node, str) and _ISO.fullmatch(node):
        at = datetime.fromisoformat(node.replace("Z", "+00:00")) + by
        return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return node
