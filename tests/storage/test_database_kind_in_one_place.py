"""Which database the state lives in is decided in the storage code only (issue 14): the rest
of the agent asks it (`open_database`, `open_checkpointer`, `where`, `check`), never the setting."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORAGE = ("agent/approvals/store/", "agent/checkpoint.py", "agent/config.py")
# `incident-agent db upgrade|current` manage the Postgres schema: without a URL they refuse.
POSTGRES_ONLY_COMMAND = "agent/surfaces/db.py"


def test_only_the_storage_code_reads_the_database_setting() -> None:
    readers = sorted(
        str(path.relative_to(ROOT))
        for folder in ("agent", "graphs")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"\bincident_agent_database_url\b", path.read_text(encoding="utf-8"))
    )
    outside = [p for p in readers if not p.startswith(STORAGE) and p != POSTGRES_ONLY_COMMAND]
    assert outside == [], outside
    assert any(p.startswith("agent/approvals/store/") for p in readers)  # the test looks somewhere
