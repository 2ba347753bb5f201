"""A fenced runtime around the stock durable-rules 2.0.28 C extension.

durable-rules has known memory-safety and correctness defects (see
``shared/reference/durable-rules-notes.md``). This module is the only place that
talks to it, and it does so under a fixed discipline that, in measurement, avoids
every one of them:

* :class:`QuietHost` never starts durable's background timer/dispatch threads, so
  ``delete_state`` never races with them.
* Rulesets are JSON dicts registered on our own host (never ``durable.lang``), named
  by a hash of their content and registered once per :class:`Runtime`.
* One session per evaluation, asserted one fact at a time with ``assert_fact``
  (never ``post``, never timers), a final ``clock`` fact that an internal rule always
  fires on (so an action has run before ``delete_state``), and ``delete_state`` in
  ``finally``.
* Session ids and fact ids come from :class:`IdPool`\\ s whose hashes under durable's
  own 32-bit FNV-1a (:func:`fnv1a32`) are verified distinct; durable compares only
  those hashes, never the strings.
* Every pattern after a rule's first (positive or ``none``) is a flat ``$and`` chain
  ending with the always-true correlated sentinel ``one == <earlier alias>.one``
  (each fact carries ``one: 1``); the first pattern refers to no other; no ``$or``
  anywhere (express OR as separate rules); no condition reads the session state
  (``$s``), and no first pattern consists of ``missing()`` tests only (it would
  match durable's per-session state fact ``{sid, id: "sid-<sid>", $s: 1}``, which is
  re-asserted after every action, so the rule would fire forever; the sentinel keeps
  the state fact out of later patterns). :meth:`Runtime.ensure_ruleset` rejects
  definitions that break these rules, and the condition helpers below
  (:func:`pattern`, :func:`none`, :func:`rule`, :func:`eq`, :func:`gt`, :func:`ref`,
  ...) produce only conforming shapes (except a missing()-only first pattern).

Absence is checked when the clock arrives. durable fires an action *inside* the
``assert_fact`` that completes a match, and a ``none(...)`` is tested only when a
partial match reaches it: a blocking fact asserted later neither un-fires the action
nor retracts the match (measured: wrong in 10 of 24 assertion orders). So every
rule with a ``none(...)`` must bind the clock fact (``type == "clock"``, asserted
last) in a positive pattern *before* its first ``none``; where a rule has no clock
pattern, :meth:`Runtime.ensure_ruleset` inserts ``__now`` (alias not reported)
there. Rules without ``none`` are monotonic and fire as soon as they match. A fact
binds at most one pattern per match (durable matches distinct facts).

Condition JSON shapes (what durable expects, what the helpers produce)::

    rule(p1, p2, ..., pri=None) -> {"all": [p1, p2, ...]}            (+ "pri": n)
    pattern("a", c)             -> {"a": c}                          one alpha test
    pattern("a", c1, c2)        -> {"a": {"$and": [c1, c2]}}
    pattern("b", c1, cref)      -> {"b": {"$and": [c1, cref, {"one": {"a": "one"}}]}}
    none(c1, cref)              -> {"$not": {"$and": [c1, cref, {"one": {"a": "one"}}]}}
                                   (rule() renames the key to "none<i>$not")
    eq("type", "inquiry")       -> {"type": "inquiry"}
    eq("x", ref("a", "x"))      -> {"x": {"a": "x"}}
    neq/lt/lte/gt/gte(attr, v)  -> {"$neq"|"$lt"|"$lte"|"$gt"|"$gte": {attr: v}}
    exists("x") / missing("x")  -> {"$ex": {"x": 1}} / {"$nex": {"x": 1}}
    ref("a", "ts")              -> {"a": "ts"}
    ref("a", "ts", plus=86400)  -> {"$add": {"$l": {"a": "ts"}, "$r": 86400}}
    ref("a", "ts", plus=-60)    -> {"$sub": {"$l": {"a": "ts"}, "$r": 60}}

``cref`` above is any condition whose value is a :func:`ref`; the sentinel refers to
the first alias referenced in the pattern; :func:`rule` adds one referring to its
first alias to any later pattern that has none. A ruleset definition is
``{rule_name: rule(...)}``; rule names and aliases must not start with ``__``
(reserved).

Facts that match no pattern at all: durable stores a fact iff it passes the alpha
(non-correlated) tests of *some* pattern of *some* rule, at any position (first,
later or ``none``); such facts join later patterns normally. A fact that passes no
pattern's alpha tests raises ``MessageNotHandledException`` and is not stored, but
no rule could ever match it, so :meth:`Runtime.evaluate` simply ignores that
exception per fact (facts are asserted one at a time, so it never cuts a batch
short). No catch-all rule is added: it would cost a Python action per fact.

Raises :class:`ImportError` at import where durable-rules cannot be imported (e.g.
Python 3.13: ``undefined symbol: PyEval_CallObject``), so callers can fall back to
the reference backend.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

try:
    from durable import engine as _durable
    import durable_rules_engine as _engine
except Exception as _exc:  # ImportError, or OSError from a broken shared object
    raise ImportError(
        "durable-rules cannot be imported on Python "
        f"{sys.version_info.major}.{sys.version_info.minor} ({_exc}); "
        "use the reference backend instead"
    ) from _exc

from engine.errors import EngineError

__all__ = [
    "MAX_SEQUENCE_EXPRESSIONS", "MAX_LIVE_SESSIONS", "MAX_PRI", "CLOCK_TYPE", "SENTINEL",
    "CLOCK_RULE", "DurableError", "DurableActionError", "DisciplineError",
    "PatternTooLongError", "QuietHost", "fnv1a32", "IdPool", "Runtime", "ruleset_name",
    "Ref", "ref", "eq", "neq", "lt", "lte", "gt", "gte", "exists", "missing",
    "pattern", "none", "rule",
]

#: durable's per-pattern expression-sequence capacity (rete.h). A pattern's sequence
#: holds 2 entries per ``$and`` group plus 1 per correlated test; durable refuses the
#: ruleset (error 113) once a sequence reaches this many entries.
MAX_SEQUENCE_EXPRESSIONS = 32
#: durable refuses the 1,025th live session of a ruleset (MemoryError, then crashes).
MAX_LIVE_SESSIONS = 1024
#: ``pri`` is parsed into an unsigned short: values wrap modulo 65,536 (-5 runs last).
#: 65,535 is reserved for the internal clock rule.
MAX_PRI = 65534
#: the ``type`` of the final fact of every evaluation
CLOCK_TYPE = "clock"
#: attribute set to 1 on every fact, used by the correlated sentinel
SENTINEL = "one"
#: name of the internal always-firing rule
CLOCK_RULE = "__clock__"

_CLOCK_PRI = 65535
_COMPARISONS = ("$lt", "$lte", "$gt", "$gte", "$neq")
_PRESENCE = ("$ex", "$nex")
_RESERVED_FACT_KEYS = ("id", "sid")
_SCALARS = (str, int, float, bool)
_SCALAR_TYPES = frozenset(_SCALARS)

Scalar = Union[str, int, float, bool]
Condition = dict[str, Any]
FiredRecord = tuple[str, dict[str, str]]


class DurableError(EngineError):
    """durable-rules failed in a way the caller should answer from another backend."""


class DurableActionError(DurableError):
    """An action raised; durable swallowed it into the session state.

    ``rule_name`` is the rule whose action raised, when known; ``__cause__`` is the
    original exception when it was raised by this runtime's collector.
    """

    def __init__(self, message: str, rule_name: str | None = None):
        super().__init__(message)
        self.rule_name = rule_name


class DisciplineError(ValueError):
    """A ruleset definition breaks the safe-usage discipline or durable's shape."""


class PatternTooLongError(DisciplineError):
    """A pattern exceeds ``MAX_SEQUENCE_EXPRESSIONS``."""


class QuietHost(_durable.Host):
    """A durable Host that starts no background threads, and writes facts durable can read.

    ``Host._run`` starts two self-rescheduling ``threading.Timer`` loops (action
    dispatch, wall-clock timers) that touch every session every ~0.2 s and race with
    ``delete_state`` (use-after-free). We use neither feature.

    durable's JSON reader refuses a number in exponent notation (error 204), which is how
    Python writes a float below 1e-4 or from 1e16 on (an instant 10 us after 1970-01-01
    is ``1e-05`` seconds). :meth:`assert_fact` writes such floats positionally, digit for
    digit the same value (``0.00001``); durable reads those exactly.
    """

    def _run(self) -> None:
        pass

    def assert_fact(self, ruleset_name, fact, complete=None):
        rules = self.get_ruleset(ruleset_name)
        text = fact_json(fact)

        def assert_text(_fact):
            return rules._handle_result(_engine.assert_fact(rules._handle, text), _fact)

        return self._handle_function(rules, assert_text, fact, complete)


def _positional(value: float) -> str:
    """``value`` (finite) written without an exponent, with the digits of its shortest repr."""
    from decimal import Decimal  # rare: not imported at start-up
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def fact_json(fact: Mapping[str, Any]) -> str:
    """``fact`` (flat scalars) as durable's reader takes it: floats never in exponent notation."""
    text = json.dumps(fact, ensure_ascii=False)
    if "e-" not in text and "e+" not in text:  # Python's exponents; a string holding one is written the careful way too
        return text
    return "{" + ", ".join(
        f"{json.dumps(key, ensure_ascii=False)}: "
        + (_positional(value) if isinstance(value, float) else json.dumps(value, ensure_ascii=False))
        for key, value in fact.items()) + "}"


# --------------------------------------------------------------------------- ids


def fnv1a32(s: str) -> int:
    """The 32-bit FNV-1a hash durable uses for session ids, fact ids and names.

    durable hashes the UTF-8 bytes through a (signed, on x86-64) ``char``, so bytes
    >= 0x80 are sign-extended before the XOR. For ASCII this is plain FNV-1a.
    """
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        if b >= 0x80:
            b |= 0xFFFFFF00
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


class IdPool:
    """Ids ``<prefix>0, <prefix>1, ...`` whose :func:`fnv1a32` hashes are distinct.

    A candidate whose hash equals an earlier id's (or a ``reserved`` string's) is
    skipped, so ``pool[i]`` is not always ``f"{prefix}{i}"``. The pool grows lazily.
    """

    def __init__(self, prefix: str, reserved: Iterable[str] = ()) -> None:
        self.prefix = prefix
        self._taken = {fnv1a32(r) for r in reserved}
        self._ids: list[str] = []
        self._counter = 0
        #: candidates skipped because their hash collided
        self.skipped: list[str] = []

    def __getitem__(self, index: int) -> str:
        if index < 0:
            raise IndexError(index)
        while len(self._ids) <= index:
            candidate = f"{self.prefix}{self._counter}"
            self._counter += 1
            h = fnv1a32(candidate)
            if h in self._taken:
                self.skipped.append(candidate)
                continue
            self._taken.add(h)
            self._ids.append(candidate)
        return self._ids[index]

    def take(self, n: int) -> list[str]:
        """The first ``n`` ids."""
        return [self[i] for i in range(n)]

    def __len__(self) -> int:
        """How many ids have been generated so far."""
        return len(self._ids)


# -------------------------------------------------------------- condition helpers


@dataclass(frozen=True)
class Ref:
    """A value taken from an earlier pattern's fact: ``<alias>.<attr> + plus``."""

    alias: str
    attr: str
    plus: int | float = 0

    def to_json(self) -> dict[str, Any]:
        base = {self.alias: self.attr}
        if self.plus == 0:
            return base
        if self.plus > 0:
            return {"$add": {"$l": base, "$r": self.plus}}
        return {"$sub": {"$l": base, "$r": -self.plus}}


def ref(alias: str, attr: str, plus: int | float = 0) -> Ref:
    """Refer to ``attr`` of the fact bound to ``alias`` (optionally plus a number)."""
    return Ref(alias, attr, plus)


def _value(v: Scalar | Ref) -> Any:
    if isinstance(v, Ref):
        return v.to_json()
    if isinstance(v, (str, int, float, bool)):
        return v
    raise TypeError(f"condition value must be str, int, float, bool or ref(...), not {v!r}")


def eq(attr: str, value: Scalar | Ref) -> Condition:
    """``attr == value`` -> ``{attr: value}``."""
    return {attr: _value(value)}


def _cmp(op: str, attr: str, value: Scalar | Ref) -> Condition:
    return {op: {attr: _value(value)}}


def neq(attr: str, value: Scalar | Ref) -> Condition:
    """``attr != value`` -> ``{"$neq": {attr: value}}``."""
    return _cmp("$neq", attr, value)


def lt(attr: str, value: Scalar | Ref) -> Condition:
    """``attr < value`` -> ``{"$lt": {attr: value}}``."""
    return _cmp("$lt", attr, value)


def lte(attr: str, value: Scalar | Ref) -> Condition:
    """``attr <= value`` -> ``{"$lte": {attr: value}}``."""
    return _cmp("$lte", attr, value)


def gt(attr: str, value: Scalar | Ref) -> Condition:
    """``attr > value`` -> ``{"$gt": {attr: value}}``."""
    return _cmp("$gt", attr, value)


def gte(attr: str, value: Scalar | Ref) -> Condition:
    """``attr >= value`` -> ``{"$gte": {attr: value}}``."""
    return _cmp("$gte", attr, value)


def exists(attr: str) -> Condition:
    """The fact has ``attr`` -> ``{"$ex": {attr: 1}}``."""
    return {"$ex": {attr: 1}}


def missing(attr: str) -> Condition:
    """The fact lacks ``attr`` -> ``{"$nex": {attr: 1}}``."""
    return {"$nex": {attr: 1}}


def _sentinel(alias: str) -> Condition:
    return {SENTINEL: {alias: SENTINEL}}


def _conjunction(conds: Sequence[Condition]) -> Condition:
    """Join tests; a correlated chain gets the sentinel as its last test."""
    if not conds:
        raise ValueError("a pattern needs at least one condition")
    tests = [dict(c) for c in conds]
    refs = [a for a in (_leaf(t)[1] for t in tests) if a is not None]
    if refs and not _is_sentinel(tests[-1]):
        tests.append(_sentinel(refs[0]))
    return tests[0] if len(tests) == 1 else {"$and": tests}


def pattern(alias: str, *conds: Condition) -> Condition:
    """Bind the fact matching all ``conds`` to ``alias``: ``{alias: condition}``."""
    return {alias: _conjunction(conds)}


def none(*conds: Condition) -> Condition:
    """Absence: no fact matches all ``conds`` (placeholder key, named by :func:`rule`)."""
    return {"$not": _conjunction(conds)}


def rule(*patterns: Condition, pri: int | None = None) -> dict[str, Any]:
    """A rule firing when all ``patterns`` match: ``{"all": [...], "pri": pri}``.

    Later patterns without a sentinel get one referring to the first pattern's
    alias. ``pri`` (0..MAX_PRI): lower fires first; default 0.
    """
    out: list[Condition] = []
    first_alias = ""
    for i, p in enumerate(patterns):
        ((key, cond),) = p.items()
        if i == 0:
            first_alias = key
        else:
            tests = list(cond["$and"]) if set(cond) == {"$and"} else [cond]
            if not _is_sentinel(tests[-1]):
                cond = {"$and": [*tests, _sentinel(first_alias)]}
        out.append({f"none{i}$not": cond} if key == "$not" else {key: cond})
    body: dict[str, Any] = {"all": out}
    if pri is not None:
        body["pri"] = pri
    return body


# ------------------------------------------------------------------- validation


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _simple_ref(v: Any) -> str | None:
    """``{alias: attr}`` -> alias, else None."""
    if isinstance(v, dict) and len(v) == 1:
        ((k, attr),) = v.items()
        if isinstance(k, str) and k.isidentifier() and isinstance(attr, str):
            return k
    return None


def _ref_alias(v: Any) -> str | None:
    """The alias a reference value names; None for a literal; raise if unsupported."""
    if not isinstance(v, dict):
        return None
    alias = _simple_ref(v)
    if alias is not None:
        return alias
    if len(v) == 1:
        ((op, inner),) = v.items()
        if op in ("$add", "$sub") and isinstance(inner, dict) and set(inner) == {"$l", "$r"} \
                and _is_number(inner["$r"]):
            alias = _simple_ref(inner["$l"])
            if alias is not None:
                return alias
    raise DisciplineError(f"unsupported value {v!r}: use a scalar or ref(alias, attr[, plus])")


def _leaf(cond: Any) -> tuple[str, str | None]:
    """Validate one test; return (attribute, referenced alias or None)."""
    if not isinstance(cond, dict) or len(cond) != 1:
        raise DisciplineError(f"a test must be a one-key dict, got {cond!r}")
    ((key, body),) = cond.items()
    if key in ("$and", "$or", "$s"):
        raise DisciplineError(f"{key!r} is not allowed here (flat $and only, no $or, no state)")
    if key in _COMPARISONS or key in _PRESENCE:
        if not isinstance(body, dict) or len(body) != 1:
            raise DisciplineError(f"{key} needs one {{attr: value}}, got {body!r}")
        ((attr, value),) = body.items()
        if key in _PRESENCE:
            if value != 1:
                raise DisciplineError(f"{key} takes {{attr: 1}}, got {body!r}")
            alias = None
        else:
            alias = _ref_alias(value)
    elif key.startswith("$"):
        raise DisciplineError(f"unsupported operator {key!r}")
    else:
        attr, value = key, body
        alias = _ref_alias(value)
    if not isinstance(attr, str) or not attr or attr.startswith("$"):
        raise DisciplineError(f"bad attribute name {attr!r}")
    if attr in _RESERVED_FACT_KEYS:
        raise DisciplineError(f"conditions must not test {attr!r} (assigned by the runtime)")
    if alias is None and not isinstance(value, (str, int, float, bool)):
        raise DisciplineError(f"unsupported literal {value!r}")
    return attr, alias


def _is_sentinel(cond: Any) -> bool:
    if isinstance(cond, dict) and len(cond) == 1 and SENTINEL in cond:
        v = cond[SENTINEL]
        return isinstance(v, dict) and len(v) == 1 and list(v.values()) == [SENTINEL]
    return False


def _check_pattern(rule_name: str, alias: str, cond: Any, bound: set[str]) -> None:
    """Check one pattern; ``bound`` holds the aliases of earlier positive patterns."""
    where = f"rule {rule_name!r}, pattern {alias!r}"
    if not isinstance(cond, dict):
        raise DisciplineError(f"{where}: condition must be a dict")
    grouped = set(cond) == {"$and"}
    tests = cond["$and"] if grouped else [cond]
    if not isinstance(tests, list) or not tests:
        raise DisciplineError(f"{where}: $and needs a non-empty list")
    if len(tests) > MAX_SEQUENCE_EXPRESSIONS:
        raise PatternTooLongError(
            f"{where}: {len(tests)} tests exceed MAX_SEQUENCE_EXPRESSIONS={MAX_SEQUENCE_EXPRESSIONS}")
    correlated = 0
    for t in tests:
        try:
            _, a = _leaf(t)
        except DisciplineError as e:
            raise DisciplineError(f"{where}: {e}") from None
        if a is not None:
            correlated += 1
            if a not in bound:
                raise DisciplineError(f"{where}: refers to {a!r}, not bound by an earlier pattern")
    if not bound and all(next(iter(t)) == "$nex" for t in tests):
        raise DisciplineError(
            f"{where}: a first pattern of missing() tests only would match the session's state "
            "fact (sid, id, $s), which durable re-asserts after every action: the rule would "
            "fire forever. Add a test such as eq('type', ...)")
    if bound and (not grouped or len(tests) < 2 or not _is_sentinel(tests[-1])):
        raise DisciplineError(
            f"{where}: every pattern after the first must be a flat $and ending with the "
            f"sentinel {{'{SENTINEL}': {{<earlier alias>: '{SENTINEL}'}}}} (use rule())")
    length = (2 if grouped else 0) + correlated
    if length >= MAX_SEQUENCE_EXPRESSIONS:
        raise PatternTooLongError(
            f"{where}: durable expression sequence of {length} entries (2 per $and + 1 per "
            f"correlated test) reaches MAX_SEQUENCE_EXPRESSIONS={MAX_SEQUENCE_EXPRESSIONS}")


def _check_definition(definition: Mapping[str, Any]) -> None:
    if not isinstance(definition, Mapping) or not definition:
        raise DisciplineError("a ruleset definition is a non-empty {rule_name: rule} dict")
    for name, body in definition.items():
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise DisciplineError(f"bad rule name {name!r} (non-empty, not starting with '__')")
        if not isinstance(body, Mapping) or "all" not in body or set(body) - {"all", "pri"}:
            raise DisciplineError(
                f"rule {name!r}: expected {{'all': [...], 'pri': n}} (no any/count/cap/run), "
                f"got keys {sorted(body) if isinstance(body, Mapping) else body!r}")
        pri = body.get("pri", 0)
        if not isinstance(pri, int) or isinstance(pri, bool) or not 0 <= pri <= MAX_PRI:
            raise DisciplineError(f"rule {name!r}: pri must be an int in 0..{MAX_PRI}, got {pri!r}")
        patterns = body["all"]
        if not isinstance(patterns, list) or not patterns:
            raise DisciplineError(f"rule {name!r}: 'all' must be a non-empty list")
        bound: set[str] = set()
        seen: set[str] = set()
        for i, p in enumerate(patterns):
            if not isinstance(p, Mapping) or len(p) != 1:
                raise DisciplineError(f"rule {name!r}: pattern {i} must be a one-key dict")
            ((key, cond),) = p.items()
            negated = key.endswith("$not")
            alias = key[: -len("$not")] if negated else key
            if not alias.isidentifier() or alias.startswith("__") or alias in seen:
                raise DisciplineError(f"rule {name!r}: bad, reserved or duplicate alias {key!r}")
            if negated and i == 0:
                raise DisciplineError(f"rule {name!r}: the first pattern cannot be an absence")
            seen.add(alias)
            _check_pattern(name, key, cond, bound)
            if not negated:
                bound.add(alias)
        _clock_gate_position(name, patterns)


def _binds_clock(pattern_: Mapping[str, Any]) -> bool:
    ((key, cond),) = pattern_.items()
    tests = cond["$and"] if set(cond) == {"$and"} else [cond]
    return not key.endswith("$not") and {"type": CLOCK_TYPE} in tests


def _clock_gate_position(rule_name: str, patterns: Sequence[Mapping[str, Any]]) -> int | None:
    """Where ``__now`` must be inserted (before the first ``none``), or None."""
    nones = [i for i, p in enumerate(patterns) if next(iter(p)).endswith("$not")]
    if not nones:
        return None
    clocks = [i for i, p in enumerate(patterns) if _binds_clock(p)]
    if not clocks:
        return nones[0]
    if clocks[0] > nones[0]:
        raise DisciplineError(
            f"rule {rule_name!r}: put the clock pattern before the first none(...): an absence "
            "is only reliable once the clock (the last fact) has arrived")
    return None


def _with_clock_gate(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A plain-dict copy with ``__now`` inserted where :func:`_clock_gate_position` says."""
    rules: dict[str, Any] = json.loads(json.dumps(definition))  # plain dicts, same order
    for rule_name, body in rules.items():
        at = _clock_gate_position(rule_name, body["all"])
        if at is not None:
            first_alias = next(iter(body["all"][0]))
            gate = {"__now": {"$and": [{"type": CLOCK_TYPE}, _sentinel(first_alias)]}}
            body["all"].insert(at, gate)
    return rules


def _canonical(definition: Mapping[str, Any]) -> str:
    try:
        return json.dumps(definition, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise DisciplineError(f"a ruleset definition must be plain JSON: {e}") from e


def ruleset_name(definition: Mapping[str, Any]) -> str:
    """The content-derived name :meth:`Runtime.ensure_ruleset` registers under."""
    return "rs_" + hashlib.sha256(_canonical(definition).encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------------- runtime


@dataclass
class _Evaluation:
    """Per-evaluation collector state."""

    id_map: dict[str, str]
    #: pool id of the spare clock asserted if the evaluation failed before its clock
    rescue_id: str
    fired: list[FiredRecord] = field(default_factory=list)
    clock_fired: bool = False
    failed_rule: str | None = None
    failure: BaseException | None = None
    #: set while the rescue clock is asserted after a failure: record nothing
    rescuing: bool = False


class Runtime:
    """One :class:`QuietHost` and the rulesets registered on it.

    Not re-entrant (do not call :meth:`evaluate` from ``on_fire``); calls from several
    threads are serialized (the extension never releases the GIL anyway). A crash in
    the extension kills the process: run this inside a worker process.

    ``on_fire(rule_name, {alias: fact_id})``, if given, is called inside every user
    rule's action; if it raises, :meth:`evaluate` raises :class:`DurableActionError`.
    """

    #: session ids in rotation; far below MAX_LIVE_SESSIONS
    SESSION_POOL_SIZE = 16

    def __init__(self, on_fire: Callable[[str, dict[str, str]], None] | None = None) -> None:
        self._host = QuietHost()
        self._on_fire = on_fire
        self._sessions = IdPool("s").take(self.SESSION_POOL_SIZE)
        # every session holds a state fact with id "sid-<sid>": keep fact ids off it
        self._fact_ids = IdPool("e", reserved=[f"sid-{s}" for s in self._sessions])
        self._next_session = 0
        self._quarantined: set[tuple[str, str]] = set()
        self._registered: set[str] = set()
        self._lock = threading.RLock()
        self._active: _Evaluation | None = None

    # -- registration

    def ensure_ruleset(self, definition: Mapping[str, Any]) -> str:
        """Validate and register ``definition`` (``{rule_name: rule}``) once; return its name.

        The runtime adds the internal rule :data:`CLOCK_RULE` (fires on the final
        ``type == "clock"`` fact, ``pri`` 65535), inserts the ``__now`` clock gate
        before the first ``none`` of rules that bind no clock, and routes every action
        to its collector. Raises :class:`DisciplineError` / :class:`PatternTooLongError` for
        definitions outside the discipline, :class:`DurableError` if durable refuses.
        """
        _check_definition(definition)
        name = ruleset_name(definition)
        with self._lock:
            if name in self._registered:
                return name
            rules = _with_clock_gate(definition)
            for rule_name, body in rules.items():
                body["run"] = self._action(rule_name)
            rules[CLOCK_RULE] = {
                "all": [{"m": {"type": CLOCK_TYPE}}],
                "pri": _CLOCK_PRI,
                "run": self._action(CLOCK_RULE),
            }
            try:
                self._host.register_rulesets({name: rules})
            except Exception as e:
                raise DurableError(f"durable refused ruleset {name}: {e}") from e
            self._registered.add(name)
            return name

    def _action(self, rule_name: str) -> Callable[[Any], None]:
        def action(c: Any) -> None:  # durable requires exactly one parameter
            self._collect(rule_name, c)
        return action

    def _collect(self, rule_name: str, c: Any) -> None:
        ev = self._active
        if ev is None:
            raise RuntimeError(f"rule {rule_name!r} fired outside an evaluation")
        if rule_name == CLOCK_RULE:
            ev.clock_fired = True
            return
        if ev.rescuing:
            return
        try:
            ids = {alias: ev.id_map[fact["id"]] for alias, fact in c._m.items()
                   if not alias.startswith("__")}
            ev.fired.append((rule_name, ids))
            if self._on_fire is not None:
                self._on_fire(rule_name, ids)
        except BaseException as e:
            if ev.failure is None:
                ev.failed_rule, ev.failure = rule_name, e
            raise  # durable records it in state['exception']

    # -- evaluation

    def evaluate(
        self, name: str, facts: Sequence[Mapping[str, Any]], clock: Mapping[str, Any]
    ) -> list[FiredRecord]:
        """Run ``facts`` then ``clock`` through ruleset ``name`` in a fresh session.

        Fact ids: a fact's own ``id`` (any scalar; default: its index in ``facts``;
        the clock's default is ``"clock"``) is the caller's id and is what the records
        return, as ``str``. Ids must be distinct. The runtime sends durable a copy with
        ``id`` replaced by a pool id, ``sid`` set to the session and ``one`` set to 1;
        the clock gets ``type = "clock"``. Facts that match no pattern are ignored.

        Returns ``[(rule_name, {alias: caller_fact_id}), ...]`` in firing order (per
        asserted fact, then by ``pri``), without the internal clock rule. Raises
        :class:`DurableActionError` if an action raised, :class:`DurableError` if
        durable failed, ``ValueError`` for unusable input.
        """
        with self._lock:
            if self._active is not None:
                raise RuntimeError("Runtime.evaluate is not re-entrant")
            if name not in self._registered:
                raise KeyError(f"ruleset {name!r} is not registered on this runtime")
            docs, ev = self._documents(facts, clock)
            sid = self._take_session(name)
            self._active = ev
            try:
                for doc in docs:  # the runtime's own copies
                    doc["sid"] = sid
                    self._assert(name, doc, is_clock=doc is docs[-1])
                state = self._host.get_state(name, sid)
                if "exception" in state:
                    raise DurableActionError(
                        f"action of rule {ev.failed_rule or '?'} raised: {state['exception']}",
                        ev.failed_rule) from ev.failure
                if not ev.clock_fired:
                    raise DurableError("the internal clock rule did not fire")
                return ev.fired
            finally:
                try:
                    self._release(name, sid, ev)
                finally:
                    self._active = None

    def _documents(
        self, facts: Sequence[Mapping[str, Any]], clock: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], _Evaluation]:
        """What durable gets (facts, then the clock) and a collector mapping ids back.

        Everything is checked here, before a session exists, so that an evaluation
        rarely fails half-way through one.
        """
        if not isinstance(clock, Mapping) or clock.get("type", CLOCK_TYPE) != CLOCK_TYPE:
            raise ValueError(f"the clock must be a mapping with type {CLOCK_TYPE!r}: {clock!r}")
        everything = [*facts, {**clock, "type": CLOCK_TYPE}]
        caller_ids: list[str] = []
        for i, f in enumerate(everything[:-1]):
            if not isinstance(f, Mapping):
                raise ValueError(f"fact {i} is not a mapping: {f!r}")
            if f.get("type") == CLOCK_TYPE:
                raise ValueError(f"fact {i}: only the clock may have type {CLOCK_TYPE!r}")
            caller_ids.append(str(f.get("id", i)))
        caller_ids.append(str(clock.get("id", "clock")))
        if len(set(caller_ids)) != len(caller_ids):
            raise ValueError("fact ids (including the clock's) must be distinct")
        pool_ids = self._fact_ids.take(len(everything) + 1)  # the last one: rescue clock
        docs: list[dict[str, Any]] = []
        for i, f in enumerate(everything):
            doc = dict(f)
            doc.pop("sid", None)
            doc["id"], doc[SENTINEL] = pool_ids[i], 1
            # flat scalars only: cheaper than a trial json.dumps. The usual fact holds values of
            # exactly these types, which one set of their types shows; anything else (a
            # subclass, a non-finite float, a nested value) is looked at value by value
            kinds = set(map(type, doc.values()))
            if not kinds <= _SCALAR_TYPES or (float in kinds and not all(
                    map(math.isfinite, [v for v in doc.values() if type(v) is float]))):
                for key, value in doc.items():
                    if not isinstance(value, _SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
                        raise ValueError(f"fact {caller_ids[i]!r}: attribute {key!r} must be a finite number, "
                                         f"a string or a boolean, not {value!r}")
            docs.append(doc)
        return docs, _Evaluation(dict(zip(pool_ids, caller_ids)), rescue_id=pool_ids[-1])

    def _assert(self, name: str, doc: dict[str, Any], is_clock: bool) -> None:
        try:
            self._host.assert_fact(name, doc)
        except _durable.MessageNotHandledException:
            if is_clock:
                raise DurableError("the clock fact was not handled") from None
            # matches no pattern's alpha tests: no rule can use it, durable keeps nothing
        except _durable.MessageObservedException as e:
            raise DurableError(f"durable saw fact id {doc['id']!r} twice") from e
        except DurableError:
            raise
        except Exception as e:
            raise DurableError(f"assert_fact failed: {e}") from e

    def _take_session(self, name: str) -> str:
        for _ in range(len(self._sessions)):
            sid = self._sessions[self._next_session]
            self._next_session = (self._next_session + 1) % len(self._sessions)
            if (name, sid) not in self._quarantined:
                return sid
        raise DurableError(f"every session id of ruleset {name} is quarantined")

    def _release(self, name: str, sid: str, ev: _Evaluation) -> None:
        """Delete the session; never delete one in which no action ran (defect 3)."""
        if not ev.clock_fired:
            ev.rescuing = True
            try:
                rescue = {"sid": sid, "id": ev.rescue_id, "type": CLOCK_TYPE, SENTINEL: 1}
                self._host.assert_fact(name, rescue)
            except Exception:
                pass
        if not ev.clock_fired:
            self._quarantined.add((name, sid))  # leak it rather than risk the heap
            return
        try:
            self._host.delete_state(name, sid)
        except Exception:
            self._quarantined.add((name, sid))
