"""A real ``followup serve`` in a subprocess, on a free loopback port, spoken to over HTTP.

* Both engines: the three POST endpoints answer what the Python API answers, and a
  malformed timeline is a 422 whose messages are located ``request:LINE:COL``.
* ``--engine durable`` (skipped where durable-rules cannot load): the durable engine
  runs in a worker process (engine/backends/isolated.py). Killing that worker with
  SIGSEGV or SIGKILL -- while idle, or in the middle of a burst of requests -- never
  costs an answer: the next requests get the same findings as before (from a fresh
  worker, or from the reference fallback for a request the worker died in).
* ``examples/tracker_client.py`` (imported by path) against the real server.

Every server is stopped in its fixture's finalizer (SIGTERM, then SIGKILL), and its
worker processes are checked to be gone, so nothing leaks.
"""

from __future__ import annotations

import importlib.util
import re
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from engine import api
from engine.decide import PlannedAction, agenda, check

from .payloads import EXAMPLES, ROOT, answer_of, example_timeline

STARTUP_TIMEOUT = 20.0

AUDIT_BODY = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-14T00:00:00Z"}
INQUIRY = {"type": "status_inquiry", "to": "nadia", "channel": "email"}
CHECK_BODY = {"timeline": example_timeline("over-eager"), "action": INQUIRY, "at": "2026-04-08T10:00:00-04:00"}
AGENDA_BODY = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-06T15:30:00-04:00"}

BAD_BODY = """{
  "as_of": "2026-03-10T00:00:00Z",
  "timeline": {
    "contacts": {"alice": {"name": "Alice Park"}},
    "applications": {"acme": {"company": "Acme"}},
    "events": [
      {"id": "y1", "type": "thank_you", "at": "2026-03-02T19:00:00", "to": ["alice"], "channel": "email"}
    ]
  }
}
"""


def _expected() -> dict[str, dict]:
    """What the Python API (reference engine) answers for the three bodies above."""
    timeline = api.load_timeline(EXAMPLES / "over-eager.yaml")
    policy = api.load_policy("etiquette")
    return {
        "/v1/audit": json.loads(json.dumps(api.audit(timeline, policy,
                                                     api.parse_instant(AUDIT_BODY["as_of"])).contract())),
        "/v1/check": json.loads(check(timeline, PlannedAction(**INQUIRY), policy,
                                      api.parse_instant(CHECK_BODY["at"])).model_dump_json()),
        "/v1/agenda": json.loads(agenda(timeline, policy,
                                        api.parse_instant(AGENDA_BODY["as_of"])).model_dump_json()),
    }


EXPECTED = _expected()
BODIES = {"/v1/audit": AUDIT_BODY, "/v1/check": CHECK_BODY, "/v1/agenda": AGENDA_BODY}


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc/*/stat (else ``ps``).

    The parent pid names the parent *process*, so a child is found even when the thread
    that started it has exited (/proc/PID/task/TID/children lists a child under its
    starting thread only, and misses it while it is moved to another thread)."""
    parents: dict[int, int] = {}
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue  # exited meanwhile
        return parents
    try:
        out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    for line in out.splitlines():
        pid, ppid = line.split()
        parents[int(pid)] = int(ppid)
    return parents


def _descendants(pid: int) -> list[int]:
    parents = _parents()
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for child in sorted(p for p, pp in parents.items() if pp == parent):
            out.append(child)
            todo.append(child)
    return out


class Server:
    """``python -m engine.cli serve --port P --engine E`` as a subprocess."""

    def __init__(self, engine: str, log: Path):
        self.engine = engine
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = open(log, "wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--engine", engine, "--workers", "1"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.client = httpx.Client(base_url=self.url, timeout=30.0)
        self.seen: set[int] = set()  # every descendant ever seen, checked at stop
        self._wait_ready()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.client.get("/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not answer /healthz within {STARTUP_TIMEOUT}s:\n{self.log()}")

    def post(self, path: str, body) -> httpx.Response:
        if isinstance(body, str):
            return self.client.post(path, content=body, headers={"content-type": "application/json"})
        return self.client.post(path, json=body)

    def workers(self) -> list[int]:
        """The engine worker processes: spawned python children running ``spawn_main``
        (the multiprocessing resource tracker is a child too, and is left alone)."""
        found = [p for p in _descendants(self.process.pid)
                 if "spawn_main" in _cmdline(p) and "resource_tracker" not in _cmdline(p) and _alive(p)]
        self.seen.update(_descendants(self.process.pid))
        return found

    def worker(self) -> int:
        [pid] = self.workers()
        return pid

    def stop(self) -> None:
        self.seen.update(_descendants(self.process.pid))
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        deadline = time.monotonic() + 5
        left = [p for p in self.seen if _alive(p) and "multiprocessing" in _cmdline(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [p for p in left if _alive(p)]
        for pid in left:  # our server's own workers, still running after it exited
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.leaked = left


def _durable_or_skip() -> None:
    from engine.backends import durable_status
    ok, why = durable_status()
    if not ok:
        pytest.skip(f"the durable engine cannot load here: {why}")


@pytest.fixture(scope="module", params=["reference", "durable"])
def server(request, tmp_path_factory):
    if request.param == "durable":
        _durable_or_skip()
    srv = Server(request.param, tmp_path_factory.mktemp("serve") / f"{request.param}.log")
    request.addfinalizer(srv.stop)
    return srv


@pytest.fixture(scope="module")
def durable_server(tmp_path_factory, request):
    _durable_or_skip()
    srv = Server("durable", tmp_path_factory.mktemp("serve") / "durable-crash.log")
    request.addfinalizer(srv.stop)
    return srv


# --------------------------------------------------------------------------- both engines


def test_healthz_names_the_engine(server):
    assert server.client.get("/healthz").json() == {"status": "ok", "engine": server.engine}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_the_three_endpoints_answer_like_the_python_api(server, path):
    response = server.post(path, BODIES[path])
    assert response.status_code == 200, response.text
    assert answer_of(response.json()) == EXPECTED[path]


def test_a_malformed_timeline_is_422_located_in_the_body(server):
    response = server.post("/v1/audit", BAD_BODY)
    assert response.status_code == 422
    body = response.json()
    col = BAD_BODY.splitlines()[6].index('"2026-03-02T19:00:00"') + 1
    assert col == 47
    assert [e["code"] for e in body["errors"]] == ["timeline.invalid"]
    assert body["messages"][0].startswith("request:7:47: error[timeline.invalid]: `events[0].at`")


def test_policies_and_openapi_are_served(server):
    names = {p["name"]: p["serving"] for p in server.client.get("/v1/policies").json()["policies"]}
    assert names["etiquette"] is True
    assert "/v1/check" in server.client.get("/openapi.json").json()["paths"]


# --------------------------------------------------------------------------- crash isolation


def _answers(srv: Server) -> dict[str, dict]:
    out = {}
    for path, body in BODIES.items():
        response = srv.post(path, body)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}\n{srv.log()}"
        out[path] = answer_of(response.json())
    return out


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid), f"worker {pid} still running"


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL], ids=["SIGSEGV", "SIGKILL"])
def test_killing_the_idle_durable_worker_does_not_change_any_answer(durable_server, sig):
    srv = durable_server
    before = _answers(srv)
    assert before == EXPECTED
    victim = srv.worker()
    os.kill(victim, sig)
    _wait_gone(victim)
    after = _answers(srv)
    assert after == before
    replacement = srv.worker()
    assert replacement != victim, "a fresh worker serves the durable engine"
    assert srv.process.poll() is None
    assert srv.client.get("/healthz").json() == {"status": "ok", "engine": "durable"}
    assert f"worker pid {victim}" in srv.log()


#: a check whose answer is "never" (Nadia already got an inquiry, q1); since the speed-ups
#: it is two short evaluations in the worker, with the server working in between
HEAVY_ACTION = {"type": "status_inquiry", "to": "nadia", "channel": "phone"}
HEAVY_BODY = {"timeline": example_timeline("over-eager"), "action": HEAVY_ACTION, "at": "2026-04-13T09:00:00-04:00"}
HEAVY_EXPECTED = json.loads(check(api.load_timeline(EXAMPLES / "over-eager.yaml"), PlannedAction(**HEAVY_ACTION),
                                  api.load_policy("etiquette"),
                                  api.parse_instant(HEAVY_BODY["at"])).model_dump_json())


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return b"?"


#: an audit that is a single long evaluation in the worker (about half a second with
#: durable-rules, a fraction of that in the reference fallback): the over-eager timeline
#: and 120 more status inquiries to Nadia, one every 7 hours
_LONG_START = datetime(2026, 4, 20, 12, tzinfo=timezone.utc)
LONG_AUDIT_BODY = {
    "timeline": {**example_timeline("over-eager"),
                 "events": example_timeline("over-eager")["events"] + [
                     {"id": f"x{k}", "type": "status_inquiry", "to": ["nadia"], "channel": "email",
                      "at": f"{_LONG_START + timedelta(hours=7 * k):%Y-%m-%dT%H:%M:%SZ}"}
                     for k in range(120)]},
    "as_of": "2027-01-01T00:00:00Z",
}


def _long_audit_expected(tmp_path: Path) -> dict:
    """What the reference engine finds in LONG_AUDIT_BODY (the same as durable, faster)."""
    source = tmp_path / "long.json"
    source.write_text(json.dumps(LONG_AUDIT_BODY["timeline"]), encoding="utf-8")
    report = api.audit(api.load_timeline(source), api.load_policy("etiquette"),
                       api.parse_instant(LONG_AUDIT_BODY["as_of"]), engine="reference")
    return json.loads(json.dumps(report.contract()))


def _syscall(pid: int) -> bytes | None:
    """/proc/PID/syscall: the system call a stopped or blocked process is in (``-1 ...``: it
    was running its own code), or None where that file cannot be read."""
    try:
        return Path(f"/proc/{pid}/syscall").read_bytes()
    except OSError:
        return None


def _kill_while_evaluating(victim: int, done: list, deadline: float) -> None:
    """SIGKILL ``victim`` while it evaluates a request, not while it waits for one.

    Being runnable (``R``) is not enough: on a busy machine a worker just woken by a request
    stays runnable, still inside the read, before it gets a CPU, and a kill then finds it
    idle. So each time it is seen runnable it is stopped (SIGSTOP) and looked at: stopped
    in its own code (not in a system call such as that read), it is evaluating, and is
    killed; otherwise it is let go on (SIGCONT) and watched again. Without /proc/PID/syscall,
    it is killed as soon as it is seen runnable. After ``deadline`` it is killed anyway."""
    while time.monotonic() < deadline and not done:
        if _state(victim) == b"R":
            os.kill(victim, signal.SIGSTOP)
            stop_by = time.monotonic() + 1
            while _state(victim) not in (b"T", b"t", b"?") and time.monotonic() < stop_by:
                time.sleep(0.0005)
            where = _syscall(victim)
            if where is None or where.startswith(b"-1 "):
                break
            os.kill(victim, signal.SIGCONT)
        time.sleep(0.001)
    os.kill(victim, signal.SIGKILL)


def test_killing_the_durable_worker_in_the_middle_of_requests_loses_no_request(durable_server):
    """The worker is killed while a long check is under way (as soon as it is seen running),
    and more requests follow at once: every answer is complete and correct -- the
    evaluation in flight from the reference fallback (or a retry on a new worker), the
    rest from a new worker."""
    srv = durable_server
    _answers(srv)
    victim = srv.worker()
    results: list[tuple[str, int, dict]] = []
    errors: list[BaseException] = []
    started = threading.Event()

    def requests():
        try:
            with httpx.Client(base_url=srv.url, timeout=30.0) as c:
                started.set()
                r = c.post("/v1/check", json=HEAVY_BODY)
                results.append(("heavy", r.status_code, r.json()))
                for path in sorted(BODIES):
                    r = c.post(path, json=BODIES[path])
                    results.append((path, r.status_code, r.json()))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=requests)
    thread.start()
    started.wait(10)
    deadline = time.monotonic() + 5
    while _state(victim) != b"R" and time.monotonic() < deadline and not results:
        time.sleep(0.001)
    os.kill(victim, signal.SIGKILL)
    thread.join(60)
    assert not thread.is_alive() and not errors, errors
    assert [(name, status) for name, status, _ in results] == [("heavy", 200)] + [(p, 200) for p in sorted(BODIES)]
    assert answer_of(results[0][2]) == HEAVY_EXPECTED
    for path, _, body in results[1:]:
        assert answer_of(body) == EXPECTED[path], path
    _wait_gone(victim)
    assert srv.worker() != victim
    assert f"worker pid {victim} killed by SIGKILL" in srv.log()
    assert _answers(srv) == EXPECTED


def test_no_worker_outlives_the_server(tmp_path):
    """SIGTERM to the server (what the fixtures do) ends its worker too: nothing is left to kill."""
    _durable_or_skip()
    srv = Server("durable", tmp_path / "short.log")
    try:
        _answers(srv)
        workers = srv.workers()
        assert len(workers) == 1
    finally:
        srv.stop()
    assert srv.process.returncode is not None
    assert srv.leaked == [], f"still running after the server stopped: {srv.leaked}"
    assert not any(_alive(p) for p in workers)


# --------------------------------------------------------------------------- the tracker client


@pytest.fixture(scope="module")
def tracker_client():
    path = ROOT / "examples" / "tracker_client.py"
    spec = importlib.util.spec_from_file_location("tracker_client", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tracker_client_functions(server, tracker_client):
    tc = tracker_client
    timeline = tc.load_timeline_file(EXAMPLES / "over-eager.yaml")
    assert timeline == example_timeline("over-eager")
    assert tc.health(base_url=server.url)["engine"] == server.engine
    assert "etiquette" in {p["name"] for p in tc.policies(base_url=server.url)}
    assert answer_of(tc.audit(timeline, AUDIT_BODY["as_of"], base_url=server.url)) == EXPECTED["/v1/audit"]
    assert answer_of(tc.check(timeline, INQUIRY, CHECK_BODY["at"], base_url=server.url)) == EXPECTED["/v1/check"]
    assert answer_of(tc.agenda(timeline, AGENDA_BODY["as_of"], base_url=server.url)) == EXPECTED["/v1/agenda"]


def test_tracker_client_raises_with_the_located_messages(server, tracker_client):
    tc = tracker_client
    bad = json.loads(BAD_BODY)["timeline"]
    with pytest.raises(tc.ServiceError) as info:
        tc.audit(bad, "2026-03-10T00:00:00Z", base_url=server.url)
    assert info.value.status == 422
    assert info.value.messages[0].startswith("request:1:")  # json.dumps writes the body on one line
    assert "has no UTC offset" in info.value.messages[0]
    with pytest.raises(tc.ServiceError) as info:
        tc.check(tc.load_timeline_file(EXAMPLES / "over-eager.yaml"), INQUIRY, "2026-04-08T10:00:00-04:00",
                 policy="no-such-policy", base_url=server.url)
    assert info.value.status == 422 and "policy.not-found" in info.value.messages[0]


def test_tracker_client_cannot_reach_a_closed_port(tracker_client):
    with pytest.raises(tracker_client.ServiceError) as info:
        tracker_client.health(base_url=f"http://127.0.0.1:{_free_port()}", timeout=2)
    assert info.value.status == 0 and "cannot reach" in str(info.value)


def test_tracker_client_main_prints_the_decision_and_the_agenda(server, tracker_client, capsys):
    code = tracker_client.main(["--url", server.url])
    out, err = capsys.readouterr()
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0] == "status inquiry to nadia by email at 2026-04-08T14:00:00Z: DENY"
    assert any("inquiry-after-timetable" in ln for ln in lines)
    assert "  earliest allowed: 2026-04-21T04:00:00Z" in lines
    assert "agenda as of 2026-04-08T14:00:00Z (policy etiquette):" in lines
    assert any(ln.lstrip().startswith("inquiry-window") for ln in lines)


def test_tracker_client_main_exits_2_on_a_service_error(server, tracker_client, capsys):
    code = tracker_client.main(["--url", server.url, "--to", "nobody"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: request:1:") and "error[action.unknown-contact]: unknown contact `nobody`" in err


# --------------------------------------------------------------------------- docs/api.md


def _doc_block(title: str) -> list[str]:
    from .test_api_docs import titled
    return titled(title).body.splitlines()


def test_the_tracker_client_output_in_the_docs_is_real(server, tracker_client, capsys):
    """docs/api.md shows what `python examples/tracker_client.py` prints (the default run)."""
    if server.engine != "reference":
        pytest.skip("one engine is enough: the answers are the same")
    tracker_client.main(["--url", server.url])
    out, _ = capsys.readouterr()
    assert out.splitlines() == _doc_block("tracker_client output")


def test_the_tracker_snippet_in_the_docs_runs(server, monkeypatch):
    from .test_api_docs import blocks
    [snippet] = [b for b in blocks() if b.lang == "python" and "tracker_client" in b.body]
    assert "http://127.0.0.1:8080" in snippet.body
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    monkeypatch.delitem(sys.modules, "tracker_client", raising=False)
    namespace = {"timeline": example_timeline("over-eager")}
    try:
        exec(compile(snippet.body.replace("http://127.0.0.1:8080", server.url), "docs/api.md", "exec"), namespace)
    finally:
        sys.modules.pop("tracker_client", None)
    assert answer_of(namespace["answer"]) == EXPECTED["/v1/check"]
    assert namespace["remind_at"] == "2026-04-21T04:00:00Z"


def test_the_server_log_in_the_docs_is_real(durable_server, tmp_path):
    """The incident lines docs/api.md shows are what the server logs when its worker is
    killed with SIGSEGV and SIGKILL while idle, then with SIGKILL in the middle of an audit
    (compared in order, worker pids aside; `...` lines are skipped). Each idle death gives
    exactly one incident line, "while idle; starting a new one", whatever the timing."""
    srv = durable_server
    long_expected = _long_audit_expected(tmp_path)
    _answers(srv)
    start = len(srv.log())
    expected = []
    for sig in (signal.SIGSEGV, signal.SIGKILL):
        victim = srv.worker()
        os.kill(victim, sig)
        _wait_gone(victim)
        _answers(srv)
        expected.append(f"isolation incident in engine.service:run: worker pid {victim} "
                        f"killed by {sig.name} while idle; starting a new one")
    # however the server noticed each death (before or after handing a request over), one line each
    assert [ln for ln in srv.log()[start:].splitlines() if "isolation incident" in ln] == expected
    for _attempt in range(3):  # a kill that still missed the evaluation lands "while idle": try again
        victim = srv.worker()
        with httpx.Client(base_url=srv.url, timeout=60.0) as c:
            done: list = []
            thread = threading.Thread(target=lambda: done.append(c.post("/v1/audit", json=LONG_AUDIT_BODY)))
            thread.start()
            _kill_while_evaluating(victim, done, time.monotonic() + 20)
            thread.join(60)
        assert done and done[0].status_code == 200 and answer_of(done[0].json()) == long_expected
        _wait_gone(victim)
        if "during a call" in srv.log()[start:]:
            break
        _answers(srv)  # a worker for the next attempt (the kill may have found it idle after the audit)
    actual = [ln for ln in srv.log()[start:].splitlines() if not ln.startswith("INFO:")]
    position = 0
    for shown in _doc_block("server log"):
        if shown == "...":
            continue
        pattern = re.compile(r"\d+".join(re.escape(part) for part in re.split(r"(?<=worker pid )\d+", shown)))
        for i in range(position, len(actual)):
            if pattern.fullmatch(actual[i]):
                position = i + 1
                break
        else:
            raise AssertionError(f"not in the server log (in order): {shown!r}\n--- log:\n" + "\n".join(actual))
