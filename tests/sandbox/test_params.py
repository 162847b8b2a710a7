"""One query check for every operation: the table is the spec's, and every list refuses alike."""

from __future__ import annotations

import json

import pytest

from agent.pagerduty.sandbox.app import API_ROUTES
from agent.pagerduty.sandbox.params import QUERY

from . import contract
from .conftest import TOKEN

LISTS = ["/services", "/users", "/teams", "/priorities", "/escalation_policies", "/schedules", "/oncalls",
         "/incidents", "/log_entries", "/incidents/PINCD01/log_entries", "/incidents/PINCD01/alerts",
         "/teams/PTCORE1/members"]


def _derive(spec: dict) -> dict[tuple[str, str], dict[str, object]]:
    """The table, read again from the spec: enums as sets, other parameters by type/format."""
    parameters = spec["components"]["parameters"]
    out: dict[tuple[str, str], dict[str, object]] = {}
    for method, path, _ in API_ROUTES:
        if method != "GET":
            continue
        rules: dict[str, object] = {}
        for p in spec["paths"][path]["get"].get("parameters", []):
            p = parameters[p["$ref"].split("/")[-1]] if "$ref" in p else p
            if p["in"] != "query":
                continue
            schema = p.get("schema", {})
            enum = schema.get("enum") or schema.get("items", {}).get("enum")
            if enum:
                rule: object = frozenset(enum)
            elif schema.get("format") in ("date-time", "tzinfo"):
                rule = schema["format"]
            elif schema.get("type") == "array":
                rule = schema.get("items", {}).get("type", "string")
            else:
                rule = schema.get("type")
            rules[p["name"].removesuffix("[]")] = rule
        out[(method, path)] = rules
    return out


def test_the_table_is_the_spec(openapi_spec):
    spec = json.loads(contract.spec_path().read_text(encoding="utf-8"))
    ours = {op: {k: frozenset(v) if isinstance(v, tuple) else v for k, v in rules.items()}
            for op, rules in QUERY.items()}
    assert ours == _derive(spec)


@pytest.mark.parametrize("query", [
    {"include[]": "everything"}, {"total": "2"}, {"limit": "ten"}, {"offset": "1.5"},
    {"time_zone": "Mars/Olympus_Mons"},
])
def test_every_list_refuses_a_bad_value_the_same_way(api, query):
    name = next(iter(query))
    checked = 0
    for path in LISTS:
        template = path.replace("PINCD01", "{id}").replace("PTCORE1", "{id}")
        if name.removesuffix("[]") not in QUERY[("GET", template)]:
            assert api.get(path, params=query).status_code == 200  # not a parameter there: ignored
            continue
        checked += 1
        r = api.get(path, params=query)
        assert r.status_code == 400, (path, query, r.text)
        error = r.json()["error"]
        assert error["code"] == 2001 and error["message"] == "Invalid Input Provided"
        assert error["errors"][0].startswith(name), (path, error)
    assert checked >= 5


def test_enums_sort_by_and_dates(api):
    assert api.get("/services", params={"sort_by": "name:desc"}).json()["services"][0]["name"] == "Web Frontend"
    assert api.get("/services", params={"sort_by": "created_at"}).status_code == 400
    assert api.get("/escalation_policies", params={"sort_by": "name:sideways"}).status_code == 400
    assert api.get("/incidents", params={"sort_by": "title:asc"}).status_code == 400  # the documented fields only
    r = api.get("/incidents", params={"statuses[]": "on-fire"})
    assert r.json()["error"]["errors"] == ["Status must be a list of triggered, acknowledged, or resolved."]
    assert api.get("/incidents/PINCD01/alerts", params={"statuses[]": "acknowledged"}).status_code == 400
    assert api.get("/log_entries", params={"since": "yesterday"}).status_code == 400
    assert api.get("/incidents", params={"include[]": "assignees", "total": "true"}).status_code == 200
    assert api.get("/services", params={"unknown_parameter": "ignored"}).status_code == 200


def test_405_carries_allow_and_pagerdutys_error_body(api):
    for method in ("PATCH", "DELETE", "TRACE"):
        r = api.request(method, "/incidents")
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST, PUT"
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"]["message"] == "Method Not Allowed"
    r = api.request("PATCH", "/_sandbox/faults", headers={"Authorization": f"Token token={TOKEN}"})
    assert r.status_code == 405 and r.headers["allow"] == "POST"
