"""What the durable backend hands the engine, and how it checks it.

* ``Runtime.evaluate`` refuses a fact holding anything but a finite number, a string or a
  boolean, with the fact and attribute named, before a session exists; the usual fact is
  accepted by one look at its value types, anything unusual is looked at value by value.
* The backend's documents of an application's base facts are kept with that table, so a
  table that extends it (a planned action appended) converts only its own facts; what it
  hands the engine is the same as converting every fact afresh.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

rt = pytest.importorskip("engine.backends._durable_runtime", reason="durable-rules does not load here",
                         exc_type=ImportError)

from engine.api import load_policy, load_timeline  # noqa: E402
from engine.backends.durable import DurableBackend  # noqa: E402
from engine.decide import PlannedAction  # noqa: E402
from engine.decide import _Checker  # noqa: E402

POLICY = load_policy("etiquette")
RULES = {"r": rt.rule(rt.pattern("a", rt.eq("type", "x")))}


class _Str(str):
    """A subclass of ``str``: still a string, so still accepted."""


@pytest.fixture(scope="module")
def runtime():
    runtime = rt.Runtime()
    return runtime, runtime.ensure_ruleset(RULES)


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
    runtime = rt.Runtime()
    name = runtime.ensure_ruleset(RULES)
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
