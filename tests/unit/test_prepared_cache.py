"""The prepared facts kept with a timeline object (``engine.facts.prepare_application``).

A second ``check`` of the same timeline object reuses its application's prepared facts;
the kept facts go when the timeline object goes (so a server, whose every request brings a
new timeline, keeps nothing), and are never used for another event list.
"""

from __future__ import annotations

import gc
from datetime import datetime, timezone

from engine import facts as facts_module
from engine.api import load_policy, load_timeline
from engine.decide import PlannedAction, check
from engine.facts import prepare_application, prepare_facts

POLICY = load_policy("etiquette")
AS_OF = datetime(2026, 9, 20, tzinfo=timezone.utc)


def _timeline():
    return load_timeline("examples/model-candidate.yaml")


def _without_ids(table):
    return [{k: v for k, v in f.items() if k not in ("fid", "seq")} for f in table.facts]


def test_the_facts_of_one_application_are_its_facts_in_the_whole_table():
    """``prepare_application`` gives, for each application, the facts ``prepare_facts`` gives
    that application in the whole timeline (numbered within the application)."""
    timeline = _timeline()
    whole = prepare_facts(timeline, POLICY.program, AS_OF)
    for app in timeline.applications:
        alone = prepare_application(timeline, POLICY.program, AS_OF, app)
        expected = [{k: v for k, v in f.items() if k not in ("fid", "seq")} for f in whole.apps.get(app, [])]
        assert _without_ids(alone) == expected
        assert [f["fid"] for f in alone.facts] == list(range(len(alone.facts)))


def test_a_second_request_for_the_same_timeline_object_reuses_its_facts_at_the_new_clock():
    timeline = _timeline()
    app = next(iter(timeline.applications))
    first = prepare_application(timeline, POLICY.program, AS_OF, app)
    later = datetime(2026, 10, 1, tzinfo=timezone.utc)
    second = prepare_application(timeline, POLICY.program, later, app)
    assert second.facts is first.facts
    assert second.clock > first.clock


def test_the_kept_facts_go_with_their_timeline_object():
    """Nothing outlives the timeline: after the last reference to it goes, its entry is gone."""
    timeline = _timeline()
    key = id(timeline)
    action = PlannedAction(type="thank_you", to=[timeline.events[-1].parties[0]] if timeline.events[-1].parties
                           else [next(iter(timeline.contacts))], channel="email",
                           application=timeline.events[-1].application)
    check(timeline, action, POLICY, AS_OF)
    assert key in facts_module._prepared
    before = len(facts_module._prepared)
    del timeline
    gc.collect()
    assert key not in facts_module._prepared
    assert len(facts_module._prepared) == before - 1


def test_an_event_list_changed_in_place_is_prepared_again():
    timeline = _timeline()
    app = timeline.events[0].application
    first = prepare_application(timeline, POLICY.program, AS_OF, app)
    timeline.events.pop()  # not how a timeline is meant to be used (it is a value), but not trusted either
    again = prepare_application(timeline, POLICY.program, AS_OF, app)
    assert again.facts is not first.facts
    assert _without_ids(again) == _without_ids(prepare_application(
        timeline.model_copy(update={"events": list(timeline.events)}), POLICY.program, AS_OF, app))
