"""Tenants and API keys (``followup serve --tenants``), in-process and against a live server.

* Each tenant's key sees and uses only its own policies plus the shipped ones; a missing
  or wrong key is 401 ``auth.unauthorized`` with ``WWW-Authenticate: Bearer`` and no hint
  about any tenant; ``/healthz``, ``/readyz`` and ``/metrics`` need no key.
* A policy edit in tenant A's directory (live reload) changes A's answers and revision,
  never B's; ``extends`` cannot reach from one tenant's directory into another's.
* The tenants file is checked whole, its problems located; ``followup tenant add-key``
  prints a key once and stores only its hash, keeping the file's comments.
* Without ``--tenants``, a non-loopback ``--host`` is refused unless ``--insecure-no-auth``.
* One live ``followup serve --tenants ... --decision-log FILE`` (bounded, always stopped):
  the isolation and reload above over real HTTP, then every decision of the test exactly
  once in the decision log with the revision its answer reported, and ``/metrics``
  (parsed by prometheus-client's own parser) counting the test's requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine import tenants as tenants_mod
from engine.cli import main
from engine.errors import InputError
from engine.server import create_app
from engine.tenants import add_key, hash_key, load_tenants

from .payloads import ROOT

#: a thank-you 30 hours after the interview: late for a 24h policy, in time for a 48h one
TIMELINE = {
    "timezone": "America/New_York",
    "contacts": {"alice": {"name": "Alice Park", "role": "hiring_manager"}},
    "applications": {"acme": {"company": "Acme", "country": "US", "timezone": "America/New_York"}},
    "events": [
        {"id": "i1", "type": "interview", "at": "2026-03-02T10:00", "ends_at": "2026-03-02T11:00", "with": ["alice"]},
        {"id": "t1", "type": "timetable", "at": "2026-03-02T10:55", "by": "alice", "decision_by": "2026-04-30"},
        {"id": "y1", "type": "thank_you", "at": "2026-03-03T17:00", "to": "alice", "channel": "email",
         "body": "Dear Alice, thank you for the SECRET-BODY-TEXT conversation."},
    ],
}
AUDIT = {"timeline": TIMELINE, "as_of": "2026-03-10T00:00:00Z", "policy": "house"}
CHECK = {"timeline": TIMELINE, "policy": "house", "at": "2026-03-04T15:00:00Z",
         "action": {"type": "status_inquiry", "to": "alice", "channel": "email", "body": "SECRET-ACTION-BODY"}}
AGENDA = {"timeline": TIMELINE, "as_of": "2026-03-04T00:00:00Z", "policy": "house"}


def house(hours: int, padding: str = "") -> str:
    return f"extends: etiquette\npolicy: house\nparameters:\n  thank_you_within: {hours}h\n{padding}"


def write(path: Path, text: str) -> None:
    """Write ``path``, making sure its (mtime, size) stamp changes even within one clock tick."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


class Setup:
    """Two tenants, ``alpha`` and ``beta``, each with a ``house`` policy of its own (48h and
    24h thank-yous) and one policy only it has; a key for each."""

    def __init__(self, root: Path):
        self.root = root
        self.file = root / "tenants.yaml"
        write(root / "alpha" / "house.yaml", house(48))
        write(root / "alpha" / "only-alpha.yaml", "extends: etiquette\npolicy: only-alpha\n")
        write(root / "beta" / "house.yaml", house(24))
        write(root / "beta" / "only-beta.yaml", "extends: etiquette\npolicy: only-beta\n")
        write(self.file, "# the tenants of the test\ntenants:\n  alpha:\n    policies: alpha\n"
                         "  beta:\n    policies: beta\n")
        self.alpha, _ = add_key(self.file, "alpha")
        self.beta, _ = add_key(self.file, "beta")

    def headers(self, key: str) -> dict:
        return {"authorization": f"Bearer {key}", "content-type": "application/json"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Setup:
    return Setup(tmp_path_factory.mktemp("tenants"))


@pytest.fixture(scope="module")
def client(setup):
    app = create_app(engine="reference", workers=1, tenants=load_tenants(setup.file))
    with TestClient(app) as c:
        yield c


def names(client, key: str) -> dict[str, str]:
    response = client.get("/v1/policies", headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return {p["name"]: p["file"] for p in response.json()["policies"]}


def assert_unauthorized(response, setup: Setup) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert set(body) == {"errors", "messages"}
    assert [e["code"] for e in body["errors"]] == ["auth.unauthorized"]
    assert body["messages"] == [f"error[auth.unauthorized]: {body['errors'][0]['message']}"]
    for hint in ("alpha", "beta", "house", "only-", "sha256"):  # nothing about any tenant
        assert hint not in response.text


# --------------------------------------------------------------------------- in-process


def test_each_key_sees_only_its_tenants_policies_and_the_shipped_ones(client, setup):
    alpha, beta = names(client, setup.alpha), names(client, setup.beta)
    assert {"house", "only-alpha", "etiquette"} <= set(alpha) and "only-beta" not in alpha
    assert {"house", "only-beta", "etiquette"} <= set(beta) and "only-alpha" not in beta
    assert alpha["house"] == beta["house"] == "house.yaml"
    assert alpha["etiquette"] == "shipped:etiquette.yaml"


def test_each_key_uses_its_own_tenants_policy_of_the_same_name(client, setup):
    a = client.post("/v1/audit", json=AUDIT, headers=setup.headers(setup.alpha)).json()
    b = client.post("/v1/audit", json=AUDIT, headers=setup.headers(setup.beta)).json()
    assert [f["rule"] for f in a["findings"]] == []  # 48h: in time
    assert [f["rule"] for f in b["findings"]] == ["thank-you-within-24h"]
    assert a["policy_revision"] != b["policy_revision"]


def test_a_tenant_cannot_use_another_tenants_policy(client, setup):
    response = client.post("/v1/audit", json={**AUDIT, "policy": "only-beta"}, headers=setup.headers(setup.alpha))
    assert response.status_code == 422
    [problem] = response.json()["errors"]
    assert problem["code"] == "policy.not-found"
    assert "only-alpha" in problem["message"] and "only-beta" not in problem["message"].split("known:")[1]


@pytest.mark.parametrize("authorization", [None, "Bearer fu_not-a-key", "Bearer ", "Basic YWxwaGE6eA==", "fu_x",
                                           "Bearer " + "x" * 5000])
@pytest.mark.parametrize("path", ["/v1/policies", "/v1/audit", "/v1/check", "/v1/agenda"])
def test_a_missing_or_wrong_key_is_401_without_a_hint(client, setup, authorization, path):
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    if path == "/v1/policies":
        response = client.get(path, headers=headers)
    else:
        response = client.post(path, json=AUDIT, headers=headers)
    assert_unauthorized(response, setup)


def test_a_key_of_one_tenant_with_a_character_changed_is_refused(client, setup):
    wrong = setup.alpha[:-1] + ("A" if setup.alpha[-1] != "A" else "B")
    assert_unauthorized(client.get("/v1/policies", headers={"authorization": f"Bearer {wrong}"}), setup)


def test_health_readiness_and_metrics_need_no_key(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_a_policy_edit_of_one_tenant_never_changes_the_others_answers(setup):
    app = create_app(engine="reference", workers=1, tenants=load_tenants(setup.file))
    alpha_house = setup.root / "alpha" / "house.yaml"
    try:
        with TestClient(app) as c:
            before_a = c.post("/v1/audit", json=AUDIT, headers=setup.headers(setup.alpha)).json()
            before_b = c.post("/v1/audit", json=AUDIT, headers=setup.headers(setup.beta)).json()
            write(alpha_house, house(12, "# stricter now\n"))  # reloaded on the next lookup
            after_a = c.post("/v1/audit", json=AUDIT, headers=setup.headers(setup.alpha)).json()
            after_b = c.post("/v1/audit", json=AUDIT, headers=setup.headers(setup.beta)).json()
    finally:
        write(alpha_house, house(48))
    assert [f["rule"] for f in before_a["findings"]] == [] and [f["rule"] for f in after_a["findings"]] == [
        "thank-you-within-24h"]
    assert after_a["policy_revision"] != before_a["policy_revision"]
    assert after_b["findings"] == before_b["findings"]
    assert after_b["policy_revision"] == before_b["policy_revision"]


def test_the_tenants_file_is_reloaded_so_keys_are_added_and_revoked_without_a_restart(tmp_path):
    setup = Setup(tmp_path)
    app = create_app(engine="reference", workers=1, tenants=load_tenants(setup.file))
    app.state.auth.RECHECK = 0  # look at the file on every request (normally at most once a second)
    with TestClient(app) as c:
        def status(key: str) -> int:
            return c.get("/v1/policies", headers={"authorization": f"Bearer {key}"}).status_code
        assert (status(setup.alpha), status(setup.beta)) == (200, 200)
        new, _ = add_key(setup.file, "gamma", "alpha")  # a new tenant, sharing alpha's directory
        assert status(new) == 200
        good = setup.file.read_text(encoding="utf-8")
        write(setup.file, good.replace(hash_key(setup.alpha), hash_key("fu_revoked")))  # alpha's key revoked
        assert (status(setup.alpha), status(setup.beta), status(new)) == (401, 200, 200)
        write(setup.file, "tenants: [broken\n")  # an edit that does not load: the last good version stays
        assert (status(setup.alpha), status(setup.beta), status(new)) == (401, 200, 200)
        reloads = {s.name: s.value for f in text_string_to_metric_families(c.get("/metrics").text)
                   for s in f.samples if s.name.startswith("followup_tenants_reload")}
    assert reloads == {"followup_tenants_reloads_total": 3.0, "followup_tenants_reload_errors_total": 1.0}


def test_extends_cannot_reach_into_another_tenants_directory(tmp_path):
    setup = Setup(tmp_path)
    write(tmp_path / "alpha" / "sneaky.yaml", "extends: ../beta/only-beta.yaml\npolicy: sneaky\n")
    with TestClient(create_app(engine="reference", workers=1, tenants=load_tenants(setup.file))) as c:
        response = c.get("/v1/policies", headers={"authorization": f"Bearer {setup.alpha}"})
        [sneaky] = [p for p in response.json()["policies"] if p["name"] == "sneaky"]
        assert sneaky["serving"] is False
        assert "extends.outside-root" in sneaky["errors"][0]
        answer = c.post("/v1/audit", json={**AUDIT, "policy": "sneaky"}, headers=setup.headers(setup.alpha))
        assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == "policy.invalid"


def test_every_stored_hash_is_compared_even_after_a_match(setup, monkeypatch):
    """No early exit: the time taken does not tell which hash (or tenant) matched."""
    tenants = load_tenants(setup.file)
    stored = sum(len(t.digests) for t in tenants.tenants.values())
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(tenants_mod.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    assert tenants.authenticate(f"Bearer {setup.alpha}").name == "alpha"  # alpha's hash comes first
    assert len(calls) == stored
    calls.clear()
    assert tenants.authenticate("Bearer fu_wrong") is None
    assert len(calls) == stored


# --------------------------------------------------------------------------- the tenants file


def test_add_key_prints_a_key_once_and_stores_only_its_hash(tmp_path, capsys):
    path = tmp_path / "tenants.yaml"
    write(path, "# keep me\ntenants:\n  acme:   # the first agency\n    policies: acme\n    keys: []\n")
    assert main(["tenant", "add-key", str(path), "acme"]) == 0
    out, err = capsys.readouterr()
    [key] = out.splitlines()
    assert key.startswith("fu_") and len(key) >= 40
    text = path.read_text(encoding="utf-8")
    assert key not in text and key not in err
    assert hash_key(key) in text and hash_key(key) == "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    assert "# keep me" in text and "# the first agency" in text
    assert main(["tenant", "add-key", str(path), "globex"]) == 0  # a new tenant, its directory its name
    second = capsys.readouterr().out.strip()
    (tmp_path / "acme").mkdir()
    (tmp_path / "globex").mkdir()
    tenants = load_tenants(path)
    assert tenants.authenticate(f"Bearer {key}").name == "acme"
    assert tenants.authenticate(f"Bearer {second}").name == "globex"
    assert tenants.tenants["globex"].policies == tmp_path / "globex"


def test_add_key_refuses_an_invalid_tenants_file_and_leaves_it_alone(tmp_path, capsys):
    path = tmp_path / "tenants.yaml"
    text = "tenants:\n  acme:\n    policies: acme\n    keys: [fu_a-plain-key]\n"
    write(path, text)
    assert main(["tenant", "add-key", str(path), "acme"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"{path}:4:12: error[tenants.invalid]: a key hash is `sha256:` and 64 lowercase hex "
                                "digits (`followup tenant add-key` writes them); never store a key itself"]
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("text, problems", [
    ("[1]\n", ["1:1: error[tenants.invalid]"]),
    ("tenant: {}\n", ["1:1: error[tenants.invalid]", "1:1: error[tenants.unknown-field]"]),
    ("tenants: {acme: {keys: []}}\n", ["1:17: error[tenants.invalid]"]),
    ("tenants: {acme: {policies: missing}}\n", ["1:28: error[tenants.invalid]"]),
    ("tenants: {'a b': {policies: d}}\n", ["1:11: error[tenants.invalid]"]),
    ("tenants:\n  acme: {policies: d, keys: 3}\n", ["2:29: error[tenants.invalid]"]),
    ("tenants:\n  a: {policies: d, keys: [sha256:" + "0" * 64 + "]}\n  b: {policies: d, keys: [sha256:" + "0" * 64
     + "]}\n", ["3:27: error[tenants.duplicate-key]"]),
    ("tenants: !!python/object:os.system {}\n", ["1:10: error[yaml.unsupported-tag]"]),
])
def test_a_bad_tenants_file_is_refused_with_located_problems(tmp_path, text, problems):
    (tmp_path / "d").mkdir()
    path = tmp_path / "tenants.yaml"
    write(path, text)
    with pytest.raises(InputError) as caught:
        load_tenants(path)
    lines = [line.split(": ", 2)[0] + ": " + line.split(": ", 2)[1] for line in caught.value.lines()]
    assert lines == [f"{path}:{p}" for p in problems]


def test_serve_refuses_a_public_host_without_tenants(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error[serve.insecure-host]: refusing to serve `0.0.0.0` without API keys: give "
                                "--tenants (see docs/operations.md), a loopback --host, or --insecure-no-auth"]


def test_serve_accepts_a_public_host_with_insecure_no_auth_or_tenants(setup, monkeypatch):
    import engine.server
    started = []
    monkeypatch.setattr(engine.server, "serve", lambda *a, **k: started.append((a, k)))
    assert main(["serve", "--host", "0.0.0.0", "--insecure-no-auth"]) == 0
    assert main(["serve", "--host", "::", "--tenants", str(setup.file)]) == 0
    assert main(["serve", "--host", "::1"]) == 0 and main(["serve", "--host", "localhost"]) == 0
    assert [k["tenants"] is not None for _, k in started] == [False, True, False, False]


# --------------------------------------------------------------------------- one live server


STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``followup serve --tenants FILE --decision-log LOG`` on a free loopback port."""

    def __init__(self, tenants: Path, decision_log: Path, output: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = output
        self._out = open(output, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--engine", "reference", "--workers", "1", "--tenants", str(tenants),
             "--decision-log", str(decision_log)],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=self._out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.client = httpx.Client(base_url=self.url, timeout=30.0)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.client.get("/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM (a clean shutdown), then SIGKILL if it lingers; the exit code."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._out.close()
        return self.process.returncode


def _samples(text: str, name: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_a_live_server_with_two_tenants(tmp_path):
    """The whole story over HTTP: isolation, 401, per-tenant live reload, every decision once
    in the decision log with the revision its answer reported, and /metrics counting it all."""
    setup = Setup(tmp_path)
    decision_log = tmp_path / "decisions.jsonl"
    server = LiveServer(setup.file, decision_log, tmp_path / "server.log")
    answers: list[tuple[str, str, dict]] = []  # (tenant, endpoint, body)
    try:
        c = server.client

        def post(tenant: str, endpoint: str, body: dict) -> dict:
            key = setup.alpha if tenant == "alpha" else setup.beta
            response = c.post(f"/v1/{endpoint}", json=body, headers={"authorization": f"Bearer {key}"})
            assert response.status_code == 200, response.text
            assert response.headers["x-decision-id"] == response.json()["decision_id"]
            answers.append((tenant, endpoint, response.json()))
            return response.json()

        alpha = {p["name"] for p in c.get("/v1/policies", headers={"authorization": f"Bearer {setup.alpha}"})
                 .json()["policies"]}
        beta = {p["name"] for p in c.get("/v1/policies", headers={"authorization": f"Bearer {setup.beta}"})
                .json()["policies"]}
        assert "only-alpha" in alpha and "only-beta" not in alpha
        assert "only-beta" in beta and "only-alpha" not in beta
        assert_unauthorized(c.get("/v1/policies", headers={"authorization": "Bearer fu_wrong"}), setup)
        assert_unauthorized(c.post("/v1/audit", json=AUDIT), setup)

        for tenant in ("alpha", "beta"):
            for endpoint, body in (("audit", AUDIT), ("check", CHECK), ("agenda", AGENDA)):
                post(tenant, endpoint, body)
        b_before = post("beta", "audit", AUDIT)
        write(setup.root / "alpha" / "house.yaml", house(12, "# stricter\n"))  # alpha's edit, reloaded live
        a_after = post("alpha", "audit", AUDIT)
        b_after = post("beta", "audit", AUDIT)
        assert [f["rule"] for f in a_after["findings"]] == ["thank-you-within-24h"]
        assert a_after["policy_revision"] != answers[0][2]["policy_revision"]
        assert (b_after["findings"], b_after["policy_revision"]) == (b_before["findings"], b_before["policy_revision"])

        metrics = c.get("/metrics")
        assert metrics.status_code == 200
    finally:
        code = server.stop()
    # a clean shutdown (uvicorn exits by the signal it handled, after the lifespan's end)
    assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in server.log(), server.log()

    # every decision exactly once, with what its answer reported
    lines = [json.loads(line) for line in decision_log.read_text(encoding="utf-8").splitlines()]
    by_id = {line["decision_id"]: line for line in lines}
    assert len(by_id) == len(lines) == len(answers) == 9
    for tenant, endpoint, body in answers:
        line = by_id[body["decision_id"]]
        assert (line["tenant"], line["endpoint"]) == (tenant, endpoint)
        assert line["policy"] == {"name": "house", "revision": body["policy_revision"]}
        assert line["input"]["masked"] is True
    assert "SECRET-BODY-TEXT" not in decision_log.read_text(encoding="utf-8")
    assert "SECRET-ACTION-BODY" not in decision_log.read_text(encoding="utf-8")
    assert "Alice Park" not in decision_log.read_text(encoding="utf-8")

    # the metrics count this test's requests (the scrape itself is counted after it is answered)
    text = metrics.text
    requests = _samples(text, "followup_requests_total")
    for tenant, audits in (("alpha", 2), ("beta", 3)):
        key = (("endpoint", "/v1/audit"), ("status", "200"), ("tenant", tenant))
        assert requests[key] == audits
        assert requests[(("endpoint", "/v1/check"), ("status", "200"), ("tenant", tenant))] == 1
        assert requests[(("endpoint", "/v1/agenda"), ("status", "200"), ("tenant", tenant))] == 1
        assert requests[(("endpoint", "/v1/policies"), ("status", "200"), ("tenant", tenant))] == 1
    assert requests[(("endpoint", "/v1/policies"), ("status", "401"), ("tenant", "-"))] == 1
    assert requests[(("endpoint", "/v1/audit"), ("status", "401"), ("tenant", "-"))] == 1
    decisions = _samples(text, "followup_decisions_total")
    assert sum(decisions.values()) == 9
    assert decisions[(("endpoint", "audit"), ("result", "deny"), ("tenant", "alpha"))] == 1  # after the edit
    assert _samples(text, "followup_policy_loads_total")[(("tenant", "alpha"),)] >= 4
    assert _samples(text, "followup_decision_log_dropped_total") == {(): 0.0}
    # one JSON access line per request, no bodies
    access = [json.loads(line) for line in server.log().splitlines() if line.startswith('{"method"')]
    assert len([a for a in access if a["path"].startswith("/v1/")]) == 13
    assert {a["decision_id"] for a in access if a["decision_id"]} == set(by_id)
    assert "SECRET-BODY-TEXT" not in server.log()


# --------------------------------------------------------------------------- docs/operations.md


def _doc_block(title: str) -> str:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    [body] = re.findall(r'^```\w+ title="' + re.escape(title) + r'"\n(.*?)^```$', text, re.M | re.S)
    return body


def test_the_worked_example_of_operations_md_runs_and_prints_what_it_shows(tmp_path):
    """The shell session of docs/operations.md, run as written (`followup` is this checkout's
    CLI; `$PORT` a free port), prints exactly the output the page shows. Bounded: the whole
    session has two minutes, and its process group is killed afterwards whatever happened."""
    for tool in ("bash", "curl", "jq"):
        if shutil.which(tool) is None:
            pytest.skip(f"the worked example needs `{tool}`, which is not installed here")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "followup"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m engine.cli "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PORT": str(_free_port()),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", _doc_block("worked example")], cwd=work, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the session's own group: a server it left running
        except ProcessLookupError:
            pass
        process.wait(5)
    assert process.returncode == 0, f"{err}\n{(work / 'server.log').read_text() if (work / 'server.log').exists() else ''}"
    assert out.splitlines() == _doc_block("worked example output").splitlines()
    tenants = (work / "tenants.yaml").read_text(encoding="utf-8")
    assert "fu_" not in tenants and "fu_" not in (work / "server.log").read_text(encoding="utf-8")


def test_with_tenants_the_openapi_document_requires_the_key_and_describes_the_decision_fields(client, setup):
    """A server with tenants says every /v1/ operation needs the bearer key (no anonymous
    alternative) and answers 401 without one; its answers' schemas name `decision_id` and
    `policy_revision`, and the 200 answers the `X-Decision-Id` header."""
    doc = client.get("/openapi.json").json()
    for path, methods in doc["paths"].items():
        for operation in methods.values():
            if path.startswith("/v1/"):
                assert operation["security"] == [{"bearerAuth": []}], path
                assert "401" in operation["responses"], path
    schemas = doc["components"]["schemas"]
    for name in ("AuditReport", "CheckResult", "Agenda"):
        assert {"decision_id", "policy_revision"} <= set(schemas[name]["required"]), name
    assert "X-Decision-Id" in doc["paths"]["/v1/check"]["post"]["responses"]["200"]["headers"]
    answer = client.post("/v1/check", json=CHECK, headers=setup.headers(setup.alpha)).json()
    assert answer["decision_id"] and answer["policy_revision"].startswith("sha256:")
