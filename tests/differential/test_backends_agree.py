"""Both shipped backends give the findings of the all-pairs statement of the IR, on every timeline and policy.

The oracle is ``tests/spec/allpairs.py``: each node's definition as all-pairs loops over the
whole fact table. The shipped ``reference`` backend (indexed, one application at a time) and
``durable`` backend (one durable-rules session per application) are each compared with it.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import audit
from engine.backends import durable_status
from engine.policy import policy_from_text
from engine.timeline import timeline_from_data
from policy_strategies import KIND_STRATEGIES, policies
from spec.allpairs import AllPairsBackend
from strategies import as_ofs, timelines

#: the issue asks for at least 2,000 examples in CI
EXAMPLES = {"ci": 2000, "ci-smoke": 50}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 150)


ORACLE = AllPairsBackend()


def _all(data: dict, policy_text: str, as_of) -> tuple[list, list, list | None]:
    """Findings of the oracle, the reference backend and (where it loads) the durable backend."""
    timeline = timeline_from_data(data)
    policy = policy_from_text(policy_text, "generated.yaml")
    spec = audit(timeline, policy, as_of, engine=ORACLE).findings
    ref = audit(timeline, policy, as_of, engine="reference").findings
    dur = audit(timeline, policy, as_of, engine="durable").findings if durable_status()[0] else None
    return spec, ref, dur


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.data_too_large])
@given(data=st.data(), policy_text=policies)
def test_both_backends_give_the_findings_of_the_all_pairs_statement(data, policy_text):
    """For any generated timeline, policy and as-of instant, the reference backend and (where it
    loads) the durable backend return exactly the findings of the all-pairs oracle."""
    timeline = data.draw(timelines())
    as_of = data.draw(as_ofs(timeline))
    spec, ref, dur = _all(timeline, policy_text, as_of)
    assert ref == spec
    if dur is not None:
        assert dur == spec


@pytest.mark.parametrize("kind", sorted(KIND_STRATEGIES))
@settings(max_examples=max(40, EXAMPLES // 20), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_both_backends_agree_with_the_all_pairs_statement_on_each_rule_kind(kind, data):
    """For each rule kind alone, with random parameters, the reference backend and (where it
    loads) the durable backend return exactly the findings of the all-pairs oracle."""
    import yaml
    rule = data.draw(KIND_STRATEGIES[kind](f"only-{kind}"))
    policy_text = yaml.safe_dump({"policy": "one", "rules": [rule]})
    timeline = data.draw(timelines())
    as_of = data.draw(as_ofs(timeline))
    spec, ref, dur = _all(timeline, policy_text, as_of)
    assert ref == spec
    if dur is not None:
        assert dur == spec


REGRESSION_POLICY = """policy: regression
rules:
- {id: counted, kind: limit, category: harassing, message: m, subject: {type: [interview, contact]}, max: 2,
   reset_on: {type: outreach, channel: email}}
- id: early
  kind: not-before
  category: premature
  message: m
  subject: {type: contact}
  anchors:
    - {event: {type: [interview, contact]}, wait: 5d}
    - {event: {type: contact}, wait: 1d}
"""


def test_a_fact_bound_in_a_match_still_counts_for_its_absence_conditions(engine):
    """Found by the differential test: `m2` is both a counted contact and an email reset. It
    resets the count for the chain (i6, m2, i1) although it is a member of that chain; durable's
    none() cannot see bound facts, so the compiler tests inner chain links for resets itself."""
    from datetime import datetime, timezone
    data = {"contacts": {"bob": {"name": "Bob"}}, "applications": {"acme": {"company": "Acme"}}, "events": [
        {"id": "i5", "type": "interview", "at": "2026-02-22T19:00:00-05:00"},
        {"id": "i6", "type": "interview", "at": "2026-02-22T19:00:00-05:00"},
        {"id": "m2", "type": "contact", "at": "2026-02-22T19:00:00-05:00", "to": ["bob"], "channel": "email"},
        {"id": "m3", "type": "contact", "at": "2026-02-22T20:00:00-05:00", "to": ["bob"], "channel": "phone"},
        {"id": "i1", "type": "interview", "at": "2026-03-01T18:30:59+00:00"}]}
    report = audit(timeline_from_data(data), policy_from_text(REGRESSION_POLICY),
                   datetime(2026, 3, 2, tzinfo=timezone.utc), engine=engine)
    assert [(f.rule, f.events) for f in report.findings] == [
        ("counted", ["i5", "i6", "m2"]), ("early", ["i6", "m2"]), ("early", ["m2", "m3"]),
        ("counted", ["m2", "m3", "i1"])]


def test_backends_agree_with_the_oracle_on_a_timeline_not_in_time_order(engine):
    """A Timeline built in code may hold its events out of time order ("before" is then list
    order, windows are still time): the backends still give the oracle's findings."""
    from datetime import datetime, timezone

    from engine import load_policy
    events = []
    for k in range(4):  # four rounds; Ian's thank-you is late in rounds 1 and 3 only
        day = f"2026-03-{2 + 7 * k:02d}"
        events += [{"id": f"i{k}", "type": "interview", "at": f"{day}T14:00:00Z", "with": ["ian"]},
                   {"id": f"y{k}", "type": "thank_you", "at": f"{day}T{18 if k % 2 == 0 else 23}:00:00Z",
                    "to": ["ian"], "channel": "email", "body": f"Thanks ({k})"}]
    events[3]["at"] = "2026-03-10T23:00:00Z"  # round 1's thank-you, five days late
    events[7]["at"] = "2026-03-24T23:00:00Z"  # round 3's thank-you, three days late
    timeline = timeline_from_data({"contacts": {"ian": {"name": "Ian"}}, "applications": {"a": {"company": "A"}},
                                   "events": events})
    shuffled = timeline.model_copy(update={"events": timeline.events[::-1]})
    policy = load_policy("etiquette")
    as_of = datetime(2026, 4, 14, tzinfo=timezone.utc)
    expected = audit(shuffled, policy, as_of, engine=ORACLE).findings
    assert [f.events for f in expected if f.rule == "thank-you-within-24h"] == [["i3"], ["i1"]]
    assert audit(shuffled, policy, as_of, engine=engine).findings == expected
