"""The HTTP API in-process: ``TestClient(create_app(engine="reference"))``.

Every endpoint answers what the Python API answers for the same input; errors are
422 with ``errors`` (structured) and ``messages`` (one line each, located
``request:LINE:COL`` in the request body); an oversize body is 413.
"""

from __future__ import annotations

import json
import warnings

import pytest

with warnings.catch_warnings():  # some starlette versions warn that their TestClient's httpx use is deprecated
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine import api
from engine.decide import PlannedAction, agenda, check
from engine.server import MAX_BODY, create_app

from .payloads import EXAMPLES, ROOT, answer_of, example_timeline

ETIQUETTE_RULES = ["timetable-asked", "thank-you-within-24h", "thank-you-customized", "thank-you-brief",
                   "preferred-channel", "inquiry-after-timetable", "single-inquiry", "no-contact-after-rejection",
                   "feedback-after-rejection", "do-not-contact", "contact-frequency", "inquiry-tone", "call-hours"]


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(engine="reference"), headers={"content-type": "application/json"}) as c:
        yield c


def as_json(model) -> dict:
    return json.loads(model.model_dump_json())


def assert_error(response, status: int, codes: list[str]) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors", "messages"}
    assert [e["code"] for e in body["errors"]] == codes, body
    assert len(body["messages"]) == len(body["errors"])
    return body


# --------------------------------------------------------------------------- the endpoints answer


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "engine": "reference"}


def test_policies_lists_the_shipped_etiquette_with_its_rules(client):
    response = client.get("/v1/policies")
    assert response.status_code == 200
    policies = {p["name"]: p for p in response.json()["policies"]}
    etiquette = policies["etiquette"]
    assert etiquette["serving"] is True and etiquette["errors"] == []
    assert etiquette["rules"] == ETIQUETTE_RULES
    assert etiquette["file"].endswith("etiquette.yaml")


def test_docs_and_openapi(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "swagger" in docs.text.lower()
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/healthz", "/v1/policies", "/v1/audit", "/v1/check", "/v1/agenda"} <= set(paths)
    components = spec.json()["components"]["schemas"]

    def body(path):  # the request body's schema, a reference to a named component
        ref = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[1]]
    check_body = body("/v1/check")
    assert {"timeline", "action", "policy", "at"} <= set(check_body["properties"])
    assert set(check_body["required"]) == {"timeline", "action"}
    for path in ("/v1/audit", "/v1/agenda"):
        assert set(body(path)["required"]) == {"timeline", "as_of"}


def test_audit_answers_what_the_python_api_answers(client):
    response = client.post("/v1/audit", json={"timeline": example_timeline("over-eager"),
                                              "as_of": "2026-04-14T00:00:00Z"})
    assert response.status_code == 200, response.text
    expected = api.audit(api.load_timeline(EXAMPLES / "over-eager.yaml"), api.load_policy("etiquette"),
                         api.parse_instant("2026-04-14T00:00:00Z")).contract()
    assert answer_of(response.json()) == json.loads(json.dumps(expected))
    assert set(response.json()) == {"as_of", "policy", "findings", "policy_revision", "decision_id"}
    assert {f["rule"] for f in response.json()["findings"]} == {
        "inquiry-after-timetable", "single-inquiry", "preferred-channel", "contact-frequency", "call-hours",
        "inquiry-tone"}


def test_audit_of_the_model_candidate_has_no_findings(client):
    response = client.post("/v1/audit", json={"timeline": example_timeline("model-candidate"),
                                              "as_of": "2026-04-10T00:00:00Z", "policy": "etiquette"})
    assert response.status_code == 200
    assert answer_of(response.json()) == {"as_of": "2026-04-10T00:00:00Z", "policy": "etiquette", "findings": []}


def test_check_answers_what_the_python_api_answers(client):
    action = {"type": "status_inquiry", "to": "nadia", "channel": "email"}
    response = client.post("/v1/check", json={"timeline": example_timeline("over-eager"), "action": action,
                                              "at": "2026-04-08T10:00:00-04:00"})
    assert response.status_code == 200, response.text
    expected = check(api.load_timeline(EXAMPLES / "over-eager.yaml"), PlannedAction(**action),
                     api.load_policy("etiquette"), api.parse_instant("2026-04-08T10:00:00-04:00"))
    assert answer_of(response.json()) == as_json(expected)
    assert (response.json()["decision"], response.json()["earliest"]) == ("deny", "2026-04-21T04:00:00Z")


def test_check_takes_at_from_the_action_and_the_body_overrides_it(client):
    timeline = example_timeline("over-eager")
    action = {"type": "contact", "to": ["kevin"], "channel": "email", "at": "2026-04-12T10:00:00-04:00"}
    own = client.post("/v1/check", json={"timeline": timeline, "action": action}).json()
    assert (own["decision"], own["at"], own["earliest"]) == ("deny", "2026-04-12T14:00:00Z", "2026-04-16T13:15:00Z")
    overridden = client.post("/v1/check", json={"timeline": timeline, "action": action,
                                                "at": "2026-04-08T10:00:00-04:00"}).json()
    assert (overridden["decision"], overridden["at"]) == ("allow", "2026-04-08T14:00:00Z")


def test_agenda_answers_what_the_python_api_answers(client):
    response = client.post("/v1/agenda", json={"timeline": example_timeline("over-eager"),
                                               "as_of": "2026-04-06T15:30:00-04:00"})
    assert response.status_code == 200, response.text
    expected = agenda(api.load_timeline(EXAMPLES / "over-eager.yaml"), api.load_policy("etiquette"),
                      api.parse_instant("2026-04-06T15:30:00-04:00"))
    assert answer_of(response.json()) == as_json(expected)
    assert [i["kind"] for i in response.json()["items"]] == ["due", "due", "inquiry-window"]


# --------------------------------------------------------------------------- located 422 errors

#: a body with two problems on line 8: a zone-less time (no `timezone` in the timeline)
#: and an unknown channel
BAD_TIMELINE = """{
  "as_of": "2026-03-10T00:00:00Z",
  "timeline": {
    "contacts": {"alice": {"name": "Alice Park"}},
    "applications": {"acme": {"company": "Acme"}},
    "events": [
      {"id": "i1", "type": "interview", "at": "2026-03-02T10:00:00-05:00", "with": ["alice"]},
      {"id": "y1", "type": "thank_you", "at": "2026-03-02T19:00:00", "to": ["alice"], "channel": "pigeon"}
    ]
  }
}
"""


def _col(body: str, line: int, needle: str) -> int:
    """The 1-based column of ``needle`` on 1-based ``line`` of ``body``."""
    return body.splitlines()[line - 1].index(needle) + 1


def test_a_malformed_timeline_is_422_with_messages_located_in_the_body(client):
    # the columns, counted by hand: 6 spaces + `{"id": "y1", "type": "thank_you", "at": ` is 46 characters
    assert _col(BAD_TIMELINE, 8, '"2026-03-02T19:00:00"') == 47
    assert _col(BAD_TIMELINE, 8, '"pigeon"') == 98
    body = assert_error(client.post("/v1/audit", content=BAD_TIMELINE), 422,
                        ["timeline.invalid", "timeline.invalid"])
    assert body["messages"][0].startswith("request:8:47: error[timeline.invalid]: `events[1].at`: timestamp "
                                          "`2026-03-02T19:00:00` has no UTC offset")
    assert body["messages"][1].startswith("request:8:98: error[timeline.invalid]: `events[1].channel`")
    first = body["errors"][0]
    assert (first["file"], first["line"], first["col"], first["path"], first["severity"]) == (
        "request", 8, 47, "timeline.events[1].at", "error")


@pytest.mark.parametrize("endpoint,extra", [("/v1/check", '"action": {"type": "contact", "to": "alice", '
                                                          '"channel": "email"}, "at": "2026-03-10T00:00:00Z"'),
                                            ("/v1/agenda", '"as_of": "2026-03-10T00:00:00Z"')])
def test_every_endpoint_locates_timeline_problems(client, endpoint, extra):
    body = BAD_TIMELINE.replace('"as_of": "2026-03-10T00:00:00Z"', extra)
    result = assert_error(client.post(endpoint, content=body), 422, ["timeline.invalid", "timeline.invalid"])
    assert [m.split(" ")[0] for m in result["messages"]] == ["request:8:47:", "request:8:98:"]


def test_an_unknown_contact_in_the_timeline_is_located(client):
    body = BAD_TIMELINE.replace('"2026-03-02T19:00:00"', '"2026-03-02T19:00:00-05:00"').replace(
        '"pigeon"', '"email"').replace('"with": ["alice"]', '"with": ["bob"]')
    line = 7
    col = _col(body, line, '"bob"')
    result = assert_error(client.post("/v1/audit", content=body), 422, ["timeline.unknown-contact"])
    assert result["messages"] == [f"request:{line}:{col}: error[timeline.unknown-contact]: unknown contact `bob`"]


CHECK_BODY = """{
  "timeline": {"contacts": {"alice": {"name": "Alice Park"}}, "applications": {"acme": {"company": "Acme"}}, "events": []},
  "action": {"type": "status_inquiry", "to": "alice", "channel": "fax"},
  "at": "2026-03-10T09:00:00"
}
"""


def test_an_invalid_action_is_located(client):
    col = _col(CHECK_BODY, 3, '"fax"')
    result = assert_error(client.post("/v1/check", content=CHECK_BODY), 422, ["action.invalid"])
    assert result["messages"][0].startswith(f"request:3:{col}: error[action.invalid]: `channel`")
    assert result["errors"][0]["path"] == "action.channel"


def test_a_naive_at_is_located(client):
    body = CHECK_BODY.replace('"fax"', '"email"')
    result = assert_error(client.post("/v1/check", content=body), 422, ["input.naive-instant"])
    assert result["messages"][0].startswith(f"request:4:{_col(body, 4, chr(34) + '2026')}: error[input.naive-instant]")


def test_check_without_any_time_is_422(client):
    body = CHECK_BODY.replace('"fax"', '"email"').replace(',\n  "at": "2026-03-10T09:00:00"', "")
    result = assert_error(client.post("/v1/check", content=body), 422, ["request.missing-field"])
    assert "`at`" in result["messages"][0]


def test_malformed_json_is_located(client):
    text = '{"timeline": {}, "as_of": "2026-03-10T00:00:00Z"'
    result = assert_error(client.post("/v1/audit", content=text), 422, ["yaml.syntax"])
    assert result["messages"][0].startswith(f"request:1:{len(text) + 1}: error[yaml.syntax]")


@pytest.mark.parametrize("text,code", [("[1, 2]", "request.not-a-mapping"),
                                       ('{"as_of": "2026-03-10T00:00:00Z"}', "request.missing-field"),
                                       (b"\xff\xfe{}", "request.encoding")])
def test_bodies_that_are_not_requests(client, text, code):
    assert_error(client.post("/v1/audit", content=text), 422, [code])


def test_an_unknown_policy_is_422(client):
    response = client.post("/v1/audit", json={"timeline": example_timeline("over-eager"),
                                              "as_of": "2026-04-14T00:00:00Z", "policy": "no-such-policy"})
    result = assert_error(response, 422, ["policy.not-found"])
    assert "`no-such-policy`" in result["messages"][0] and "etiquette" in result["messages"][0]


def test_a_policy_that_is_not_a_name_is_422(client):
    response = client.post("/v1/audit", json={"timeline": example_timeline("over-eager"),
                                              "as_of": "2026-04-14T00:00:00Z", "policy": 7})
    assert_error(response, 422, ["request.invalid"])


# --------------------------------------------------------------------------- body limit


def test_an_oversize_body_is_413_by_its_content_length(client):
    response = client.post("/v1/audit", content=b" " * (MAX_BODY + 1), headers={"content-type": "application/json"})
    result = assert_error(response, 413, ["request.too-large"])
    assert str(MAX_BODY) in result["messages"][0]


def test_an_oversize_streamed_body_is_413_too(client):
    """Without a Content-Length (chunked upload), the server stops reading past the limit."""
    def chunks():
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536
    response = client.post("/v1/agenda", content=chunks(), headers={"content-type": "application/json"})
    assert_error(response, 413, ["request.too-large"])


def test_a_body_just_under_the_limit_is_read(client):
    text = json.dumps({"timeline": example_timeline("model-candidate"), "as_of": "2026-04-10T00:00:00Z"})
    padded = text + " " * (MAX_BODY - len(text.encode()))
    assert len(padded.encode()) == MAX_BODY
    assert client.post("/v1/audit", content=padded).status_code == 200


# --------------------------------------------------------------------------- agency policies


def test_a_policies_directory_adds_policies_by_file_name(tmp_path):
    """A copy of the etiquette that allows 48h for thank-yous, served as `house`: Raj's note,
    late by the default policy, is in time; Ben still got none."""
    text = (ROOT / "policies" / "etiquette.yaml").read_text(encoding="utf-8")
    text = text.replace("policy: etiquette", "policy: house").replace(
        "thank_you_within: {value: 24h,", "thank_you_within: {value: 48h,")
    (tmp_path / "house.yaml").write_text(text, encoding="utf-8")
    with TestClient(create_app(tmp_path, engine="reference")) as c:
        names = {p["name"]: p["serving"] for p in c.get("/v1/policies").json()["policies"]}
        assert names["house"] is True and names["etiquette"] is True
        body = {"timeline": example_timeline("forgetful"), "as_of": "2026-06-05T00:00:00Z"}
        default = c.post("/v1/audit", json=body).json()
        house = c.post("/v1/audit", json={**body, "policy": "house"}).json()
    assert house["policy"] == "house"

    def late(report):
        return sorted(f["contact"] for f in report["findings"] if f["rule"] == "thank-you-within-24h")
    assert late(default) == ["ben", "raj"]
    assert late(house) == ["ben"]
