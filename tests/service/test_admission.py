"""Admission control in the server: large bodies go to their own worker, so they never
hold up small requests; the server process never parses a body (the worker asks it for
the policy the body names).

The assertions are about order and counts, never about durations: "every small request
was answered while the large one was still running", "the body was parsed 0 times here".
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from engine.server import create_app
from engine.service import PolicyRefs
from engine.policy.store import PolicyStore

from .test_server_hardening import AUDIT, BODIES, CHECK, JSON, SLOW_CHECK, SLOW_POLICIES, assert_error, slow_check
from .payloads import answer_of


@pytest.fixture
def live():
    """``create_app`` (reference, one small-request worker, one large-request worker that
    admits one request at a time) served by uvicorn in a thread of this process."""
    import uvicorn
    app = create_app(SLOW_POLICIES, engine="reference", workers=1, time_budget=120, large_queue=1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the in-process server did not start"
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)
    sock.close()
    assert not thread.is_alive()


def _start_slow_large_request(app, url: str) -> tuple[threading.Thread, list]:
    """POST SLOW_CHECK (over 128 KiB: the large lane; many seconds of work) in a thread; return
    once its call is in the large worker."""
    assert len(json.dumps(SLOW_CHECK)) > 128 * 1024
    out: list = []

    def run():
        try:
            with httpx.Client(timeout=300) as c:
                out.append(c.post(url + "/v1/check", json=SLOW_CHECK))
        except httpx.HTTPError as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    large = app.state.large_pool
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (large._busy and all(r.pid for r in large._busy)):
        time.sleep(0.02)
    assert large._busy and app.state.large_in_flight[0] == 1, "the slow request did not reach the large worker"
    return thread, out


def test_small_requests_are_all_answered_while_a_large_slow_request_holds_the_large_worker(live):
    app, url = live
    thread, _ = _start_slow_large_request(app, url)
    answers = []
    with httpx.Client(base_url=url, timeout=120) as c:
        for _round in range(3):
            for path, body in BODIES.items():
                answers.append(c.post(path, json=body))
    still_running = thread.is_alive() and bool(app.state.large_pool._busy)
    assert [a.status_code for a in answers] == [200] * 9, [a.text for a in answers if a.status_code != 200]
    assert still_running, "the large request ended first: this shows nothing about small ones not waiting for it"


def test_large_requests_beyond_the_admitted_number_are_refused_at_once_and_small_ones_still_served(live):
    app, url = live
    thread, _ = _start_slow_large_request(app, url)
    body = slow_check(1500)
    large_audit = {"timeline": body["timeline"], "as_of": body["at"]}
    with httpx.Client(base_url=url, timeout=120) as c:
        refused = c.post("/v1/audit", json=large_audit)
        small = c.post("/v1/audit", json=AUDIT)
    assert thread.is_alive()
    result = assert_error(refused, 503, ["server.busy"])
    assert refused.headers["retry-after"] == "1"
    assert "large requests" in result["messages"][0]
    assert small.status_code == 200, small.text
    assert app.state.large_in_flight[0] == 1, "a refused request is not counted as in flight"


def test_the_server_process_never_parses_a_request_body(monkeypatch):
    """The worker parses the body and asks for its policy; the old server ran json.loads on
    every body itself (on the server's threads, which share the GIL with the event loop)."""
    bodies = {json.dumps(body) for body in BODIES.values()}
    parsed: list[str] = []
    real = json.loads

    def counting(s, *args, **kwargs):
        if isinstance(s, (str, bytes, bytearray)) and (s if isinstance(s, str) else s.decode()) in bodies:
            parsed.append(s)
        return real(s, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    with TestClient(create_app(engine="reference", workers=1)) as c:
        statuses = [c.post(path, content=json.dumps(body), headers=JSON).status_code for path, body in BODIES.items()]
        unknown = c.post("/v1/audit", content=json.dumps({**AUDIT, "policy": "nope"}), headers=JSON)
    assert statuses == [200, 200, 200]
    assert_error(unknown, 422, ["policy.not-found"])
    assert parsed == []


def test_a_worker_that_has_the_policy_version_is_not_sent_its_pickle_again():
    refs = PolicyRefs(PolicyStore())
    kind, name, token, blob = refs.answer(("policy", "etiquette", ()))
    assert (kind, name) == ("policy", "etiquette") and isinstance(blob, bytes)
    assert refs.answer(("policy", "etiquette", (token,))) == ("policy", "etiquette", token, None)
    assert refs.answer(("policy", "etiquette", (token + 1,)))[3] == blob, "another version: sent"
    assert refs.answer(("policy", "nope", ()))[0] == "problems"


def test_a_check_answered_by_a_worker_that_asked_for_its_policy_is_the_same_as_in_process():
    from engine import api
    from engine.decide import check, planned_action_from_data
    timeline = api.load_timeline(CHECK["timeline"])
    expected = check(timeline, planned_action_from_data(CHECK["action"]), api.load_policy("etiquette"),
                     api.parse_instant(CHECK["at"]), engine="reference").model_dump(mode="json")
    with TestClient(create_app(engine="reference", workers=1)) as c:
        first = c.post("/v1/check", json=CHECK)
        second = c.post("/v1/check", json=CHECK)  # the worker now has the policy: no pickle sent
    assert first.status_code == second.status_code == 200
    assert answer_of(first.json()) == answer_of(second.json()) == expected
    assert first.json()["policy_revision"] == second.json()["policy_revision"]


def test_a_large_request_beyond_the_admitted_number_is_refused_before_its_body_is_sent(live):
    """Its Content-Length says it is large: the answer comes without the server reading a byte
    of the body (here the body is never sent at all)."""
    app, url = live
    thread, _ = _start_slow_large_request(app, url)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(b"POST /v1/audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, "the server closed the connection without answering"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(body) < length:
            chunk = s.recv(65536)
            assert chunk, "the answer was cut short"
            body += chunk
    assert head.startswith(b"HTTP/1.1 503"), head
    assert json.loads(body)["errors"][0]["code"] == "server.busy"
    assert thread.is_alive()
