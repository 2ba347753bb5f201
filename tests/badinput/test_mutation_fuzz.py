"""Mutation fuzzing: valid timelines, planned actions and policies, damaged at random.

Each example takes a shipped, valid document and applies one to three mutations at
random places: a value swapped for one of another type or an extreme one (huge and
negative integers, NaN, far years, control characters, lone surrogates, format-string
bait, deep nesting), a key or list item removed, a list item duplicated. The damaged
document then goes through the CLI (in process) and the HTTP API (in process).

Invariant: the CLI exits 0, 1 or 2 — never 3, never "internal error" or a traceback —
and the HTTP API never answers 5xx, whatever the damage.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine.cli import main
from engine.server import create_app
from engine.source import parse_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
AS_OF = "2026-06-01T00:00:00Z"


def _data(path: Path) -> Any:
    return parse_document(path.read_text(encoding="utf-8"), str(path)).data


TIMELINES = {p.name: _data(p) for p in EXAMPLES}
POLICIES = {name: _data(ROOT / "policies" / f"{name}.yaml") for name in ("etiquette",)}
ACTION = {"type": "status_inquiry", "to": ["nadia"], "channel": "email", "body": "any news?",
          "application": "brightline"}

DEEP: Any = 1
for _ in range(80):  # deeper than the nesting limit
    DEEP = [DEEP]
EXTREMES = st.sampled_from([
    0, -1, 10 ** 30, -(10 ** 30), 2 ** 63, 1.5, float("nan"), float("inf"), True, False, None, "", " ",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-30", "2026-03-08T02:30:00", "20260320",
    "999999w", "0bd", "24 h", "America", "../../etc/passwd", "Etc/GMT+99", "\x1b[31mVIOLATION\x1b[0m",
    "line\nVIOLATION fake", "\u202egnp.exe", "{event:>400000000}", "{", "}", "{0}", "$nope", "\x00",
    "\ud800", "x" * 10_000, [], {}, DEEP,
])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
VALUES = st.one_of(EXTREMES, JSONISH)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, path + (key,)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, path + (i,)))
    return out


def _parent(doc: Any, path: tuple) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated(draw, document: Any) -> Any:
    doc = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "replace", "remove", "duplicate"]))
        if not path:
            if op == "replace":
                doc = copy.deepcopy(draw(VALUES))
            continue
        parent, last = _parent(doc, path), path[-1]
        if op == "replace":  # a copy: later mutations must not change the strategy's constants
            parent[last] = copy.deepcopy(draw(VALUES))
        elif op == "remove":
            del parent[last]
        elif isinstance(parent, list):
            parent.append(json.loads(json.dumps(parent[last])))
        else:
            parent[last] = [parent[last], parent[last]]
    return doc


def _dump(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(engine="reference"), raise_server_exceptions=False) as c:
        yield c


def _assert_cli(argv: list[str], capsys) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (code, err[-2000:])
    assert "internal error" not in err and "Traceback" not in err, err[-2000:]


FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large], deadline=None)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(TIMELINES)))
def test_a_damaged_timeline_never_crashes_the_cli_or_gives_a_5xx(data, name, tmp_path_factory, capsys, client):
    """Any mutation of a valid timeline: CLI exit 0/1/2 only; HTTP audit, agenda and check never 5xx."""
    timeline = data.draw(mutated(TIMELINES[name]))
    path = tmp_path_factory.mktemp("fuzz") / "timeline.json"
    path.write_text(_dump(timeline), encoding="utf-8")
    _assert_cli(["audit", str(path), "--as-of", AS_OF, "--engine", "reference"], capsys)
    _assert_cli(["agenda", str(path), "--as-of", AS_OF, "--engine", "reference"], capsys)
    for endpoint, extra in (("/v1/audit", {"as_of": AS_OF}), ("/v1/agenda", {"as_of": AS_OF}),
                            ("/v1/check", {"at": AS_OF, "action": ACTION})):
        body = _dump({"timeline": timeline, **extra})
        response = client.post(endpoint, content=body, headers={"content-type": "application/json"})
        assert response.status_code < 500, (endpoint, response.status_code, response.text[:2000])


@FUZZ
@given(data=st.data())
def test_a_damaged_planned_action_never_crashes_the_cli_or_gives_a_5xx(data, tmp_path_factory, capsys, client):
    """Any mutation of a valid planned action: `followup check` exits 0/1/2; /v1/check never 5xx."""
    action = data.draw(mutated(ACTION))
    path = tmp_path_factory.mktemp("fuzz") / "action.json"
    path.write_text(_dump(action), encoding="utf-8")
    _assert_cli(["check", str(ROOT / "examples" / "over-eager.yaml"), "--action", f"@{path}",
                 "--at", "2026-04-08T09:00:00-04:00", "--engine", "reference"], capsys)
    body = _dump({"timeline": TIMELINES["over-eager.yaml"], "action": action, "at": "2026-04-08T13:00:00Z"})
    response = client.post("/v1/check", content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, (response.status_code, response.text[:2000])


@FUZZ
@given(data=st.data())
def test_a_damaged_policy_never_crashes_audit_or_lint(data, tmp_path_factory, capsys):
    """Any mutation of the shipped policy: `followup audit --policy` and `followup policy lint` exit
    0/1/2, never an internal error; and a policy that lint passes never fails the audit with exit 2."""
    policy = data.draw(mutated(POLICIES["etiquette"]))
    path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=False), encoding="utf-8")
    lint = main(["policy", "lint", str(path)])
    out, err = capsys.readouterr()
    assert lint in (0, 1, 2) and "internal error" not in err + out, (lint, out, err)
    for example in EXAMPLES:
        code = main(["audit", str(example), "--as-of", AS_OF, "--engine", "reference", "--policy", str(path)])
        out, err = capsys.readouterr()
        assert code in (0, 1, 2) and "internal error" not in err, (example, code, err[-2000:])
        if lint in (0, 1):
            assert code in (0, 1), (example, err[-2000:])
