"""Tiny builders for writing timelines compactly in tests.

    from helpers import tl, interview, thank_you, findings, only

    t = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice", "bob"]),
            thank_you("y1", "2026-03-02T19:00:00-05:00", "alice")])
    fs = only(findings(t, "2026-03-10T00:00:00Z", engine=engine), "thank-you-within-24h")

``tl`` returns a validated :class:`engine.timeline.Timeline` (built with
``timeline_from_data``, so it is sorted and cross-checked exactly like a file).
By default it has one application, ``acme`` (Acme Corp, US, America/New_York),
and the contacts in :data:`CONTACTS`; the timeline's own zone is America/New_York
so zone-less timestamps are allowed. Every argument can be overridden.

Event builders return plain dicts in the timeline format (``with``/``from`` spelt as
in files), so a test can also write ``{"id": ..., "type": ...}`` by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Iterable

from engine.api import audit, load_policy, parse_instant
from engine.timeline import Timeline, timeline_from_data

__all__ = ["CONTACTS", "APPLICATIONS", "tl", "ev", "interview", "timetable", "preference", "employer_contact",
           "rejection", "offer", "do_not_contact", "withdrawal", "outreach", "thank_you", "inquiry", "feedback",
           "contact", "findings", "only", "rule_ids", "instant", "iso", "policy", "words"]

#: the default cast: a hiring manager and an interviewer in New York, a recruiter in Chicago
CONTACTS: dict[str, dict] = {
    "alice": {"name": "Alice Park", "role": "hiring_manager", "timezone": "America/New_York"},
    "bob": {"name": "Bob Lee", "role": "interviewer", "timezone": "America/New_York"},
    "carol": {"name": "Carol Diaz", "role": "recruiter", "timezone": "America/Chicago"},
}

#: the default application: a US employer in New York (so US federal holidays apply)
APPLICATIONS: dict[str, dict] = {
    "acme": {"company": "Acme Corp", "title": "Data Analyst", "country": "US", "timezone": "America/New_York"},
}


def tl(events: Iterable[dict] = (), contacts: dict | None = None, applications: dict | None = None,
       timezone: str | None = "America/New_York", candidate: str = "Casey Test", **extra: Any) -> Timeline:
    """A validated timeline; ``contacts``/``applications`` replace the defaults when given."""
    data: dict[str, Any] = {
        "candidate": candidate,
        "contacts": CONTACTS if contacts is None else contacts,
        "applications": APPLICATIONS if applications is None else applications,
        "events": list(events),
        **extra,
    }
    if timezone is not None:
        data["timezone"] = timezone
    return timeline_from_data(data)


def _time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def ev(id: str, type: str, at: Any, **fields: Any) -> dict:
    """Any event. ``with_``/``from_`` become ``with``/``from``; ``None`` values are dropped."""
    out: dict[str, Any] = {"id": id, "type": type, "at": _time(at)}
    for key, value in fields.items():
        if value is None:
            continue
        out[key.rstrip("_")] = _time(value)
    return out


def _ids(value: str | list[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


def interview(id: str, at: Any, with_: str | list[str] | None = None, **kw: Any) -> dict:
    return ev(id, "interview", at, with_=_ids(with_), **kw)


def timetable(id: str, at: Any, decision_by: Any = None, within: str | None = None, by: str | None = None,
              **kw: Any) -> dict:
    return ev(id, "timetable", at, decision_by=decision_by, within=within, by=by, **kw)


def preference(id: str, at: Any, contact: str, channel: str, **kw: Any) -> dict:
    return ev(id, "preference", at, contact=contact, channel=channel, **kw)


def employer_contact(id: str, at: Any, from_: str | None = None, channel: str | None = "email", **kw: Any) -> dict:
    return ev(id, "employer_contact", at, from_=from_, channel=channel, **kw)


def rejection(id: str, at: Any, from_: str | None = None, **kw: Any) -> dict:
    return ev(id, "rejection", at, from_=from_, **kw)


def offer(id: str, at: Any, from_: str | None = None, **kw: Any) -> dict:
    return ev(id, "offer", at, from_=from_, **kw)


def do_not_contact(id: str, at: Any, contact: str | None = None, by: str | None = None, **kw: Any) -> dict:
    return ev(id, "do_not_contact", at, contact=contact, by=by, **kw)


def withdrawal(id: str, at: Any, **kw: Any) -> dict:
    return ev(id, "withdrawal", at, **kw)


def outreach(type: str, id: str, at: Any, to: str | list[str], channel: str = "email", body: str | None = None,
             **kw: Any) -> dict:
    return ev(id, type, at, to=_ids(to), channel=channel, body=body, **kw)


def thank_you(id: str, at: Any, to: str | list[str], channel: str = "email", body: str | None = None, **kw) -> dict:
    return outreach("thank_you", id, at, to, channel, body, **kw)


def inquiry(id: str, at: Any, to: str | list[str], channel: str = "email", body: str | None = None, **kw) -> dict:
    return outreach("status_inquiry", id, at, to, channel, body, **kw)


def feedback(id: str, at: Any, to: str | list[str], channel: str = "email", body: str | None = None, **kw) -> dict:
    return outreach("feedback_request", id, at, to, channel, body, **kw)


def contact(id: str, at: Any, to: str | list[str], channel: str = "email", body: str | None = None, **kw) -> dict:
    return outreach("contact", id, at, to, channel, body, **kw)


def instant(value: Any) -> datetime:
    """An aware UTC instant from ISO text (``Z`` allowed) or a datetime."""
    if isinstance(value, datetime):
        return parse_instant(value.isoformat())
    return parse_instant(value)


def iso(value: Any, plus: timedelta = timedelta(0)) -> str:
    """The findings' ``due`` spelling of an instant: UTC, ISO 8601, ``Z``."""
    return (instant(value) + plus).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=None)
def _cached_policy(name: str):
    return load_policy(name)


def policy(name: str = "etiquette"):
    """A compiled policy, loaded once per test session."""
    return _cached_policy(name)


def findings(timeline: Timeline, as_of: Any, policy: str = "etiquette", rules: str | Iterable[str] | None = None,
             engine: str = "reference") -> list:
    """The findings of ``policy`` on ``timeline`` as of ``as_of``, optionally only those of ``rules``."""
    report = audit(timeline, _cached_policy(policy), instant(as_of), engine=engine)
    assert report.engine == engine
    return only(report.findings, rules) if rules is not None else list(report.findings)


def only(found: Iterable, rules: str | Iterable[str]) -> list:
    """The findings of the given rule id(s)."""
    wanted = {rules} if isinstance(rules, str) else set(rules)
    return [f for f in found if f.rule in wanted]


def rule_ids(found: Iterable) -> set[str]:
    return {f.rule for f in found}


def words(n: int, word: str = "thanks") -> str:
    """A body of exactly ``n`` whitespace-separated words."""
    return " ".join(f"{word}{i}" for i in range(n))
