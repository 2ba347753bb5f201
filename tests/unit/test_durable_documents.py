"""What the durable backend hands the engine, and how it checks it.

* ``Runtime.evaluate`` refuses a fact holding anything but a finite number, a string or a
  boolean, with the fact and attribute named, before a session exists; the usual fact is
  accepted by one look at its value types, anything unusual is looked at value by value.
* The backend's documents of an application's base facts are kept with that table, so a
  table that extends it (a planned action appended) converts only its own facts; what it
  hands the engine is the same as converting every fact afresh.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

try:
    from engine.backends import _durable_runtime as rt
except ImportError:  # Python 3.13: durable-rules is not installed
    pytest.skip("durable-rules does not load here", allow_module_level=True)

from engine.api import load_policy, load_timeline  # noqa: E402
from engine.backends.durable import DurableBackend  # noqa: E402
from engine.decide import PlannedAction  # noqa: E402
from engine.decide import _Checker  # noqa: E402

POLICY = load_policy("etiquette")
RULES = {"r": rt.rule(rt.pattern("a", rt.eq("type", "x")))}


class _Str(str):
    """A subclass of ``str``: still a string, so still accepted."""


_RUNTIME = rt.Runtime()  # one per process, as the backend has: rulesets are registered once
_NAME = _RUNTIME.ensure_ruleset(RULES)


@pytest.fixture(scope="module")
def runtime():
    return _RUNTIME, _NAME


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, None, [1], {"k": 1}, (1,), b"x"])
def test_a_fact_holding_anything_but_a_finite_scalar_is_refused_with_its_attribute_named(runtime, value):
    """Non-finite floats, None and nested or byte values never reach durable."""
    rt_, name = runtime
    with pytest.raises(ValueError, match=r"fact 'f1': attribute 'v' must be a finite number"):
        rt_.evaluate(name, [{"id": "f0", "type": "x", "v": 1.5}, {"id": "f1", "type": "x", "v": value}],
                     {"ts": 0})


@given(st.lists(st.one_of(st.integers(-2**53, 2**53), st.booleans(), st.text(max_size=5),
                          st.floats(allow_nan=False, allow_infinity=False)), max_size=6))
def test_facts_of_finite_scalars_are_accepted_and_fire_alike(values):
    """Any mix of ints, bools, strings and finite floats (and a str subclass) is accepted,
    and every fact of the matching type fires the rule once."""
    runtime, name = _RUNTIME, _NAME
    facts = [{"id": f"f{i}", "type": "x", "v": v, "w": _Str("s")} for i, v in enumerate(values)]
    fired = runtime.evaluate(name, facts, {"ts": 0})
    assert sorted(aliases["a"] for _, aliases in fired) == sorted(f["id"] for f in facts)


def _planned_table():
    timeline = load_timeline("examples/model-candidate.yaml")
    when = datetime(2026, 9, 20, tzinfo=timezone.utc)
    app = next(iter(timeline.applications))
    contact = next(iter(timeline.contacts))
    checker = _Checker(timeline, POLICY, when, "reference")
    action = PlannedAction(type="thank_you", to=[contact], channel="email", application=app, body="Thank you")
    return checker.place(action, when), app


def test_an_appended_table_hands_the_engine_what_converting_afresh_would():
    """The kept base documents plus the action's own equal the documents of all the facts."""
    table, app = _planned_table()
    assert table.base is not None
    kept = DurableBackend._documents(table, app, table.apps[app])
    assert ("durable", app) in table.base.memo
    again = DurableBackend._documents(table, app, table.apps[app])  # from the memo this time
    fresh = DurableBackend._documents(_without_base(table), app, table.apps[app])
    assert kept == again == fresh
    assert len(kept) == len(table.apps[app])


def test_the_kept_documents_are_not_changed_by_an_extension():
    """Converting an extension copies the interning codes and the list: the base's kept
    documents stay those of its own facts."""
    table, app = _planned_table()
    DurableBackend._documents(table, app, table.apps[app])
    codes, docs = table.base.memo[("durable", app)]
    assert len(docs) == len(table.base.apps[app])
    assert [d["id"] for d in docs] == [f["fid"] for f in table.base.apps[app]]


def test_facts_that_do_not_extend_the_base_are_converted_afresh():
    """A table whose application's facts do not start with its base's (not an extension)
    does not use the base's kept documents."""
    table, app = _planned_table()
    other = [dict(f) for f in table.apps[app]]
    for f in other:
        f["party"] = "someone-else"
    docs = DurableBackend._documents(table, app, other)
    assert ("durable", app) not in table.base.memo
    assert {d["party"] for d in docs} <= {0, 1}


def _without_base(table):
    from engine.facts import FactTable
    return FactTable(table.facts, table.clock, table.selector_index, table.timeref_index, table.flag_index,
                     table.apps)


def test_every_pattern_of_the_shipped_policy_has_a_gate():
    """Each pattern of the etiquette program's rules tests some attribute for a constant,
    so facts that fail all of them can be left out (the gates are not None)."""
    from engine.backends.durable import _Plan
    plan = _Plan(POLICY.program)
    assert plan.gates is not None and ("type", "preference") in plan.gates


def test_a_pattern_without_a_constant_test_turns_the_filter_off():
    """If one pattern tests only against other facts or ranges, no fact may be left out."""
    from engine.backends.durable import _gates
    rules = {"r": rt.rule(rt.pattern("a", rt.eq("type", "x")), rt.pattern("b", rt.gt("v", rt.ref("a", "v"))))}
    assert _gates(rules) is None
    assert _gates({"r": rt.rule(rt.pattern("a", rt.eq("type", "x")))}) == (("type", "x"),)


@pytest.mark.parametrize("action_type", ["thank_you", "status_inquiry", "contact", "feedback_request"])
def test_leaving_out_the_facts_no_pattern_admits_changes_no_match(action_type):
    """On the rules of the nodes a planned action can meet (where most facts are left out),
    the matches are those of the same rules given every fact."""
    from engine.backends.durable import _Plan
    timeline = load_timeline("examples/model-candidate.yaml")
    when = datetime(2026, 9, 20, tzinfo=timezone.utc)
    backend = DurableBackend()
    for app in timeline.applications:
        contact = next(c for c in timeline.contacts)
        checker = _Checker(timeline, POLICY, when, backend)
        action = PlannedAction(type=action_type, to=[contact], channel="email", application=app, body="Hello")
        table = checker.place(action, when)
        for nodes in (frozenset({i}) for i in range(len(POLICY.program.nodes))):
            plan, name = backend._prepared(POLICY.program, nodes)
            if not name:
                continue
            docs = DurableBackend._documents(table, app, table.apps[app])
            admitted = [d for d in docs if plan.admits(d)]
            assert sorted(backend._run_application(plan, name, table, admitted)) == \
                sorted(backend._run_application(plan, name, table, docs))
            assert sorted(backend.run(POLICY.program, table, nodes)) == \
                sorted(m for m in backend.run(POLICY.program, table) if m.node in nodes)


@pytest.mark.parametrize("value", [1e-05, -3.5e-07, 5e-324, 1e16, -2.5e20, 1e300])
def test_floats_python_writes_with_an_exponent_reach_durable_as_the_same_number(value):
    """durable's reader refuses ``1e-05``; the host writes it ``0.00001``, the same float,
    and durable compares it as that number."""
    assert "e" in repr(value)
    text = rt.fact_json({"id": "f0", "v": value, "s": "a: 1e5"})
    assert "e" not in text.replace('"a: 1e5"', "")
    assert json.loads(text)["v"] == value
    runtime = _RUNTIME
    below = runtime.ensure_ruleset({"r": rt.rule(rt.pattern("a", rt.eq("type", "x")),
                                                 rt.pattern("b", rt.eq("type", "y"), rt.gt("v", rt.ref("a", "v"))))})
    facts = [{"id": "lo", "type": "x", "v": value}, {"id": "hi", "type": "y", "v": value + abs(value) + 1}]
    assert runtime.evaluate(below, facts, {"ts": 0}) == [("r", {"a": "lo", "b": "hi"})]


def test_an_instant_microseconds_after_1970_is_audited_alike_by_both_engines():
    """Epoch seconds of 1970-01-01T00:00:00.00001Z are 1e-05: the durable engine audits such
    a timeline (it failed with durable's error 204) and finds what the reference engine finds."""
    from engine.api import audit
    from engine.timeline import timeline_from_data
    data = {"candidate": "T", "timezone": "UTC",
            "contacts": {"m": {"name": "M", "role": "hiring_manager", "timezone": "UTC"}},
            "applications": {"a": {"company": "Acme", "title": "Eng"}},
            "events": [{"id": "i1", "type": "interview", "at": "1970-01-01T00:00:00.00001Z", "with": ["m"]},
                       {"id": "y1", "type": "thank_you", "at": "1970-01-01T00:00:00.00002Z", "to": ["m"],
                        "channel": "email"}]}
    timeline = timeline_from_data(data)
    as_of = datetime(1970, 1, 5, tzinfo=timezone.utc)
    durable = audit(timeline, POLICY, as_of, engine="durable").findings
    assert durable == audit(timeline, POLICY, as_of, engine="reference").findings
    assert [f.rule for f in durable] == ["timetable-asked"]
