"""``followup serve``: the HTTP JSON API, a thin adapter over :mod:`engine.service`.

Endpoints: ``POST /v1/audit``, ``POST /v1/check``, ``POST /v1/agenda`` (the timeline
inline, a policy by name), ``GET /v1/policies``, ``GET /healthz``; OpenAPI at
``/openapi.json`` (:mod:`engine.openapi`; Swagger UI at ``/docs`` and ReDoc at ``/redoc``,
from installed files); ``GET /readyz`` and ``GET /metrics`` for operators
(:mod:`engine.metrics`). With tenants (:mod:`engine.tenants`), ``/v1/`` needs an API key;
answers get a ``decision_id`` and go to the decision log (:mod:`engine.decisionlog`).
docs/operations.md describes running it.

* Request bodies must be JSON (``Content-Type: application/json``; anything else is
  415 ``request.unsupported-media-type``), so a web page cannot post to a local server
  with a CORS "simple request". They are read with the location-aware parser, so a
  bad timeline is a 422 whose messages are located ``request:line:col`` in the body.
* The server process never parses or evaluates: each request body goes to a pool of
  worker processes (:class:`~engine.backends.isolated.WorkerPool`, ``workers`` of
  them, both engines), so ``/healthz`` answers while a long request runs and a crash
  of the durable engine never takes the server down. The worker parses the body and
  asks the server for the policy it names. Bodies over ``large_body`` bytes go to
  separate workers (``large_workers``, at a lower CPU priority, at most
  ``large_queue`` such requests at once, more are 503 ``server.busy``), so large or
  slow requests never hold up small ones. Each request has a time budget
  (``time_budget`` seconds): past it, the answer is 503 ``request.over-budget`` and the
  worker busy with it is killed and replaced.
* Every error, including FastAPI's own 404/405 and an unexpected exception (500 with a
  problem id, logged with its traceback on the ``followup.server`` logger), has the
  same JSON shape, ``{"errors": [...], "messages": [...]}``, and leaves the connection
  usable.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import api
from . import openapi as openapi_doc
from .backends.isolated import PoolClosed, WorkerPool, default_pool_size
from .budget import Budget, OverBudget, check_budget_seconds
from .decide import Agenda, CheckResult, PlannedAction
from .decisionlog import DecisionLog
from .errors import InputError, Loc, Problem
from .findings import Finding
from .isolation import WorkerUnavailable
from .limits import (DEFAULT_LIMITS, LARGE_BODY_BYTES, LARGE_BODY_NICE, LARGE_BODY_QUEUE, LARGE_BODY_WORKERS,
                     MAX_BODY_BYTES, TIME_BUDGET_SECONDS, Limits)
from .metrics import CONTENT_TYPE, Observer, configure_access_log
from .policy.store import PolicyStore
from .tenants import Auth, Tenants
from .timeline import Timeline

__all__ = ["create_app", "serve", "MAX_BODY", "SHUTDOWN_GRACE"]

logger = logging.getLogger("followup.server")

#: request bodies larger than this are refused with 413
MAX_BODY = MAX_BODY_BYTES
#: on SIGTERM, requests still running after this many seconds are cancelled
SHUTDOWN_GRACE = 3.0
#: the worker function that answers request bodies
WORKER_TARGET = "engine.service:run"


# --------------------------------------------------------------------------- OpenAPI shapes


_DECISION_ID = ("This answer's id (a UUID), also in the `X-Decision-Id` header and in the decision log "
                "(`--decision-log`).")
_REVISION = ("The content hash (`sha256:...`) of the effective policy that made the answer; the same "
             "as `revision` in `GET /v1/policies` for the version in service.")


class Schemas:
    """The request and response shapes, named as in the OpenAPI document's components.

    The server does not bind request bodies to these models (the located parser in
    :mod:`engine.service` reads them, so errors stay ``request:line:col``); they describe
    what it accepts and answers.
    """

    class AuditRequest(BaseModel):
        """What `POST /v1/audit` reads."""

        model_config = ConfigDict(extra="forbid")
        timeline: Timeline = Field(description="The candidate's timeline (format v1), inline.")
        as_of: datetime = Field(description="Evaluate as of this instant (ISO 8601 with an offset, years "
                                            "1900-2199); events after it are left out.")
        policy: str = Field("etiquette", description="The name of a policy the server serves.")

    class CheckRequest(BaseModel):
        """What `POST /v1/check` reads. `at` (or the action's own `at`) is required."""

        model_config = ConfigDict(extra="forbid")
        timeline: Timeline = Field(description="The candidate's timeline (format v1), inline.")
        action: PlannedAction = Field(description="The message the candidate is about to send.")
        at: datetime | None = Field(None, description="When it would be sent (ISO 8601 with an offset); "
                                                      "wins over the action's own `at`.")
        policy: str = Field("etiquette", description="The name of a policy the server serves.")

    class AgendaRequest(BaseModel):
        """What `POST /v1/agenda` reads."""

        model_config = ConfigDict(extra="forbid")
        timeline: Timeline = Field(description="The candidate's timeline (format v1), inline.")
        as_of: datetime = Field(description="The instant the agenda is for (ISO 8601 with an offset).")
        policy: str = Field("etiquette", description="The name of a policy the server serves.")

    class AuditReport(BaseModel):
        """The findings contract: what `POST /v1/audit` answers (`AuditReport.contract()` in Python)."""

        as_of: str = Field(description="The instant evaluated, ISO 8601 UTC (`Z`).")
        policy: str = Field(description="The policy's name.")
        findings: list[Finding] = Field(description="Every finding, in rule order.")
        decision_id: str = Field(description=_DECISION_ID)
        policy_revision: str = Field(description=_REVISION)

    class CheckResult(CheckResult):
        """What `POST /v1/check` answers: the decision, its reasons, the earliest allowed instant and
        the alternatives (`engine.decide.CheckResult` in Python), with the server's decision id and the
        policy's revision."""

        decision_id: str = Field(description=_DECISION_ID)
        policy_revision: str = Field(description=_REVISION)

    class Agenda(Agenda):
        """What `POST /v1/agenda` answers: what is due, in order (`engine.decide.Agenda` in Python), with
        the server's decision id and the policy's revision."""

        decision_id: str = Field(description=_DECISION_ID)
        policy_revision: str = Field(description=_REVISION)

    class Problem(BaseModel):
        """One problem with a request: a stable code, a one-line message, where it is."""

        code: str = Field(description="A stable dotted code, e.g. `timeline.invalid`.")
        severity: Literal["error", "warning"] = Field(description="Always `error` in answers.")
        message: str = Field(description="One line, lowercase; values from the request in backticks.")
        file: str | None = Field(None, description="`request` when the problem is in the body (absent otherwise).")
        line: int | None = Field(None, description="1-based line in the body.")
        col: int | None = Field(None, description="1-based column in the body.")
        path: str | None = Field(None, description="The field, e.g. `timeline.events[0].at`.")
        id: str | None = Field(None, description="For `internal`: the problem id the server logged it under.")

    class ErrorResponse(BaseModel):
        """The answer to a request the service cannot answer (any 4xx or 5xx)."""

        errors: list["Schemas.Problem"] = Field(description="One object per problem.")
        messages: list[str] = Field(description="The same problems, one line each: `request:LINE:COL: "
                                                "error[CODE]: MESSAGE`.")

    class Health(BaseModel):
        """`GET /healthz`: the server is up and names its engine."""

        status: Literal["ok"]
        engine: Literal["durable", "reference"] = Field(description="The rules engine evaluations use.")

    class PolicyStatus(BaseModel):
        """A policy the server knows."""

        name: str = Field(description="The name requests use (`policy`).")
        file: str = Field(description="The file it is loaded from.")
        serving: bool = Field(description="Whether a version of it is in service.")
        rules: list[str] = Field(description="The rule ids of the version in service.")
        revision: str | None = Field(None, description="The content hash of the version in service "
                                                       "(`null` if none), as answers report it.")
        errors: list[str] = Field(description="The problems of its latest edit, one line each (empty if it loads).")

    class PolicyList(BaseModel):
        """`GET /v1/policies`."""

        policies: list["Schemas.PolicyStatus"]


Schemas.ErrorResponse.model_rebuild()
Schemas.PolicyList.model_rebuild()

#: (model, JSON Schema mode) of every component
_COMPONENTS = [
    (Schemas.AuditRequest, "validation"), (Schemas.CheckRequest, "validation"), (Schemas.AgendaRequest, "validation"),
    (Schemas.AuditReport, "serialization"), (Schemas.CheckResult, "serialization"),
    (Schemas.Agenda, "serialization"),
    (Schemas.ErrorResponse, "serialization"), (Schemas.Health, "serialization"),
    (Schemas.PolicyList, "serialization"),
]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


_ERRORS = {
    413: _json("ErrorResponse", "The body is over 2 MiB (`request.too-large`)."),
    415: _json("ErrorResponse", "The body is not `application/json` (`request.unsupported-media-type`)."),
    422: _json("ErrorResponse", "The body, its timeline, action, instants or policy are invalid; "
                                "each problem located `request:LINE:COL`."),
    500: _json("ErrorResponse", "A bug (`internal`, with the problem id it is logged under)."),
    503: _json("ErrorResponse", "Over the time budget (`request.over-budget`), or the server is "
                                "shutting down or has no worker (`server.*`)."),
}


def _post(request_model: str, answer: str, description: str) -> dict:
    return {
        "response_model": None,
        "openapi_extra": {"requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref(request_model)}}}},
        "responses": {200: {**_json(answer, description), "headers": {"X-Decision-Id": {
            "description": "The answer's `decision_id`.", "schema": {"type": "string", "format": "uuid"}}}},
            **_ERRORS},
    }


# --------------------------------------------------------------------------- errors


def _error(status: int, problems: list[Problem], headers: dict | None = None,
           extra: dict | None = None) -> JSONResponse:
    errors = [{**p.as_dict(), **(extra or {})} for p in problems]
    return JSONResponse(status_code=status, headers=headers,
                        content={"errors": errors, "messages": [str(p) for p in problems]})


def _internal(problem_id: str) -> JSONResponse:
    problem = Problem("internal", f"internal error, logged as problem `{problem_id}`; please report it")
    return _error(500, [problem], extra={"id": problem_id})


def _media_problem(content_type: str | None) -> Problem | None:
    """Why a request with this Content-Type is refused (415), or ``None`` if it is JSON."""
    code = "request.unsupported-media-type"
    if not content_type:
        return Problem(code, "the body must be JSON: send it with `Content-Type: application/json`")
    media, _, params = content_type.partition(";")
    media = media.strip()
    if media.lower() != "application/json":
        return Problem(code, f"the body must be JSON (`Content-Type: application/json`), not `{media[:100]}`")
    for param in params.split(";"):
        key, _, value = param.partition("=")
        value = value.strip().strip('"')
        if key.strip().lower() == "charset" and value.lower() not in ("utf-8", "utf8"):
            return Problem(code, f"the body must be UTF-8 JSON, not charset `{value[:40]}`")
    return None


class _Guard:
    """Outermost (inside Starlette's error middleware): refuses bodies over the limit by
    their Content-Length, and turns an unexpected exception into a logged 500 with a
    problem id, so it never reaches the server's error middleware, which would close
    the connection."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                response = _error(413, [Problem("request.too-large",
                                                f"the body is {int(value)} bytes; the limit is {MAX_BODY}")])
                await response(scope, receive, send)
                return
        started = False

        async def send_tracked(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            problem_id = str(uuid.uuid4())
            logger.error("internal error, problem %s, in %s %s", problem_id, scope.get("method"),
                         scope.get("path"), exc_info=exc)
            if not started:
                await _internal(problem_id)(scope, receive, send)


class _TooLarge(Exception):
    pass


class _Unsupported(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


# --------------------------------------------------------------------------- the application


def create_app(policies_dir: str | os.PathLike[str] | None = None, engine: str = "auto", *,
               time_budget: float = TIME_BUDGET_SECONDS, workers: int | None = None,
               max_calls: int = 5000, max_rss_mb: float = 512.0, limits: Limits = DEFAULT_LIMITS,
               tenants: Tenants | None = None, decision_log: DecisionLog | None = None,
               large_body: int | None = LARGE_BODY_BYTES, large_workers: int = LARGE_BODY_WORKERS,
               large_queue: int = LARGE_BODY_QUEUE, large_nice: int = LARGE_BODY_NICE) -> FastAPI:
    """The application; ``policies_dir`` adds an agency's policies to the shipped ones.

    Every request body is answered in one of ``workers`` worker processes (default: the
    number of cores), within ``time_budget`` seconds (default
    :data:`engine.limits.TIME_BUDGET_SECONDS`). The workers start with the application
    (its lifespan) and stop with it; ``max_calls`` and ``max_rss_mb`` recycle them.
    ``limits`` bounds each body (its ``max_events`` is the events limit per timeline; the
    body size limit is :data:`MAX_BODY`).

    With ``tenants`` (:func:`engine.tenants.load_tenants`), every ``/v1/`` request needs a
    tenant's key and uses that tenant's policies (``policies_dir`` is then unused). A
    ``decision_log`` (:class:`engine.decisionlog.DecisionLog`) gets a line per answer; the
    application starts and closes it. Metrics: ``/metrics``; readiness: ``/readyz``
    (:mod:`engine.metrics`).

    Admission control: a body of more than ``large_body`` bytes (its Content-Length; its
    length in characters without one) goes to a separate
    pool of ``large_workers`` workers (started on the first such request, ``nice``
    ``large_nice``), and at most ``large_queue`` such requests are in the server at once
    (more: 503 ``server.busy``, before the body is read when its Content-Length shows it is
    large); ``large_body=None`` sends every body to the same pool.
    Defaults: :mod:`engine.limits`.
    """
    time_budget = check_budget_seconds(time_budget, "the time budget")
    workers = default_pool_size() if workers is None else workers
    store = PolicyStore(policies_dir)
    auth = Auth(tenants, store)
    notices: list[str] = []
    engine_name = api.resolve_engine(engine, notices)
    for notice in notices:
        logger.info("%s", notice)
    pool = WorkerPool(WORKER_TARGET, workers, max_calls=max_calls, max_rss_mb=max_rss_mb,
                      initializer="engine.service:warm_up")
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="followup-request")
    observer = Observer(pool, auth, engine_name, decision_log)
    large_pool = large_executor = None
    if large_body is not None:
        if large_queue < 1:
            raise ValueError(f"large_queue must be >= 1, not `{large_queue}`")
        large_pool = WorkerPool(WORKER_TARGET, large_workers, max_calls=max_calls, max_rss_mb=max_rss_mb,
                                initializer="engine.service:warm_up", name=f"{WORKER_TARGET} (large bodies)",
                                nice=large_nice)
        large_executor = ThreadPoolExecutor(max_workers=large_workers, thread_name_prefix="followup-large")
    #: large requests in the server now (waiting or running); read and written on the event loop only
    large_in_flight = [0]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pool.start)
        if decision_log is not None:
            decision_log.start()
        try:
            yield
        finally:
            await loop.run_in_executor(None, pool.close)
            executor.shutdown(wait=False, cancel_futures=True)
            if large_pool is not None:
                await loop.run_in_executor(None, large_pool.close)
                large_executor.shutdown(wait=False, cancel_futures=True)
            if decision_log is not None:
                await loop.run_in_executor(None, decision_log.close)  # every queued line is written

    app = FastAPI(title="followup", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Follow-up etiquette checks for job-application trackers: audit a candidate's "
                              "timeline, decide whether a planned message may be sent now, list what is due. "
                              "Request bodies are JSON; every error answer has the same shape "
                              "(`ErrorResponse`).")
    app.state.store = store
    app.state.engine = engine_name
    app.state.pool = pool
    app.state.large_pool = large_pool
    app.state.large_in_flight = large_in_flight
    app.state.time_budget = time_budget
    app.state.require_auth = tenants is not None  # the OpenAPI document says the key is required
    app.state.auth, app.state.observer = auth, observer
    app.add_middleware(auth.middleware(_error))  # inside _Guard: 401 without a tenant's key
    app.add_middleware(_Guard)
    app.add_middleware(observer.middleware())  # outermost: counts and logs every answer

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError):
        return _error(422, exc.problems)

    @app.exception_handler(_TooLarge)
    async def _too_large(request: Request, exc: _TooLarge):
        return _error(413, [Problem("request.too-large", f"the body is over {MAX_BODY} bytes")])

    @app.exception_handler(OverBudget)
    async def _over_budget(request: Request, exc: OverBudget):
        return _error(503, [exc.problem])

    @app.exception_handler(PoolClosed)
    async def _closing(request: Request, exc: PoolClosed):
        return _error(503, [Problem("server.shutting-down", "the server is shutting down; try again")])

    @app.exception_handler(WorkerUnavailable)
    async def _no_worker(request: Request, exc: WorkerUnavailable):
        return _error(503, [Problem("server.unavailable", "no worker process could answer this request; "
                                                          "try again (the incident is logged)")])

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        path = request.url.path[:200]
        if exc.status_code == 404:
            problem = Problem("request.not-found", f"no endpoint `{path}`; see /openapi.json")
        elif exc.status_code == 405:
            problem = Problem("request.method-not-allowed",
                              f"`{request.method}` is not allowed on `{path}`; see /openapi.json")
        else:
            problem = Problem("request.invalid", str(exc.detail).replace("\n", " ")[:200].lower())
        return _error(exc.status_code, [problem], headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        problems = [Problem("request.invalid", f"`{'.'.join(str(p) for p in e.get('loc', ()))}`: "
                                               f"{str(e.get('msg', '')).lower()}") for e in exc.errors()]
        return _error(422, problems or [Problem("request.invalid", "invalid request")])

    async def _read(request: Request) -> str:
        problem = _media_problem(request.headers.get("content-type"))
        if problem is not None:
            raise _Unsupported(problem)
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise _TooLarge()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(Problem("request.encoding", "the body is not UTF-8", Loc("request"))) from None

    @app.exception_handler(_Unsupported)
    async def _unsupported(request: Request, exc: _Unsupported):
        return _error(415, [exc.problem])

    def _job(lane: WorkerPool, endpoint: str, text: str, budget: Budget, refs) -> tuple:
        # no policy ref: the worker parses the body and asks for the policy it names (the tenant's refs answer)
        return lane.call(engine_name, (endpoint, text, None, limits), budget, answer=refs.answer)

    def _busy() -> Response:
        return _error(503, [Problem("server.busy", f"the server is busy with other large requests "
                                                   f"(bodies over {large_body} bytes); try again")],
                      headers={"Retry-After": "1"})

    async def _answer(request: Request, endpoint: str) -> Response:
        declared = request.headers.get("content-length", "")
        size = int(declared) if declared.isdigit() else None
        if (large_pool is not None and size is not None and size > large_body and large_in_flight[0] >= large_queue
                and _media_problem(request.headers.get("content-type")) is None):
            return _busy()  # refused before its body is read
        text = await _read(request)
        tenant = auth.of(request.scope)
        size = len(text) if size is None else size
        budget = Budget(time_budget)
        loop = asyncio.get_running_loop()
        if large_pool is None or size <= large_body:
            kind, value = await loop.run_in_executor(executor, _job, pool, endpoint, text, budget, tenant.refs)
        else:
            if large_in_flight[0] >= large_queue:
                return _busy()
            large_in_flight[0] += 1
            try:
                kind, value = await loop.run_in_executor(large_executor, _job, large_pool, endpoint, text, budget,
                                                         tenant.refs)
            finally:
                large_in_flight[0] -= 1
        if kind == "ok":
            body, headers = observer.answered(request.scope, tenant.name, endpoint, text, value)
            return JSONResponse(body, headers=headers)
        return _error(422, value)

    @app.get("/healthz", operation_id="health", tags=["server"],
             summary="Is the server up, and which engine does it use?",
             response_model=None, responses={200: _json("Health", "The server is up."), 500: _ERRORS[500]})
    async def healthz() -> Response:
        return JSONResponse({"status": "ok", "engine": engine_name})

    @app.get("/v1/policies", operation_id="listPolicies", tags=["policies"], summary="The policies the server knows",
             description="The shipped policies and those in the agency directory: whether each is served, "
                         "its rules, and the problems of its latest edit.",
             response_model=None, responses={200: _json("PolicyList", "Every known policy."), 500: _ERRORS[500]})
    def policies(request: Request) -> Response:
        return JSONResponse({"policies": auth.of(request.scope).store.status()})

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        ready, body = observer.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(observer.exposition(), media_type=CONTENT_TYPE)

    @app.post("/v1/audit", operation_id="audit", tags=["decisions"], summary="Findings of a policy on a timeline",
              description="Every finding of `policy` on `timeline` as of `as_of` (events after it are left out).",
              **_post("AuditRequest", "AuditReport", "The findings contract."))
    async def audit_(request: Request) -> Response:
        return await _answer(request, "audit")

    @app.post("/v1/check", operation_id="check", tags=["decisions"],
              summary="May the candidate send this message now?",
              description="Allow or deny the planned `action` at `at`; when denied, the earliest allowed "
                          "instant and concrete alternatives.",
              **_post("CheckRequest", "CheckResult", "The decision."))
    async def check_(request: Request) -> Response:
        return await _answer(request, "check")

    @app.post("/v1/agenda", operation_id="agenda", tags=["decisions"], summary="What is due next?",
              description="Open obligations, inquiry windows and standing prohibitions as of `as_of`.",
              **_post("AgendaRequest", "Agenda", "The agenda."))
    async def agenda_(request: Request) -> Response:
        return await _answer(request, "agenda")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_doc.document(
                title=app.title, version=app.version, description=app.description, routes=app.routes,
                components=_COMPONENTS, require_auth=bool(getattr(app.state, "require_auth", False)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    openapi_doc.add_reference_pages(app)
    return app


def serve(host: str = "127.0.0.1", port: int = 8080, policies_dir: str | None = None, engine: str = "auto", *,
          time_budget: float = TIME_BUDGET_SECONDS, workers: int | None = None,
          limits: Limits = DEFAULT_LIMITS, tenants: Tenants | None = None,
          decision_log: DecisionLog | None = None) -> None:
    """Run the server until SIGTERM/SIGINT; requests still running :data:`SHUTDOWN_GRACE`
    seconds after the signal are cancelled and the workers stopped (then the decision log
    is flushed and closed). Access logs: one JSON line per request on stderr."""
    import uvicorn
    configure_access_log()
    uvicorn.run(create_app(policies_dir, engine, time_budget=time_budget, workers=workers, limits=limits,
                           tenants=tenants, decision_log=decision_log),
                host=host, port=port, access_log=False,  # followup.access has the same, as JSON lines
                log_level="info", timeout_graceful_shutdown=SHUTDOWN_GRACE)
