"""`followup serve` under hostile or unlucky requests.

* Bodies must be JSON: any other Content-Type (``text/plain``, a form, none) is 415
  ``request.unsupported-media-type`` -- a web page cannot post to a local server with
  a CORS "simple request" -- and a YAML body is not read as YAML.
* Parsing and evaluation run in worker processes, under a per-request time budget: a
  request that needs far longer than the budget (``SLOW_CHECK``: a check under a test-only
  policy whose earliest allowed instant is searched over hundreds of instants, each an
  evaluation of an 8,000-event application -- seconds on any engine) is answered 503
  ``request.over-budget`` after the budget, ``/healthz`` answers meanwhile, the worker
  it held is replaced, and SIGTERM stops the server mid-request.
* :class:`~engine.backends.isolated.WorkerPool` and
  :class:`~engine.backends.isolated.IsolatedBackend`: a durable call whose worker dies
  is retried as a reference run in another worker process (never in this process); a
  call that runs out of time is stopped.
* An unexpected exception is a 500 with a problem id in the usual shape, logged with
  its traceback on ``followup.server``, and the keep-alive connection stays usable
  (a live uvicorn in this process, spoken to over one connection). FastAPI's own 404
  and 405 answers have the same shape.

Every server is stopped in its fixture's finalizer; every wait is bounded.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine.backends import durable_status
from engine.backends.isolated import IsolatedBackend, WorkerPool
from engine.budget import Budget, OverBudget
from engine.policy.store import PolicyStore
from engine.server import create_app
from engine.service import PolicyRefs

from .payloads import ROOT, example_timeline

UTC = timezone.utc
JSON = {"content-type": "application/json"}
AUDIT = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-14T00:00:00Z"}
CHECK = {"timeline": example_timeline("over-eager"), "action": {"type": "status_inquiry", "to": "nadia",
                                                               "channel": "email"}, "at": "2026-04-08T10:00:00-04:00"}
AGENDA = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-06T15:30:00-04:00"}
BODIES = {"/v1/audit": AUDIT, "/v1/check": CHECK, "/v1/agenda": AGENDA}
ENGINES = ["reference"] + (["durable"] if durable_status()[0] else [])


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def slow_check(events: int = 8000, policy: str | None = "slow") -> dict:
    """A valid check that takes many seconds on any engine (8,000 events: several seconds on
    the reference engine here, far more than the 2 s budget the tests give it; the durable
    engine, minutes): a status inquiry under ``policy`` (the test-only ``slow`` policy of
    ``SLOW_POLICIES``, which a server must be given), after ``events`` messages from the
    employer over the last weeks. Every inquiry breaks that policy's four window limits,
    and each message's window end is an instant the earliest-time search tries, up to its
    cap of 500, at one evaluation of the whole application each. (Under the etiquette
    policy the same check is quick: its search needs one or two instants.)"""
    start = datetime(2026, 3, 2, 15, tzinfo=UTC)
    timeline_events = [
        {"id": "i1", "type": "interview", "at": _iso(start), "with": ["alice"]},
        {"id": "t1", "type": "timetable", "at": _iso(start + timedelta(hours=1)), "by": "alice",
         "decision_by": "2026-12-18"},
    ]
    first = start + timedelta(days=1)
    timeline_events += [{"id": f"e{k}", "type": "employer_contact", "at": _iso(first + timedelta(minutes=10 * k)),
                         "from": "alice", "channel": "email"} for k in range(events)]
    return {"timeline": {"timezone": "America/New_York", "contacts": {"alice": {"name": "Alice Park"}},
                         "applications": {"acme": {"company": "Acme", "country": "US",
                                                   "timezone": "America/New_York"}},
                         "events": timeline_events},
            "action": {"type": "status_inquiry", "to": "alice", "channel": "email"},
            "at": _iso(first + timedelta(minutes=10 * events)), **({"policy": policy} if policy else {})}


#: the directory of the test-only ``slow`` policy that SLOW_CHECK names
SLOW_POLICIES = Path(__file__).resolve().parent / "slow-policies"


SLOW_CHECK = slow_check()


def assert_error(response, status: int, codes: list[str]) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors", "messages"}, body
    assert [e["code"] for e in body["errors"]] == codes, body
    assert len(body["messages"]) == len(body["errors"])
    return body


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(engine="reference", workers=1)) as c:
        yield c


# --------------------------------------------------------------------------- 1. JSON bodies only


@pytest.mark.parametrize("path", sorted(BODIES))
@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "application/yaml", "application/jsonx", None])
def test_a_body_that_is_not_declared_json_is_415(client, path, content_type):
    """What a web page can send cross-origin without a preflight (text/plain, a form, a
    Blob without a type) is refused before it is read, even when the text is valid JSON."""
    headers = {"content-type": content_type} if content_type else {}
    result = assert_error(client.post(path, content=json.dumps(BODIES[path]), headers=headers), 415,
                          ["request.unsupported-media-type"])
    assert "application/json" in result["messages"][0]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=\"UTF-8\""])
def test_json_with_or_without_a_utf8_charset_is_read(client, content_type):
    response = client.post("/v1/audit", content=json.dumps(AUDIT), headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["policy"] == "etiquette"


def test_a_charset_other_than_utf8_is_415(client):
    response = client.post("/v1/audit", content=json.dumps(AUDIT), headers={"content-type": "application/json; charset=latin-1"})
    result = assert_error(response, 415, ["request.unsupported-media-type"])
    assert "`latin-1`" in result["messages"][0]


def test_a_yaml_body_is_not_read_as_yaml(client):
    """The same request written as YAML (which the old server accepted) is not JSON."""
    text = "as_of: 2026-04-14T00:00:00Z\ntimeline:\n  events: []\n"
    result = assert_error(client.post("/v1/audit", content=text, headers=JSON), 422, ["request.not-json"])
    assert result["messages"][0].startswith("request:1:1: error[request.not-json]: the body is not JSON")


def test_a_json_syntax_error_is_still_located(client):
    text = '{\n  "as_of": "2026-04-14T00:00:00Z"\n  "timeline": {}\n}'
    result = assert_error(client.post("/v1/audit", content=text, headers=JSON), 422, ["yaml.syntax"])
    assert result["errors"][0]["file"] == "request" and result["errors"][0]["line"] in (2, 3)


def test_nan_is_not_json(client):
    assert_error(client.post("/v1/audit", content='{"as_of": NaN, "timeline": {}}', headers=JSON), 422,
                 ["input.not-a-number"])


def test_an_unknown_top_level_field_is_located_at_its_key(client):
    text = '{"timeline": {"events": []},\n "asof": "2026-04-14T00:00:00Z"}'
    result = assert_error(client.post("/v1/audit", content=text, headers=JSON), 422, ["request.unknown-field"])
    assert result["messages"][0].startswith("request:2:2: error[request.unknown-field]: unknown field `asof`")
    assert "did you mean `as_of`?" in result["messages"][0]


# --------------------------------------------------------------------------- 3. errors in one shape


def test_fastapi_404_and_405_answers_have_the_common_shape(client):
    result = assert_error(client.get("/v2/nothing"), 404, ["request.not-found"])
    assert "`/v2/nothing`" in result["messages"][0]
    response = client.get("/v1/audit")
    result = assert_error(response, 405, ["request.method-not-allowed"])
    assert response.headers["allow"] == "POST"
    assert "`GET`" in result["messages"][0]


def test_an_unexpected_exception_is_a_500_with_a_problem_id_logged_with_its_traceback(client, monkeypatch, caplog):
    def explode(self, name):
        raise RuntimeError("policy lookup exploded")
    monkeypatch.setattr(PolicyRefs, "for_name", explode)
    with caplog.at_level(logging.ERROR, logger="followup.server"):
        response = client.post("/v1/audit", json=AUDIT)
    result = assert_error(response, 500, ["internal"])
    problem_id = result["errors"][0]["id"]
    assert str(uuid.UUID(problem_id)) == problem_id
    assert f"`{problem_id}`" in result["messages"][0]
    assert "exploded" not in response.text  # the details are in the log, not in the answer
    [record] = [r for r in caplog.records if r.name == "followup.server" and problem_id in r.getMessage()]
    assert record.exc_info and "policy lookup exploded" in str(record.exc_info[1])
    assert "/v1/audit" in record.getMessage()


# --------------------------------------------------------------------------- 3. a 500 keeps the connection


@pytest.fixture
def live(monkeypatch):
    """A real uvicorn serving ``create_app`` in a thread of this process (so that a test
    can monkeypatch it), on an ephemeral loopback port."""
    import uvicorn
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(engine="reference", workers=1), log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the in-process server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)
    sock.close()
    assert not thread.is_alive()


def _local_port(response: httpx.Response) -> int:
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


def test_after_a_500_the_same_keep_alive_connection_answers_the_next_request(live, monkeypatch):
    def explode(self):
        raise RuntimeError("status exploded")
    monkeypatch.setattr(PolicyStore, "status", explode)
    with httpx.Client(base_url=live, timeout=20, limits=httpx.Limits(max_connections=1)) as c:
        first = c.get("/v1/policies")
        assert_error(first, 500, ["internal"])
        assert first.headers.get("connection", "").lower() != "close"
        second = c.get("/healthz")
        assert second.status_code == 200 and second.json()["status"] == "ok"
        third = c.post("/v1/audit", json=AUDIT)
        assert third.status_code == 200, third.text
        assert _local_port(first) == _local_port(second) == _local_port(third), "one connection throughout"


def test_a_500_on_a_post_keeps_the_raw_connection_open(live, monkeypatch):
    """The same over a bare socket: two requests written on one connection, two answers read."""
    monkeypatch.setattr(PolicyRefs, "for_name", lambda self, name: 1 / 0)
    host, port = live.removeprefix("http://").split(":")
    body = json.dumps(AUDIT).encode()
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(b"POST /v1/audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        status, _ = _read_response(s)
        assert status == 500
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, payload = _read_response(s)
        assert status == 200 and json.loads(payload)["status"] == "ok"


def _read_response(s: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        rest += chunk
    return int(lines[0].split(" ")[1]), rest[:length]


# --------------------------------------------------------------------------- 2. the pool


def pool_target(payload):
    """Worker function for the pool tests: ``(engine, (op,))``."""
    engine, (op,) = payload
    if op == "pid":
        return engine, os.getpid()
    if op == "die-unless-reference":
        if engine != "reference":
            os.kill(os.getpid(), signal.SIGKILL)
        return engine, os.getpid()
    if op == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if op == "spin":
        while True:
            pass
    raise ValueError(op)


TARGET = f"{__name__}:pool_target"


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state in (b"Z", b"X"):
            return True
        time.sleep(0.05)
    return False


def test_a_durable_call_whose_worker_dies_is_retried_as_reference_in_another_worker():
    with WorkerPool(TARGET, 1) as pool:
        pool.start()
        [first] = pool.pids()
        engine, pid = pool.call("durable", ("die-unless-reference",), Budget(30))
        assert engine == "reference"
        assert pid not in (first, os.getpid()), "the retry ran in a fresh worker, not in this process"
        assert pool.retries == 1


def test_a_call_whose_worker_dies_twice_fails_instead_of_running_here():
    from engine.isolation import WorkerUnavailable
    with WorkerPool(TARGET, 1) as pool:
        with pytest.raises(WorkerUnavailable):
            pool.call("reference", ("die",), Budget(30))


def test_a_call_over_its_budget_is_stopped_and_its_worker_replaced():
    with WorkerPool(TARGET, 1) as pool:
        pool.start()
        [spinner] = pool.pids()
        with pytest.raises(OverBudget) as caught:
            pool.call("reference", ("spin",), Budget(0.5))
        assert caught.value.problem.code == "request.over-budget"
        assert _gone(spinner), "the worker busy past the budget was killed"
        engine, pid = pool.call("reference", ("pid",), Budget(30))
        assert pid != spinner and pool.over_budget == 1


def test_waiting_for_a_busy_worker_counts_against_the_budget():
    with WorkerPool(TARGET, 1) as pool:
        pool.start()
        errors: list[BaseException] = []

        def hog():
            try:
                pool.call("reference", ("spin",), Budget(3))
            except BaseException as exc:
                errors.append(exc)
        thread = threading.Thread(target=hog)
        thread.start()
        deadline = time.monotonic() + 10
        while not pool._busy and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(OverBudget) as caught:
            pool.call("reference", ("pid",), Budget(0.2))
        assert "busy" in caught.value.problem.message
        thread.join(20)
        assert not thread.is_alive() and isinstance(errors[0], OverBudget)


def test_closing_the_pool_ends_a_call_under_way_at_once():
    from engine.backends.isolated import PoolClosed
    pool = WorkerPool(TARGET, 1)
    pool.start()
    outcome: list[BaseException] = []

    def spin():
        try:
            pool.call("reference", ("spin",), Budget(120))
        except BaseException as exc:
            outcome.append(exc)
    thread = threading.Thread(target=spin)
    thread.start()
    deadline = time.monotonic() + 10
    while not pool._busy and time.monotonic() < deadline:
        time.sleep(0.01)
    [pid] = pool.pids()
    pool.close()
    thread.join(20)
    assert not thread.is_alive() and isinstance(outcome[0], PoolClosed)
    assert _gone(pid)


@pytest.mark.skipif("durable" not in ENGINES, reason="the durable engine cannot load here")
def test_isolated_backend_raises_over_budget_instead_of_an_unbounded_fallback_here():
    """The old IsolatedBackend answered a timed-out evaluation with the reference engine
    in the calling process, with no limit; now nothing runs here and the time is bounded."""
    from engine import api
    from engine.facts import prepare_facts
    body = slow_check(2000)
    timeline = api.load_timeline(body["timeline"])
    policy = api.load_policy("etiquette")
    table = prepare_facts(timeline, policy.program, api.parse_instant(body["at"]))
    backend = IsolatedBackend(timeout=0.05)
    try:
        backend.runner.start()
        with pytest.raises(OverBudget):
            backend.run(policy.program, table)
    finally:
        backend.close()


@pytest.mark.parametrize("args,message", [
    (["--time-budget", "0"], "--time-budget must be a positive number of seconds, not `0`"),
    (["--time-budget", "nan"], "--time-budget must be a positive number of seconds, not `nan`"),
    (["--time-budget", "soon"], "--time-budget must be a number of seconds, not `soon`"),
    (["--workers", "0"], "--workers must be a whole number >= 1, not `0`"),
    (["--workers", "two"], "--workers must be a whole number >= 1, not `two`"),
])
def test_serve_refuses_a_bad_time_budget_or_worker_count_in_one_line(args, message, capsys):
    from engine.cli import main
    with pytest.raises(SystemExit) as exited:
        main(["serve", *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_create_app_refuses_a_bad_time_budget():
    with pytest.raises(ValueError, match="positive"):
        create_app(engine="reference", workers=1, time_budget=-1)


# --------------------------------------------------------------------------- 2. a live server


def _children(pid: int) -> list[int]:
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.update(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return sorted(found)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return b"?"


class Server:
    """``python -m engine.cli serve`` on a free loopback port, one worker."""

    def __init__(self, engine: str, log: Path, budget: float, policies: Path | None = SLOW_POLICIES):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = open(log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--engine", engine, "--workers", "1", "--time-budget", str(budget),
             *(["--policies", str(policies)] if policies else [])],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.seen: set[int] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def workers(self) -> list[int]:
        found = [p for p in _children(self.process.pid)
                 if "spawn_main" in _cmdline(p) and "resource_tracker" not in _cmdline(p) and _state(p) not in b"ZX?"]
        self.seen.update(found)
        return found

    def stop(self) -> None:
        self.seen.update(_children(self.process.pid))
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        for pid in self.seen:  # our own workers, if any outlived the server
            if not _gone(pid, 5) and "multiprocessing" in _cmdline(pid):
                os.kill(pid, signal.SIGKILL)


def _post_in_thread(url: str, body: dict, out: list) -> threading.Thread:
    def run():
        try:
            with httpx.Client(timeout=120) as c:
                out.append(c.post(url, json=body))
        except httpx.HTTPError as exc:
            out.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _large_worker(srv: "Server") -> int:
    """Start the server's large-request worker (bodies over 128 KiB, such as SLOW_CHECK, go
    to it, not to the ``--workers``) with a quick large audit; its pid."""
    [small] = srv.workers()
    body = slow_check(1500)
    large = {"timeline": body["timeline"], "as_of": body["at"]}
    assert len(json.dumps(large)) > 128 * 1024
    for _attempt in range(10):  # its start may take longer than the budget on a loaded machine
        answer = httpx.post(srv.url + "/v1/audit", json=large, timeout=60)
        if answer.status_code == 200:
            break
    assert answer.status_code == 200, answer.text
    [worker] = [p for p in srv.workers() if p != small]
    return worker


def _wait_busy(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while _state(pid) != b"R" and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("engine", ENGINES)
def test_healthz_answers_while_a_long_request_runs_and_that_request_ends_over_budget(engine, tmp_path):
    srv = Server(engine, tmp_path / "server.log", budget=2)
    try:
        worker = _large_worker(srv)
        out: list = []
        thread = _post_in_thread(srv.url + "/v1/check", SLOW_CHECK, out)
        _wait_busy(worker)
        health = httpx.get(srv.url + "/healthz", timeout=5)
        still_running = thread.is_alive()
        assert health.status_code == 200 and health.json() == {"status": "ok", "engine": engine}
        assert still_running, "the long request had already finished: it cannot show /healthz was answered meanwhile"
        thread.join(60)
        assert not thread.is_alive()
        [response] = out
        result = assert_error(response, 503, ["request.over-budget"])
        assert "time budget of 2s" in result["messages"][0]
        assert _gone(worker), "the worker that was busy past the budget is replaced"
        for _attempt in range(10):  # the replacement takes a moment to start; meanwhile the budget may run out
            answer = httpx.post(srv.url + "/v1/audit", json=AUDIT, timeout=30)
            if answer.status_code != 503:
                break
            assert_error(answer, 503, ["request.over-budget"])
        assert answer.status_code == 200, answer.text
        assert worker not in srv.workers()
        assert "request over its time budget of 2s" in srv.log()
    finally:
        srv.stop()


def test_sigterm_stops_the_server_within_seconds_in_the_middle_of_a_request(tmp_path):
    srv = Server("reference", tmp_path / "server.log", budget=300)
    try:
        worker = _large_worker(srv)
        out: list = []
        thread = _post_in_thread(srv.url + "/v1/check", SLOW_CHECK, out)
        _wait_busy(worker)
        assert thread.is_alive()
        srv.process.send_signal(signal.SIGTERM)
        try:
            srv.process.wait(20)  # the shutdown grace is 3 s; the old server waited for the request (minutes)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server was still running 20 s after SIGTERM:\n{srv.log()}")
        thread.join(30)
        assert not thread.is_alive()
        assert _gone(worker), "its worker is stopped too"
    finally:
        srv.stop()
