"""The IR's meaning as all-pairs loops over facts: the executable statement of the semantics.

Each function below is one node of :mod:`engine.ir`, written as directly as the node's
definition reads: for every fact, scan every fact of the timeline for the ones the
definition names (same application, before, in the window). It is quadratic (or worse)
in the number of facts, which is why it is not shipped: it is the test oracle both
shipped backends (``reference``, indexed, and ``durable``) are compared with in
``tests/differential``. It ignores :attr:`FactTable.apps` on purpose and correlates by
each fact's ``app``, so it also checks that the backends' per-application evaluation
loses nothing.

These loops are the shipped reference backend as it was before it was indexed, moved
here unchanged in meaning. Like any backend it may report one offence several times
(every earlier anchor of a ``Follows``, every earlier twin of a ``Duplicate``);
``engine.findings.build_findings`` keeps the match citing the earliest facts.
"""

from __future__ import annotations

from engine.backends.base import Match
from engine.facts import FactTable
from engine.ir import Absence, ChannelMismatch, Count, Duplicate, Flag, Follows, Premature, Program

__all__ = ["AllPairsBackend"]


class AllPairsBackend:
    """A :class:`engine.backends.base.Backend` running the all-pairs statement of each node."""

    name = "allpairs"

    def run(self, program: Program, table: FactTable, nodes: frozenset[int] | None = None) -> list[Match]:
        out: list[Match] = []
        for index, node in enumerate(program.nodes):
            if nodes is None or index in nodes:
                out.extend(_RUN[type(node)](index, node, table))
        return out


def _is(fact: dict, table: FactTable, selector) -> bool:
    return selector is not None and fact[table.sel(selector)] == 1


def _absence(i: int, node: Absence, t: FactTable):
    deadline = t.time(node.deadline)
    for trig in t.facts:
        if not _is(trig, t, node.trigger):
            continue
        if node.per_party and not trig["party"]:
            continue
        if not node.per_party and not trig["primary"]:
            continue
        due = trig[deadline]
        if not t.clock > due:
            continue
        window = [f for f in t.facts if f["app"] == trig["app"] and f["seq"] != trig["seq"]
                  and trig["ts"] <= f["ts"] <= due]
        if any(_is(f, t, node.expect) and (not node.per_party or f["party"] == trig["party"]) for f in window):
            continue
        if any(_is(f, t, node.cancel) for f in window):
            continue
        yield Match(i, trig["fid"], (trig["fid"],), due)


def _premature(i: int, node: Premature, t: FactTable):
    opens = t.time(node.opens)
    for s in t.facts:
        if not (_is(s, t, node.subject) and s["primary"]):
            continue
        before = [f for f in t.facts if f["app"] == s["app"] and f["seq"] < s["seq"]]
        anchors = [f for f in before if _is(f, t, node.anchor)]
        if not anchors or any(_is(f, t, u) for f in before for u in node.unless):
            continue
        latest = max(f["seq"] for f in anchors)
        for a in anchors:
            if a["seq"] == latest and s["ts"] < a[opens]:
                yield Match(i, s["fid"], (a["fid"], s["fid"]), a[opens])


def _count(i: int, node: Count, t: FactTable):
    for x in t.facts:
        if not _is(x, t, node.subject) or not (x["primary"] or node.per_party):
            continue
        same = [f for f in t.facts if f["fid"] < x["fid"] and _is(f, t, node.subject) and f["app"] == x["app"]
                and f["seq"] < x["seq"] and (f["party"] == x["party"] if node.per_party else f["primary"])]
        if len(same) < node.max:
            continue
        chain = same[len(same) - node.max:] if node.max else []
        first = chain[0] if chain else x
        if node.window is not None and not x["ts"] - first["ts"] < node.window:
            continue
        between = [f for f in t.facts if f["app"] == x["app"] and first["seq"] < f["seq"] < x["seq"]]
        if node.reset is not None and any(_is(f, t, node.reset) for f in between):
            continue
        if node.after is not None and not any(_is(f, t, node.after) and f["app"] == x["app"]
                                              and f["seq"] < first["seq"] for f in t.facts):
            continue
        yield Match(i, x["fid"], tuple(f["fid"] for f in chain) + (x["fid"],))


def _follows(i: int, node: Follows, t: FactTable):
    for x in t.facts:
        if not _is(x, t, node.subject) or not (x["primary"] or node.party_scoped):
            continue
        for a in t.facts:
            if not (_is(a, t, node.anchor) and a["app"] == x["app"] and a["seq"] < x["seq"]):
                continue
            if node.party_scoped and a["party"] and a["party"] != x["party"]:
                continue
            if node.party_scoped and not a["party"] and not x["primary"]:
                continue
            yield Match(i, x["fid"], (a["fid"], x["fid"]))


def _channel(i: int, node: ChannelMismatch, t: FactTable):
    for x in t.facts:
        if not (_is(x, t, node.subject) and x["party"]):
            continue
        prefs = [f for f in t.facts if f["type"] == "preference" and f["app"] == x["app"]
                 and f["party"] == x["party"] and f["seq"] < x["seq"]]
        if prefs:
            p = max(prefs, key=lambda f: f["seq"])
            if x["channel"] != p["channel"]:
                yield Match(i, x["fid"], (p["fid"], x["fid"]))
        elif x["offpref"]:
            yield Match(i, x["fid"], (x["fid"],))


def _flag(i: int, node: Flag, t: FactTable):
    flag = t.flag(node.test)
    for x in t.facts:
        if _is(x, t, node.subject) and (x["primary"] or node.per_party) and x[flag] == 1:
            yield Match(i, x["fid"], (x["fid"],))


def _duplicate(i: int, node: Duplicate, t: FactTable):
    for x in t.facts:
        if not (_is(x, t, node.subject) and x["body"]):
            continue
        for y in t.facts:
            if (y["fid"] < x["fid"] and _is(y, t, node.subject) and y["app"] == x["app"]
                    and y["round"] == x["round"] and y["body"] == x["body"] and y["party"] != x["party"]):
                yield Match(i, x["fid"], (y["fid"], x["fid"]))


_RUN = {Absence: _absence, Premature: _premature, Count: _count, Follows: _follows,
        ChannelMismatch: _channel, Flag: _flag, Duplicate: _duplicate}
