"""Live reload in a real server: `followup serve --policies DIR` follows edits without a restart.

A `followup serve` subprocess serves an agency file from a temporary directory. The
test checks `/v1/audit` with it, edits a parameter and sees the new behaviour; writes
an invalid edit and sees the last good version still served while `GET /v1/policies`
lists the errors of that policy; fixes it again; and edits the *base* file the agency
file extends (another file in the directory), which is picked up as well.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

ROOT = Path(__file__).resolve().parents[2]

TIMELINE = {
    "timezone": "America/New_York",
    "contacts": {"alice": {"name": "Alice Park", "role": "hiring_manager"}},
    "applications": {"acme": {"company": "Acme", "country": "US", "timezone": "America/New_York"}},
    "events": [
        {"id": "i1", "type": "interview", "at": "2026-03-02T10:00", "ends_at": "2026-03-02T11:00", "with": ["alice"]},
        {"id": "t1", "type": "timetable", "at": "2026-03-02T10:55", "by": "alice", "decision_by": "2026-03-04"},
        {"id": "y1", "type": "thank_you", "at": "2026-03-03T17:00", "to": "alice", "channel": "email"},  # after 30h
        {"id": "q1", "type": "status_inquiry", "at": "2026-03-10T09:00", "to": "alice", "channel": "email"},
        {"id": "q2", "type": "status_inquiry", "at": "2026-03-17T09:00", "to": "alice", "channel": "email"},
    ],
}

BASE = """\
# the agency's house rules, on top of the default etiquette
extends: etiquette
parameters:
  inquiries_per_silence: {inquiries}
"""

AGENCY = """\
# one client's variant of the house rules
extends: base
parameters:
  thank_you_within: {within}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command() -> list[str]:
    script = shutil.which("followup")
    if script and Path(script).resolve().parent == Path(sys.executable).resolve().parent:
        return [script]
    return [sys.executable, "-m", "engine.cli"]


class Server:
    def __init__(self, directory: Path, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.log = open(log, "wb")
        self.process = subprocess.Popen(
            _command() + ["serve", "--policies", str(directory), "--port", str(self.port), "--engine", "reference"],
            cwd=directory, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}: {self.output()}")
            try:
                if self.get("/healthz")["status"] == "ok":
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise AssertionError(f"the server did not start: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def policies(tmp_path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    return directory


@pytest.fixture
def server(request, policies, tmp_path) -> Server:
    write(policies / "base.yaml", BASE.format(inquiries=1))
    write(policies / "agency.yaml", AGENCY.format(within="48h"))
    srv = Server(policies, tmp_path / "server.log")
    request.addfinalizer(srv.stop)
    srv.wait_ready()
    return srv


def write(path: Path, text: str) -> None:
    """Replace a file the way an editor saves it, making sure its modification time moves on."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns <= before:  # a coarse clock: two saves in one tick
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def rules(srv: Server) -> list[tuple[str, list[str]]]:
    status, body = srv.post("/v1/audit", {"timeline": TIMELINE, "policy": "agency",
                                          "as_of": "2026-03-31T00:00:00Z"})
    assert status == 200, body
    return [(f["rule"], f["events"]) for f in body["findings"]]


def entry(srv: Server, name: str) -> dict:
    [found] = [p for p in srv.get("/v1/policies")["policies"] if p["name"] == name]
    return found


def test_edits_to_an_agency_file_and_its_base_are_served_without_a_restart(server, policies):
    agency, base = policies / "agency.yaml", policies / "base.yaml"
    status = entry(server, "agency")
    assert status["serving"] and status["errors"] == [] and status["file"] == "agency.yaml"  # relative to --policies
    assert "thank-you-within-24h" in status["rules"]
    # 48h: the thank-you 30 hours after the interview is in time; one inquiry per silence
    assert rules(server) == [("single-inquiry", ["q1", "q2"])]

    # a parameter of the agency file changes: 24h makes the thank-you late
    write(agency, AGENCY.format(within="24h"))
    assert rules(server) == [("thank-you-within-24h", ["i1"]), ("single-inquiry", ["q1", "q2"])]

    # an invalid edit: the last good version (24h) stays in service, its errors are listed
    write(agency, AGENCY.format(within="24 hours"))
    assert rules(server) == [("thank-you-within-24h", ["i1"]), ("single-inquiry", ["q1", "q2"])]
    status = entry(server, "agency")
    assert status["serving"] is True
    assert len(status["errors"]) == 1
    # (the loader locates a bad parameter value where the rule uses it, in etiquette.yaml; see the report)
    assert "error[policy.invalid]: `within`: `24 hours` is not a duration" in status["errors"][0], status["errors"]
    assert entry(server, "base")["errors"] == []  # only the broken policy reports errors

    # fixed again: the errors are gone and the new value is served
    write(agency, AGENCY.format(within="72h"))
    assert rules(server) == [("single-inquiry", ["q1", "q2"])]
    assert entry(server, "agency")["errors"] == []

    # the base file of the extends chain changes: two inquiries per silence
    write(base, BASE.format(inquiries=2))
    assert rules(server) == []
    status = entry(server, "agency")
    assert status["serving"] and status["errors"] == []

    # an invalid edit of the base: the agency keeps its last good version and lists the base's error
    write(base, BASE.format(inquiries=1) + "  unknown_parameter_typo: 3\n")
    assert rules(server) == []
    status = entry(server, "agency")
    assert status["serving"] is True and len(status["errors"]) == 1
    assert status["errors"][0].startswith("base.yaml:5:3: error[extends.unknown-parameter]: "), status["errors"]

    # and fixed: back to one inquiry per silence
    write(base, BASE.format(inquiries=1))
    assert rules(server) == [("single-inquiry", ["q1", "q2"])]
    assert entry(server, "agency")["errors"] == []
    assert server.process.poll() is None, server.output()
