"""``followup serve``: the HTTP JSON API, a thin adapter over :mod:`engine.api` and :mod:`engine.decide`.

Endpoints: ``POST /v1/audit``, ``POST /v1/check``, ``POST /v1/agenda`` (the timeline
inline, a policy by name), ``GET /v1/policies``, ``GET /healthz``; OpenAPI at ``/docs``.
Request bodies are read with the same location-aware parser as files, so a bad
timeline is a 422 whose messages are located ``request:line:col`` in the body.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from . import api
from .decide import agenda, check, check_action_refs, planned_action_from_data
from .errors import InputError, Problem
from .policy.store import PolicyStore
from .source import parse_document, read_document
from .timeline import timeline_from_data

__all__ = ["create_app", "MAX_BODY"]

#: request bodies larger than this are refused with 413
MAX_BODY = 2 * 1024 * 1024


class AuditBody(BaseModel):
    timeline: dict[str, Any]
    policy: str = "etiquette"
    as_of: str


class CheckBody(BaseModel):
    timeline: dict[str, Any]
    action: dict[str, Any]
    policy: str = "etiquette"
    at: str | None = None


class AgendaBody(BaseModel):
    timeline: dict[str, Any]
    policy: str = "etiquette"
    as_of: str


def _error(status: int, problems: list[Problem]) -> JSONResponse:
    return JSONResponse(status_code=status, content={
        "errors": [p.as_dict() for p in problems], "messages": [str(p) for p in problems]})


def _strict_pairs(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")  # the located parser then says which, and where
    return dict(pairs)


class _Body:
    """A request body: read with ``json.loads`` (fast); read again with locations
    (:func:`~engine.source.parse_document`) only when there is a problem to locate."""

    def __init__(self, text: str):
        self.text = text
        # json.loads where it gives what the located parse would; bounded depth, size, numbers
        self._doc: Any = read_document(text, "request")
        self.data = self._doc.data
        if not isinstance(self.data, dict):
            raise InputError(Problem("request.not-a-mapping", "the request body must be a JSON object",
                                     self.doc.loc_of(())))

    @property
    def doc(self):
        if self._doc is None:
            self._doc = parse_document(self.text, "request")
        return self._doc

    def located(self, build):
        """``build(doc)`` without locations; on an input error, again with them for the messages."""
        try:
            return build(None)
        except InputError:
            return build(self.doc)

    def field(self, name: str, required: bool = True) -> Any:
        if name not in self.data:
            if required:
                raise InputError(Problem("request.missing-field", f"missing required field `{name}`",
                                         self.doc.loc_of(())))
            return None
        return self.data[name]

    def instant(self, name: str, required: bool = True) -> datetime | None:
        value = self.field(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InputError(Problem("request.invalid", f"`{name}` must be an ISO 8601 string",
                                     self.doc.loc_of((name,))))
        try:
            return api.parse_instant(value, f"`{name}`")
        except InputError as exc:
            raise InputError([Problem(p.code, p.message, self.doc.loc_of((name,))) for p in exc.problems]) from None

    def timeline(self):
        self.field("timeline")
        return self.located(lambda doc: timeline_from_data(self.data["timeline"], doc, root=("timeline",)))

    def policy_name(self) -> str:
        name = self.field("policy", required=False) or "etiquette"
        if not isinstance(name, str):
            raise InputError(Problem("request.invalid", "`policy` must be a policy name",
                                     self.doc.loc_of(("policy",))))
        return name


def create_app(policies_dir: str | os.PathLike[str] | None = None, engine: str = "auto",
               worker_timeout: float = 10.0) -> FastAPI:
    """The application; ``policies_dir`` adds an agency's policies to the shipped ones.

    With the durable engine, evaluations run in a crash-isolated worker process
    (:class:`~engine.backends.isolated.IsolatedBackend`), so no request can take the
    server down.
    """
    store = PolicyStore(policies_dir)
    notices: list[str] = []
    engine_name = api.resolve_engine(engine, notices)
    backend: Any = engine_name
    if engine_name == "durable":
        from .backends.isolated import IsolatedBackend
        backend = IsolatedBackend(timeout=worker_timeout)
    app = FastAPI(title="followup", version="1",
                  description="Follow-up etiquette checks for job-application trackers.")
    app.state.store = store
    app.state.engine = engine_name
    app.state.backend = backend

    @app.middleware("http")
    async def _limit(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY:
            return _error(413, [Problem("request.too-large", f"the body is {length} bytes; the limit is {MAX_BODY}")])
        return await call_next(request)

    async def _read(request: Request) -> _Body:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise _TooLarge()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(Problem("request.encoding", "the body is not UTF-8")) from None
        return _Body(text)

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError):
        return _error(422, exc.problems)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        return _error(500, [Problem("internal", f"{type(exc).__name__}: {exc}")])

    class _TooLarge(Exception):
        pass

    @app.exception_handler(_TooLarge)
    async def _too_large(request: Request, exc: _TooLarge):
        return _error(413, [Problem("request.too-large", f"the body is over {MAX_BODY} bytes")])

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "engine": engine_name}

    @app.get("/v1/policies")
    def policies() -> dict:
        return {"policies": store.status()}

    @app.post("/v1/audit", openapi_extra={"requestBody": {"content": {"application/json": {
        "schema": AuditBody.model_json_schema()}}, "required": True}})
    async def audit_(request: Request) -> dict:
        body = await _read(request)
        timeline, as_of = body.timeline(), body.instant("as_of")
        report = api.audit(timeline, store.get(body.policy_name()), as_of, engine=backend)
        return report.contract()

    @app.post("/v1/check", openapi_extra={"requestBody": {"content": {"application/json": {
        "schema": CheckBody.model_json_schema()}}, "required": True}})
    async def check_(request: Request) -> dict:
        body = await _read(request)
        timeline = body.timeline()
        action = body.located(lambda doc: planned_action_from_data(body.field("action"), doc, root=("action",)))
        body.located(lambda doc: check_action_refs(timeline, action, doc, root=("action",)))
        at = body.instant("at", required=False) or action.at
        if at is None:
            raise InputError(Problem("request.missing-field", "say when: `at` in the body or in the action",
                                     body.doc.loc_of(())))
        return check(timeline, action, store.get(body.policy_name()), at, engine=backend).model_dump()

    @app.post("/v1/agenda", openapi_extra={"requestBody": {"content": {"application/json": {
        "schema": AgendaBody.model_json_schema()}}, "required": True}})
    async def agenda_(request: Request) -> dict:
        body = await _read(request)
        timeline, as_of = body.timeline(), body.instant("as_of")
        return agenda(timeline, store.get(body.policy_name()), as_of, engine=backend).model_dump()

    return app


def serve(host: str = "127.0.0.1", port: int = 8080, policies_dir: str | None = None, engine: str = "auto") -> None:
    import uvicorn
    uvicorn.run(create_app(policies_dir, engine), host=host, port=port, log_level="info")
