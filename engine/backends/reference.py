"""The reference backend: the IR's meaning, evaluated one application at a time with indexes.

Every IR node correlates facts of one application only (:mod:`engine.ir`), so
:meth:`ReferenceBackend.run` runs each node on each application's facts
(:attr:`~engine.facts.FactTable.apps`) separately. Within an application the facts are
in ``fid`` order, hence ``seq`` never decreases along the list, and each node finds what
its definition names with one pass and running state (the latest anchor so far, the
subject facts so far, the first twin of a body) or a bisection on time (an absence
window, over the facts sorted by ``ts``), instead of scanning every fact for every fact:
linear (or n log n) in the application's facts.

Each function below is one node, checkable against its definition in
:mod:`engine.ir`. A sweep "by event" evaluates an event's facts against the state of
the *earlier* events (``before`` is a smaller ``seq``) and only then adds them to it.
Where a definition cites "the earliest such" fact, only that match is reported (which
is the one :func:`engine.findings.build_findings` keeps). The all-pairs statement of
the same semantics is the test oracle (``tests/spec/allpairs.py``); both shipped
backends are compared with it.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import groupby
from operator import itemgetter

from ..facts import FactTable
from ..ir import Absence, ChannelMismatch, Count, Duplicate, Flag, Follows, Premature, Program
from .base import Match

__all__ = ["ReferenceBackend"]

_SEQ, _FID, _TS = itemgetter("seq"), itemgetter("fid"), itemgetter("ts")


class ReferenceBackend:
    name = "reference"

    def run(self, program: Program, table: FactTable, nodes: frozenset[int] | None = None) -> list[Match]:
        out: list[Match] = []
        for facts in table.apps.values():
            app = _Application(facts)
            for index, node in enumerate(program.nodes):
                if nodes is None or index in nodes:
                    out.extend(_RUN[type(node)](index, node, table, app))
        return out


class _Application:
    """One application's facts (fid order: ``seq`` never decreases) and its events."""

    def __init__(self, facts: list[dict]):
        self.facts = facts
        #: the facts grouped by event (equal ``seq``), in order
        self.events = [list(group) for _, group in groupby(facts, key=_SEQ)]

    def with_event(self, facts: list[dict]) -> "_Application":
        """These facts and those of one more event (``facts``, all of one later ``seq``), without
        grouping the earlier ones again."""
        out = object.__new__(_Application)
        out.facts = [*self.facts, *facts]
        out.events = [*self.events, list(facts)] if facts else list(self.events)
        return out


def _key(t: FactTable, selector) -> str:
    """The fact attribute that is 1 where ``selector`` matches; for None, ``_never``, which no
    fact has (read optional selectors with ``fact.get(key)``)."""
    return "_never" if selector is None else t.sel(selector)


class _Window:
    """Facts in time order, asked: is there one with ``lo <= ts <= hi``, of another event than ``seq``?"""

    def __init__(self, facts: list[dict]):
        # already in time order for a validated timeline (then this sort is one linear pass);
        # stable, so the facts of one event stay together
        self.facts = sorted(facts, key=_TS)
        self.times = [f["ts"] for f in self.facts]

    def any_between(self, lo: float, hi: float, seq: int) -> bool:
        facts = self.facts
        # the facts skipped below belong to one event (same ``seq``, same ``ts``): a few at most
        for k in range(bisect_left(self.times, lo), len(facts)):
            if facts[k]["ts"] > hi:
                return False
            if facts[k]["seq"] != seq:
                return True
        return False


def _absence(i: int, node: Absence, t: FactTable, app: _Application):
    """Each trigger T (per party, or primary) past its deadline, with no expected fact (of T's
    party, when per_party) and no cancel fact of another event in ``[T.ts, deadline(T)]``."""
    deadline = t.time(node.deadline)
    trigger, expect, cancel = _key(t, node.trigger), _key(t, node.expect), _key(t, node.cancel)
    expected = [f for f in app.facts if f[expect]]
    by_party: dict[str, list[dict]] = {}
    for f in expected:
        by_party.setdefault(f["party"], []).append(f)
    windows = {party: _Window(fs) for party, fs in by_party.items()}
    anyone, nobody = _Window(expected), _Window([])
    cancels = _Window([f for f in app.facts if f.get(cancel)])
    for trig in app.facts:
        if not trig[trigger] or not (trig["party"] if node.per_party else trig["primary"]):
            continue
        due = trig[deadline]
        if not t.clock > due:
            continue
        window = windows.get(trig["party"], nobody) if node.per_party else anyone
        if window.any_between(trig["ts"], due, trig["seq"]) or cancels.any_between(trig["ts"], due, trig["seq"]):
            continue
        yield Match(i, trig["fid"], (trig["fid"],), due)


def _premature(i: int, node: Premature, t: FactTable, app: _Application):
    """Each primary subject S earlier than opens(A), A the latest anchor before S (each of
    that event's anchor facts), unless an ``unless`` fact precedes S."""
    opens, subject, anchor = t.time(node.opens), _key(t, node.subject), _key(t, node.anchor)
    unless = [_key(t, u) for u in node.unless]
    latest: list[dict] = []  # the anchor facts of the latest anchor event so far
    for event in app.events:
        for s in event:
            if s[subject] and s["primary"]:
                for a in latest:
                    if s["ts"] < a[opens]:
                        yield Match(i, s["fid"], (a["fid"], s["fid"]), a[opens])
        latest = [f for f in event if f[anchor]] or latest
        if any(f[u] for f in event for u in unless):
            return  # every later subject is preceded by this ``unless`` fact


def _count(i: int, node: Count, t: FactTable, app: _Application):
    """Each subject X (primary unless per_party) with ``max`` subject facts X_1..X_max right
    before it (same party when per_party, else primary): within the window, with no reset
    fact between X_1 and X, and an ``after`` fact before X_1."""
    subject, reset, after = _key(t, node.subject), _key(t, node.reset), _key(t, node.after)
    earlier: dict[str | None, list[dict]] = {}  # party (None: any, primary) -> subject facts so far
    last_reset = -1  # seq of the latest reset fact so far
    first_after = None  # seq of the first ``after`` fact
    for event in app.events:
        for x in event:
            if not x[subject] or not (x["primary"] or node.per_party):
                continue
            same = earlier.get(x["party"] if node.per_party else None, [])
            if len(same) < node.max:
                continue
            chain = same[len(same) - node.max:] if node.max else []
            first = chain[0] if chain else x
            if node.window is not None and not x["ts"] - first["ts"] < node.window:
                continue
            if node.reset is not None and last_reset > first["seq"]:
                continue
            if node.after is not None and not (first_after is not None and first_after < first["seq"]):
                continue
            yield Match(i, x["fid"], tuple(f["fid"] for f in chain) + (x["fid"],))
        for f in event:
            if f[subject] and (node.per_party or f["primary"]):
                earlier.setdefault(f["party"] if node.per_party else None, []).append(f)
            if f.get(reset):
                last_reset = f["seq"]
            if first_after is None and f.get(after):
                first_after = f["seq"]


def _follows(i: int, node: Follows, t: FactTable, app: _Application):
    """Each subject X (primary unless party_scoped) after an anchor A (party_scoped: A names
    nobody and X is primary, or A names X's party), citing the earliest such A."""
    subject, anchor = _key(t, node.subject), _key(t, node.anchor)
    first: dict = {}  # "any" / "nobody" / ("party", p) -> the earliest anchor fact so far
    for event in app.events:
        if first:
            for x in event:
                if not x[subject] or not (x["primary"] or node.party_scoped):
                    continue
                if not node.party_scoped:
                    candidates = [first.get("any")]
                else:
                    candidates = [first.get("nobody") if x["primary"] else None,
                                  first.get(("party", x["party"])) if x["party"] else None]
                a = min((c for c in candidates if c is not None), key=_FID, default=None)
                if a is not None:
                    yield Match(i, x["fid"], (a["fid"], x["fid"]))
        for a in event:
            if a[anchor]:
                first.setdefault("any", a)
                first.setdefault(("party", a["party"]) if a["party"] else "nobody", a)


def _channel(i: int, node: ChannelMismatch, t: FactTable, app: _Application):
    """Each subject X with a party: on another channel than the latest preference of X's
    party before X, or, with none, than the party's standing preference."""
    subject = _key(t, node.subject)
    latest: dict[str, dict] = {}  # party -> the latest preference fact so far
    for event in app.events:
        for x in event:
            if not (x[subject] and x["party"]):
                continue
            p = latest.get(x["party"])
            if p is not None:
                if x["channel"] != p["channel"]:
                    yield Match(i, x["fid"], (p["fid"], x["fid"]))
            elif x["offpref"]:
                yield Match(i, x["fid"], (x["fid"],))
        for f in event:
            if f["type"] == "preference":
                latest[f["party"]] = f


def _flag(i: int, node: Flag, t: FactTable, app: _Application):
    """Each subject X (primary unless per_party) whose prepared flag is set."""
    subject, flag = _key(t, node.subject), t.flag(node.test)
    for x in app.facts:
        if x[flag] and x[subject] and (x["primary"] or node.per_party):
            yield Match(i, x["fid"], (x["fid"],))


def _duplicate(i: int, node: Duplicate, t: FactTable, app: _Application):
    """Each subject X with a body and an earlier subject Y (smaller fid) of the same round and
    body and another party, citing the earliest such Y."""
    subject = _key(t, node.subject)
    twins: dict[tuple, list] = {}  # (round, body) -> [first subject fact, first one of another party]
    for x in app.facts:  # by fact, not by event: a message to two people is two facts of one event
        if not x[subject]:
            continue
        key = (x["round"], x["body"])
        found = twins.get(key)
        if found is None:
            twins[key] = [x, None]
            continue
        if x["body"]:
            y = found[0] if found[0]["party"] != x["party"] else found[1]
            if y is not None:
                yield Match(i, x["fid"], (y["fid"], x["fid"]))
        if found[1] is None and x["party"] != found[0]["party"]:
            found[1] = x


_RUN = {Absence: _absence, Premature: _premature, Count: _count, Follows: _follows,
        ChannelMismatch: _channel, Flag: _flag, Duplicate: _duplicate}
