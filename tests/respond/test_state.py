"""Typed state, stored as the JSON earlier versions stored: old paused threads still read."""

from __future__ import annotations

from agent.respond.state import Candidate, Question, State, changes

# The values of a thread the previous (untyped) version paused at a "which person?" question.
OLD = {
    "prompt": "replace David with Marco on the Infrastructure rotation for the next 8 hours",
    "alert": None,
    "request": {"intent": "override", "leaving": "David", "covering": "Marco", "reasons": ["intent override"],
                "candidates": [{"id": "PAPI001", "name": "Public API", "score": 0.5, "why": "name words"}]},
    "question": {"kind": "person", "role": "leaving", "text": "David Miller is not on call …",
                 "candidates": [{"id": "PUIN001", "name": "Arjun Mehta", "email": "arjun@x"},
                                {"id": "PAPI001", "name": "Public API", "score": 0.0,
                                 "why": "no service matched the words"}],
                 "back": "check_roster"},
    "choices": {"covering": "PUCO003"},
    "oncall": [{"policy": None, "level": 1, "user_id": "PU1", "user": "A", "schedule": None,
                "schedule_id": None, "until": None}],
    "status": "running",
    "report": "",
}


def test_values_of_a_thread_paused_by_the_untyped_version_validate() -> None:
    state = State.model_validate(OLD)
    assert state.question is not None and state.question.arg == "user_id"
    assert state.question.candidates[1].reasons == ["no service matched the words"]
    assert state.request is not None and state.request.covering == "Marco"
    assert state.oncall[0].level == 1


def test_changes_store_json_that_reads_back_the_same() -> None:
    q = Question(kind="schedule", role="schedule", text="Which schedule?", back="check_roster",
                 candidates=[Candidate(id="PS1", name="Infra", reasons=["team Infra", "matches 'infra'"])])
    stored = changes(question=q, choices={"schedule": "PS1"}, feedback=None)
    assert stored["question"]["candidates"][0]["why"] == "team Infra; matches 'infra'"
    assert isinstance(stored["question"], dict) and stored["feedback"] is None
    assert Question.model_validate(stored["question"]) == q
