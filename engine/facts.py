"""Preparing facts: one flat record per (event, party), shared by every backend.

Everything that needs a calendar, a time zone or text is resolved here, once, into
plain numbers, so that the backends only compare numbers and strings: business-day
deadlines, the end of a local day, local office hours, word counts, phrase matches,
body fingerprints, and selector membership. The backends then do the part that is
a rules engine's job: correlating facts, ordering, windows, counting and absence.

A fact has these attributes:

``fid``      position in the fact list (events in order, then parties in order)
``id``       the event id; ``seq`` the event's position; ``primary`` 1 for its first party
``type``, ``app``, ``party``, ``channel`` (``""`` when absent), ``ts`` (epoch seconds)
``round``    the interview round this event belongs to: the latest interview's ``round``
             when the tracker gives one, else how many interviews came before
``body``     a fingerprint of the normalised body (0 without a body); ``words`` its word count
``pref``     the party's standing preferred channel from the contact list (``""`` if none)
``offpref``  1 when the fact has a channel and a standing preference that differ
``one``      always 1 (the sentinel correlated patterns end with)
``s<k>``     1 when the fact matches the program's k-th selector, else 0
``t<k>``     the program's k-th :class:`~engine.ir.TimeRef` computed on this fact (0 on facts
             of event types that no node reads it on)
``f<k>``     1 when the k-th flag test holds for this fact (0 where no node reads it)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .calendar import CalendarError, end_of_local_day
from .errors import Problem
from .ir import OutsideHours, Phrases, Program, Selector, TimeRef, WordsOver
from .timeline import Timeline

__all__ = ["FactTable", "prepare_facts", "epoch", "from_epoch"]

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WS = re.compile(r"\s+")


def epoch(instant: datetime) -> float:
    return (instant - _EPOCH).total_seconds()


def from_epoch(seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


@dataclass(frozen=True)
class FactTable:
    facts: list[dict]
    clock: float
    selector_index: dict[Selector, int]
    timeref_index: dict[TimeRef, int]
    flag_index: dict
    #: selector object id -> its key; hashing a frozen Selector of frozensets on every test is slow
    _keys: dict = field(default_factory=dict, compare=False, repr=False)

    def sel(self, selector: Selector | None) -> str | None:
        if selector is None:
            return None
        key = self._keys.get(id(selector))
        if key is None:
            key = self._keys[id(selector)] = f"s{self.selector_index[selector]}"
        return key

    def time(self, ref: TimeRef) -> str:
        return f"t{self.timeref_index[ref]}"

    def flag(self, test) -> str:
        return f"f{self.flag_index[test]}"


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def _normalise(text: str) -> str:
    """Case, runs of spaces and typographic quotes do not matter when comparing text."""
    return _WS.sub(" ", text.translate(_QUOTES)).strip().lower()


def _fingerprint(body: str | None) -> int:
    if not body or not body.strip():
        return 0
    return int.from_bytes(hashlib.sha256(_normalise(body).encode()).digest()[:6], "big") or 1


def _matches(selector: Selector, event, party: str, role: str, channel: str) -> bool:
    if event.type not in selector.types:
        return False
    if selector.channels is not None and channel not in selector.channels:
        return False
    if selector.roles is not None and (not party or role not in selector.roles):
        return False
    return True


def _time(ref: TimeRef, timeline: Timeline, event, calendar) -> float:
    """The instant ``ref`` names for ``event``, in epoch seconds.

    A whole day as the base (a date-only ``decision_by``, or ``end_of_day``) counts
    business days from that day and ends at the end of the last one: "decision by
    Friday, one business day of grace" allows an inquiry from the end of Monday.
    Otherwise business days keep the base's local time of day.
    """
    whole_day = None
    if ref.base == "decision" and event.type == "timetable":
        base = timeline.decision_instant(event, calendar)
        if event.within is None and not isinstance(event.decision_by, datetime):
            whole_day = event.decision_by
    elif ref.base == "end" and event.__dict__.get("ends_at") is not None:
        base = event.ends_at
    else:
        base = event.at
    if ref.end_of_day:
        whole_day = base.astimezone(ZoneInfo(calendar.zone)).date()
        base = end_of_local_day(base, calendar.zone)
    if ref.business_days:
        if whole_day is not None:
            base = calendar.add_to_end_of(whole_day, ref.business_days)
        else:
            base = calendar.add(base, ref.business_days)
    return epoch(base) + ref.seconds


@lru_cache(maxsize=256)
def _normalised_phrases(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_normalise(p) for p in phrases)


def _flag(test, timeline: Timeline, event, party: str, calendar) -> int:
    body = event.__dict__.get("body") or ""
    if isinstance(test, WordsOver):
        return int(len(body.split()) > test.limit)
    if isinstance(test, Phrases):
        text = _normalise(body)
        return int(any(p in text for p in _normalised_phrases(test.phrases)))
    if isinstance(test, OutsideHours):
        local = event.at.astimezone(ZoneInfo(timeline.contact_zone(party or None, event.application)))
        minute = local.hour * 60 + local.minute
        inside = test.start_minute <= minute < test.end_minute
        if test.business_days_only and not calendar.is_business_day(local.date()):
            inside = False
        return int(not inside)
    raise TypeError(f"unknown flag test {test!r}")


def prepare_facts(timeline: Timeline, program: Program, as_of: datetime) -> FactTable:
    """Facts for ``timeline`` (already cut at ``as_of``) under ``program``."""
    selectors = program.selectors()
    timerefs = program.timerefs()
    flags = program.flags()
    timeref_types, flag_types = program.timeref_types(), program.flag_types()
    spec = program.calendar
    calendars: dict[str, object] = {}
    rounds: dict[str, int] = {}
    facts: list[dict] = []
    for seq, event in enumerate(timeline.events):
        app = event.application
        calendar = calendars.get(app)
        if calendar is None:
            calendar = calendars[app] = timeline.calendar(
                app, weekend=spec.weekend, closures=spec.closures, public_holidays=spec.public_holidays)
        if event.type == "interview":
            rounds[app] = event.round if event.round is not None else rounds.get(app, 0) + 1
        fields = event.__dict__  # pydantic's getattr is slow for fields a model lacks
        channel = fields.get("channel") or ""
        body = fields.get("body")
        common = {
            "id": event.id, "seq": seq, "type": event.type, "app": app, "channel": channel,
            "ts": epoch(event.at), "round": rounds.get(app, 0), "body": _fingerprint(body),
            "words": len(body.split()) if body else 0, "one": 1,
        }
        try:
            times = {f"t{k}": _time(ref, timeline, event, calendar) if event.type in timeref_types[ref] else 0.0
                     for k, ref in enumerate(timerefs)}
        except CalendarError as exc:  # say whose calendar and which event
            raise CalendarError([Problem(p.code, f"application `{app}`, event `{event.id}`: {p.message}", p.loc,
                                         path=p.path) for p in exc.problems]) from None
        for position, party in enumerate(event.parties or ("",)):
            contact = timeline.contacts.get(party) if party else None
            role = contact.role if contact else ""
            pref = (contact.preferred_channel or "") if contact else ""
            fact = {"fid": len(facts), **common, "party": party, "primary": int(position == 0), "pref": pref,
                    "offpref": int(bool(pref and channel and channel != pref))}
            for k, selector in enumerate(selectors):
                fact[f"s{k}"] = int(_matches(selector, event, party, role, channel))
            fact.update(times)
            for k, test in enumerate(flags):
                fact[f"f{k}"] = _flag(test, timeline, event, party, calendar) if event.type in flag_types[test] else 0
            facts.append(fact)
    return FactTable(facts, epoch(as_of), {s: k for k, s in enumerate(selectors)},
                     {t: k for k, t in enumerate(timerefs)}, {f: k for k, f in enumerate(flags)})
