"""Preparing facts: one flat record per (event, party), shared by every backend.

Everything that needs a calendar, a time zone or text is resolved here, once, into
plain numbers, so that the backends only compare numbers and strings: business-day
deadlines, the end of a local day, local office hours, word counts, phrase matches,
body fingerprints, and selector membership. The backends then do the part that is
a rules engine's job: correlating facts, ordering, windows, counting and absence.

Facts are prepared per application: each application's events get that employer's
calendar and their own interview rounds, and :attr:`FactTable.apps` lists each
application's facts in order. Every IR node correlates facts of one application only
(see :mod:`engine.ir`), so the backends evaluate one application at a time.

A fact has these attributes:

``fid``      position in the fact list (events in order, then parties in order)
``id``       the event id; ``seq`` the event's position; ``primary`` 1 for its first party
``type``, ``app``, ``party``, ``channel`` (``""`` when absent), ``ts`` (epoch seconds)
``one``      always 1 (the sentinel correlated patterns end with)
``s<k>``     1 when the fact matches the program's k-th selector, else 0
``t<k>``     the program's k-th :class:`~engine.ir.TimeRef` computed on this fact (0 on facts
             of event types that no node reads it on)
``f<k>``     1 when the k-th flag test holds for this fact (0 where no node reads it)

and these only when a node of the program reads them (preparation is lean: a body
is normalised at most once, and fingerprinted only for a ``Duplicate`` node):

``round``    (``Duplicate``) the interview round this event belongs to: the latest
             interview's ``round`` when the tracker gives one, else how many interviews came before
``body``     (``Duplicate``) a fingerprint of the normalised body (0 without a body)
``words``    (a ``WordsOver`` flag) the body's word count
``pref``     (``ChannelMismatch``) the party's standing preferred channel from the contact list
             (``""`` if none); ``offpref`` 1 when the fact has a channel and a standing
             preference that differ
``n<k>``     (``Count`` with ``max > 0``) for the k-th count scope of :func:`count_scopes` (a
             subject selector, per party or not): the fact's position among the application's
             facts in that scope (matching the selector, and of the same party when per party,
             else primary), counting from 0 in fid order; -1 for a fact outside the scope. The
             durable backend joins a count's chain on it (``X_k`` is the fact whose position
             is X_1's plus k-1), which durable-rules can look up by hash instead of testing
             every earlier pair
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .calendar import CalendarError, end_of_local_day
from .errors import Problem
from .ir import ChannelMismatch, Count, Duplicate, OutsideHours, Phrases, Program, Selector, TimeRef, WordsOver
from .timeline import Timeline

__all__ = ["FactTable", "prepare_facts", "prepare_application", "append_event", "count_scopes", "epoch",
           "from_epoch"]

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    #: application id -> that application's facts (the same dicts as in ``facts``), in fid order
    apps: dict[str, list[dict]] = field(default_factory=dict)
    #: selector object id -> its key; hashing a frozen Selector of frozensets on every test is slow
    _keys: dict = field(default_factory=dict, compare=False, repr=False)
    #: what callers derive from these facts alone (not the clock), e.g. the reference backend's
    #: grouping by event; shared by the tables :func:`prepare_application` gives at other clocks
    memo: dict = field(default_factory=dict, compare=False, repr=False)
    #: the table this one extends (:func:`append_event`): its facts are this table's first ones,
    #: so what a caller keeps in its ``memo`` holds for them here too
    base: "FactTable | None" = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.facts and not self.apps:  # a table built without its groups: derive them
            apps: dict[str, list[dict]] = {}
            for fact in self.facts:
                apps.setdefault(fact["app"], []).append(fact)
            object.__setattr__(self, "apps", apps)

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
    return " ".join(text.translate(_QUOTES).split()).lower()


def _fingerprint(normalised: str) -> int:
    """A 48-bit fingerprint of an already normalised body (0: no body)."""
    if not normalised:
        return 0
    return int.from_bytes(hashlib.sha256(normalised.encode()).digest()[:6], "big") or 1


#: ZoneInfo keeps only 8 zones strongly; a timeline may use more (zone names are validated, few)
_zone = lru_cache(maxsize=1024)(ZoneInfo)


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
        whole_day = base.astimezone(_zone(calendar.zone)).date()
        base = end_of_local_day(base, calendar.zone)
    if ref.business_days:
        if whole_day is not None:
            base = calendar.add_to_end_of(whole_day, ref.business_days)
        else:
            base = calendar.add(base, ref.business_days)
    return epoch(base) + ref.seconds


def count_scopes(program: Program) -> list[tuple[Selector, bool]]:
    """The distinct (subject, per_party) of the program's ``Count`` nodes with ``max > 0``,
    in node order: the k-th gets the fact attribute ``n<k>``."""
    scopes: dict[tuple[Selector, bool], None] = {}
    for node in program.nodes:
        if isinstance(node, Count) and node.max > 0:
            scopes.setdefault((node.subject, node.per_party), None)
    return list(scopes)


@lru_cache(maxsize=256)
def _normalised_phrases(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_normalise(p) for p in phrases)


def _text_flag(test, words: int, normalised: str) -> int:
    """A flag test on the event's body (the same for every party)."""
    if isinstance(test, WordsOver):
        return int(words > test.limit)
    if isinstance(test, Phrases):
        return int(any(p in normalised for p in _normalised_phrases(test.phrases)))
    raise TypeError(f"unknown flag test {test!r}")


def _hours_flag(test: OutsideHours, timeline: Timeline, event, party: str, calendar) -> int:
    """Whether ``event`` happened outside ``test``'s hours, in ``party``'s local time."""
    local = event.at.astimezone(_zone(timeline.contact_zone(party or None, event.application)))
    minute = local.hour * 60 + local.minute
    inside = test.start_minute <= minute < test.end_minute
    if test.business_days_only and not calendar.is_business_day(local.date()):
        inside = False
    return int(not inside)


class _Plan:
    """What :func:`prepare_facts` derives from the program alone, computed once per program."""

    def __init__(self, program: Program):
        selectors = program.selectors()
        timerefs = program.timerefs()
        flags = program.flags()
        timeref_types, flag_types = program.timeref_types(), program.flag_types()
        kinds = {type(n) for n in program.nodes}
        self.duplicates, self.channels = Duplicate in kinds, ChannelMismatch in kinds
        self.counts_words = any(isinstance(f, WordsOver) for f in flags)
        self.reads_text = self.duplicates or any(isinstance(f, Phrases) for f in flags)
        # (attribute, test or reference, the event types it is read on): hashing a frozen TimeRef per event is slow
        self.text_flags = [(f"f{k}", f, flag_types[f]) for k, f in enumerate(flags) if not isinstance(f, OutsideHours)]
        self.hours_flags = [(f"f{k}", f, flag_types[f]) for k, f in enumerate(flags) if isinstance(f, OutsideHours)]
        #: selectors without roles depend on the event alone: computed once per (type, channel)
        self.event_selectors = [(f"s{k}", s) for k, s in enumerate(selectors) if s.roles is None]
        self.party_selectors = [(f"s{k}", s) for k, s in enumerate(selectors) if s.roles is not None]
        self.timeref_keys = [(f"t{k}", t, timeref_types[t]) for k, t in enumerate(timerefs)]
        self.selector_index = {s: k for k, s in enumerate(selectors)}
        self.scopes = count_scopes(program)
        self.ranks = [(f"n{k}", f"s{self.selector_index[subject]}", per_party)
                      for k, (subject, per_party) in enumerate(self.scopes)]
        self.timeref_index = {t: k for k, t in enumerate(timerefs)}
        self.flag_index = {f: k for k, f in enumerate(flags)}
        #: selector object id -> its key, shared by every table of this program (``FactTable._keys``)
        self.keys: dict = {}


#: id(program) -> (program, its plan); the entry holds the program, so its id stays unique
_plans: dict[int, tuple[Program, _Plan]] = {}


def _plan(program: Program) -> _Plan:
    entry = _plans.get(id(program))
    if entry is not None and entry[0] is program:
        return entry[1]
    plan = _Plan(program)
    if len(_plans) >= 64:
        _plans.clear()
    _plans[id(program)] = (program, plan)
    return plan


def prepare_facts(timeline: Timeline, program: Program, as_of: datetime,
                  calendars: dict[str, object] | None = None) -> FactTable:
    """Facts for ``timeline`` (already cut at ``as_of``) under ``program``.

    ``calendars`` (application id -> its business calendar under the program) is filled
    and reused when given, for a caller that prepares several tables of one timeline.
    """
    plan = _plan(program)
    duplicates, channels, counts_words, reads_text = plan.duplicates, plan.channels, plan.counts_words, plan.reads_text
    text_flags, hours_flags, timeref_keys = plan.text_flags, plan.hours_flags, plan.timeref_keys
    event_selectors, party_selectors, ranks = plan.event_selectors, plan.party_selectors, plan.ranks
    by_kind: dict[tuple[str, str], dict[str, int]] = {}
    positions: dict[tuple, int] = {}  # (rank key, app, party or None) -> facts in that scope so far
    spec = program.calendar
    calendars = {} if calendars is None else calendars
    rounds: dict[str, int] = {}
    facts: list[dict] = []
    apps: dict[str, list[dict]] = {}
    for seq, event in enumerate(timeline.events):
        app = event.application
        calendar = calendars.get(app)
        if calendar is None:  # the first event of an application
            calendar = calendars[app] = timeline.calendar(
                app, weekend=spec.weekend, closures=spec.closures, public_holidays=spec.public_holidays)
        if app not in apps:
            apps[app] = []
        fields = event.__dict__  # pydantic's getattr is slow for fields a model lacks
        channel = fields.get("channel") or ""
        body = fields.get("body") or ""
        normalised = _normalise(body) if reads_text and body else ""
        words = len(body.split()) if counts_words and body else 0
        common = {"id": event.id, "seq": seq, "type": event.type, "app": app, "channel": channel,
                  "ts": epoch(event.at), "one": 1}
        if duplicates:
            if event.type == "interview":
                rounds[app] = event.round if event.round is not None else rounds.get(app, 0) + 1
            common["round"] = rounds.get(app, 0)
            common["body"] = _fingerprint(normalised)
        if counts_words:
            common["words"] = words
        matched = by_kind.get((event.type, channel))
        if matched is None:
            matched = by_kind[(event.type, channel)] = {
                key: int(_matches(selector, event, "", "", channel)) for key, selector in event_selectors}
        common.update(matched)
        try:
            for key, ref, types in timeref_keys:
                common[key] = _time(ref, timeline, event, calendar) if event.type in types else 0.0
        except CalendarError as exc:  # say whose calendar and which event
            raise CalendarError([Problem(p.code, f"application `{app}`, event `{event.id}`: {p.message}", p.loc,
                                         path=p.path) for p in exc.problems]) from None
        for key, test, types in text_flags:
            common[key] = _text_flag(test, words, normalised) if event.type in types else 0
        parties = event.parties or ("",)
        for position, party in enumerate(parties):
            contact = timeline.contacts.get(party) if party else None
            role = contact.role if contact else ""
            fact = common if position == len(parties) - 1 else dict(common)  # the last party takes ``common``
            fact["fid"], fact["party"], fact["primary"] = len(facts), party, int(position == 0)
            if channels:
                pref = (contact.preferred_channel or "") if contact else ""
                fact["pref"] = pref
                fact["offpref"] = int(bool(pref and channel and channel != pref))
            for key, selector in party_selectors:
                fact[key] = int(_matches(selector, event, party, role, channel))
            for key, test, types in hours_flags:
                fact[key] = _hours_flag(test, timeline, event, party, calendar) if event.type in types else 0
            for key, subject, per_party in ranks:
                if fact[subject] and (per_party or position == 0):
                    scope = (key, app, party if per_party else None)
                    fact[key] = positions.get(scope, 0)
                    positions[scope] = fact[key] + 1
                else:
                    fact[key] = -1
            facts.append(fact)
            apps[app].append(fact)
    return FactTable(facts, epoch(as_of), plan.selector_index, plan.timeref_index, plan.flag_index, apps, plan.keys)


#: id(timeline) -> (a weak reference to it, {(id(program), app): (program, events, count, table, calendars)}):
#: the facts :func:`prepare_application` prepared, kept exactly as long as their timeline object
_prepared: dict[int, tuple[weakref.ref, dict]] = {}


def _forget(key: int, ref: weakref.ref) -> None:
    slot = _prepared.get(key)
    if slot is not None and slot[0] is ref:
        del _prepared[key]


def prepare_application(timeline: Timeline, program: Program, as_of: datetime, app: str,
                        calendars: dict[str, object] | None = None) -> FactTable:
    """The facts of application ``app``'s events alone (``timeline`` already cut at ``as_of``).

    Every node correlates facts of one application only, so these are all a question about
    one application needs. They are kept with the timeline object: asked again for the same
    timeline, program and application (e.g. by several checks of one tracker's timeline, or
    an agenda's check of each application), they are not prepared again. The entry goes
    when the timeline object does, and is not used if the timeline's event list is no
    longer the one it was prepared from.
    """
    key = id(timeline)
    slot = _prepared.get(key)
    if slot is None or slot[0]() is not timeline:
        slot = _prepared[key] = (weakref.ref(timeline, lambda ref, key=key: _forget(key, ref)), {})
    entries = slot[1]
    events = timeline.events
    entry = entries.get((id(program), app))
    calendars = {} if calendars is None else calendars
    if entry is not None and entry[0] is program and entry[1] is events and entry[2] == len(events):
        calendars.update(entry[4])
        return replace(entry[3], clock=epoch(as_of))
    if len(timeline.applications) > 1:
        timeline = timeline.model_copy(update={"events": [e for e in events if e.application == app]})
    mine: dict[str, object] = {}
    table = prepare_facts(timeline, program, as_of, mine)
    calendars.update(mine)
    entries[(id(program), app)] = (program, events, len(events), table, mine)
    return table


def append_event(table: FactTable, timeline: Timeline, program: Program, event, as_of: datetime,
                 calendars: dict[str, object] | None = None) -> FactTable:
    """``table`` (prepared by :func:`prepare_facts` for ``timeline`` under ``program``) with the
    facts of ``event``, which comes after every event of ``timeline``, appended, as of ``as_of``.

    The same facts as :func:`prepare_facts` on ``timeline`` with ``event`` appended, without
    preparing the earlier events again: ``event``'s facts depend on them only through its
    application's interview round and its positions in the count scopes, which are carried
    over here. ``table`` is left as it is (its fact dicts are shared by the new table).
    """
    own = prepare_facts(timeline.model_copy(update={"events": [event]}), program, as_of, calendars).facts
    app = event.application
    base = table.apps.get(app, [])
    seq = table.facts[-1]["seq"] + 1 if table.facts else 0
    offset = len(table.facts)
    scope_list = _plan(program).scopes
    scopes = [f"n{k}" for k in range(len(scope_list))]
    per_party = [pp for _, pp in scope_list]
    for fact in own:
        fact["fid"] += offset
        fact["seq"] = seq
        if "round" in fact:
            latest = base[-1]["round"] if base else 0
            if event.type != "interview":
                fact["round"] = latest
            elif event.round is None:
                fact["round"] = latest + 1
        for key, by_party in zip(scopes, per_party):
            if fact[key] >= 0:  # its position in the scope: after the scope's earlier facts
                fact[key] += sum(1 for f in base if f[key] >= 0 and (not by_party or f["party"] == fact["party"]))
    apps = dict(table.apps)
    apps[app] = [*base, *own]
    return FactTable([*table.facts, *own], epoch(as_of), table.selector_index, table.timeref_index,
                     table.flag_index, apps, table._keys, base=table)
