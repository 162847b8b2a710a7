"""PagerDuty V3 webhooks as PagerDuty sends them: signed raw bodies, replays, rotations, bursts."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from agent.config import Settings
from agent.surfaces.webhooks import PATH, WebhookReceiver, app, sign

SECRET, NEXT_SECRET, RETIRED = "whsec-current-0001", "whsec-next-0002", "whsec-retired-0003"
NOW = datetime(2026, 11, 12, 10, 3, tzinfo=UTC)


def event(n: int = 1, event_type: str = "incident.resolved", occurred: datetime = NOW) -> bytes:
    body = {"event": {
        "id": f"01EVT{n:06d}", "event_type": event_type, "resource_type": "incident",
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        "agent": {"id": "PUCO001", "type": "user_reference"},
        "data": {"id": f"PINC{n:04d}", "type": "incident", "number": n,
                 "title": f"Public API returning 5xx — ünïcode {n}", "status": "resolved"}}}
    return json.dumps(body, ensure_ascii=False).encode()


class Calls:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def __call__(self, **kwargs) -> None:
        await asyncio.sleep(0)
        self.calls.append(kwargs)


@pytest.fixture
def settings(tmp_path):
    return Settings(_env_file=None, pagerduty_webhook_secrets=[SecretStr(SECRET)],
                    incident_agent_checkpoint=tmp_path / "agent.sqlite")


@pytest.fixture
async def receiver(settings):
    calls = Calls()
    receiver = WebhookReceiver(settings, calls, clock=lambda: NOW)
    receiver.calls = calls
    yield receiver
    await receiver.stop()
    receiver.store.close()


def client_for(receiver: WebhookReceiver) -> httpx.AsyncClient:
    from starlette.applications import Starlette

    transport = httpx.ASGITransport(app=Starlette(routes=receiver.routes()))
    return httpx.AsyncClient(transport=transport, base_url="http://agent")


async def post(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json", "User-Agent": "PagerDuty-Webhook/V3.0"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return await client.post(PATH, content=body, headers=headers)


async def test_valid_signature_starts_a_postmortem(receiver):
    async with client_for(receiver) as client:
        response = await post(client, event(1), sign(event(1), SECRET))
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    await receiver.drain()
    assert receiver.calls.calls == [{"kind": "postmortem", "incident_id": "PINC0001"}]


async def test_triggered_starts_triage_with_the_title_and_others_are_ignored(receiver):
    body = event(2, "incident.triggered")
    other = event(3, "incident.acknowledged")
    async with client_for(receiver) as client:
        assert (await post(client, body, sign(body, SECRET))).status_code == 202
        ignored = await post(client, other, sign(other, SECRET))
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    await receiver.drain()
    assert receiver.calls.calls == [{"kind": "triage", "incident_id": "PINC0002",
                                     "text": "Public API returning 5xx — ünïcode 2"}]


@pytest.mark.parametrize("signature", [
    None, "", "v1=" + "0" * 64, "v0=" + sign(event(1), SECRET)[3:], "sha256=abc",
    "signature-without-version",
])
async def test_forged_or_missing_signature_is_refused_with_no_work(receiver, signature):
    async with client_for(receiver) as client:
        response = await post(client, event(1), signature)
    assert response.status_code == 401
    assert receiver.store.count() == 0 and receiver.calls.calls == []


async def test_signature_of_another_body_or_a_retired_secret_is_refused(receiver):
    tampered = event(1).replace(b"PINC0001", b"PINC9999")
    async with client_for(receiver) as client:
        assert (await post(client, tampered, sign(event(1), SECRET))).status_code == 401
        assert (await post(client, event(1), sign(event(1), RETIRED))).status_code == 401
    assert receiver.store.count() == 0 and receiver.calls.calls == []


async def test_stale_event_is_refused(receiver):
    old = event(4, occurred=NOW - timedelta(days=2))
    async with client_for(receiver) as client:
        response = await post(client, old, sign(old, SECRET))
    assert response.status_code == 401 and response.json() == {"error": "stale event"}
    assert receiver.store.count() == 0 and receiver.calls.calls == []


async def test_replayed_event_is_processed_once(receiver):
    body = event(5)
    async with client_for(receiver) as client:
        first = await post(client, body, sign(body, SECRET))
        await receiver.drain()
        replays = [await post(client, body, sign(body, SECRET)) for _ in range(3)]
    await receiver.drain()
    assert first.status_code == 202
    assert [r.status_code for r in replays] == [200] * 3
    assert {r.json()["status"] for r in replays} == {"duplicate"}
    assert receiver.calls.calls == [{"kind": "postmortem", "incident_id": "PINC0005"}]


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'{"event": {"id": "x"}}',
                                  b'{"event": {"event_type": "incident.resolved"}}', b"\xff\xfe"])
async def test_malformed_json_is_refused_with_nothing_started(receiver, body):
    async with client_for(receiver) as client:
        response = await post(client, body, sign(body, SECRET))
    assert response.status_code == 400
    await asyncio.sleep(0.05)
    assert receiver.store.count() == 0 and receiver.calls.calls == []


async def test_secret_rotation_two_signatures_and_two_secrets(settings, tmp_path):
    settings.pagerduty_webhook_secrets = [SecretStr(NEXT_SECRET), SecretStr(SECRET)]
    calls = Calls()
    receiver = WebhookReceiver(settings, calls, clock=lambda: NOW)
    a, b = event(6), event(7)
    async with client_for(receiver) as client:
        # PagerDuty signs with both the old and the new secret while it rotates.
        both = f"{sign(a, RETIRED)},{sign(a, NEXT_SECRET)}"
        assert (await post(client, a, both)).status_code == 202
        # A delivery signed only with the older secret we still hold.
        assert (await post(client, b, f"v1=deadbeef, {sign(b, SECRET)}")).status_code == 202
    await receiver.drain()
    await receiver.stop()
    assert sorted(c["incident_id"] for c in calls.calls) == ["PINC0006", "PINC0007"]


async def test_no_configured_secret_refuses_everything(settings):
    settings.pagerduty_webhook_secrets = []
    receiver = WebhookReceiver(settings, Calls(), clock=lambda: NOW)
    async with client_for(receiver) as client:
        assert (await post(client, event(1), sign(event(1), SECRET))).status_code == 401


async def test_events_stored_before_a_crash_are_resumed_after_restart(settings):
    first = WebhookReceiver(settings, Calls(), clock=lambda: NOW)
    first.store.add({"event_id": "01EVTCRASH", "event_type": "incident.resolved",
                     "incident_id": "PINCRASH", "title": "t", "kind": "postmortem",
                     "received_at": NOW.isoformat(), "started_at": None, "finished_at": None})
    first.store.close()  # the process died before its worker took the event
    calls = Calls()
    second = WebhookReceiver(settings, calls, clock=lambda: NOW)
    second.start()
    await second.drain()
    await second.stop()
    assert calls.calls == [{"kind": "postmortem", "incident_id": "PINCRASH"}]


async def test_burst_of_500_through_a_small_queue_loses_nothing(settings):
    calls = Calls()
    receiver = WebhookReceiver(settings, calls, queue_size=16, clock=lambda: NOW)
    bodies = [event(n) for n in range(500)]
    async with client_for(receiver) as client:
        responses = await asyncio.gather(*(post(client, b, sign(b, SECRET)) for b in bodies))
    assert [r.status_code for r in responses] == [202] * 500
    await receiver.drain()
    await receiver.stop()
    assert sorted(c["incident_id"] for c in calls.calls) == sorted(f"PINC{n:04d}" for n in range(500))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_burst_of_500_over_real_http(settings):
    seen: list[str] = []
    lock = threading.Lock()

    def on_event(kind: str, incident_id: str, **_: str) -> None:
        with lock:
            seen.append(incident_id)

    asgi = app(settings, on_event, queue_size=64, clock=lambda: NOW)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     limits=httpx.Limits(max_connections=50)) as client:
            for _ in range(100):
                if server.started:
                    break
                await asyncio.sleep(0.05)
            bodies = [event(n) for n in range(1000, 1500)]
            # 50 in flight at once, as many as the client has connections: more would wait in
            # httpcore's pool, whose queue scan per hand-out is this test's cost, not the server's.
            in_flight = asyncio.Semaphore(50)

            async def deliver(body: bytes) -> httpx.Response:
                async with in_flight:
                    return await post(client, body, sign(body, SECRET))

            responses = await asyncio.gather(*(deliver(b) for b in bodies))
            assert [r.status_code for r in responses] == [202] * 500
            replay = await post(client, bodies[0], sign(bodies[0], SECRET))
            assert replay.json()["status"] == "duplicate"
        receiver = asgi.state.receiver
        for _ in range(600):
            if receiver.store.count("finished_at IS NULL") == 0 and len(seen) == 500:
                break
            await asyncio.sleep(0.05)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
    assert sorted(seen) == sorted(f"PINC{n:04d}" for n in range(1000, 1500))


async def test_secrets_are_never_logged(receiver, caplog):
    caplog.set_level("DEBUG")
    async with client_for(receiver) as client:
        await post(client, event(8), sign(event(8), RETIRED))
        await post(client, event(9), sign(event(9), SECRET))
    await receiver.drain()
    text = caplog.text
    assert SECRET not in text and RETIRED not in text and sign(event(9), SECRET)[3:] not in text


def test_a_store_opened_by_many_threads_at_once_opens_once(tmp_path) -> None:
    """Deliveries arrive together and each stores its event from a worker thread: the first
    use opens the file once (threads opening it together raced on its WAL pragma and one
    was told 'database is locked' instead of storing its event)."""
    from concurrent.futures import ThreadPoolExecutor

    from agent.surfaces.webhooks import EventStore

    for attempt in range(5):
        store = EventStore(tmp_path / f"events-{attempt}.sqlite")
        start = threading.Barrier(32)

        def add(n: int, store: EventStore = store, start: threading.Barrier = start) -> bool:
            start.wait()
            return store.add({"event_id": f"E{n}", "event_type": "incident.resolved",
                              "incident_id": f"P{n}", "title": None, "kind": "postmortem",
                              "received_at": NOW.isoformat(), "started_at": None,
                              "finished_at": None})

        with ThreadPoolExecutor(32) as pool:
            assert all(pool.map(add, range(32)))
        assert store.count("finished_at IS NULL") == 32
        path = str(tmp_path / f"events-{attempt}.sqlite")
        fds = Path("/proc/self/fd")
        held = [fd for fd in fds.iterdir() if os.path.realpath(fd) == path]
        assert len(held) == 1, f"the file was opened {len(held)} times"  # one kept connection
        store.close()
