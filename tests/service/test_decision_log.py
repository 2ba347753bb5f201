"""Decision logs (``--decision-log FILE|-``, ``--log-inputs``), with the in-process app.

* Every 200 answer of audit, check and agenda has a ``decision_id`` (a UUID4, also the
  ``X-Decision-Id`` header) and a ``policy_revision``, and appears exactly once in the log
  with both, its tenant, endpoint, engine, decision summary, latency and the SHA-256 of the
  body as sent; answers that are errors have no decision id and no line.
* Masked by default: no message body, note or name of the request reaches the log;
  ``log_inputs`` logs the body as sent.
* :class:`~engine.decisionlog.DecisionLog` never blocks: with its queue full a record is
  dropped and counted; closing writes every record queued before (no line lost).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
import warnings
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine import api
from engine.decisionlog import MASKED_FIELDS, Decision, DecisionLog, masked, summary
from engine.server import create_app

from .payloads import example_timeline

INQUIRY = {"type": "status_inquiry", "to": "nadia", "channel": "email", "body": "PRIVATE-ACTION-TEXT"}


def bodies() -> list[tuple[str, str]]:
    """(endpoint, body text) of an audit, a check and an agenda of the over-eager example,
    whose events carry message bodies; the text is what is sent, byte for byte."""
    timeline = example_timeline("over-eager")
    timeline["events"][2]["body"] = "PRIVATE-THANK-YOU-TEXT"
    return [
        ("audit", json.dumps({"timeline": timeline, "as_of": "2026-04-14T00:00:00Z"})),
        ("check", json.dumps({"timeline": timeline, "action": INQUIRY, "at": "2026-04-08T10:00:00-04:00"})),
        ("agenda", json.dumps({"timeline": timeline, "as_of": "2026-04-06T15:30:00-04:00"}, indent=1)),
    ]


def run(tmp_path, log_inputs: bool = False, extra: list[tuple[str, str]] = ()) -> tuple[list, list[dict]]:
    """Post the bodies to an app with a decision log; the responses and the log's lines
    (read after the app shut down)."""
    path = tmp_path / ("inputs.jsonl" if log_inputs else "masked.jsonl")
    app = create_app(engine="reference", workers=1, decision_log=DecisionLog(str(path), log_inputs=log_inputs))
    responses = []
    with TestClient(app) as client:
        for endpoint, text in [*bodies(), *extra]:
            response = client.post(f"/v1/{endpoint}", content=text.encode("utf-8"),
                                   headers={"content-type": "application/json"})
            responses.append((endpoint, text, response))
    return responses, [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def masked_run(tmp_path_factory):
    bad = ("audit", '{"timeline": {"events": 3}, "as_of": "2026-04-14T00:00:00Z"}')
    return run(tmp_path_factory.mktemp("masked"), extra=[bad])


def test_every_answer_is_logged_exactly_once_with_what_it_reported(masked_run):
    responses, lines = masked_run
    answered = [(e, t, r) for e, t, r in responses if r.status_code == 200]
    assert len(answered) == 3
    by_id = {line["decision_id"]: line for line in lines}
    assert len(by_id) == len(lines) == 3
    revision = api.load_policy("etiquette").revision
    for endpoint, text, response in answered:
        body = response.json()
        assert uuid.UUID(body["decision_id"]).version == 4
        assert response.headers["x-decision-id"] == body["decision_id"]
        assert body["policy_revision"] == revision
        line = by_id[body["decision_id"]]
        assert (line["endpoint"], line["tenant"], line["engine"]) == (endpoint, "-", "reference")
        assert line["policy"] == {"name": "etiquette", "revision": revision}
        assert line["input"]["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert line["decision"] == summary(endpoint, body)
        assert line["latency_ms"] > 0
        assert datetime.fromisoformat(line["time"].replace("Z", "+00:00")).tzinfo == timezone.utc


def test_an_error_answer_has_no_decision_id_and_no_line(masked_run):
    responses, lines = masked_run
    [(_, text, bad)] = [(e, t, r) for e, t, r in responses if r.status_code != 200]
    assert bad.status_code == 422 and "decision_id" not in bad.json() and "x-decision-id" not in bad.headers
    assert hashlib.sha256(text.encode()).hexdigest() not in {line["input"]["sha256"] for line in lines}


def test_the_decisions_summarise_the_answers(masked_run):
    responses, lines = masked_run
    by_endpoint = {line["endpoint"]: line["decision"] for line in lines}
    audit = next(r.json() for e, _, r in responses if e == "audit")
    assert by_endpoint["audit"]["result"] == "deny"  # the over-eager candidate broke rules
    assert by_endpoint["audit"]["rules"] == sorted({f["rule"] for f in audit["findings"]})
    assert by_endpoint["audit"]["counts"]["findings"] == len(audit["findings"])
    assert by_endpoint["check"]["result"] == "deny"
    assert by_endpoint["agenda"]["result"] == "agenda"


def test_a_masked_log_has_no_message_body_and_no_name(masked_run):
    _, lines = masked_run
    text = json.dumps(lines)
    for secret in ("PRIVATE-THANK-YOU-TEXT", "PRIVATE-ACTION-TEXT", "Nadia", "Brightline"):
        assert secret not in text, secret
    for line in lines:
        assert line["input"]["masked"] is True
        events = line["input"]["body"]["timeline"]["events"]
        assert events[2]["body"] == "***"
        assert events[2]["id"] == "y1"  # structure (ids, types, instants) is kept
    check = next(line for line in lines if line["endpoint"] == "check")
    assert check["input"]["body"]["action"] == {**INQUIRY, "body": "***"}


def test_log_inputs_logs_the_body_as_sent(tmp_path):
    responses, lines = run(tmp_path, log_inputs=True)
    sent = {e: json.loads(t) for e, t, _ in responses}
    assert {line["endpoint"]: line["input"]["body"] for line in lines} == sent
    assert all(line["input"]["masked"] is False for line in lines)


def test_masking_reaches_every_depth_and_keeps_the_rest():
    data = {"a": [{"name": "X", "body": {"deep": 1}, "to": ["nadia"]}], "note": None, "company": 3}
    assert masked(data) == {"a": [{"name": "***", "body": "***", "to": ["nadia"]}], "note": None, "company": "***"}


_KEYS = st.sampled_from(sorted(MASKED_FIELDS) + ["id", "type", "to", "at", "events", "timeline", "x"])


def _tree():
    """JSON-like values, nested, with masked and other field names (no string starts with SECRET-)."""
    leaf = st.text(alphabet="abc-", max_size=5) | st.integers() | st.none() | st.booleans()
    return st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
                        max_leaves=20)


def _plant(value, inside: bool = False):
    """``value`` with every string under a masked field replaced by a SECRET- marker."""
    if isinstance(value, dict):
        return {k: _plant(v, inside or k in MASKED_FIELDS) for k, v in value.items()}
    if isinstance(value, list):
        return [_plant(v, inside) for v in value]
    if inside:
        return f"SECRET-{value}"
    return value


@settings(max_examples=200, deadline=None)
@given(data=_tree())
def test_masking_never_lets_a_masked_fields_value_through_and_keeps_every_other_key(data):
    """Invariant: whatever the nesting, no value of a masked field (here every string under one
    starts with SECRET-) is in the masked data, and the keys outside masked fields are unchanged."""
    planted = _plant(data)
    out = masked(planted)
    assert "SECRET-" not in json.dumps(out)

    def keys(value, path=()):
        if isinstance(value, dict):
            for k, v in value.items():
                yield (*path, k)
                if k not in MASKED_FIELDS:
                    yield from keys(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from keys(v, (*path, i))
    assert list(keys(out)) == list(keys(planted))


def _decision(n: int) -> Decision:
    return Decision(f"id-{n}", datetime(2026, 1, 1, tzinfo=timezone.utc), "-", "check", "reference",
                    {"decision": "allow", "findings": [], "alternatives": [], "policy": "p"}, "{}", 1.0)


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path):
    log = DecisionLog(str(tmp_path / "d.jsonl"), queue_size=2)  # not started: nothing drains it
    outcomes = []
    worker = threading.Thread(target=lambda: outcomes.extend(log.record(_decision(n)) for n in range(5)))
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "record() blocked"
    assert outcomes == [True, True, False, False, False]
    assert log.dropped == 3
    log.close()
    assert [json.loads(x)["decision_id"] for x in (tmp_path / "d.jsonl").read_text().splitlines()] == ["id-0", "id-1"]


def test_close_writes_every_record_queued_before_it(tmp_path):
    log = DecisionLog(str(tmp_path / "d.jsonl"))
    log.start()
    for n in range(2000):
        assert log.record(_decision(n))
    log.close()
    assert not log.record(_decision(9999)) and log.dropped == 1  # after close: dropped, counted
    ids = [json.loads(x)["decision_id"] for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert ids == [f"id-{n}" for n in range(2000)]
    assert log.written == 2000


def test_the_log_to_standard_output(capsys):
    log = DecisionLog("-")
    log.start()
    log.record(_decision(1))
    log.close()
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["decision_id"] == "id-1"
