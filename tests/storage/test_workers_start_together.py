"""Workers started together on an empty database: one runs LangGraph's migrations,
the others wait for it, and every one of them starts (none waits for ever)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

START = """
import asyncio, sys
from pathlib import Path
from agent.checkpoint import _postgres

async def main():
    async with _postgres(sys.argv[1]) as saver:
        await saver.aget_tuple({"configurable": {"thread_id": "t"}})
    print("ready")

asyncio.run(main())
"""


@pytest.mark.parametrize("workers", [4, 6])
def test_every_worker_starts_on_a_fresh_database(pg_url: str, workers: int) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", START, pg_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=90))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * workers, outs
    assert all(out.strip() == "ready" for out, _ in outs), outs
