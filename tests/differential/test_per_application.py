"""Every IR node is application-scoped: a timeline's audit is the union of its applications' audits.

This is the property that lets both backends evaluate one application at a time (``engine/ir.py``).
It is checked on the all-pairs oracle (``tests/spec/allpairs.py``), which correlates by each fact's
``app`` over the whole table and so states the semantics, and on each shipped backend.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ENGINES
from engine import audit, load_policy, load_timeline
from engine.backends import get_backend
from engine.facts import FactTable, prepare_facts
from engine.policy import policy_from_text
from engine.timeline import timeline_from_data
from policy_strategies import policies
from spec.allpairs import AllPairsBackend
from strategies import as_ofs, timelines

BACKENDS = {"allpairs": AllPairsBackend(), **{name: name for name in ENGINES}}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), policy_text=policies)
def test_auditing_a_timeline_equals_auditing_each_application_alone(backend, data, policy_text):
    """For any timeline, policy and as-of instant, the findings are those of each application's
    sub-timeline (its events only, same contacts and applications), concatenated in application order."""
    raw = data.draw(timelines())
    as_of = data.draw(as_ofs(raw))
    timeline = timeline_from_data(raw)
    policy = policy_from_text(policy_text, "generated.yaml")
    engine = BACKENDS[backend]
    whole = audit(timeline, policy, as_of, engine=engine).findings
    parts = []
    for app in sorted({e.application for e in timeline.events}):
        alone = timeline.model_copy(update={"events": [e for e in timeline.events if e.application == app]})
        parts.extend(audit(alone, policy, as_of, engine=engine).findings)
    assert whole == parts


def test_a_fact_table_built_without_its_groups_derives_them(engine):
    """A FactTable made from a fact list alone (no ``apps``) still gives every application's matches."""
    policy = load_policy("etiquette")
    timeline = load_timeline("examples/two-applications.yaml")
    table = prepare_facts(timeline, policy.program, datetime(2026, 7, 6, tzinfo=timezone.utc))
    bare = FactTable(table.facts, table.clock, table.selector_index, table.timeref_index, table.flag_index)
    assert list(bare.apps) == list(table.apps) and len(bare.apps) == 2
    backend = get_backend(engine)
    matches = backend.run(policy.program, table)
    assert matches and sorted(backend.run(policy.program, bare)) == sorted(matches)
