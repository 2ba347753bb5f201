"""Decision logs: one JSON line per answer of ``/v1/audit``, ``/v1/check`` and ``/v1/agenda``.

Modelled on OPA's decision logs. Each line::

    {"decision_id": "…uuid4…", "time": "2026-04-08T14:00:00.123456Z", "tenant": "acme",
     "endpoint": "check", "policy": {"name": "etiquette", "revision": "sha256:…"},
     "engine": "reference", "decision": {"result": "deny", "rules": ["single-inquiry"],
     "counts": {"findings": 1, "alternatives": 2}}, "latency_ms": 12.3,
     "input": {"sha256": "…of the request body…", "body": {…masked…}}}

* ``decision.result`` is ``allow``/``deny`` for a check (its decision) and an audit (``deny``
  when a finding is a violation), ``agenda`` for an agenda; ``rules`` are the ids of the
  rules that found something (or that the agenda items come from), sorted, once each.
* ``input.body`` is the request body with every message body, note and name (the values
  of :data:`MASKED_FIELDS`, anywhere in it) replaced by ``"***"``; with ``log_inputs`` it is
  the body as sent. ``input.sha256`` is the digest of the body as sent either way, so a
  tracker that kept its request can prove which one it was.
* ``time`` is the wall clock when the answer was ready (logging, not evaluation).

The request only puts a record on a bounded queue (:meth:`DecisionLog.record`, never
blocking: when the queue is full the record is dropped and counted in :attr:`dropped`);
a background thread formats and writes the lines, flushing whenever the queue is empty.
:meth:`DecisionLog.close` (the server's shutdown) writes every record queued before it,
flushes and closes the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

__all__ = ["DecisionLog", "Decision", "summary", "masked", "MASKED_FIELDS", "QUEUE_SIZE"]

log = logging.getLogger("followup.server")

#: the fields whose values are masked in a logged body (message text and names of people and companies)
MASKED_FIELDS = frozenset({"body", "note", "name", "candidate", "company", "title", "email", "phone"})
MASK = "***"
#: records waiting to be written at most; more are dropped (and counted), never waited for
QUEUE_SIZE = 10_000


@dataclass(frozen=True)
class Decision:
    """What a request hands to the log (the formatting is done by the writer thread)."""

    decision_id: str
    time: datetime
    tenant: str
    endpoint: str
    engine: str
    answer: dict
    body: str
    latency_ms: float


def summary(endpoint: str, answer: dict) -> dict:
    """The decision of an answer: ``result``, ``rules`` and ``counts``."""
    if endpoint == "check":
        findings = answer.get("findings", [])
        return {"result": answer.get("decision"), "rules": _rules(findings),
                "counts": {"findings": len(findings), "alternatives": len(answer.get("alternatives", []))}}
    if endpoint == "audit":
        findings = answer.get("findings", [])
        violations = sum(1 for f in findings if f.get("severity") == "violation")
        return {"result": "deny" if violations else "allow", "rules": _rules(findings),
                "counts": {"findings": len(findings), "violations": violations}}
    items = answer.get("items", [])
    kinds: dict[str, int] = {}
    for item in items:
        kinds[item.get("kind")] = kinds.get(item.get("kind"), 0) + 1
    return {"result": "agenda", "rules": _rules(items), "counts": {"items": len(items), **dict(sorted(kinds.items()))}}


def result_of(endpoint: str, answer: dict) -> str:
    """``summary(...)["result"]``, cheaply (for the metrics of every request)."""
    if endpoint == "check":
        return str(answer.get("decision"))
    if endpoint == "audit":
        return "deny" if any(f.get("severity") == "violation" for f in answer.get("findings", ())) else "allow"
    return "agenda"


def _rules(items: list) -> list[str]:
    return sorted({str(i.get("rule")) for i in items if isinstance(i, dict) and i.get("rule") is not None})


def masked(value: Any) -> Any:
    """``value`` with the values of :data:`MASKED_FIELDS` replaced by ``"***"`` (at any depth)."""
    if isinstance(value, dict):
        return {k: (MASK if k in MASKED_FIELDS and value[k] is not None else masked(value[k])) for k in value}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DecisionLog:
    """A decision log written to ``target`` (a path, appended to, or ``-`` for standard output)."""

    def __init__(self, target: str, *, log_inputs: bool = False, queue_size: int = QUEUE_SIZE):
        """Open ``target`` now (an :class:`OSError` if it cannot be appended to)."""
        self.target = target
        self.log_inputs = log_inputs
        self._queue: "queue.Queue[Decision | None]" = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        self._closed = False
        #: records dropped because the queue was full (or the log closed); lines written; write errors
        self.dropped = 0
        self.written = 0
        self.errors = 0
        if target == "-":
            self._file = sys.stdout
        else:
            self._file = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._write_all, name="followup-decision-log", daemon=True)
            self._thread.start()

    def record(self, decision: Decision) -> bool:
        """Queue ``decision`` for writing; ``False`` (and counted) if it was dropped. Never blocks."""
        with self._lock:  # a record is queued before close()'s end marker, or dropped
            if self._closed:
                self.dropped += 1
                return False
            try:
                self._queue.put_nowait(decision)
            except queue.Full:
                self.dropped += 1
                return False
            return True

    def close(self) -> None:
        """Write everything queued, flush, close the file, stop the thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)  # the writer drains the queue, so there is room soon
            thread.join()
        else:  # never started: write what was queued here
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass
            self._write_all()
        if self._file is not None and self._file is not sys.stdout:
            self._file.close()

    def line(self, decision: Decision) -> str:
        """The JSON line of ``decision`` (without the newline)."""
        answer = decision.answer
        try:
            data = json.loads(decision.body)
        except ValueError:  # cannot happen for an answered request; never fail the log for it
            data = None
        entry = {
            "decision_id": decision.decision_id,
            "time": _rfc3339(decision.time),
            "tenant": decision.tenant,
            "endpoint": decision.endpoint,
            "policy": {"name": answer.get("policy"), "revision": answer.get("policy_revision")},
            "engine": decision.engine,
            "decision": summary(decision.endpoint, answer),
            "latency_ms": round(decision.latency_ms, 3),
            "input": {"sha256": hashlib.sha256(decision.body.encode("utf-8", "surrogatepass")).hexdigest(),
                      "masked": not self.log_inputs,
                      "body": data if self.log_inputs else masked(data)},
        }
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))

    def _write_all(self) -> None:
        assert self._file is not None
        while True:
            try:
                decision = self._queue.get(block=self._thread is not None)
            except queue.Empty:
                break
            if decision is None:
                break
            try:
                self._file.write(self.line(decision) + "\n")
                self.written += 1
                if self._queue.empty():
                    self._file.flush()
            except Exception:  # a full disk must not stop the server; count it and go on
                self.errors += 1
                log.exception("the decision log could not write decision %s", decision.decision_id)
        try:
            self._file.flush()
        except Exception:  # pragma: no cover
            log.exception("the decision log could not be flushed")
