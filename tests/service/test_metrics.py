"""``/metrics``, ``/readyz`` and the access log, with the in-process app.

* ``/metrics`` is the Prometheus text format (parsed here by prometheus-client's own
  parser) and counts requests by endpoint, status and tenant, their latency, decisions by
  result, policy loads and load errors per tenant, and crash-isolation incidents (a worker
  killed); each application has its own registry; a path the server does not serve is
  counted as ``other``, so callers cannot create label values.
* ``/readyz`` is 200 with every worker up and the policies loaded, 503 with its reasons
  otherwise (naming no tenant).
* One JSON line per request on the ``followup.access`` logger, without bodies.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
import warnings

import pytest
from prometheus_client.parser import text_string_to_metric_families

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine.server import create_app
from engine.tenants import load_tenants

from .payloads import example_timeline
from .test_tenants import AUDIT, Setup, house, write

CHECK = {"timeline": example_timeline("over-eager"), "action": {"type": "status_inquiry", "to": "nadia",
                                                                "channel": "email"}}


def samples(client, name: str) -> dict[tuple, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def labels(**kw) -> tuple:
    return tuple(sorted(kw.items()))


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(engine="reference", workers=1), headers={"content-type": "application/json"}) as c:
        yield c


def test_metrics_parse_and_count_this_tests_requests(client):
    before = samples(client, "followup_requests_total")
    for at in ("2026-04-08T10:00:00-04:00", "2026-04-21T10:00:00-04:00", "2026-04-22T10:00:00-04:00"):
        assert client.post("/v1/check", json={**CHECK, "at": at}).status_code == 200
    assert client.post("/v1/check", json={**CHECK, "at": "not an instant"}).status_code == 422
    assert client.get("/healthz").status_code == 200
    after = samples(client, "followup_requests_total")

    def delta(**kw):
        return after.get(labels(**kw), 0) - before.get(labels(**kw), 0)
    assert delta(endpoint="/v1/check", status="200", tenant="-") == 3
    assert delta(endpoint="/v1/check", status="422", tenant="-") == 1
    assert delta(endpoint="/healthz", status="200", tenant="-") == 1
    assert delta(endpoint="/metrics", status="200", tenant="-") == 1  # the first scrape, counted once answered
    histogram = samples(client, "followup_request_duration_seconds_count")
    assert histogram[labels(endpoint="/v1/check", status="200")] >= 3


def test_decisions_are_counted_by_result(client):
    before = samples(client, "followup_decisions_total")
    allow = client.post("/v1/check", json={**CHECK, "at": "2026-04-21T10:00:00-04:00",
                                           "action": {"type": "thank_you", "to": "kevin", "channel": "email"}})
    deny = client.post("/v1/check", json={**CHECK, "at": "2026-04-08T10:00:00-04:00"})
    results = [allow.json()["decision"], deny.json()["decision"]]
    after = samples(client, "followup_decisions_total")
    for result in ("allow", "deny"):
        key = labels(endpoint="check", result=result, tenant="-")
        assert after.get(key, 0) - before.get(key, 0) == results.count(result)
    assert results == ["allow", "deny"]


def test_a_path_the_server_does_not_serve_is_counted_as_other(client):
    for n in range(3):
        assert client.get(f"/nothing-here-{n}").status_code == 404
    requests = samples(client, "followup_requests_total")
    assert requests[labels(endpoint="other", status="404", tenant="-")] >= 3
    assert not any("nothing-here" in value for key in requests for _, value in key)


def test_each_application_has_its_own_registry(client):
    with TestClient(create_app(engine="reference", workers=1)) as other:
        assert samples(other, "followup_requests_total") == {}  # the first scrape is counted after it
    assert samples(client, "followup_requests_total")


def test_a_killed_worker_is_a_crash_isolation_incident(client):
    before = samples(client, "followup_worker_incidents_total")[()]
    [pid] = client.app.state.pool.pids()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}") and \
            open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
        time.sleep(0.05)
    assert client.post("/v1/check", json={**CHECK, "at": "2026-04-08T10:00:00-04:00"}).status_code == 200
    assert samples(client, "followup_worker_incidents_total")[()] == before + 1


def test_policy_loads_and_load_errors_are_counted_per_tenant(tmp_path):
    setup = Setup(tmp_path)
    with TestClient(create_app(engine="reference", workers=1, tenants=load_tenants(setup.file))) as c:
        alpha, beta = setup.headers(setup.alpha), setup.headers(setup.beta)
        assert c.post("/v1/audit", json=AUDIT, headers=alpha).status_code == 200
        assert c.post("/v1/audit", json=AUDIT, headers=beta).status_code == 200
        loads = samples(c, "followup_policy_loads_total")
        errors = samples(c, "followup_policy_load_errors_total")
        write(tmp_path / "alpha" / "house.yaml", house(48) + "rules: 3\n")  # a broken edit
        answer = c.post("/v1/audit", json=AUDIT, headers=alpha)
        assert answer.status_code == 200  # the last good version still serves
        after_loads = samples(c, "followup_policy_loads_total")
        after_errors = samples(c, "followup_policy_load_errors_total")
        assert after_loads[labels(tenant="alpha")] == loads[labels(tenant="alpha")] + 1
        assert after_errors[labels(tenant="alpha")] == errors[labels(tenant="alpha")] + 1
        assert after_loads[labels(tenant="beta")] == loads[labels(tenant="beta")]
        assert after_errors[labels(tenant="beta")] == errors[labels(tenant="beta")] == 0


def test_readyz_is_200_when_workers_are_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "reasons": [], "workers": {"up": 1, "size": 1}}


def test_readyz_is_503_with_reasons_before_the_workers_start():
    app = create_app(engine="reference", workers=2)
    client = TestClient(app)  # no `with`: the lifespan (which starts the workers) does not run
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not-ready", "reasons": ["0 of 2 engine workers are up"],
                               "workers": {"up": 0, "size": 2}}
    app.state.pool.close()


def test_one_access_line_per_request_without_bodies(client, caplog):
    with caplog.at_level(logging.INFO, logger="followup.access"):
        ok = client.post("/v1/check", json={**CHECK, "at": "2026-04-08T10:00:00-04:00",
                                            "action": {**CHECK["action"], "body": "PRIVATE-ACCESS-TEXT"}})
        client.get("/healthz")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "followup.access"]
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [("POST", "/v1/check", 200),
                                                                     ("GET", "/healthz", 200)]
    assert lines[0]["decision_id"] == ok.json()["decision_id"] and lines[1]["decision_id"] is None
    assert {"latency_ms", "tenant", "time"} <= set(lines[0]) and lines[0]["tenant"] == "-"
    assert "PRIVATE-ACCESS-TEXT" not in caplog.text
