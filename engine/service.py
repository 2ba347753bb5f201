"""The HTTP API's requests without the web framework: read a body, answer it.

The server (:mod:`engine.server`) does no parsing or evaluation itself: it hands the
body text of ``POST /v1/audit``, ``/v1/check`` and ``/v1/agenda`` to a worker process
(:class:`engine.backends.isolated.WorkerPool`), which runs :func:`run`. So a long
evaluation never blocks the server, a crash in the durable engine never takes it
down, and the worker can be killed when the request runs out of time.

Bodies are JSON only, read by :func:`~engine.source.read_document` within the limits
(``json.loads``, bounded in depth, nodes and numbers); only when there is a problem to
locate are they read again with locations, so every message is ``request:LINE:COL``.

The policy a body names is looked up by the server, in its
:class:`~engine.policy.store.PolicyStore` (which keeps the last good version of an
edited file): the worker, having parsed the body, asks the server for it by name
(:func:`engine.isolation.ask`), so the server never parses a body itself;
:class:`PolicyRefs` answers, pickling each loaded version once, and sends the pickle
only to a worker that does not have that version yet.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from . import api
from .decide import agenda, check, check_action_refs, planned_action_from_data
from .errors import EngineError, InputError, Loc, Problem, did_you_mean
from .isolation import AskFailed, ask
from .policy import Policy
from .limits import DEFAULT_LIMITS, Limits
from .source import Document, read_document
from .timeline import timeline_from_data

__all__ = ["ENDPOINTS", "FIELDS", "Body", "PolicyRefs", "answer", "run", "warm_up", "policy_name_of"]

logger = logging.getLogger("followup.server")

#: the endpoints :func:`run` answers
ENDPOINTS = ("audit", "check", "agenda")
#: the fields each request body may have
FIELDS = {
    "audit": ("timeline", "as_of", "policy"),
    "check": ("timeline", "action", "at", "policy"),
    "agenda": ("timeline", "as_of", "policy"),
}
DEFAULT_POLICY = "etiquette"

#: what the worker is told about the body's policy: ("policy", name, token, pickled Policy,
#: or None when the worker said it has that token) or ("problems", name, [Problem]) when
#: the server could not serve it. Asked for with ("policy", name, tokens the worker has).
PolicyRef = tuple


class Body:
    """A request body: read with ``json.loads`` (bounded); located only when there is a
    problem to report."""

    def __init__(self, text: str, limits: Limits = DEFAULT_LIMITS):
        self.text = text
        self.limits = limits
        # json.loads, bounded (depth, nodes, numbers); located only when there is an error
        doc = read_document(text, "request", limits)
        if not doc.is_json:
            raise InputError(Problem("request.not-json", "the body is not JSON (it reads as YAML); request "
                                     "bodies are JSON objects", Loc("request", 1, 1)))
        self._doc: Document = doc
        self.data = doc.data
        if not isinstance(self.data, dict):
            raise InputError(Problem("request.not-a-mapping", "the request body must be a JSON object",
                                     self.doc.loc_of(())))

    @property
    def doc(self) -> Document:
        return self._doc

    def located(self, build):
        """``build(doc)`` without locations; on an input error, again with them for the messages."""
        try:
            return build(None)
        except InputError:
            return build(self.doc)

    def only(self, names: tuple[str, ...]) -> None:
        """Refuse fields other than ``names`` (located at their keys)."""
        unknown = [k for k in self.data if k not in names]
        if unknown:
            expected = ", ".join(f"`{n}`" for n in names[:-1]) + f" or `{names[-1]}`"
            raise InputError([Problem("request.unknown-field",
                                      f"unknown field `{k}` (expected {expected}){did_you_mean(k, names)}",
                                      self.doc.loc_of((k,), key=True), path=str(k)) for k in unknown])

    def field(self, name: str, required: bool = True) -> Any:
        if name not in self.data:
            if required:
                raise InputError(Problem("request.missing-field", f"missing required field `{name}`",
                                         self.doc.loc_of(())))
            return None
        return self.data[name]

    def instant(self, name: str, required: bool = True) -> datetime | None:
        value = self.field(name, required)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise InputError(Problem("request.invalid", f"`{name}` must be an ISO 8601 string",
                                     self.doc.loc_of((name,)), path=name))
        try:
            return api.parse_instant(value, f"`{name}`")
        except InputError as exc:
            raise InputError([Problem(p.code, p.message, self.doc.loc_of((name,)), path=name)
                              for p in exc.problems]) from None

    def timeline(self):
        self.field("timeline")
        return self.located(lambda doc: timeline_from_data(self.data["timeline"], doc, root=("timeline",),
                                                           max_events=self.limits.max_events))

    def policy_name(self) -> str:
        name = policy_name_of(self.data)
        if name is None:
            raise InputError(Problem("request.invalid", "`policy` must be a policy name",
                                     self.doc.loc_of(("policy",)), path="policy"))
        return name

    def policy(self, ref: PolicyRef | None) -> Policy:
        """The body's policy: from ``ref``, or (``None``) asked of the server by name."""
        name = self.policy_name()
        if ref is None:
            try:
                ref = ask(("policy", name, tuple(_policies)))
            except AskFailed as exc:
                raise RuntimeError(f"no policy for `{name}`: {exc}") from None
        if ref is None or ref[1] != name:
            raise RuntimeError(f"the server sent no policy for `{name}`")
        if ref[0] == "problems":
            raise InputError(ref[2])
        return _policy(ref[2], ref[3])


def policy_name_of(data: Any) -> str | None:
    """The policy a parsed body names (``etiquette`` when it names none); ``None`` if not a name."""
    name = data.get("policy") if isinstance(data, dict) else None
    if name is None:
        return DEFAULT_POLICY
    return name if isinstance(name, str) else None


def answer(endpoint: str, text: str, ref: PolicyRef | None, engine: str, limits: Limits = DEFAULT_LIMITS) -> dict:
    """The JSON answer to one request body, computed here, with the ``policy_revision`` of the
    policy used; raise :class:`InputError`.

    ``ref`` is the body's policy; ``None``: ask the calling process for it (in a worker).
    """
    body = Body(text, limits)
    body.only(FIELDS[endpoint])
    if endpoint == "audit":
        timeline, as_of = body.timeline(), body.instant("as_of")
        policy = body.policy(ref)
        return _revised(api.audit(timeline, policy, as_of, engine=engine).contract(), policy)
    if endpoint == "check":
        timeline = body.timeline()
        action = body.located(lambda doc: planned_action_from_data(body.field("action"), doc, root=("action",)))
        body.located(lambda doc: check_action_refs(timeline, action, doc, root=("action",)))
        at = body.instant("at", required=False) or action.at
        if at is None:
            raise InputError(Problem("request.missing-field", "say when: `at` in the body or in the action",
                                     body.doc.loc_of(())))
        policy = body.policy(ref)
        return _revised(check(timeline, action, policy, at, engine=engine).model_dump(mode="json"), policy)
    if endpoint == "agenda":
        timeline, as_of = body.timeline(), body.instant("as_of")
        policy = body.policy(ref)
        return _revised(agenda(timeline, policy, as_of, engine=engine).model_dump(mode="json"), policy)
    raise ValueError(f"unknown endpoint `{endpoint}`")


def _revised(answer: dict, policy: Policy) -> dict:
    """The answer with the revision of the policy that made it (its content hash)."""
    answer["policy_revision"] = policy.revision
    return answer


def warm_up() -> None:
    """Run once in each new worker: import what the first request would otherwise wait for
    (the public-holiday tables take most of a second), and build the timeline's validator
    (its models are ``defer_build``: the command line's cold start does not wait for it)."""
    import holidays.countries  # noqa: F401

    from .timeline import Timeline
    Timeline.model_rebuild()


def run(payload: tuple[str, tuple[str, str, PolicyRef | None]]) -> tuple:
    """The worker side: ``("ok", answer)`` or ``("error", [Problem])`` for one request.

    ``payload`` is ``(engine, (endpoint, body text, policy ref[, limits]))``; with a ref of
    ``None``, the worker asks the server for the policy the body names. If the durable engine
    raises (an :class:`~engine.errors.EngineError`, not a crash), the request is answered
    with the reference engine here.
    """
    engine, (endpoint, text, ref, *rest) = payload
    limits = rest[0] if rest else DEFAULT_LIMITS
    try:
        try:
            return "ok", answer(endpoint, text, ref, engine, limits)
        except EngineError as exc:
            if engine != "durable":
                raise
            logger.warning("the durable engine failed (%s); answering with the reference engine", exc)
            return "ok", answer(endpoint, text, ref, "reference", limits)
    except InputError as exc:
        return "error", exc.problems


# --------------------------------------------------------------------------- policies


_CACHE_SIZE = 32
#: in a worker: token -> Policy, most recently used last
_policies: "OrderedDict[int, Policy]" = OrderedDict()


def _policy(token: int, data: bytes | None) -> Policy:
    policy = _policies.get(token)
    if policy is None:
        if data is None:
            raise RuntimeError(f"the server sent no pickle of policy version {token}")
        policy = _policies[token] = pickle.loads(data)
        while len(_policies) > _CACHE_SIZE:
            _policies.popitem(last=False)
    else:
        _policies.move_to_end(token)
    return policy


#: tokens of pickled policies, unique in the process (several PolicyRefs, one per tenant, share one pool)
_TOKENS = itertools.count(1)


class PolicyRefs:
    """The server side: what to tell a worker about the policy a body names.

    Each loaded version of a policy (an object the store hands out) is pickled once and
    given a token, so a worker unpickles it once too; a worker that says it has the
    token gets no pickle.
    """

    def __init__(self, store):
        self.store = store
        self._tokens = _TOKENS  # shared: a worker caches policies by token, whichever tenant sent them
        self._pickled: "OrderedDict[int, tuple[Policy, int, bytes]]" = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, question: tuple) -> PolicyRef:
        """A worker's question ``("policy", name, tokens it has)``: :meth:`for_name`."""
        kind, name, have = question
        if kind != "policy" or not isinstance(name, str):
            raise ValueError(f"a question this server does not answer: {kind!r}")
        ref = self.for_name(name)
        if ref[0] == "policy" and ref[2] in have:
            return ref[:3] + (None,)
        return ref

    def for_name(self, name: str) -> PolicyRef:
        """The version in service of the policy called ``name``, or its problems."""
        try:
            policy = self.store.get(name)
        except InputError as exc:
            return "problems", name, exc.problems
        token, blob = self._pickle(policy)
        return "policy", name, token, blob

    def _pickle(self, policy: Policy) -> tuple[int, bytes]:
        with self._lock:
            entry = self._pickled.get(id(policy))
            if entry is not None and entry[0] is policy:
                self._pickled.move_to_end(id(policy))
                return entry[1], entry[2]
        blob = pickle.dumps(policy, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            token = next(self._tokens)
            self._pickled[id(policy)] = (policy, token, blob)  # holds the policy: its id stays unique
            while len(self._pickled) > _CACHE_SIZE:
                self._pickled.popitem(last=False)
        return token, blob
