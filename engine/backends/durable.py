"""The durable-rules backend: the IR compiled to Rete rulesets.

Each IR node becomes one or more durable-rules rules over the prepared facts
(:mod:`engine.facts`); the rules engine does the correlation, ordering, windows,
counting and absence. Everything that touches durable-rules itself goes through the
fenced runtime in :mod:`engine.backends._durable_runtime` (one quiet host, content-
hashed rulesets, one session per evaluation, pooled ids, a final clock fact).

How the nodes compile (``clk`` is the clock fact, asserted last; every rule that
tests an absence binds it first, so each ``none`` is checked once all facts are in,
and each ``none`` sits right after the patterns it constrains, which keeps chains of
partial matches short). A ``none`` never sees a fact bound earlier in the same match,
so where such a fact could be the one the ``none`` excludes, the positive pattern
tests it instead (a reset inside a count chain). durable-rules finds a pattern's
candidates by hashing its equality tests and then tests each candidate in the order
written, so joins are equalities where the IR allows (a count's chain on scope
positions), and range tests come before equalities (the first failing test ends a
candidate's evaluation):

* ``Absence``    clk, T (trigger, clock past its deadline), none(expected in window), none(cancel)
* ``Premature``  clk, S (subject), none(unless before S), A (anchor, S early), none(a later anchor before S)
* ``Count``      clk, [A (after)], X1, X2, ..., X, none(reset); X_k is found by its position in
                 the count's scope (``n<k>`` of :mod:`engine.facts`: X1's plus k-1), an
                 equality durable-rules looks up by hash, so a chain costs one lookup per link
                 rather than a test of every earlier subject fact
* ``Follows``    X, A  (two rules when party-scoped: anchor naming nobody / naming X's party)
* ``ChannelMismatch`` clk, P, X, none(a later preference) | clk, X (standing preference), none(any preference)
* ``Flag``       X (flag set)
* ``Duplicate``  Y, X (same application, round and body; other party; later)

Strings that vary per timeline (application, party, channel) are interned to small
integers before they reach the engine; event types are a fixed vocabulary.
"""

from __future__ import annotations

import threading
from typing import Any

from . import _durable_runtime as rt
from ..errors import EngineError
from ..facts import FactTable, count_scopes
from ..ir import Absence, ChannelMismatch, Count, Duplicate, Flag, Follows, Premature, Program, Selector
from .base import Match

__all__ = ["DurableBackend", "compile_program"]

_eq, _neq, _lt, _lte, _gt, _gte, _ref = rt.eq, rt.neq, rt.lt, rt.lte, rt.gt, rt.gte, rt.ref
_INTERNED = ("app", "party", "channel")


class _Plan:
    """A compiled program: the ruleset definition and how to read its firings back."""

    def __init__(self, program: Program):
        self.sel = {s: f"s{k}" for k, s in enumerate(program.selectors())}
        self.time = {t: f"t{k}" for k, t in enumerate(program.timerefs())}
        self.flag = {f: f"f{k}" for k, f in enumerate(program.flags())}
        self.rank = {scope: f"n{k}" for k, scope in enumerate(count_scopes(program))}
        self.rules: dict[str, Any] = {}
        #: rule name -> (node index, aliases cited in order, offender alias, alias and attr of due)
        self.readers: dict[str, tuple[int, tuple[str, ...], str, tuple[str, str] | None]] = {}
        for index, node in enumerate(program.nodes):
            getattr(self, "_" + type(node).__name__.lower())(index, node)
        self.gates = _gates(self.rules)

    def only(self, nodes: frozenset[int]) -> "_Plan":
        """This plan with the rules of the nodes in ``nodes`` only (keys and readers unchanged)."""
        part = object.__new__(_Plan)
        part.sel, part.time, part.flag, part.rank = self.sel, self.time, self.flag, self.rank
        part.readers = {name: r for name, r in self.readers.items() if r[0] in nodes}
        part.rules = {name: body for name, body in self.rules.items() if name in part.readers}
        part.gates = _gates(part.rules)
        return part

    def admits(self, doc: dict) -> bool:
        """Whether some pattern of these rules may match ``doc`` (see :func:`_gates`)."""
        gates = self.gates
        return gates is None or any(doc.get(attr) == value for attr, value in gates)

    def _add(self, name: str, body: dict, node: int, cites: tuple[str, ...], offender: str,
             due: tuple[str, str] | None = None) -> None:
        self.rules[name] = body
        self.readers[name] = (node, cites, offender, due)

    def _is(self, selector: Selector) -> dict:
        return _eq(self.sel[selector], 1)

    # -- one method per IR node ------------------------------------------------------------

    def _absence(self, i: int, n: Absence) -> None:
        deadline = self.time[n.deadline]
        scope = _gt("party", 0) if n.per_party else _eq("primary", 1)
        window = [_lte("ts", _ref("t", deadline)), _gte("ts", _ref("t", "ts")), _neq("seq", _ref("t", "seq")),
                  _eq("app", _ref("t", "app"))]
        same_party = [_eq("party", _ref("t", "party"))] if n.per_party else []
        patterns = [rt.pattern("clk", _eq("type", rt.CLOCK_TYPE)),
                    rt.pattern("t", self._is(n.trigger), scope, _lt(deadline, _ref("clk", "ts"))),
                    rt.none(self._is(n.expect), *same_party, *window)]
        if n.cancel is not None:
            patterns.append(rt.none(self._is(n.cancel), *window))
        self._add(f"n{i}", rt.rule(*patterns), i, ("t",), "t", ("t", deadline))

    def _premature(self, i: int, n: Premature) -> None:
        opens = self.time[n.opens]
        # S first: whether an ``unless`` fact precedes S is tested once per S, not per (A, S)
        patterns = [rt.pattern("clk", _eq("type", rt.CLOCK_TYPE)),
                    rt.pattern("s", self._is(n.subject), _eq("primary", 1), _eq("one", _ref("clk", "one")))]
        for unless in n.unless:
            patterns.append(rt.none(self._is(unless), _lt("seq", _ref("s", "seq")), _eq("app", _ref("s", "app"))))
        patterns += [rt.pattern("a", self._is(n.anchor), _gt(opens, _ref("s", "ts")), _lt("seq", _ref("s", "seq")),
                                _eq("app", _ref("s", "app"))),
                     rt.none(self._is(n.anchor), _lt("seq", _ref("s", "seq")), _gt("seq", _ref("a", "seq")),
                             _eq("app", _ref("s", "app")))]
        self._add(f"n{i}", rt.rule(*patterns), i, ("a", "s"), "s", ("a", opens))

    def _count(self, i: int, n: Count) -> None:
        if n.max == 0 and n.window is not None and n.window <= 0:
            return  # "none in an empty window": X.ts - X.ts < 0 never holds, so this never fires
        subject = self._is(n.subject)
        scope = [] if n.per_party else [_eq("primary", 1)]
        chain = [f"x{k}" for k in range(1, n.max + 1)] + ["x"]
        patterns: list = [rt.pattern("clk", _eq("type", rt.CLOCK_TYPE))]
        first_link: list = [_eq("one", _ref("clk", "one"))]
        if n.after is not None:
            patterns.append(rt.pattern("a", self._is(n.after), _eq("one", _ref("clk", "one"))))
            first_link = [_eq("app", _ref("a", "app")), _gt("seq", _ref("a", "seq"))]
        head = chain[0]
        patterns.append(rt.pattern(head, subject, *scope, *first_link))
        if n.max > 0:
            rank = self.rank[(n.subject, n.per_party)]
        for k, alias in enumerate(chain[1:], start=1):
            # the k-th fact after X_1 in the count's scope: an equality, which durable looks up by hash
            link = [subject, *scope, _eq("app", _ref(head, "app")), _eq(rank, _ref(head, rank, plus=k))]
            if n.per_party:
                link.append(_eq("party", _ref(head, "party")))
            if alias == "x" and n.window is not None:
                link.append(_lt("ts", _ref(head, "ts", plus=n.window)))
            if alias != "x" and n.reset is not None:
                link.append(_eq(self.sel[n.reset], 0))  # an inner link lies between X1 and X
            patterns.append(rt.pattern(alias, *link))
        if n.reset is not None and n.max > 0:
            patterns.append(rt.none(self._is(n.reset), _lt("seq", _ref("x", "seq")), _gt("seq", _ref(head, "seq")),
                                    _eq("app", _ref(head, "app"))))
        self._add(f"n{i}", rt.rule(*patterns), i, tuple(chain), "x")

    def _follows(self, i: int, n: Follows) -> None:
        def body(anchor_scope: list, subject_scope: list) -> dict:
            # X first: a first pattern keeps no right memory, and subject facts are the many
            return rt.rule(rt.pattern("x", self._is(n.subject), *subject_scope),
                           rt.pattern("a", self._is(n.anchor), *anchor_scope, _lt("seq", _ref("x", "seq")),
                                      _eq("app", _ref("x", "app"))))
        if not n.party_scoped:
            self._add(f"n{i}", body([], [_eq("primary", 1)]), i, ("a", "x"), "x")
            return
        self._add(f"n{i}", body([_eq("party", 0)], [_eq("primary", 1)]), i, ("a", "x"), "x")
        self._add(f"n{i}b", body([_gt("party", 0), _eq("party", _ref("x", "party"))], []), i, ("a", "x"), "x")

    def _channelmismatch(self, i: int, n: ChannelMismatch) -> None:
        preference = _eq("type", "preference")
        self._add(f"n{i}", rt.rule(
            rt.pattern("clk", _eq("type", rt.CLOCK_TYPE)),
            rt.pattern("p", preference, _eq("one", _ref("clk", "one"))),
            rt.pattern("x", self._is(n.subject), _gt("party", 0), _gt("seq", _ref("p", "seq")),
                       _neq("channel", _ref("p", "channel")), _eq("app", _ref("p", "app")),
                       _eq("party", _ref("p", "party"))),
            rt.none(preference, _lt("seq", _ref("x", "seq")), _gt("seq", _ref("p", "seq")),
                    _eq("app", _ref("x", "app")), _eq("party", _ref("x", "party")))), i, ("p", "x"), "x")
        self._add(f"n{i}b", rt.rule(
            rt.pattern("clk", _eq("type", rt.CLOCK_TYPE)),
            rt.pattern("x", self._is(n.subject), _gt("party", 0), _eq("offpref", 1), _eq("one", _ref("clk", "one"))),
            rt.none(preference, _lt("seq", _ref("x", "seq")), _eq("app", _ref("x", "app")),
                    _eq("party", _ref("x", "party")))), i, ("x",), "x")

    def _flag(self, i: int, n: Flag) -> None:
        scope = [] if n.per_party else [_eq("primary", 1)]
        self._add(f"n{i}", rt.rule(rt.pattern("x", self._is(n.subject), _eq(self.flag[n.test], 1), *scope)),
                  i, ("x",), "x")

    def _duplicate(self, i: int, n: Duplicate) -> None:
        self._add(f"n{i}", rt.rule(
            rt.pattern("y", self._is(n.subject), _gt("body", 0)),
            rt.pattern("x", self._is(n.subject), _eq("app", _ref("y", "app")), _eq("round", _ref("y", "round")),
                       _eq("body", _ref("y", "body")), _neq("party", _ref("y", "party")),
                       _gt("fid", _ref("y", "fid")))), i, ("y", "x"), "x")


_LEFT_OUT = ("id", "pref", *_INTERNED)


def _gates(rules: dict[str, dict]) -> tuple[tuple[str, Any], ...] | None:
    """One constant equality test (``attr == value``) of every pattern of ``rules``, or
    None if some pattern has none.

    durable stores a fact only if it passes the constant tests of some pattern, and a fact
    that fails every pattern's is refused (``MessageNotHandledException``, which the runtime
    ignores): such a fact changes nothing, so it need not be asserted. A planned action's
    check runs only the nodes that can cite it, and most of its application's facts then
    pass none of their patterns' tests (a thank-you's check: 22 of 36 facts).
    """
    gates: dict[tuple[str, Any], None] = {}
    for body in rules.values():
        for pattern in body["all"]:
            (condition,) = pattern.values()
            tests = condition["$and"] if "$and" in condition else [condition]
            constant = next(((attr, value) for test in tests for attr, value in test.items()
                             if not attr.startswith("$") and not isinstance(value, dict)), None)
            if constant is None:
                return None
            gates[constant] = None
    return tuple(gates)


def _convert(facts: list[dict], codes: dict[str, dict[str, int]],
             docs: list[dict]) -> tuple[dict[str, dict[str, int]], list[dict]]:
    """``docs`` extended with the engine's documents of ``facts`` (interning strings with ``codes``)."""
    for fact in facts:
        doc = dict(fact)
        for attr in _LEFT_OUT:
            doc.pop(attr, None)
        for attr in _INTERNED:
            values = codes[attr]
            doc[attr] = values.setdefault(fact[attr], len(values))
        doc["id"] = fact["fid"]
        docs.append(doc)
    return codes, docs


def compile_program(program: Program) -> _Plan:
    """The durable-rules ruleset definition for ``program`` (exposed for tests and docs)."""
    return _Plan(program)


class DurableBackend:
    """Runs programs on durable-rules, in this process. Use :mod:`engine.isolation` to fence crashes."""

    name = "durable"

    def __init__(self) -> None:
        self._runtime = rt.Runtime()
        #: program -> {None (every node) or a set of node indexes: (plan, ruleset name)}
        self._plans: dict[Program, dict[frozenset[int] | None, tuple[_Plan, str]]] = {}
        self._recent: tuple[Program, dict[frozenset[int] | None, tuple[_Plan, str]]] | None = None
        self._lock = threading.Lock()

    def _prepared(self, program: Program, nodes: frozenset[int] | None = None) -> tuple[_Plan, str]:
        with self._lock:
            recent = self._recent
            if recent is not None and recent[0] is program:  # the usual case: hashing a Program is slow
                subsets = recent[1]
            else:
                subsets = self._plans.get(program)
                if subsets is None:
                    if len(self._plans) > 256:
                        self._plans.clear()  # rulesets stay registered (durable cannot drop them); plans are cheap
                    subsets = self._plans[program] = {}
                self._recent = (program, subsets)
            found = subsets.get(nodes)
            if found is None:
                whole = subsets.get(None)
                if whole is None:
                    whole = self._register(_Plan(program))
                    subsets[None] = whole
                # a ruleset of some nodes' rules: named as in the whole program's, so it reads the same facts
                found = whole if nodes is None else self._register(whole[0].only(nodes))
                if len(subsets) > 64:
                    subsets.clear()
                    subsets[None] = whole
                subsets[nodes] = found
            return found

    def _register(self, plan: _Plan) -> tuple[_Plan, str]:
        return plan, self._runtime.ensure_ruleset(plan.rules) if plan.rules else ""

    def run(self, program: Program, table: FactTable, nodes: frozenset[int] | None = None) -> list[Match]:
        """Every match (of the nodes in ``nodes``, when given), from one durable session per
        application (each node is application-scoped)."""
        plan, name = self._prepared(program, nodes)
        if not name:
            return []  # no rules
        out: list[Match] = []
        for app, facts in table.apps.items():
            docs = [doc for doc in self._documents(table, app, facts) if plan.admits(doc)]
            out.extend(self._run_application(plan, name, table, docs))
        return out

    @staticmethod
    def _documents(table: FactTable, app: str, facts: list[dict]) -> list[dict]:
        """What the engine is given for ``app``'s facts: interned strings, the fid as id.

        Kept in the memo of a table whose facts these are, so a table that extends it (a
        planned action appended, :func:`~engine.facts.append_event`) converts only its own.
        """
        base = table.base
        done: tuple[dict, list[dict]] | None = None
        if base is not None:
            earlier = base.apps.get(app)
            if earlier and len(earlier) <= len(facts) and facts[len(earlier) - 1] is earlier[-1]:
                done = base.memo.get(("durable", app))
                if done is None:
                    done = base.memo[("durable", app)] = _convert(earlier, {a: {"": 0} for a in _INTERNED}, [])
        if done is None:
            return _convert(facts, {a: {"": 0} for a in _INTERNED}, [])[1]
        codes, docs = done
        return _convert(facts[len(docs):], {a: dict(v) for a, v in codes.items()}, list(docs))[1]

    def _run_application(self, plan: _Plan, name: str, table: FactTable, docs: list[dict]) -> list[Match]:
        try:
            fired = self._runtime.evaluate(name, docs, {"id": "clock", "ts": table.clock})
        except rt.DurableError as exc:
            raise EngineError(f"durable-rules failed: {exc}") from exc
        return [self._match(plan, table, rule_name, aliases) for rule_name, aliases in fired]

    @staticmethod
    def _match(plan: _Plan, table: FactTable, rule_name: str, aliases: dict[str, str]) -> Match:
        node, cites, offender, due = plan.readers[rule_name]
        fids = {alias: int(fid) for alias, fid in aliases.items() if alias in cites}
        due_value = table.facts[fids[due[0]]][due[1]] if due else None
        return Match(node, fids[offender], tuple(fids[a] for a in cites), due_value)
