"""The intake's alert rows beside the approvals: one open row per problem, kept by the
database, on SQLite and on the shared Postgres database, whichever worker an alert reaches."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from agent.approvals.store.database import open_database
from agent.config import Settings
from agent.intake.store import AlertStore, default_db_path, problem_key, rows_for_threads, signature

WINDOW_S = 600.0

# Five problems over three services, each told in many words: numbers change, a count is
# appended, and "search" has two summaries that are similar without sharing a signature.
PROBLEMS = [
    ("billing api", "stripe-401", "Billing webhooks failing: 401 from Stripe ({i} in the last minute)"),
    ("billing api", None, "Invoice PDF rendering queue {i} jobs behind"),
    ("papi001", None, "Public API returning 502 on /v1/orders for {i}% of partners"),
    ("search", None, "Typesense query latency p95 above {i}s on /search"),
    ("search", None, "Typesense disk {i}% full on node ts-{i}"),
]
VARIANTS = {3: "Typesense query latency p95 above {i}s on /searches"}


def settings_for(backend: str, tmp_path: Path) -> Settings:
    url = SecretStr(backend) if backend.startswith("postgresql") else None
    return Settings(_env_file=None, incident_agent_checkpoint=tmp_path / "agent.sqlite",  # type: ignore[call-arg]
                    incident_agent_database_url=url)


def alert(n: int) -> tuple[int, str, str | None, str]:
    """The n-th alert of a storm: (problem, hint, key, summary)."""
    p = n % len(PROBLEMS)
    hint, key, summary = PROBLEMS[p]
    if p in VARIANTS and n % 2:
        summary = VARIANTS[p]
    return p, hint, (key if key and n % 3 else f"k{n}"), summary.format(i=n)


def deliver(store: AlertStore, n: int, now: float) -> str:
    """What the receiver does with a trigger whose problem's run is still of use (every run
    here is young, so running): join the open row, else open one, else join the winner."""
    _, hint, key, summary = alert(n)
    since = now - WINDOW_S
    row = store.find(key, hint, summary, since)
    latest = {"summary": summary}
    if row is not None and store.join(row.id, 1, now, latest) is not None:
        return "joined"
    held, created = store.create(key=key, sender="events_v2", service_hint=hint, summary=summary,
                                 thread_id=f"t{n}", count=1, now=now, latest=latest, similar_since=since)
    if created:
        return "started"
    assert store.join(held.id, 1, now, latest) is not None
    return "joined"


def worker(where: str, tmp: str, alerts: list[int], start_at: float) -> list[str]:
    """One worker process: its own store, eight alerts at a time, from `start_at` on."""
    store = AlertStore(Path(tmp) / "agent.intake.sqlite", settings_for(where, Path(tmp)))
    time.sleep(max(0.0, start_at - time.time()))
    try:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda n: deliver(store, n, time.time()), alerts))
    finally:
        store.close_db()


@pytest.mark.slow
def test_a_storm_over_three_worker_processes_opens_one_row_per_problem(backend: str, tmp_path: Path) -> None:
    alerts = list(range(150))
    spawn = multiprocessing.get_context("spawn")
    start_at = time.time() + 4.0  # all three processes imported and connected by then
    with spawn.Pool(3) as pool:
        results = pool.starmap(worker, [(backend, str(tmp_path), alerts[w::3], start_at)
                                        for w in range(3)])
    outcomes = [o for r in results for o in r]
    assert outcomes.count("started") == len(PROBLEMS)

    store = AlertStore(tmp_path / "agent.intake.sqlite", settings_for(backend, tmp_path))
    rows = [r for r in store.all() if r.state == "open"]
    assert len(rows) == len(PROBLEMS)
    assert sum(r.count for r in rows) == len(alerts)
    by_problem = {p: [n for n in alerts if alert(n)[0] == p] for p in range(len(PROBLEMS))}
    for p, sent in by_problem.items():
        [row] = [r for r in rows if alert(int(r.thread_id[1:]))[0] == p]
        assert row.count == len(sent), (PROBLEMS[p], row)
    store.close_db()


def test_the_database_refuses_a_second_open_row_for_a_problem(backend: str, tmp_path: Path) -> None:
    s = settings_for(backend, tmp_path)
    store = AlertStore(default_db_path(s), s)
    first, created = store.create(key="a", sender="generic", service_hint="search", thread_id="t1",
                                  summary="Disk 91% full", count=1, now=1.0, latest={})
    assert created and first.problem == problem_key("search", "a", "Disk 17% full (node 3)")
    db = open_database(s, default_db_path(s), "intake")
    insert = text("INSERT INTO intake_alerts (key, sender, service_hint, summary, thread_id, state,"
                  " count, first_at, last_at, problem) VALUES ('b', 'generic', 'search', 'x', 't2',"
                  " 'open', 1, 2.0, 2.0, :problem)")
    with pytest.raises(IntegrityError):
        db.run(lambda c: c.execute(insert, {"problem": first.problem}))

    # The winner holds the problem: a second create is handed it; once closed, a new row opens.
    held, created = store.create(key="c", sender="generic", service_hint="search", thread_id="t3",
                                 summary="Disk 95% full", count=1, now=3.0, latest={})
    assert (held.id, created) == (first.id, False)
    assert store.close(first.id, "run ended") and not store.close(first.id, "again")
    assert store.join(first.id, 1, 4.0, {}) is None  # a closed row takes no more alerts
    again, created = store.create(key="c", sender="generic", service_hint="search", thread_id="t3",
                                  summary="Disk 95% full", count=1, now=5.0, latest={})
    assert created and again.id != first.id
    db.run(lambda c: c.execute(insert, {"problem": "search | another problem"}))
    store.close_db()


def test_a_similar_summary_joins_within_the_window_only(backend: str, tmp_path: Path) -> None:
    s = settings_for(backend, tmp_path)
    store = AlertStore(default_db_path(s), s)
    row, _ = store.create(key="k1", sender="events_v2", service_hint="papi001", thread_id="t1",
                          summary="p99 latency 3.1s on /v1/orders", count=1, now=100.0, latest={})
    assert signature("p99 latency 4.7s on /v1/orders (17 in the last minute)") == signature(row.summary)
    found = store.find("k2", "papi001", "p99 latency 4.7s on /v1/orders!", since=50.0)
    assert found is not None and found.id == row.id
    assert store.find("k2", "papi001", "p99 latency 4.7s on /v1/orders!", since=150.0) is None
    assert store.find("k2", "other", "p99 latency 4.7s on /v1/orders!", since=50.0) is None
    assert store.find("k1", None, "anything", since=150.0) == found  # the sender's key, always
    joined = store.join(row.id, 3, 101.0, {"summary": "latest words"})
    assert joined is not None and joined.count == 4 and joined.latest == {"summary": "latest words"}
    store.close_db()


def test_the_counts_reach_the_surfaces_and_a_resume_is_claimed_once(backend: str, tmp_path: Path) -> None:
    s = settings_for(backend, tmp_path)
    one, two = AlertStore(default_db_path(s), s), AlertStore(default_db_path(s), s)
    row, _ = one.create(key="k", sender="events_v2", service_hint="billing api", thread_id="t1",
                        summary="Stripe 401", count=1, now=10.0, latest={"summary": "Stripe 401"},
                        inputs={"prompt": "p"})
    two.join(row.id, 199, 11.0, {"summary": "Stripe 401 (200 in the last minute)"})
    assert {t: r.count for t, r in rows_for_threads(s, ["t1", "nobody"]).items()} == {"t1": 200}
    assert [r.inputs for r in two.open_with_inputs()] == [{"prompt": "p"}]
    assert [one.claim_resume(row.id, 0, "t2", 20.0), two.claim_resume(row.id, 0, "t3", 20.0)] == [True, False]
    again = two.for_thread("t2")
    assert again is not None and (again.resumes, again.started_at, again.count) == (1, 20.0, 200)
    one.close_db()
    two.close_db()


OLD_SCHEMA = """
CREATE TABLE intake_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, sender TEXT NOT NULL,
    service_hint TEXT, summary TEXT NOT NULL, thread_id TEXT NOT NULL, state TEXT NOT NULL,
    count INTEGER NOT NULL, first_at REAL NOT NULL, last_at REAL NOT NULL, latest TEXT, note TEXT
    {later}
);
CREATE INDEX intake_alerts_key ON intake_alerts (key, state);
CREATE INDEX intake_alerts_thread ON intake_alerts (thread_id);
INSERT INTO intake_alerts (key, sender, service_hint, summary, thread_id, state, count, first_at,
    last_at, latest) VALUES ('old', 'events_v2', 'search', 'Disk 91% full', 'oldthread', 'open', 7,
    1.0, 1.0, '{"summary": "Disk 91% full"}');
"""


@pytest.mark.parametrize("later", ["", ", inputs TEXT, resumes INTEGER NOT NULL DEFAULT 0"],
                         ids=["first release", "with recover's columns"])
def test_an_intake_file_from_an_earlier_release_keeps_its_rows(later: str, tmp_path: Path) -> None:
    s = settings_for("sqlite", tmp_path)
    path = default_db_path(s)
    with sqlite3.connect(path) as old:
        old.executescript(OLD_SCHEMA.replace("{later}", later))
    store = AlertStore(path, s)
    [row] = store.all()
    assert (row.key, row.count, row.problem, row.latest) == ("old", 7, None, {"summary": "Disk 91% full"})
    assert store.find("old", None, "x", since=0.0) == row
    joined = store.join(row.id, 1, 2.0, {})
    assert joined is not None and joined.count == 8
    # A new row for the same problem may open beside the old one (which has no problem key) ...
    _, created = store.create(key="new", sender="events_v2", service_hint="search", thread_id="t",
                              summary="Disk 95% full", count=1, now=3.0, latest={})
    assert created
    # ... and from then on the database keeps it alone.
    _, created = store.create(key="newer", sender="events_v2", service_hint="search", thread_id="u",
                              summary="Disk 99% full", count=1, now=4.0, latest={})
    assert not created
    store.close_db()
