"""The planners decide; each returns a result, a question or a refusal.

Questions carry the words they are about and, for each candidate, why it is
one; their text never says how to answer (that is each surface's business).
"""

from __future__ import annotations

from agent.actions import Proposal
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.sandbox.server import RunningSandbox
from agent.respond.incident import find_incident
from agent.respond.page import duplicate, propose_page, same_problem
from agent.respond.people import who
from agent.respond.questions import answer_problem, ask_request
from agent.respond.roster import plan_override, propose_override
from agent.respond.service import choose_service
from agent.respond.state import (
    IncidentRow,
    OnCallRow,
    OpenIncident,
    Question,
    Refusal,
    RosterPlan,
    Service,
)
from agent.respond.update import propose_update
from agent.triage import Intent, TriageResult
from tests.e2e.conftest import NOW
from tests.graph.conftest import make_settings

COMMAND_WORDS = ("Answer with", "edit setting", "service_id", "user_id", "--edit")


def _shown(q: Question) -> str:
    """Everything a surface may show of a question: its text and its request's description."""
    return q.text + "\n" + ask_request(q)["action_requests"][0]["description"]


def test_an_unknown_service_is_a_question_about_the_alert_with_reasons_per_service(catalog: Catalog) -> None:
    alert = "the flux capacitor is leaking"
    request = TriageResult(intent=Intent.page, service_words="flux capacitor")
    q = choose_service(request, catalog, about=alert)
    assert isinstance(q, Question) and q.kind == "service" and q.about == alert
    assert "'flux capacitor'" in q.text
    assert len(q.candidates) == len(catalog.services)
    assert all(c.reasons and "no service matched" not in c.why for c in q.candidates)
    assert any("escalation policy" in c.why for c in q.candidates)
    shown = _shown(q)
    assert alert in shown and not any(w in shown for w in COMMAND_WORDS)


def test_the_service_triage_found_is_used_and_every_policy_needs_none(catalog: Catalog) -> None:
    found = choose_service(TriageResult(intent=Intent.page, service_id="PAPI001"), catalog, about="x")
    assert isinstance(found, Service) and found.name == "Public API"
    everyone = TriageResult(intent=Intent.who_is_on_call, all_services=True)
    assert choose_service(everyone, catalog, about="who's on call?") is None


ROSSI = {"id": "PUCO009", "type": "user", "name": "Elena Rossi", "email": "elena.rossi@contoso.example",
         "summary": "Elena Rossi"}


def test_a_question_request_carries_structured_candidates(catalog: Catalog) -> None:
    catalog = Catalog.from_snapshot({**catalog.as_json(), "users": [*catalog.as_json()["users"], ROSSI]})
    q = who("Elena", "covering", choices={}, catalog=catalog, requester=None, back="check_roster", about="p")
    assert isinstance(q, Question) and {c.id for c in q.candidates} == {"PUCO002", "PUCO009"}
    request = ask_request(q, feedback="'PX' is not a person of this account.")
    [action] = request["action_requests"]
    assert action["name"] == "choose_person"
    assert action["args"]["user_id"] is None
    assert all(c["reasons"] == ["matches 'Elena'"] and c["why"] == "matches 'Elena'"
               for c in action["args"]["candidates"])
    assert "'PX' is not a person" in action["description"]
    assert request["review_configs"][0]["allowed_decisions"] == ["edit", "reject"]


def test_answers_are_checked_against_the_account_and_the_offer(catalog: Catalog) -> None:
    person = Question(kind="person", role="covering", text="?", back="check_roster")
    assert answer_problem(person, "PUCO002", catalog) is None
    assert answer_problem(person, "PNOPE", catalog) == "'PNOPE' is not a person of this account."
    incident = Question(kind="incident", role="incident", text="?", back="find_incident",
                        candidates=[{"id": "Q1"}])  # type: ignore[list-item]
    assert answer_problem(incident, "Q1", catalog) is None
    assert "one of the incidents offered" in (answer_problem(incident, "PAPI001", catalog) or "")


def test_me_needs_a_requester(catalog: Catalog) -> None:
    catalog = Catalog.from_snapshot({**catalog.as_json(), "users": [*catalog.as_json()["users"], ROSSI]})
    got = who("me", "assignee", choices={}, catalog=catalog, requester=None, back="propose_update", about="p")
    assert isinstance(got, Refusal) and "PAGERDUTY_FROM" in got.why
    chosen = who("Elena", "covering", choices={"covering": "PUCO009"}, catalog=catalog, requester=None,
                 back="check_roster", about="p")
    assert not isinstance(chosen, (Question, Refusal)) and chosen.id == "PUCO009"


def _incident(**kw: object) -> IncidentRow:
    return IncidentRow.model_validate({"id": "Q1", "number": 7, "title": "API down", "status": "triggered",
                                       "urgency": "high", "service": "Public API", **kw})


def test_updates_map_intents_to_writes_or_say_what_is_missing(catalog: Catalog) -> None:
    plan = {"choices": {}, "catalog": catalog, "requester": None, "about": "p"}
    urgent = propose_update(TriageResult(intent=Intent.change_urgency, urgency="low"), _incident(), **plan)
    assert isinstance(urgent, Proposal) and urgent.fields["urgency"] == "low"
    assert urgent.effects == ["urgency high → low"]
    assert "assigned to nobody" in urgent.reasons[0]
    for request in (TriageResult(intent=Intent.add_note), TriageResult(intent=Intent.change_urgency),
                    TriageResult(intent=Intent.add_responder, people=["Marco"])):
        refused = propose_update(request, _incident(), **plan)
        assert isinstance(refused, Refusal) and "Nothing was changed" in refused.why, request


def test_a_page_goes_to_level_one_or_becomes_a_note_on_the_open_incident(catalog: Catalog) -> None:
    service = Service(id="PAPI001", name="Public API", escalation_policy_id="PEP")
    request = TriageResult(intent=Intent.page, service_id="PAPI001", title="API p99 3.1s")
    oncall = [OnCallRow(level=2, user_id="PUCO003", user="Marco"),
              OnCallRow(level=1, user_id="PUCO002", user="Elena")]
    page = propose_page(request, service, oncall, None, prompt="p", key="k", catalog=catalog)
    assert isinstance(page, Proposal) and page.action == "create_incident"
    assert page.fields["assignee_id"] == "PUCO002" and page.effects == ["pages Elena"]
    rows = [OpenIncident(id="Q9", number=9, title="API p99 4.2s", status="acknowledged")]
    assert same_problem("API p99 3.1s", "API p99 4.2s") and not same_problem("API p99 3.1s", "disk full")
    dup = duplicate(rows, "k", request.title)
    note = propose_page(request, service, oncall, dup, prompt="again", key="k", catalog=catalog)
    assert isinstance(note, Proposal) and note.action == "add_note" and note.effects == ["nobody is paged"]


async def test_several_open_incidents_are_a_question_with_status_and_assignees(
    catalog: Catalog, pd: PagerDutyClient, sandbox: RunningSandbox
) -> None:
    for title in ("Public API returning 5xx", "Public API p99 latency 4s"):
        sandbox.state.create_incident({"type": "incident", "title": title, "service": {
            "id": "PAPI001", "type": "service_reference"}}, "susan.clark@contoso.example")
    request = TriageResult(intent=Intent.resolve, service_id="PAPI001")
    q = await find_incident(request, None, pd, catalog, about="resolve the Public API incident")
    assert isinstance(q, Question) and q.kind == "incident" and len(q.candidates) == 2
    assert all(c.reasons[0] == "triggered on Public API" and c.reasons[1].startswith("assigned to")
               for c in q.candidates)
    chosen = await find_incident(request, q.candidates[1].id, pd, catalog, about="")
    assert isinstance(chosen, IncidentRow) and chosen.title == q.candidates[1].name.split(" ", 1)[1]
    missing = await find_incident(TriageResult(intent=Intent.resolve, incident_ref="#999999"), None, pd,
                                  catalog, about="")
    assert isinstance(missing, Refusal) and "#999999" in missing.why


async def test_an_override_plan_checks_who_is_on_call_in_the_window(
    catalog: Catalog, pd: PagerDutyClient, tmp_path
) -> None:
    prompt = "replace Lena with Marco on the Infrastructure rotation for the next 8 hours"
    request = TriageResult(intent=Intent.override, leaving="Lena", covering="Marco",
                           schedule_words="Infrastructure")
    settings = make_settings("http://unused", tmp_path)
    plan = await plan_override(request, prompt, choices={}, catalog=catalog, pd=pd, settings=settings,
                               requester=None, now=NOW)
    assert isinstance(plan, RosterPlan), plan
    assert (plan.schedule_id, plan.leaving_id, plan.covering_id) == ("PSINFR1", "PUIN002", "PUCO003")
    write = propose_override(plan, request, catalog)
    assert isinstance(write, Proposal) and write.fields["replaces_user_id"] == "PUIN002"
    wrong = request.model_copy(update={"leaving": "David"})
    q = await plan_override(wrong, prompt, choices={}, catalog=catalog, pd=pd, settings=settings,
                            requester=None, now=NOW)
    assert isinstance(q, Question) and q.role == "leaving" and q.forget == ["leaving"]
    assert [c.id for c in q.candidates] == ["PUIN002"]
    assert q.candidates[0].why == "on call on Infrastructure Primary then"
    assert q.about == prompt and not any(w in _shown(q) for w in COMMAND_WORDS)
