"""What the server tells its operators: Prometheus metrics, readiness, access logs, decisions.

Built on ``prometheus-client``, one :class:`~prometheus_client.CollectorRegistry` per
application (so applications in one process, e.g. tests, never share counters).

==========================================  =======================================  =====================
metric                                      labels                                   what
==========================================  =======================================  =====================
``followup_requests_total``                 ``endpoint``, ``status``, ``tenant``     every request
``followup_request_duration_seconds``       ``endpoint``, ``status``                 its latency
``followup_decisions_total``                ``tenant``, ``endpoint``, ``result``     answers (allow/deny/agenda)
``followup_worker_incidents_total``         (none)                                   workers lost: crash, kill, timeout
``followup_worker_recycles_total``          (none)                                   planned worker replacements
``followup_worker_retries_total``           (none)                                   requests retried on a fresh worker
``followup_requests_over_budget_total``     (none)                                   answers 503 ``request.over-budget``
``followup_workers_up``                     (none)                                   worker processes running
``followup_policy_loads_total``             ``tenant``                               policy versions loaded (first + reloads)
``followup_policy_load_errors_total``       ``tenant``                               of which failed (last good kept)
``followup_policies_serving``               ``tenant``                               policies with a version in service
``followup_tenants_reloads_total``          (none)                                   tenants file reloads (with ``--tenants``)
``followup_tenants_reload_errors_total``    (none)                                   of which failed (last good kept)
``followup_decision_log_written_total``     (none)                                   decision-log lines written
``followup_decision_log_dropped_total``     (none)                                   records dropped (queue full)
==========================================  =======================================  =====================

``endpoint`` is the route (``/v1/check``...), or ``other`` for any path the server does not
serve, so a caller cannot create label values. ``tenant`` is ``-`` without ``--tenants`` or
before a key is checked.

Every request also gets one JSON line on the ``followup.access`` logger (method, path,
status, latency, tenant, decision id, time; never a body or a header).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .decisionlog import Decision, DecisionLog, result_of
from .tenants import ANONYMOUS

__all__ = ["Observer", "ENDPOINTS", "CONTENT_TYPE", "configure_access_log"]

access_log = logging.getLogger("followup.access")
log = logging.getLogger("followup.server")

#: the paths that get their own ``endpoint`` label
ENDPOINTS = frozenset({"/v1/audit", "/v1/check", "/v1/agenda", "/v1/policies", "/healthz", "/readyz", "/metrics",
                       "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: latency buckets, in seconds (the time budget is 10 s by default)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def configure_access_log(stream=None) -> None:
    """Send ``followup.access`` lines (INFO) to ``stream`` (default stderr), one JSON object
    each, unless the logger already has a handler (an application's own logging config)."""
    if access_log.handlers:
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


class Observer:
    """Metrics, access logs and the decision log of one application.

    :param pool: the :class:`~engine.backends.isolated.WorkerPool` (its :meth:`stats`).
    :param auth: the :class:`~engine.tenants.Auth` (its tenants' contexts and reload counters).
    :param decision_log: a started-by-the-lifespan :class:`DecisionLog`, or ``None``.
    """

    def __init__(self, pool: Any, auth: Any, engine: str, decision_log: DecisionLog | None = None):
        self.pool = pool
        self.auth = auth
        self.engine = engine
        self.decision_log = decision_log
        self.registry = CollectorRegistry()
        self.requests = Counter("followup_requests", "HTTP requests answered.", ["endpoint", "status", "tenant"],
                                registry=self.registry)
        self.latency = Histogram("followup_request_duration_seconds", "Time to answer an HTTP request.",
                                 ["endpoint", "status"], buckets=BUCKETS, registry=self.registry)
        self.decisions = Counter("followup_decisions", "Audit, check and agenda answers, by result.",
                                 ["tenant", "endpoint", "result"], registry=self.registry)
        self.registry.register(_Collector(self))

    # -- the hooks ------------------------------------------------------------------------------

    def middleware(self):
        """The outermost ASGI middleware: times every request, counts it, logs its access line."""
        observer = self

        class _Observe:
            def __init__(self, app):
                self.app = app

            async def __call__(self, scope, receive, send):
                if scope["type"] != "http":
                    await self.app(scope, receive, send)
                    return
                ops = {"start": time.perf_counter(), "tenant": ANONYMOUS, "decision_id": None}
                scope["followup.ops"] = ops
                status = 500

                async def send_observed(message):
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                try:
                    await self.app(scope, receive, send_observed)
                finally:
                    observer._observe(scope, ops, status)

        return _Observe

    def _observe(self, scope: dict, ops: dict, status: int) -> None:
        try:
            elapsed = time.perf_counter() - ops["start"]
            path = scope.get("path", "")
            endpoint = path if path in ENDPOINTS else "other"
            self.requests.labels(endpoint, str(status), ops["tenant"]).inc()
            self.latency.labels(endpoint, str(status)).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s", json.dumps({
                    "method": str(scope.get("method", ""))[:16], "path": path[:200], "status": status,
                    "latency_ms": round(elapsed * 1000, 3), "tenant": ops["tenant"],
                    "decision_id": ops["decision_id"],
                    "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}, ensure_ascii=False))
        except Exception:  # the answer has gone out; never let bookkeeping fail a request
            log.exception("could not record the metrics of a request")

    def answered(self, scope: dict, tenant: str, endpoint: str, text: str, answer: dict) -> tuple[dict, dict]:
        """A 200 answer of ``endpoint``: its body with a ``decision_id`` and its headers; the
        decision is counted and queued for the decision log."""
        decision_id = str(uuid.uuid4())
        body = {**answer, "decision_id": decision_id}
        ops = scope.get("followup.ops") or {}
        ops["decision_id"] = decision_id
        self.decisions.labels(tenant, endpoint, result_of(endpoint, answer)).inc()
        if self.decision_log is not None:
            started = ops.get("start", time.perf_counter())
            self.decision_log.record(Decision(decision_id, datetime.now(timezone.utc), tenant, endpoint,
                                              self.engine, answer, text, (time.perf_counter() - started) * 1000))
        return body, {"X-Decision-Id": decision_id}

    # -- the endpoints --------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """``/metrics``: the registry in the Prometheus text format."""
        return generate_latest(self.registry)

    def readiness(self) -> tuple[bool, dict]:
        """``/readyz``: ready when every tenant's policies can be listed and at least one is in
        service, and every worker is up; otherwise the reasons (naming no tenant). A policy
        that does not load makes nobody unready: it is listed by ``/v1/policies``."""
        reasons: list[str] = []
        if self.pool.closed:
            reasons.append("the server is shutting down")
        stats = self.pool.stats()
        if stats["workers_up"] < stats["size"]:
            reasons.append(f"{stats['workers_up']} of {stats['size']} engine workers are up")
        unreadable = 0
        for context in list(self.auth.contexts.values()):
            try:
                status = context.store.status()
            except Exception:  # a bug; status() reports bad files itself
                log.exception("the policies of tenant `%s` could not be listed", context.name)
                unreadable += 1
                continue
            if not any(p["serving"] for p in status):
                unreadable += 1
        if unreadable:
            reasons.append(f"the policies of {unreadable} tenant(s) are not loaded")
        ready = not reasons
        return ready, {"status": "ready" if ready else "not-ready", "reasons": reasons,
                       "workers": {"up": stats["workers_up"], "size": stats["size"]}}


class _Collector:
    """Reads the counters kept elsewhere (worker pool, policy stores, decision log) on each scrape."""

    def __init__(self, observer: Observer):
        self.observer = observer

    def describe(self):
        return []  # collected on scrape only; nothing to check at registration

    def collect(self):
        obs = self.observer
        stats = obs.pool.stats()
        for name, key, doc in (
                ("followup_worker_incidents", "incidents",
                 "Engine workers lost to a crash, a kill, a timeout or a broken pipe (and replaced)."),
                ("followup_worker_recycles", "recycles", "Engine workers replaced as planned (max calls or memory)."),
                ("followup_worker_retries", "retries", "Requests retried on a fresh worker after losing one."),
                ("followup_requests_over_budget", "over_budget", "Requests answered 503 over their time budget.")):
            family = CounterMetricFamily(name, doc)
            family.add_metric([], stats[key])
            yield family
        up = GaugeMetricFamily("followup_workers_up", "Engine worker processes running.")
        up.add_metric([], stats["workers_up"])
        yield up
        loads = CounterMetricFamily("followup_policy_loads", "Policy versions loaded (the first and every reload).",
                                    labels=["tenant"])
        errors = CounterMetricFamily("followup_policy_load_errors",
                                     "Policy loads that failed (the last good version stays in service).",
                                     labels=["tenant"])
        serving = GaugeMetricFamily("followup_policies_serving", "Policies with a version in service (as of the "
                                    "last request or readiness check that looked).", labels=["tenant"])
        for name, context in list(obs.auth.contexts.items()):
            store = context.store
            loads.add_metric([name], store.loads)
            errors.add_metric([name], store.load_errors)
            serving.add_metric([name], store.serving_count())
        yield loads
        yield errors
        yield serving
        if obs.auth.tenants is not None:
            for name, value, doc in (("followup_tenants_reloads", obs.auth.reloads,
                                      "Reloads of the tenants file after it changed."),
                                     ("followup_tenants_reload_errors", obs.auth.reload_errors,
                                      "Reloads of the tenants file that failed (the last good one kept).")):
                family = CounterMetricFamily(name, doc)
                family.add_metric([], value)
                yield family
        if obs.decision_log is not None:
            for name, value, doc in (("followup_decision_log_written", obs.decision_log.written,
                                      "Decision-log lines written."),
                                     ("followup_decision_log_dropped", obs.decision_log.dropped,
                                      "Decision-log records dropped because its queue was full.")):
                family = CounterMetricFamily(name, doc)
                family.add_metric([], value)
                yield family
