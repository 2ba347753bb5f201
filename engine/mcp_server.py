"""``followup mcp``: the service as Model Context Protocol tools, over stdio.

Built on the official ``mcp`` SDK's low-level :class:`mcp.server.Server`, so that the
tools' input schemas are exactly the HTTP API's request models
(:class:`engine.server.Schemas`) and their arguments reach the service unvalidated by
anyone else: the located parser of :mod:`engine.service` reads them, as it reads an
HTTP body, and its problems come back as a tool error (``isError``) whose text is the
located messages (``request:LINE:COL: error[CODE]: MESSAGE``, with line and column in
the arguments written as JSON with an indent of 2) and whose structured content is
the HTTP API's ``ErrorResponse``.

Tools (see docs/mcp.md):

* ``check_follow_up`` -- may the candidate send this message now? If not, when, and
  how (``POST /v1/check``);
* ``follow_up_agenda`` -- what is due next (``POST /v1/agenda``);
* ``audit_timeline`` -- every finding of a policy on a timeline (``POST /v1/audit``);
* ``explain_rule`` -- one rule of a policy: id, kind, parameters, message and where
  each value was set (:func:`engine.api.explain_rule`);
* ``list_policies`` -- the policies served (``GET /v1/policies``).

One way through: the three evaluations go, like the server's, to a pool of worker
processes (:class:`~engine.backends.isolated.WorkerPool` running
:func:`engine.service.run`), each within the time budget, with the server's policy
store and limits; a crash of the durable engine never takes the MCP server down. A
message longer than :data:`MAX_LINE` bytes is not read into memory: it is answered
with a ``request.too-large`` tool error.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import api
from .backends.isolated import PoolClosed, WorkerPool
from .budget import Budget, OverBudget, check_budget_seconds
from .decide import Agenda, CheckResult
from .errors import InputError, Problem
from .isolation import WorkerUnavailable
from .findings import Finding
from .limits import DEFAULT_LIMITS, MAX_BODY_BYTES, TIME_BUDGET_SECONDS, Limits
from .policy.explain import RuleExplanation
from .policy.store import PolicyStore
from .server import WORKER_TARGET, Schemas
from .service import PolicyRefs

__all__ = ["TOOLS", "FollowupTools", "build_server", "serve_stdio", "MAX_LINE"]

logger = logging.getLogger("followup.mcp")

#: the longest JSON-RPC message read: the HTTP body limit, twice over for the envelope
#: and JSON escapes (the arguments themselves are then held to MAX_BODY_BYTES)
MAX_LINE = 2 * MAX_BODY_BYTES
#: the tool name an over-long message is answered under
_TOO_LARGE = "followup.too-large"


class ExplainRuleRequest(BaseModel):
    """What `explain_rule` reads."""

    model_config = ConfigDict(extra="forbid")
    rule: str = Field(description="The rule's id, e.g. `thank-you-within-24h` (`list_policies` lists them).",
                      max_length=200)
    policy: str = Field("etiquette", description="The name of a policy the server serves.", max_length=200)


class AuditAnswer(BaseModel):
    """What `audit_timeline` answers: the findings contract (the HTTP `AuditReport` without the
    server's decision id: tool calls go to no decision log), and the policy's revision."""

    as_of: str = Field(description="The instant evaluated, ISO 8601 UTC (`Z`).")
    policy: str = Field(description="The policy's name.")
    findings: list[Finding] = Field(description="Every finding, in rule order.")
    policy_revision: str = Field(description="The content hash (`sha256:...`) of the effective policy that "
                                             "made the answer.")


class ListPoliciesRequest(BaseModel):
    """`list_policies` takes no arguments."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    request: type[BaseModel]
    answer: type[BaseModel]
    #: the service endpoint that answers it, or None for the tools answered here
    endpoint: str | None = None


TOOLS = (
    Tool("check_follow_up", "May I send this follow-up now?",
         "Decide whether the candidate may send a planned message (a thank-you, a status inquiry, a feedback "
         "request or another contact) at a given instant, under a follow-up etiquette policy. Give the "
         "candidate's timeline of interviews and messages, the planned `action` (type, to, channel) and `at` "
         "(ISO 8601 with an offset). The answer's `decision` is `allow` or `deny`; when denied, `findings` "
         "say why, `earliest` is the first instant it would be allowed (null when waiting alone never makes "
         "it allowed) and `alternatives` are concrete changes that would be allowed (another channel, a "
         "later time).",
         Schemas.CheckRequest, CheckResult, "check"),
    Tool("follow_up_agenda", "What follow-ups are due?",
         "List what is due next on a candidate's timeline as of an instant: thank-yous owed and by when, when "
         "the next status inquiry is allowed and by which channel, and standing prohibitions (no contact "
         "after a rejection or a do-not-contact).",
         Schemas.AgendaRequest, Agenda, "agenda"),
    Tool("audit_timeline", "Audit a follow-up timeline",
         "Every finding of a follow-up etiquette policy on a candidate's timeline as of an instant: overdue "
         "thank-yous, premature or too frequent inquiries, messages on the wrong channel, contact after a "
         "rejection, and so on. Events after `as_of` are left out.",
         Schemas.AuditRequest, AuditAnswer, "audit"),
    Tool("explain_rule", "Explain a policy rule",
         "Explain one rule of a policy: its id, kind, severity and category, its parameters with their "
         "values, its message, and the file and line where each value was set (an agency's override names "
         "the agency's file).",
         ExplainRuleRequest, RuleExplanation),
    Tool("list_policies", "List the policies",
         "The policies this server can judge by: the shipped ones and an agency's, each with its rule ids, "
         "whether it is in service, and the problems of its latest edit.",
         ListPoliciesRequest, Schemas.PolicyList),
)

_BY_NAME = {tool.name: tool for tool in TOOLS}


def _schema(model: type[BaseModel], mode: str) -> dict[str, Any]:
    return model.model_json_schema(mode=mode)  # type: ignore[arg-type]


def tool_list() -> list[types.Tool]:
    """The tools as ``tools/list`` shows them."""
    return [types.Tool(name=t.name, title=t.title, description=t.description,
                       input_schema=_schema(t.request, "validation"), output_schema=_schema(t.answer, "serialization"),
                       annotations=types.ToolAnnotations(title=t.title, read_only_hint=True, destructive_hint=False,
                                                         idempotent_hint=True, open_world_hint=False))
            for t in TOOLS]


class FollowupTools:
    """The tools' work, without the protocol: ``call(name, arguments)`` answers one call
    (a JSON object) or raises :class:`InputError` (or :class:`OverBudget`,
    :class:`PoolClosed`, :class:`WorkerUnavailable`)."""

    def __init__(self, policies_dir: str | None = None, engine: str = "auto", *,
                 time_budget: float = TIME_BUDGET_SECONDS, workers: int = 1, limits: Limits = DEFAULT_LIMITS):
        self.time_budget = check_budget_seconds(time_budget, "the time budget")
        self.limits = limits
        self.store = PolicyStore(policies_dir)
        self.refs = PolicyRefs(self.store)
        notices: list[str] = []
        self.engine = api.resolve_engine(engine, notices)
        for notice in notices:
            logger.info("%s", notice)
        self.pool = WorkerPool(WORKER_TARGET, workers, initializer="engine.service:warm_up", name="followup mcp")

    def start(self) -> None:
        self.pool.start()

    def close(self) -> None:
        self.pool.close()

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        tool = _BY_NAME[name]
        if tool.endpoint is not None:
            return self._evaluate(tool.endpoint, arguments)
        request = _validated(tool.request, arguments)
        if name == "list_policies":
            return {"policies": self.store.status()}
        assert isinstance(request, ExplainRuleRequest)
        policy = self.store.get(request.policy)
        return api.explain_rule(policy, request.rule, self.store.shown).model_dump(mode="json")

    def _evaluate(self, endpoint: str, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            text = json.dumps(arguments, indent=2, ensure_ascii=False, allow_nan=False)
        except (RecursionError, ValueError) as exc:
            code = "input.too-deep" if isinstance(exc, RecursionError) else "request.invalid"
            raise InputError(Problem(code, "the arguments cannot be read as JSON "
                                           f"({'nested too deeply' if code == 'input.too-deep' else exc})")) from None
        size = len(text.encode("utf-8"))
        if size > MAX_BODY_BYTES:
            raise InputError(Problem("request.too-large", f"the arguments are {size} bytes as JSON; "
                                                          f"the limit is {MAX_BODY_BYTES}"))
        budget = Budget(self.time_budget)
        kind, value = self.pool.call(self.engine, (endpoint, text, None, self.limits), budget,
                                     answer=self.refs.answer)  # the worker asks for the policy the body names
        if kind == "ok":
            return value
        raise InputError(value)


def _validated(model: type[BaseModel], arguments: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            path = ".".join(str(p) for p in error.get("loc", ()))
            message = str(error.get("msg", "invalid")).lower()
            problems.append(Problem("request.invalid", f"`{path}`: {message}" if path else message, path=path or None))
        raise InputError(problems) from None


def _error_result(problems: list[Problem], extra: dict | None = None) -> types.CallToolResult:
    errors = [{**p.as_dict(), **(extra or {})} for p in problems]
    messages = [str(p) for p in problems]
    return types.CallToolResult(content=[types.TextContent(type="text", text="\n".join(messages))],
                                structured_content={"errors": errors, "messages": messages}, is_error=True)


async def _answer(tools: FollowupTools, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
    if name == _TOO_LARGE:
        size = (arguments or {}).get("bytes")
        return _error_result([Problem("request.too-large", f"the message is over {MAX_LINE} bytes"
                                      + (f" ({size} bytes at least)" if isinstance(size, int) else "")
                                      + f"; the limit on a tool's arguments is {MAX_BODY_BYTES} bytes")])
    if name not in _BY_NAME:
        known = ", ".join(f"`{t.name}`" for t in TOOLS)
        return _error_result([Problem("request.unknown-tool", f"no tool `{name[:100]}`; the tools are {known}")])
    try:
        value = await anyio.to_thread.run_sync(tools.call, name, arguments or {})
    except InputError as exc:
        return _error_result(exc.problems)
    except OverBudget as exc:
        return _error_result([exc.problem])
    except PoolClosed:
        return _error_result([Problem("server.shutting-down", "the server is shutting down; try again")])
    except WorkerUnavailable:
        return _error_result([Problem("server.unavailable", "no worker process could answer this call; try again "
                                                            "(the incident is logged)")])
    except Exception as exc:  # a bug: logged with its traceback, answered with an id
        problem_id = str(uuid.uuid4())
        logger.error("internal error, problem %s, in tool %s", problem_id, name, exc_info=exc)
        return _error_result([Problem("internal", f"internal error, logged as problem `{problem_id}`; please "
                                                  "report it")], extra={"id": problem_id})
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=value)


def build_server(tools: FollowupTools) -> Server:
    """The MCP server (low-level SDK ``Server``) answering with ``tools``."""
    listed = tool_list()

    async def on_list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await _answer(tools, params.name, params.arguments)

    return Server("followup", version=_version(), title="followup: job-search follow-up etiquette",
                  instructions="Ask `check_follow_up` before sending a candidate's follow-up message (may it be "
                               "sent now? if not, when and how); `follow_up_agenda` for what is due; "
                               "`audit_timeline` for everything wrong so far. Timelines and instants are JSON "
                               "as in the HTTP API of `followup serve`.",
                  on_list_tools=on_list_tools, on_call_tool=on_call_tool)


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("followup")
    except Exception:  # not installed: run from a checkout
        return "0"


# --------------------------------------------------------------------------- stdio, bounded

#: requests shorter than this are looked at for the protocol's envelope
_ENVELOPE_SCAN = 1 << 16
_ID = re.compile(rb'"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')


class _BoundedLines:
    """The lines of a binary stream as text, none longer than ``limit`` bytes held: a
    longer line is skipped as it is read and replaced by a call of the ``_TOO_LARGE``
    tool with that message's id (found in its first bytes), answered as a tool error."""

    def __init__(self, stream, limit: int = MAX_LINE):
        self.stream = stream
        self.limit = limit
        #: the ``_meta`` of the last small request (the protocol's per-request envelope of
        #: its version and the client's capabilities), for the replacement to carry
        self._meta: dict | None = None

    def __aiter__(self):
        return self

    async def __anext__(self) -> str:
        line = await anyio.to_thread.run_sync(self._readline, abandon_on_cancel=True)
        if line is None:
            raise StopAsyncIteration
        return line

    def _readline(self) -> str | None:
        data = self.stream.readline(self.limit + 1)
        if not data:
            return None
        if len(data) <= self.limit or data.endswith(b"\n"):
            if len(data) < _ENVELOPE_SCAN and b'"_meta"' in data:
                self._remember_meta(data)
            return data.decode("utf-8", errors="replace")
        head, size = data[:4096], len(data)
        while not data.endswith(b"\n"):
            data = self.stream.readline(1 << 16)
            if not data:
                break
            size += len(data)
        match = _ID.search(head)
        logger.warning("a message of %d bytes or more was skipped (the limit is %d)", size, self.limit)
        if match is None:
            return "{}\n"  # not a request the SDK can answer; it reports the malformed message
        params: dict[str, Any] = {"name": _TOO_LARGE, "arguments": {"bytes": size}}
        if self._meta is not None:
            params["_meta"] = self._meta
        return json.dumps({"jsonrpc": "2.0", "id": json.loads(match.group(1)), "method": "tools/call",
                           "params": params}) + "\n"

    def _remember_meta(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        params = message.get("params") if isinstance(message, dict) else None
        meta = params.get("_meta") if isinstance(params, dict) else None
        if isinstance(meta, dict) and any(key.startswith("io.modelcontextprotocol/") for key in meta):
            self._meta = {k: v for k, v in meta.items() if k.startswith("io.modelcontextprotocol/")}


async def _run(tools: FollowupTools, stdin) -> None:
    server = build_server(tools)
    async with stdio_server(stdin=stdin) as (read_stream, write_stream):
        # the workers start once stdout is the protocol's alone (stdio_server points fd 1
        # at stderr), so nothing they print can reach the wire
        await anyio.to_thread.run_sync(tools.start)
        try:
            await server.run(read_stream, write_stream, server.create_initialization_options())
        finally:
            await anyio.to_thread.run_sync(tools.close)


def serve_stdio(policies_dir: str | None = None, engine: str = "auto", *, time_budget: float = TIME_BUDGET_SECONDS,
                limits: Limits = DEFAULT_LIMITS, stdin: Any = None,
                run: Callable[..., Any] = anyio.run) -> None:
    """Serve the tools over stdin and stdout until stdin closes."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="followup mcp: %(message)s")
    tools = FollowupTools(policies_dir, engine, time_budget=time_budget, limits=limits)
    run(_run, tools, _BoundedLines(stdin if stdin is not None else sys.stdin.buffer))
