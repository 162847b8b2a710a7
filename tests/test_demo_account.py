"""The bundled demo account holds the README's promises at any time of day, in any season.

A fresh sandbox shows the demo as of its clock (agent/pagerduty/demo.py): the
people the README names are on call, the open incidents are fresh (inside
PagerDuty's default 30-day window) and the resolved ones are in the last week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.demo import DEMO_EPOCH, demo_account, shift_times
from agent.pagerduty.sandbox import Clock, running_sandbox

# Around the clock, both sides of both European DST changes, and years after the file was written.
NOWS = [
    DEMO_EPOCH,
    DEMO_EPOCH + timedelta(hours=23, minutes=59),
    datetime(2027, 3, 28, 0, 30, tzinfo=UTC),   # the night Europe moves to summer time
    datetime(2027, 3, 29, 8, 59, tzinfo=UTC),   # a Monday morning, summer time
    datetime(2027, 10, 31, 1, 30, tzinfo=UTC),  # the night Europe moves back
    datetime(2031, 6, 15, 17, 45, tzinfo=UTC),
]
# Level 1 of each policy the README's examples name, and who the README says is on call.
README_ON_CALL = {"PFBE0PY": "Tomasz Kowalski", "PFBE0PL": "Daniel Cohen", "PFBE0ST": "Amara Okafor"}


@pytest.mark.parametrize("now", NOWS, ids=lambda t: t.strftime("%Y-%m-%dT%H:%M"))
async def test_the_demo_as_of_any_moment(now):
    with running_sandbox(None, clock=Clock(now)) as sb:
        async with PagerDutyClient(sb.base_url, SecretStr("sandbox-token")) as pd:
            oncalls = await pd.oncalls(escalation_policy_ids=list(README_ON_CALL))
            level1 = {o.escalation_policy.id: o.user.summary for o in oncalls if o.escalation_level == 1}
            assert level1 == README_ON_CALL
            # "tomorrow at 9 AM" in the README's swap: Tomasz is on call until then, and longer.
            payments = next(o for o in oncalls if o.escalation_policy.id == "PFBE0PY"
                            and o.escalation_level == 1)
            tomorrow_9 = (now + timedelta(days=1)).replace(hour=9, minute=0)
            assert payments.end is not None and payments.end > tomorrow_9 + timedelta(hours=1)

            open_now = await pd.list_incidents(statuses=["triggered", "acknowledged"])
            assert [(i.incident_number, i.status) for i in open_now] == [
                (2047, "acknowledged"), (2048, "triggered")]
            assert all(timedelta(0) < now - i.created_at < timedelta(days=2) for i in open_now)
            resolved = await pd.list_incidents(statuses=["resolved"], since=now - timedelta(days=7), until=now)
            assert [i.incident_number for i in resolved] == list(range(2041, 2047))


def test_shift_moves_every_timestamp_and_nothing_else():
    data = {"a": "2026-11-24T23:25:00Z", "b": ["2026-01-05T09:00:00+01:00", "2026-11-24"],
            "c": {"title": "deploy at 2026-11-24T21:30:00Z failed", "n": 3}}
    assert shift_times(data, timedelta(days=2)) == {
        "a": "2026-11-26T23:25:00Z", "b": ["2026-01-07T08:00:00Z", "2026-11-24"],
        "c": {"title": "deploy at 2026-11-24T21:30:00Z failed", "n": 3}}
    assert demo_account(DEMO_EPOCH + timedelta(hours=5)) == demo_account(DEMO_EPOCH)  # whole days
