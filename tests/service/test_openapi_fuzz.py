"""The OpenAPI document describes what the server really accepts and answers.

* Its ``components.schemas`` name every shape: the request bodies (with the Timeline
  and PlannedAction models), the answers (AuditReport, Finding, CheckResult, Agenda...)
  and the error shape, and every operation has an id, a summary and a schema for each
  answer it can give (200, 413, 415, 422, 500, 503).
* Real answers -- successes and every kind of error -- validate against the schema the
  document gives for their status (``jsonschema``, draft 2020-12, as OpenAPI 3.1 says).
* ``schemathesis`` (installed by the ``test`` extra) generates requests from the document
  and sends them to a live ``followup serve``: no answer is a 5xx, and every answer's
  status, content type and body conform to the document. The number of examples is
  bounded so the run stays well under a minute.
"""

from __future__ import annotations

import json
import warnings

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from .live import live_server
from engine.server import MAX_BODY, create_app

from .payloads import ROOT, example_timeline

try:
    import schemathesis
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - the test extra installs it
    schemathesis = None

JSON = {"content-type": "application/json"}
AUDIT = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-14T00:00:00Z"}
CHECK = {"timeline": example_timeline("over-eager"), "action": {"type": "status_inquiry", "to": "nadia",
                                                               "channel": "email"}, "at": "2026-04-08T10:00:00-04:00"}
AGENDA = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-06T15:30:00-04:00"}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(engine="reference", workers=1)) as c:
        yield c


@pytest.fixture(scope="module")
def doc(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _validator(doc: dict, ref: str) -> Draft202012Validator:
    registry = Registry().with_resource("urn:followup:openapi", Resource.from_contents(doc, DRAFT202012))
    return Draft202012Validator({"$ref": "urn:followup:openapi" + ref}, registry=registry)


def _response_schema(doc: dict, path: str, method: str, status: int) -> str:
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    return responses[str(status)]["content"]["application/json"]["schema"]["$ref"]


# --------------------------------------------------------------------------- the document


def test_every_shape_is_a_named_component(doc):
    names = set(doc["components"]["schemas"])
    assert {"AuditRequest", "CheckRequest", "AgendaRequest", "Timeline", "PlannedAction", "Contact", "Application",
            "Interview", "Outreach", "AuditReport", "Finding", "CheckResult", "Alternative", "Agenda", "AgendaItem",
            "ErrorResponse", "Problem", "Health", "PolicyList", "PolicyStatus"} <= names
    request = doc["components"]["schemas"]["CheckRequest"]["properties"]
    assert request["timeline"]["$ref"] == "#/components/schemas/Timeline"
    assert request["action"]["$ref"] == "#/components/schemas/PlannedAction"
    answer = doc["components"]["schemas"]["AuditReport"]["properties"]
    assert answer["findings"]["items"] == {"$ref": "#/components/schemas/Finding"}
    assert doc["components"]["schemas"]["ErrorResponse"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/Problem"}


def test_every_operation_has_an_id_a_summary_and_a_schema_for_each_answer(doc):
    ids = set()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert op.get("operationId") and op.get("summary"), f"{method} {path}"
            ids.add(op["operationId"])
            statuses = {"200", "500"} | ({"413", "415", "422", "503"} if method == "post" else set())
            assert statuses <= set(op["responses"]), f"{method} {path}: {sorted(op['responses'])}"
            for status in statuses:
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema["$ref"].startswith("#/components/schemas/"), (path, status)
            if method == "post":
                body = op["requestBody"]
                assert body["required"] is True
                assert set(body["content"]) == {"application/json"}
    assert ids == {"audit", "check", "agenda", "listPolicies", "health"}


def test_the_documented_request_schemas_accept_the_real_examples(doc):
    for name, body in (("AuditRequest", AUDIT), ("CheckRequest", CHECK), ("AgendaRequest", AGENDA)):
        errors = list(_validator(doc, f"#/components/schemas/{name}").iter_errors(body))
        assert not errors, (name, [e.message for e in errors])
    assert list(_validator(doc, "#/components/schemas/AuditRequest").iter_errors({**AUDIT, "asof": "x"})), \
        "unknown fields are refused by the schema as by the server"


# --------------------------------------------------------------------------- real answers conform

EXCHANGES = [
    ("post", "/v1/audit", json.dumps(AUDIT), JSON, 200),
    ("post", "/v1/check", json.dumps(CHECK), JSON, 200),
    ("post", "/v1/agenda", json.dumps(AGENDA), JSON, 200),
    ("get", "/healthz", None, {}, 200),
    ("get", "/v1/policies", None, {}, 200),
    ("post", "/v1/audit", json.dumps(AUDIT), {"content-type": "text/plain"}, 415),
    ("post", "/v1/check", '{"timeline": {"events": [{"id": "x"}]}}', JSON, 422),
    ("post", "/v1/agenda", '{"timeline": ', JSON, 422),
    ("post", "/v1/audit", json.dumps({**AUDIT, "policy": "nope"}), JSON, 422),
    ("post", "/v1/audit", " " * (MAX_BODY + 1), JSON, 413),
]


@pytest.mark.parametrize("method,path,body,headers,status", EXCHANGES,
                         ids=[f"{m} {p} {s}" for m, p, _, _, s in EXCHANGES])
def test_real_answers_validate_against_the_schema_documented_for_their_status(client, doc, method, path, body,
                                                                             headers, status):
    response = client.request(method.upper(), path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    errors = list(_validator(doc, _response_schema(doc, path, method, status)).iter_errors(response.json()))
    assert not errors, [e.message for e in errors]


def test_a_500_validates_against_the_error_schema(client, doc, monkeypatch):
    from engine.service import PolicyRefs
    monkeypatch.setattr(PolicyRefs, "for_name", lambda self, name: 1 / 0)
    response = client.post("/v1/audit", content=json.dumps(AUDIT), headers=JSON)
    assert response.status_code == 500
    assert not list(_validator(doc, _response_schema(doc, "/v1/audit", "post", 500)).iter_errors(response.json()))


def test_an_over_budget_503_validates_against_the_error_schema(doc):
    from .test_server_hardening import SLOW_CHECK, SLOW_POLICIES
    with TestClient(create_app(SLOW_POLICIES, engine="reference", workers=1, time_budget=0.5)) as c:
        response = c.post("/v1/check", content=json.dumps(SLOW_CHECK), headers=JSON)
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["code"] == "request.over-budget"
    assert not list(_validator(doc, _response_schema(doc, "/v1/check", "post", 503)).iter_errors(response.json()))


# --------------------------------------------------------------------------- schemathesis

#: examples per operation (five operations): keeps the whole run well under a minute
EXAMPLES = 30


@pytest.fixture(scope="module")
def live_url(tmp_path_factory):
    """``followup serve`` (reference engine) on an ephemeral loopback port."""
    with live_server(tmp_path_factory.mktemp("fuzz"), workers=2) as url:
        yield url


if schemathesis is not None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                   status_code_conformance)

    #: the document the live server serves, made by the same code here (schemathesis'
    #: fixture-based loader does not work with the pytest versions we use)
    schema = schemathesis.openapi.from_dict(
        create_app(engine="reference", workers=1).openapi(),
        # the coverage phase enumerates ~600 boundary cases per operation (minutes here); the
        # fuzzing phase's valid and invalid bodies, bounded by max_examples, are the test
        config=schemathesis.config.SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}))

    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def test_generated_requests_get_no_5xx_and_answers_that_conform_to_the_document(case, live_url):
        """For requests generated from the document (valid and invalid bodies), the server
        never answers 5xx, and status, content type and body are the documented ones."""
        case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                       response_schema_conformance], base_url=live_url, timeout=30)
else:  # pragma: no cover
    def test_generated_requests_get_no_5xx_and_answers_that_conform_to_the_document():
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
