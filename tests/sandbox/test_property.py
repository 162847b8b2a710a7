"""Property-based run against PagerDuty's published spec: schemathesis generates requests
(valid and invalid) for every operation the sandbox serves; each answer must not be a 5xx
and must match the spec (contract.validate, with its narrow, commented errata).

Bounded: a fixed number of examples per operation and no shrinking-time surprises
(`deadline=None`, derandomized so CI runs the same cases every time); about a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, reject, settings
from schemathesis.generation import GenerationMode

from agent.pagerduty.sandbox import Clock, RunningSandbox, running_sandbox
from agent.pagerduty.sandbox.app import API_ROUTES
from tests.conftest import SANDBOX_NOW

from . import contract
from .conftest import ACCOUNT, HANNAH, TOKEN

EXAMPLES_PER_OPERATION = 10
IMPLEMENTED = {(method, path) for method, path, _ in API_ROUTES}


def _trimmed(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec cut down to the operations the sandbox serves and the components they reach.

    Schemathesis resolves references per operation; on the whole 2.7 MB spec collection alone
    takes minutes. The cut keeps every schema those operations use, unchanged."""
    paths = {
        path: {m: op for m, op in item.items() if (m.upper(), path) in IMPLEMENTED or m == "parameters"}
        for path, item in spec["paths"].items()
        if any((m.upper(), path) in IMPLEMENTED for m in item)
    }
    keep: set[tuple[str, str]] = set()
    todo: list[Any] = [paths]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                section, name = ref.split("/")[2], ref.split("/")[3]
                if (section, name) not in keep:
                    keep.add((section, name))
                    todo.append(spec["components"][section][name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    components: dict[str, dict[str, Any]] = {}
    for section, name in keep:
        components.setdefault(section, {})[name] = spec["components"][section][name]
    if "securitySchemes" in spec["components"]:
        components["securitySchemes"] = spec["components"]["securitySchemes"]
    return {**spec, "paths": paths, "components": components}


def _schema() -> Any:
    spec = json.loads(contract.spec_path().read_text(encoding="utf-8"))
    contract._patch_spec(spec)
    schema = schemathesis.openapi.from_dict(_trimmed(spec))
    schema.config.update(base_url="https://api.pagerduty.com")  # replaced per call below
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    # The spec's examples and the fuzzing phase; the "coverage" phase enumerates boundary cases
    # of every schema at collection time and alone takes minutes on this spec.
    schema.config.phases.update(phases=["examples", "fuzzing"])
    return schema.include(func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in IMPLEMENTED)


schema = _schema()

# Ids that exist in the Contoso account, by the path's first segment: most generated cases
# should reach the operation's logic, not stop at a 404 (a quarter keep their random id).
KNOWN_IDS = {
    "services": "PWEB001", "users": "PUWE001", "teams": "PTCORE1", "escalation_policies": "PEWEB01",
    "schedules": "PSCORE1", "incidents": "PINCD01", "log_entries": None,
}


@schema.hook
def map_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    if not path_parameters:
        return path_parameters
    collection = ctx.operation.path.strip("/").split("/")[0]
    known = KNOWN_IDS.get(collection)
    value = str(path_parameters.get("id", ""))
    if known and "id" in path_parameters and hash(value) % 4:
        path_parameters["id"] = known
    return path_parameters


@pytest.fixture(scope="module")
def live() -> Iterator[RunningSandbox]:
    account = json.loads(ACCOUNT.read_text(encoding="utf-8"))
    with running_sandbox(account, clock=Clock(SANDBOX_NOW), rate_per_minute=1_000_000) as sb:
        yield sb


@pytest.fixture(scope="module")
def http(live: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base_url, timeout=10) as client:
        yield client


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_answer_matches_the_spec(case, http):
    # Generated header values may hold any character: sent as UTF-8 bytes, as a hostile client would.
    headers = {k: str(v).encode("utf-8", "surrogatepass") for k, v in (case.headers or {}).items()}
    headers.update({"Authorization": f"Token token={TOKEN}".encode(), "From": HANNAH.encode()})
    body: dict[str, Any] = {}
    if isinstance(case.body, bytes | str):
        body["content"] = case.body
    elif case.body is not None and not isinstance(case.body, schemathesis.core.NotSet):
        body["json"] = case.body
    request = http.build_request(case.method, case.formatted_path, params=case.query, headers=headers, **body)
    try:
        response = http.send(request)
    except httpx.LocalProtocolError:
        reject()  # a header no HTTP client can send (a trailing space, a newline): not a case
    
    response.read()
    assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body, response.text)
    if (case.method.upper(), case.operation.path) not in IMPLEMENTED:
        # Negative cases include methods the path does not have (TRACE, PATCH, ...): PagerDuty's
        # 405, with the methods it has in `Allow` and its JSON error body.
        assert response.status_code == 405, response.text
        allowed = {m for m, p in IMPLEMENTED if p == case.operation.path}
        assert set(response.headers["allow"].split(", ")) == allowed
        contract.error_validator().validate(response.json())
        return
    contract.validate(response)
