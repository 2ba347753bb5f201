"""The bad-input corpus (``manifest.yaml``): every case through the CLI and the HTTP API.

Invariants, for every case:

* CLI: exit code 2, nothing on stdout, one ``file:line:col: error[code]: message`` line
  per problem on stderr (``file: error[...]`` where the problem has no position), the
  expected code at the expected position, never "internal error" or a traceback;
* policy cases: ``followup policy lint`` reports the same code (a lint-clean policy never
  fails an audit) and exits 2;
* HTTP: a 4xx answer in the ``errors``/``messages`` shape, never a 5xx; where the case can
  be sent as JSON, the same code.

Cases built to exhaust memory or time (``dos: true``) run in a subprocess with a 1 GiB
address-space limit and a 60 s timeout, so a regression fails the test instead of taking
the test run down.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine.cli import main
from engine.server import create_app
from engine.source import parse_document

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASES = HERE / "cases"
MANIFEST = yaml.safe_load((HERE / "manifest.yaml").read_text(encoding="utf-8"))
AS_OF = "2026-06-01T00:00:00Z"
EXAMPLE = ROOT / "examples" / "over-eager.yaml"
LINE = re.compile(r"^(?:(?P<where>.+?): )?(?P<severity>error|warning)\[(?P<code>[a-z0-9.-]+)\]: \S.*$")


def _id(case: dict) -> str:
    return f"{case['file']}:{case['code']}"


def _argv(case: dict) -> list[list[str]]:
    path = str(CASES / case["file"])
    if case["as"] == "timeline":
        return [["audit", path, "--as-of", AS_OF, "--engine", "reference"]]
    if case["as"] == "policy":
        return [["audit", str(EXAMPLE), "--as-of", AS_OF, "--engine", "reference", "--policy", path],
                ["policy", "lint", path]]
    if case["as"] == "action":
        return [["check", str(EXAMPLE), "--action", "@" + path, "--at", "2026-04-08T09:00:00-04:00",
                 "--engine", "reference"]]
    argv = [a.replace("{file}", path) for a in case["args"]]
    if argv[0] in ("audit", "agenda", "check"):
        argv += ["--engine", "reference"]
        if "--as-of" not in argv and argv[0] != "check":
            argv += ["--as-of", AS_OF]
    return [argv]


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _run(argv: list[str], case: dict, capsys) -> tuple[int, str, str]:
    if case.get("dos"):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True, text=True,
                              timeout=60, preexec_fn=_limit_memory, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _absolute(where: str | None) -> str | None:
    """``file:line:col`` with the file made absolute (lint prints paths relative to the cwd)."""
    if not where:
        return where
    file, _, pos = where.partition(":")
    return f"{Path(file).resolve()}:{pos}" if pos else str(Path(file).resolve())


def _expected_where(case: dict, argv: list[str]) -> str:
    path = str(CASES / case["file"])
    if case["as"] == "args" and "{file}" not in case["args"]:
        path = next(a for a in argv[1:] if not a.startswith("-"))
    return f"{path}:{case['at']}" if case.get("at") else path


@pytest.mark.parametrize("case", MANIFEST, ids=_id)
def test_the_cli_refuses_each_bad_input_with_one_located_line_per_problem_and_exit_2(case, capsys):
    for argv in _argv(case):
        code, out, err = _run(argv, case, capsys)
        assert "internal error" not in err and "Traceback" not in err, err
        assert code == 2, (argv, code, out, err)
        if argv[:2] != ["policy", "lint"]:
            assert out == "", out
        lines = [line for line in err.splitlines()
                 if line.strip() and not line.startswith(("notice:", "warning:")) and not line.startswith("... and")]
        if argv[:2] == ["policy", "lint"]:  # lint reports on stdout, with a summary line
            lines = [line for line in (out + err).splitlines() if LINE.match(line)]
        assert lines, (out, err)
        for line in lines:
            assert LINE.match(line), f"not a one-line located error: {line!r}"
        # lint names files relative to the working directory; the others as given
        found = [(str(Path(m["where"] or "").resolve()) if m["where"] and ":" not in m["where"] else
                  _absolute(m["where"]), m["code"]) for m in map(LINE.match, lines) if m]
        if case["as"] == "args" and argv[0] == "audit" and argv[1] == "/dev/zero":
            assert ("/dev/zero", case["code"]) in found, found
            continue
        if case["code"] in ("input.out-of-range",):
            assert any(code == case["code"] for _, code in found), found
            continue
        assert (_expected_where(case, argv), case["code"]) in found, found


def _http_client(tmp_path: Path, case: dict) -> TestClient:
    policies = tmp_path / "policies"
    policies.mkdir()
    if case["as"] == "policy":
        shutil.copy(CASES / case["file"], policies / "case.yaml")
        if case["file"] == "agency-extends-not-a-policy.yaml":
            shutil.copy(CASES / "not-a-policy.data.yaml", policies / "not-a-policy.data.yaml")
    return TestClient(create_app(str(policies), engine="reference"), raise_server_exceptions=False)


def _data(path: Path):
    """A document as the engine reads it (timestamps stay text)."""
    return parse_document(path.read_text(encoding="utf-8"), str(path)).data


def _json_value(case: dict) -> str:
    """The case as JSON text (a YAML case is converted; JSON cases are kept byte for byte)."""
    raw = (CASES / case["file"]).read_bytes().decode("utf-8")
    if case["file"].endswith(".json"):
        return raw
    return json.dumps(_data(CASES / case["file"]))


def _assert_error_shape(response, case: dict, same_code: bool) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert set(body) >= {"errors", "messages"}, body
    assert body["errors"] and len(body["errors"]) == len(body["messages"])
    if same_code:
        assert case["code"] in [e["code"] for e in body["errors"]], body


@pytest.mark.parametrize("case", [c for c in MANIFEST if c.get("http", "json" if c["as"] == "policy" else "none")
                                  != "none"], ids=_id)
def test_the_http_api_answers_each_bad_input_with_a_4xx_never_a_5xx(case, tmp_path):
    with _http_client(tmp_path, case) as client:
        if case["as"] == "policy":
            listing = client.get("/v1/policies")
            assert listing.status_code == 200, listing.text
            entry = next(p for p in listing.json()["policies"] if p["name"] == "case")
            assert not entry["serving"] and any(case["code"] in e for e in entry["errors"]), entry
            timeline = json.dumps(_data(EXAMPLE))
            response = client.post("/v1/audit", content=f'{{"as_of": "{AS_OF}", "policy": "case", "timeline": {timeline}}}',
                                   headers={"content-type": "application/json"})
            _assert_error_shape(response, case, same_code=False)
            return
        if case["http"] == "raw":
            response = client.post("/v1/audit", content=(CASES / case["file"]).read_bytes(),
                                   headers={"content-type": "application/json"})
            _assert_error_shape(response, case, same_code=False)
            assert all(m.startswith("request") for m in response.json()["messages"]), response.json()
            return
        value = _json_value(case)
        if case["as"] == "action":
            timeline = json.dumps(_data(EXAMPLE))
            body = f'{{"at": "2026-04-08T13:00:00Z", "timeline": {timeline}, "action": {value}}}'
            response = client.post("/v1/check", content=body, headers={"content-type": "application/json"})
        else:
            body = f'{{"as_of": "{AS_OF}", "timeline": {value}}}'
            response = client.post("/v1/audit", content=body, headers={"content-type": "application/json"})
        _assert_error_shape(response, case, same_code=True)


def test_every_case_file_is_in_the_manifest():
    """A case file nobody runs is a test that silently does nothing."""
    named = {c["file"] for c in MANIFEST} | {"not-a-policy.data.yaml"}
    assert sorted(p.name for p in CASES.iterdir()) == sorted(named)
