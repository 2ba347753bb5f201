"""Every IR node is application-scoped: a timeline's audit is the union of its applications' audits.

This is the property that lets both backends evaluate one application at a time (``engine/ir.py``).
It is checked on the all-pairs oracle (``tests/spec/allpairs.py``), which correlates by each fact's
``app`` over the whole table and so states the semantics, and on each shipped backend.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ENGINES
from engine import audit
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
