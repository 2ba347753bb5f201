"""The IR: normalised rules that both backends run.

Rule kinds (``engine/rules/``) lower policy rules into these nodes; backends only
understand these nodes. Every node works on *facts* (see :mod:`engine.facts`): one
flat record per event and party, carrying plain numbers and strings only. The
meaning of each node is stated here, once; ``tests/spec/allpairs.py`` is its executable
statement (all-pairs loops, the test oracle), ``backends/reference.py`` evaluates it with
indexes, one short function per node, and ``backends/durable.py`` compiles it to Rete rules.

Common words:

* *scope*: facts of the same application (``app``);
* *before*: a smaller ``seq`` (events are ordered by instant, then id);
* a selector matches a fact by event type, channel and the party's role;
* a node's *offender* is the fact a finding is about; a finding cites events.

Nodes:

``Absence``   for each trigger fact T (per party when ``per_party``, else T's primary fact),
              a finding when ``as_of > deadline(T)`` and no expect fact E of another event
              in scope has ``T.ts <= E.ts <= deadline(T)`` (and ``E.party == T.party`` when
              per_party), and no cancel fact C of another event has ``T.ts <= C.ts <= deadline(T)``. Cites [T]; due = deadline.
``Premature`` for each subject fact S (primary), with A the latest anchor fact before S
              in scope: a finding when ``S.ts < opens(A)``, unless a fact matching one of the
              ``unless`` selectors precedes S in scope. Cites [A, S]; due = opens(A).
``Count``     for each subject fact X: with X_1..X_max the ``max`` subject facts immediately
              before X in scope (same party too when per_party), a finding when all exist and
              (window) ``X.ts - X_1.ts < window``; (reset) no reset fact lies between X_1 and X;
              (after) some ``after`` fact precedes X_1. Cites [X_1..X_max, X].
``Follows``   for each subject fact X and an anchor fact A before X in scope (with
              ``party_scoped``: A names no party, or the same party as X): a finding. Subject
              facts are primary unless party_scoped. Cites [A, X] with the earliest such A.
``ChannelMismatch`` for each subject fact X with a party: P = the latest preference fact
              for X's party before X in scope; a finding when P exists and ``X.channel != P.channel``, or
              when none exists and X's party has a standing preference ``X.pref != X.channel``.
              Cites [P, X] or [X].
``Flag``      for each subject fact X (primary unless per_party) whose prepared flag is set.
``Duplicate`` for each subject fact X with a body, and Y an earlier subject fact (smaller
              ``fid``) in scope, same round, same body, other party: a finding. Cites [Y, X]
              with the earliest such Y.

Every node is application-scoped. Each definition above relates a fact only to facts
in scope (``ChannelMismatch``'s preferences too: the latest preference fact of X's party
in scope), and ``Flag`` relates it to none; the prepared attributes of a fact depend only
on its own event, its party and the earlier events of its application (calendar, rounds,
positions in a count's scope); ``seq`` and ``fid`` are positions in the whole timeline, but
nodes only compare them within scope, where their order is that of the application's own
events. Hence, for any
program and timeline, the matches are the union over applications of the matches on
each application's facts alone: auditing a timeline gives the findings of auditing
each application's sub-timeline (its events only), concatenated in application order
(findings are sorted by application first). Backends rely on this: both evaluate one
application at a time (``FactTable.apps``), which bounds every correlation by the size
of one application, and ``tests/differential/test_per_application.py`` checks it. A
new node must keep this property (or the backends' per-application loops must go).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Union

from .errors import Loc

__all__ = ["Selector", "TimeRef", "Meta", "Absence", "Premature", "Count", "Follows", "ChannelMismatch",
           "Flag", "WordsOver", "Phrases", "OutsideHours", "Duplicate", "Node", "Program", "CalendarSpec",
           "NODE_TYPES"]


@dataclass(frozen=True)
class Selector:
    """Which facts: event types, optionally channels and the party's role."""

    types: frozenset[str]
    channels: frozenset[str] | None = None
    roles: frozenset[str] | None = None


@dataclass(frozen=True)
class TimeRef:
    """An instant computed from a fact: its base time, optionally the end of that local
    day (employer's zone), plus elapsed seconds or business days (employer's calendar)."""

    base: str = "at"  # "at" | "end" (interview end, else at) | "decision" (timetable's decision time)
    seconds: int = 0
    business_days: int = 0
    end_of_day: bool = False


@dataclass(frozen=True)
class Meta:
    rule: str
    severity: str
    category: str
    message: str
    #: rendered values of the rule's parameters, for message templates
    values: tuple[tuple[str, str], ...] = ()
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Absence:
    meta: Meta
    trigger: Selector
    expect: Selector
    deadline: TimeRef
    per_party: bool = False
    cancel: Selector | None = None


@dataclass(frozen=True)
class Premature:
    meta: Meta
    subject: Selector
    anchor: Selector
    opens: TimeRef
    unless: tuple[Selector, ...] = ()


@dataclass(frozen=True)
class Count:
    meta: Meta
    subject: Selector
    max: int
    window: int | None = None
    reset: Selector | None = None
    after: Selector | None = None
    per_party: bool = False


@dataclass(frozen=True)
class Follows:
    meta: Meta
    subject: Selector
    anchor: Selector
    party_scoped: bool = False


@dataclass(frozen=True)
class ChannelMismatch:
    meta: Meta
    subject: Selector


@dataclass(frozen=True)
class WordsOver:
    limit: int


@dataclass(frozen=True)
class Phrases:
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class OutsideHours:
    start_minute: int
    end_minute: int
    business_days_only: bool = True


FlagTest = Union[WordsOver, Phrases, OutsideHours]


@dataclass(frozen=True)
class Flag:
    meta: Meta
    subject: Selector
    test: FlagTest
    per_party: bool = False


@dataclass(frozen=True)
class Duplicate:
    meta: Meta
    subject: Selector


Node = Union[Absence, Premature, Count, Follows, ChannelMismatch, Flag, Duplicate]
NODE_TYPES = (Absence, Premature, Count, Follows, ChannelMismatch, Flag, Duplicate)


@dataclass(frozen=True)
class CalendarSpec:
    """The policy's calendar settings, applied on top of each application's own."""

    weekend: frozenset[int] = frozenset({5, 6})
    closures: frozenset = frozenset()
    public_holidays: bool = True


@dataclass(frozen=True)
class Program:
    """A compiled policy: its name, nodes in rule order and calendar."""

    name: str
    nodes: tuple[Node, ...]
    calendar: CalendarSpec = CalendarSpec()
    source: str = field(default="", compare=False)

    def selectors(self) -> list[Selector]:
        return self._index[0]

    def timerefs(self) -> list[TimeRef]:
        return self._index[1]

    def flags(self) -> list:
        return self._index[2]

    def timeref_types(self) -> dict[TimeRef, frozenset[str]]:
        """For each time reference, the event types of the facts it is read on."""
        return self._index[3]

    def flag_types(self) -> dict:
        """For each flag test, the event types of the facts it is read on."""
        return self._index[4]

    @cached_property
    def _index(self) -> tuple:
        selectors = _distinct(s for n in self.nodes for s in _node_parts(n, Selector))
        timerefs = _distinct(s for n in self.nodes for s in _node_parts(n, TimeRef))
        flags = _distinct(n.test for n in self.nodes if isinstance(n, Flag))
        readers: dict[TimeRef, set[str]] = {t: set() for t in timerefs}
        for n in self.nodes:
            if isinstance(n, Absence):
                readers[n.deadline] |= n.trigger.types
            elif isinstance(n, Premature):
                readers[n.opens] |= n.anchor.types
        flag_readers: dict = {f: set() for f in flags}
        for n in self.nodes:
            if isinstance(n, Flag):
                flag_readers[n.test] |= n.subject.types
        return (selectors, timerefs, flags, {t: frozenset(v) for t, v in readers.items()},
                {f: frozenset(v) for f, v in flag_readers.items()})


def _node_parts(node: Node, kind: type) -> list:
    out = []
    for name in node.__dataclass_fields__:
        value = getattr(node, name)
        out.extend(v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, kind))
    return out


def _distinct(items) -> list:
    seen: dict = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
