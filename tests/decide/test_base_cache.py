"""``check`` keeps the prepared facts of recent timelines (``engine.decide._base_facts``):
a tracker checks several planned messages against one timeline, and preparing the
timeline's facts was most of an allowed check. The cache must never change an answer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import engine.decide as decide
import engine.facts as facts
from engine.api import load_policy
from engine.decide import check
from engine.timeline import timeline_from_data

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from check_scenario import ACTIONS, EXPECTED, scenario  # noqa: E402


@pytest.fixture(scope="module")
def sc():
    return scenario()


@pytest.fixture
def counted(monkeypatch):
    """The events each ``prepare_facts`` call prepares, in order."""
    prepared: list[int] = []
    real = facts.prepare_facts

    def counting(timeline, program, as_of):
        prepared.append(len(timeline.events))
        return real(timeline, program, as_of)

    monkeypatch.setattr(facts, "prepare_facts", counting)
    monkeypatch.setattr(decide, "prepare_facts", counting)
    decide._base_cache.clear()
    return prepared


def test_a_second_check_of_the_same_timeline_prepares_only_the_planned_message(sc, counted):
    policy = load_policy("etiquette")
    action = sc.planned("thank-you")
    first = check(sc.timeline, action, policy)
    n = len(counted)
    second = check(sc.timeline, action, policy)
    assert counted[0] >= 20 and counted[n:] == [1], "the timeline's own events are not prepared again"
    assert first == second


def test_cached_answers_equal_fresh_ones_for_every_action(sc):
    """Each action checked twice against one timeline object, then against an equal timeline
    built anew (which cannot hit the cache): the same results."""
    policy = load_policy("etiquette")
    decide._base_cache.clear()
    fresh = timeline_from_data(sc.data)
    for name in ACTIONS:
        action = sc.planned(name)
        cached = [check(sc.timeline, action, policy) for _ in range(2)]
        decide._base_cache.clear()
        anew = check(fresh, action, policy)
        assert cached[0] == cached[1] == anew, name
        assert anew.decision == EXPECTED[name]


def test_a_changed_timeline_is_prepared_again(sc, counted):
    """Timelines are frozen, so a change is a new object (``model_copy``): never the cached facts."""
    policy = load_policy("etiquette")
    action = sc.planned("thank-you")
    check(sc.timeline, action, policy)
    shorter = sc.timeline.model_copy(update={"events": sc.timeline.events[:-3]})
    n = len(counted)
    result = check(shorter, action, policy)
    assert counted[n] == len(shorter.events), "the shorter timeline's facts are prepared"
    decide._base_cache.clear()
    assert result == check(shorter, action, policy)


def test_the_cache_is_bounded_in_entries_and_skips_large_tables(sc, monkeypatch):
    policy = load_policy("etiquette")
    action = sc.planned("thank-you")
    decide._base_cache.clear()
    for k in range(decide._BASE_CACHE_SIZE + 5):
        check(sc.timeline.model_copy(update={"contacts": dict(sc.timeline.contacts)}), action, policy)
    assert len(decide._base_cache) == decide._BASE_CACHE_SIZE
    decide._base_cache.clear()
    monkeypatch.setattr(decide, "_BASE_CACHE_MAX_FACTS", 5)
    check(sc.timeline, action, policy)
    assert len(decide._base_cache) == 0
