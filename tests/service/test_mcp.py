"""``followup mcp``, driven by the official SDK's own client over stdio.

One ``followup mcp`` subprocess (reference engine) serves one client session, in which
the module's calls are made once (bounded by ``anyio.fail_after``; the SDK's client
closes the server's stdin and kills it if it does not exit); the tests assert on what
it answered:

* ``tools/list`` lists the five tools, each with the input schema of the HTTP API's
  request model (``CheckRequest``...) and an output schema;
* each tool answers a real call with structured content that matches its output schema
  (the SDK's client checks that too) and the same JSON as text;
* a bad timeline, an unknown field, an unknown rule or tool, arguments over the body
  limit and a message over the line limit are tool errors (``isError``) whose text is
  the located one-line messages.
"""

from __future__ import annotations

import io
import json
import os
import sys

import anyio
import pytest

mcp = pytest.importorskip("mcp", reason="pip install -e '.[test]'")
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

from engine.limits import MAX_BODY_BYTES  # noqa: E402
from engine.mcp_server import MAX_LINE, TOOLS, _BoundedLines  # noqa: E402
from engine.server import Schemas  # noqa: E402

from .payloads import ROOT, example_timeline  # noqa: E402

TIMELINE = example_timeline("over-eager")
CHECK = {"timeline": TIMELINE, "action": {"type": "status_inquiry", "to": "nadia", "channel": "email"},
         "at": "2026-04-08T10:00:00-04:00"}
BAD = {"timeline": {"contacts": {"alice": {"name": "Alice Park"}}, "applications": {"acme": {"company": "Acme"}},
                    "events": [{"id": "i1", "type": "interview", "at": "2026-03-02T10:00:00", "with": ["alice"]}]},
       "as_of": "2026-03-04T00:00:00Z"}

CALLS = {
    "check": ("check_follow_up", CHECK),
    "check-allow": ("check_follow_up", {**CHECK, "at": "2026-04-07T10:00:00-04:00",
                                        "action": {"type": "thank_you", "to": "nadia", "channel": "email"}}),
    "agenda": ("follow_up_agenda", {"timeline": TIMELINE, "as_of": "2026-04-06T15:30:00-04:00"}),
    "audit": ("audit_timeline", {"timeline": TIMELINE, "as_of": "2026-04-14T00:00:00Z"}),
    "explain": ("explain_rule", {"rule": "thank-you-within-24h", "policy": "agencies/strict"}),
    "explain-unknown": ("explain_rule", {"rule": "thank-you-within-42h"}),
    "policies": ("list_policies", {}),
    "bad-timeline": ("audit_timeline", BAD),
    "unknown-field": ("check_follow_up", {**CHECK, "when": "now"}),
    "unknown-policy": ("follow_up_agenda", {"timeline": TIMELINE, "as_of": "2026-04-06T15:30:00Z", "policy": "nope"}),
    "unknown-tool": ("send_email", {}),
    "too-large": ("audit_timeline", {**BAD, "timeline": {**BAD["timeline"], "candidate": "x" * (MAX_BODY_BYTES + 10)}}),
    "too-long-line": ("audit_timeline", {**BAD, "padding": "y" * (MAX_LINE + 10)}),
}


@pytest.fixture(scope="module")
def session() -> dict:
    """What ``followup mcp`` answered: ``{"tools": [...], name: CallToolResult}``."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "engine.cli", "mcp", "--engine", "reference"], cwd=str(ROOT),
        env={"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
             "PYTHONUNBUFFERED": "1"})
    out: dict = {}

    async def run() -> None:
        with anyio.fail_after(120):
            async with Client(params, read_timeout_seconds=60) as client:
                out["tools"] = (await client.list_tools()).tools
                for key, (name, arguments) in CALLS.items():
                    out[key] = await client.call_tool(name, arguments)

    anyio.run(run)
    return out


def _ok(result) -> dict:
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def _error_lines(result) -> list[str]:
    assert result.is_error
    lines = result.content[0].text.splitlines()
    assert lines == result.structured_content["messages"]
    return lines


def test_the_tools_are_listed_with_the_http_apis_request_schemas(session):
    tools = {t.name: t for t in session["tools"]}
    assert set(tools) == {"check_follow_up", "follow_up_agenda", "audit_timeline", "explain_rule", "list_policies"}
    assert tools["check_follow_up"].input_schema == Schemas.CheckRequest.model_json_schema()
    assert tools["follow_up_agenda"].input_schema == Schemas.AgendaRequest.model_json_schema()
    assert tools["audit_timeline"].input_schema == Schemas.AuditRequest.model_json_schema()
    assert "Timeline" in tools["check_follow_up"].input_schema["$defs"]
    for tool in tools.values():
        assert tool.description and tool.input_schema["type"] == "object" and tool.output_schema, tool.name
        assert tool.annotations.read_only_hint is True
    assert tools["explain_rule"].input_schema["required"] == ["rule"]


def test_check_follow_up_says_deny_when_and_how(session):
    answer = _ok(session["check"])
    assert answer["decision"] == "deny" and answer["earliest"] == "2026-04-21T04:00:00Z"
    assert [f["rule"] for f in answer["findings"]] == ["inquiry-after-timetable"]
    assert answer["alternatives"][0]["change"] == {"at": "2026-04-21T04:00:00Z"}
    assert _ok(session["check-allow"])["decision"] == "allow"


def test_follow_up_agenda_and_audit_timeline_answer_as_the_http_api(session):
    agenda = _ok(session["agenda"])
    assert agenda["policy"] == "etiquette" and agenda["items"]
    assert any(item["kind"] == "inquiry-window" for item in agenda["items"])
    audit = _ok(session["audit"])
    assert audit["as_of"] == "2026-04-14T00:00:00Z"
    assert [f["rule"] for f in audit["findings"]][:2] == ["inquiry-after-timetable", "preferred-channel"]


def test_explain_rule_gives_kind_parameters_message_and_origins(session):
    rule = _ok(session["explain"])
    # the policy's own name, as in an AuditReport
    assert (rule["rule"], rule["kind"], rule["policy"]) == ("thank-you-within-24h", "deadline", "strict")
    assert rule["message"].startswith("{contact} got no thank-you within {within}")
    within = rule["fields"]["within"]
    assert within["parameter"] == "thank_you_within" and within["parameter_set_at"].startswith("shipped:")
    assert rule["files"] == ["shipped:etiquette.yaml", "shipped:agencies/strict.yaml"]
    [line] = _error_lines(session["explain-unknown"])
    assert line.startswith("error[policy.unknown-rule]: policy `etiquette` has no rule `thank-you-within-42h`")
    assert "did you mean `thank-you-within-24h`" in line


def test_list_policies_lists_the_shipped_ones(session):
    names = {p["name"] for p in _ok(session["policies"])["policies"]}
    assert {"etiquette", "agencies/strict", "agencies/lenient"} <= names


def test_a_bad_timeline_is_a_tool_error_with_located_messages(session):
    [line] = _error_lines(session["bad-timeline"])
    # located in the arguments written as JSON with an indent of 2
    written = json.dumps(BAD, indent=2).splitlines()
    [row] = [i for i, text in enumerate(written, 1) if '"at": "2026-03-02T10:00:00"' in text]
    col = written[row - 1].index('"2026-03-02T10:00:00"') + 1
    assert line.startswith(f"request:{row}:{col}: error[timeline.invalid]: `events[0].at`: timestamp "
                           "`2026-03-02T10:00:00` has no UTC offset"), line
    [problem] = session["bad-timeline"].structured_content["errors"]
    assert (problem["path"], problem["line"], problem["col"]) == ("timeline.events[0].at", row, col)


def test_an_unknown_field_policy_or_tool_is_a_tool_error(session):
    [line] = _error_lines(session["unknown-field"])
    assert "error[request.unknown-field]: unknown field `when`" in line and line.startswith("request:")
    [line] = _error_lines(session["unknown-policy"])
    assert line.startswith("error[policy.not-found]: no policy named `nope`")
    [line] = _error_lines(session["unknown-tool"])
    assert line.startswith("error[request.unknown-tool]: no tool `send_email`")


def test_arguments_over_the_body_limit_and_messages_over_the_line_limit_are_refused(session):
    [line] = _error_lines(session["too-large"])
    assert line.startswith("error[request.too-large]: the arguments are ") and f"limit is {MAX_BODY_BYTES}" in line
    [line] = _error_lines(session["too-long-line"])
    assert line.startswith(f"error[request.too-large]: the message is over {MAX_LINE} bytes")


def test_the_line_reader_never_holds_more_than_its_limit():
    """A line over the limit is skipped in pieces and replaced by a call of the
    too-large tool with the message's id; the lines around it pass unchanged."""
    first = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n'
    long = b'{"jsonrpc": "2.0", "id": "big-7", "method": "tools/call", "params": {"x": "' + b"z" * 5000 + b'"}}\n'
    last = b'{"jsonrpc": "2.0", "id": 3, "method": "ping"}\n'
    reads: list[int] = []

    class Recording(io.BytesIO):
        def readline(self, size=-1):
            data = super().readline(size)
            reads.append(len(data))
            return data

    lines = _BoundedLines(Recording(first + long + last), limit=1000)

    async def collect() -> list[str]:
        return [line async for line in lines]

    got = anyio.run(collect)
    assert got[0].encode() == first and got[2].encode() == last
    replaced = json.loads(got[1])
    assert replaced["id"] == "big-7" and replaced["params"]["name"] == "followup.too-large"
    assert replaced["params"]["arguments"]["bytes"] == len(long)
    assert max(reads) <= 1 << 16


def test_each_tool_is_documented():
    text = (ROOT / "docs" / "mcp.md").read_text(encoding="utf-8")
    for tool in TOOLS:
        assert f"`{tool.name}`" in text, tool.name
    assert '"mcpServers"' in text and '"command": "followup"' in text


# --------------------------------------------------------------------------- in process, no worker started


@pytest.fixture
def tools():
    from engine.mcp_server import FollowupTools
    made = FollowupTools(engine="reference")  # its pool is never started here
    yield made
    made.close()


def test_explain_rule_and_list_policies_refuse_bad_arguments_by_field(tools):
    from engine.errors import InputError
    with pytest.raises(InputError) as caught:
        tools.call("explain_rule", {"rule": 5, "policy": "etiquette", "verbose": True})
    assert {(p.code, p.path) for p in caught.value.problems} == {("request.invalid", "rule"),
                                                                 ("request.invalid", "verbose")}
    with pytest.raises(InputError) as caught:
        tools.call("list_policies", {"tenant": "a"})
    assert [p.path for p in caught.value.problems] == ["tenant"]


def test_a_call_over_its_budget_or_a_bug_is_a_tool_error_not_a_crash(tools, monkeypatch, caplog):
    from engine.budget import Budget, OverBudget
    from engine.mcp_server import _answer

    def over(*args, **kwargs):
        raise OverBudget(Budget(0.5))

    monkeypatch.setattr(tools.pool, "call", over)
    result = anyio.run(_answer, tools, "check_follow_up", CHECK)
    assert result.is_error and result.structured_content["errors"][0]["code"] == "request.over-budget"

    monkeypatch.setattr(tools.pool, "call", lambda *args, **kwargs: 1 / 0)
    result = anyio.run(_answer, tools, "audit_timeline", {"timeline": TIMELINE, "as_of": "2026-04-14T00:00:00Z"})
    [problem] = result.structured_content["errors"]
    assert result.is_error and problem["code"] == "internal" and problem["id"] in problem["message"]
    assert problem["id"] in caplog.text and "ZeroDivisionError" in caplog.text
