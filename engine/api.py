"""The Python API: load, audit. The CLI and the HTTP server only call these."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict

from .backends import Backend, get_backend
from .calendar import iso_utc
from .errors import InputError, Problem
from .facts import prepare_facts
from .findings import Finding, build_findings
from .policy import Policy, load_policy as _load_policy
from .duration import kind_of, shown
from .timeline import (OutOfRange, Timeline, check_instant, load_timeline as _load_timeline, parse_timestamp,
                       timeline_from_data)

__all__ = ["AuditReport", "audit", "load_timeline", "load_policy", "parse_instant", "resolve_engine", "explain_rule",
           "RuleExplanation"]

UTC = timezone.utc


def __getattr__(name: str):
    """``explain_rule`` and ``RuleExplanation``, from :mod:`engine.policy.explain` on first use
    (PEP 562): auditing does not need their models built."""
    if name in ("explain_rule", "RuleExplanation"):
        from .policy import explain
        value = getattr(explain, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class AuditReport(BaseModel):
    """Findings for one timeline, as of an instant (JSON: design.md's Findings)."""

    model_config = ConfigDict(frozen=True)

    as_of: str
    policy: str
    findings: list[Finding]
    #: events later than ``as_of``, left out of the evaluation
    ignored: list[str] = []
    #: the backend that produced the findings
    engine: str = "reference"

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    def contract(self) -> dict[str, Any]:
        """The public JSON shape: ``{"as_of", "policy", "findings"}``."""
        return {"as_of": self.as_of, "policy": self.policy,
                "findings": [f.model_dump() for f in self.findings]}


def load_timeline(source: str | os.PathLike[str] | dict) -> Timeline:
    """A validated timeline from a file path, or from already-parsed data."""
    if isinstance(source, dict):
        return timeline_from_data(source)
    return _load_timeline(source)


def load_policy(name_or_path: str | os.PathLike[str] = "etiquette",
                policies_dir: str | os.PathLike[str] | None = None) -> Policy:
    """A compiled policy by name (``etiquette``; ``policies_dir`` is searched first) or path."""
    return _load_policy(name_or_path, policies_dir)


def parse_instant(text: str, what: str = "instant") -> datetime:
    """An aware UTC instant from RFC 3339 text such as ``2026-03-12T09:00:00-05:00``.

    The text (spaces around it are ignored) must be a full date and time with a UTC
    offset (see :func:`engine.timeline.parse_timestamp`: no bare dates or years, week
    dates, basic format or epoch seconds) and lie in the years 1900 to 2199
    (:data:`engine.limits.MIN_INSTANT` <= t < :data:`engine.limits.MAX_INSTANT`).
    Malformed text is ``input.bad-instant``, a missing offset ``input.naive-instant``,
    an instant out of range ``input.out-of-range``; all raise :class:`InputError`.
    """
    if not isinstance(text, str):
        raise InputError(Problem("input.bad-instant", f"{what} must be text such as `2026-03-12T09:00:00-05:00`, "
                                 f"not {kind_of(text)}"))
    stripped = text.strip(" \t\r\n")
    try:
        value = parse_timestamp(stripped)
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(Problem("input.naive-instant",
                                     f"{what} `{shown(stripped)}` has no UTC offset; add one, e.g. `Z`"))
        return check_instant(value, stripped)
    except OutOfRange as exc:
        raise InputError(Problem("input.out-of-range", f"{what} {exc}")) from None
    except ValueError as exc:
        raise InputError(Problem("input.bad-instant", f"{what} {exc}")) from None


def resolve_engine(engine: "str | Backend", notices: list[str] | None = None) -> str:
    """The concrete engine name ``engine`` stands for here (``auto`` resolved, with a notice)."""
    return engine.name if not isinstance(engine, str) else get_backend(engine, notices).name


def audit(timeline: Timeline, policy: Policy, as_of: datetime, engine: "str | Backend" = "reference",
          notices: list[str] | None = None) -> AuditReport:
    """Findings of ``policy`` on ``timeline`` as of ``as_of`` (events after it are ignored).

    Never reads the clock: ``as_of`` is an input. ``engine`` is ``auto``, ``durable``
    or ``reference`` (both give the same findings), or a backend object such as
    :class:`engine.backends.isolated.IsolatedBackend`.
    """
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InputError(Problem("input.naive-instant", "as_of must be timezone-aware"))
    as_of = as_of.astimezone(UTC)
    cut, ignored = timeline.until(as_of)
    backend = get_backend(engine, notices) if isinstance(engine, str) else engine
    table = prepare_facts(cut, policy.program, as_of)
    matches = backend.run(policy.program, table)
    findings = build_findings(policy.program, table, matches, cut)
    return AuditReport(as_of=iso_utc(as_of), policy=policy.name, findings=findings, ignored=ignored,
                       engine=backend.name)
