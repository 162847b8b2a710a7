"""Several processes answer one interrupt at the same instant: exactly one wins.

Each contender is its own Python process with its own connection (as two
workers on two hosts would be); each says when it is connected, and all are
told to go at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.storage.conftest import in_store
from tests.storage.test_approvals_store import pause

pytestmark = pytest.mark.slow

CONTENDER = """
import asyncio, json, sys
from tests.storage.conftest import open_store
from agent.approvals.store import AlreadyDecided
where, name = sys.argv[1], sys.argv[2]
async def go():
    store = open_store(where)
    try:
        await store.get("t1")  # connected and warm
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        try:
            await store.claim("t1", "i1", name, {"by": name})
            return "won"
        except AlreadyDecided:
            return "lost"
    finally:
        await store.aclose()
print(json.dumps(asyncio.run(go())))
"""


@pytest.mark.parametrize("n", [2, 4])
def test_processes_racing_one_claim_one_wins(backend: str, n: int) -> None:
    asyncio.run(in_store(backend, pause))
    procs = [subprocess.Popen([sys.executable, "-c", CONTENDER, backend, f"w{i}"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parents[2])
             for i in range(n)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outcomes = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert sorted(outcomes) == ["lost"] * (n - 1) + ["won"], outcomes
    assert all(p.returncode == 0 for p in procs)

    status, p = asyncio.run(in_store(backend, lambda store: store.get("t1")))
    assert status == "claimed" and p is not None
    winner = f"w{outcomes.index('won')}"
    assert p.answer == {"by": winner}  # the winner's answer, not a loser's
