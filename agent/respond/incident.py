"""Which incident an update is about: by id, by `#number`, or the one open on a service."""

from __future__ import annotations

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.errors import NotFound
from agent.pagerduty.models import Incident
from agent.respond.questions import incident_candidates
from agent.respond.state import IncidentRow, Question, Refusal
from agent.roster import parse_incident_ref
from agent.triage import Intent, TriageResult

OPEN = ["triggered", "acknowledged"]


def incident_row(i: Incident) -> IncidentRow:
    return IncidentRow(
        id=i.id,
        number=i.incident_number,
        title=i.title,
        status=i.status,
        urgency=i.urgency,
        priority=i.priority.summary if i.priority else None,
        service=i.service.summary,
        service_id=i.service.id,
        assignees=[a.assignee.summary or a.assignee.id for a in i.assignments],
        html_url=i.html_url,
    )


async def find_incident(
    request: TriageResult, chosen: str | None, pd: PagerDutyClient, catalog: Catalog, *, about: str
) -> IncidentRow | Question | Refusal:
    """The one incident meant, or a question when several are open (or none was named),
    or a refusal when there is none or the update makes no sense in its status."""
    ref = parse_incident_ref(request.incident_ref or "")
    wanted = chosen or ref.id
    try:
        if wanted:
            row = incident_row(await pd.get_incident(wanted))
        elif ref.number is not None:
            found = await pd.find_incident_by_number(ref.number)
            if found is None:
                return Refusal(why=f"There is no incident #{ref.number} in this account; "
                                   "nothing was changed.")
            row = incident_row(found)
        else:
            service = catalog.service(request.service_id) if request.service_id else None
            listed = await pd.list_incidents(
                statuses=OPEN, service_ids=[service.id] if service else None, date_range="all"
            )
            where = f" on {service.name}" if service else ""
            if not listed:
                return Refusal(why=f"There is no open incident{where}; nothing was changed. "
                                   "Name it by number, e.g. #1201.")
            rows = [incident_row(i) for i in listed]
            if len(rows) > 1 or service is None:
                text = (f"{len(rows)} incidents are open{where}; which one is meant?" if len(rows) > 1
                        else "No service or incident number was named; is this the incident meant?")
                return Question(kind="incident", role="incident", text=text, back="find_incident",
                                candidates=incident_candidates(rows), about=about)
            row = rows[0]
    except NotFound:
        return Refusal(why=f"Incident {wanted} does not exist in this account; nothing was changed.")
    if row.status == "resolved" and request.intent != Intent.add_note:
        return Refusal(why=f"Incident {row.label} ({row.title}) is already resolved; nothing was changed.")
    if request.intent == Intent.acknowledge and row.status == "acknowledged":
        return Refusal(why=f"Incident {row.label} is already acknowledged; nothing was changed.")
    return row
