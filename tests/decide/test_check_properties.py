"""Properties of :func:`engine.decide.check` on generated timelines and planned actions.

Each test states one invariant of the decision logic (``engine/decide.py``) and runs
on every available engine (the ``engine`` fixture). The durable engine runs fewer
examples than the reference one (a quarter of the profile's ``max_examples``).

Planned actions are drawn by :func:`planned_checks`: a type among the candidate's
messages, 1-2 recipients from the timeline's contacts, a channel (often the first
recipient's stated preference), an application of the timeline, sometimes a body,
and an instant ``at`` within or after the timeline's span: exactly at an event (a
tie), a second or a minute around one, some days after an interview, or anywhere up
to eight weeks after the last event.

Throughout, ``earliest`` is judged against the timeline *as known at* ``at``:
``check`` leaves out events after ``at``, so ``earliest`` can only answer for that
timeline (a later event may close the window again).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from engine.api import audit, parse_instant
from engine.decide import PlannedAction, check
from engine.timeline import timeline_from_data
from helpers import policy
from strategies import BODIES, CHANNEL_VALUES, OFFSETS, event_instants, timelines
from strategies import parse_instant as parse_generated

UTC = timezone.utc
ACTION_TYPES = ("thank_you", "status_inquiry", "feedback_request", "contact")
#: the id given to the action when we place it ourselves: "~" sorts after every letter
#: and digit, so among events at the same instant the action comes last ("appended")
ACTION_ID = "~action"
#: events after which a status inquiry may never be allowed again (a rejection, an
#: earlier inquiry in the same silence, a channel preference, ...): ``timely`` cases
#: leave them out, so that a denial usually has an ``earliest``
PERMANENT = {"rejection", "offer", "withdrawal", "do_not_contact", "preference", "status_inquiry"}


# --------------------------------------------------------------------------- strategies


def _interview_instants(data: dict, app: str) -> list[datetime]:
    zone = data.get("timezone")
    only = len(data["applications"]) == 1
    return sorted(parse_generated(e["at"], zone).astimezone(UTC) for e in data["events"]
                  if e["type"] == "interview" and (e.get("application") == app or only))


@st.composite
def planned_checks(draw, timely: bool = False, ties: bool = True) -> tuple[dict, dict, datetime]:
    """A timeline dict, a planned action (as a dict, without ``at``) and the instant to check it at.

    ``timely``: mostly status inquiries and contacts on the recipient's preferred
    channel, some days after an interview, in a timeline without the events of
    :data:`PERMANENT`: the checks whose answer is often "not yet", so that
    ``earliest`` is often an instant. ``ties=False``: never exactly at an event's
    instant (only around it).
    """
    data = draw(timelines(min_events=1))
    if timely:  # without the events after which an inquiry is never allowed again
        data["events"] = [e for e in data["events"] if e["type"] not in PERMANENT] or data["events"][:1]
    contacts = sorted(data["contacts"])
    app = draw(st.sampled_from(sorted(data["applications"])))
    to = draw(st.lists(st.sampled_from(contacts), min_size=1, max_size=2, unique=True))
    preferred = data["contacts"][to[0]].get("preferred_channel")
    if timely:
        kind = draw(st.sampled_from(("status_inquiry", "status_inquiry", "contact", "feedback_request")))
        channel = preferred or "email"
        to = [c for c in to if data["contacts"][c].get("preferred_channel") in (None, channel)]
    else:
        kind = draw(st.sampled_from(ACTION_TYPES))
        channel = draw(st.sampled_from(CHANNEL_VALUES)) if preferred is None or draw(st.booleans()) else preferred
    action: dict[str, Any] = {"type": kind, "to": to, "channel": channel, "application": app}
    body = draw(st.none() | st.sampled_from(BODIES))
    if body is not None:
        action["body"] = body

    found = event_instants(data)
    interviews = _interview_instants(data, app)
    hows = ["near", "any"] + (["tie"] if ties else []) + (["interview"] * (4 if timely else 1) if interviews else [])
    how = draw(st.sampled_from(hows))
    if how == "tie":
        at = draw(st.sampled_from(found))
    elif how == "near":
        at = draw(st.sampled_from(found)) + timedelta(seconds=draw(st.sampled_from((-60, -1, 1, 60))))
    elif how == "interview":
        at = draw(st.sampled_from(interviews)) + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
    else:
        lo, hi = found[0], found[-1] + timedelta(weeks=8)
        at = lo + timedelta(minutes=draw(st.integers(0, int((hi - lo).total_seconds()) // 60)))
    while not ties and at in found:
        at += timedelta(seconds=1)
    event(f"at: {how}")
    offset = draw(OFFSETS) or timedelta(0)
    return data, action, at.astimezone(timezone(offset))


# --------------------------------------------------------------------------- running


def _run(engine: str, strategy: st.SearchStrategy, test: Callable[[str, Any], None]) -> None:
    """Run ``test(engine, case)`` over ``strategy``: the profile's example count on the
    reference engine, a quarter of it (at least 10) on durable."""
    examples = settings.default.max_examples
    if engine == "durable":
        examples = max(10, examples // 4)

    @settings(max_examples=examples, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(case=strategy)
    def inner(case):
        test(engine, case)

    inner()


def _timeline_and_action(case) -> tuple[Any, PlannedAction, datetime]:
    data, action, at = case
    return timeline_from_data(data), PlannedAction.model_validate(action), at


def _known_at(timeline, at: datetime):
    """The timeline as ``check`` sees it at ``at``: without the events after ``at``."""
    return timeline.until(at)[0]


def _instant(text: str) -> datetime:
    return parse_instant(text, "earliest")


# --------------------------------------------------------------------------- properties


def test_checking_at_earliest_allows(engine):
    """When a check is denied with an ``earliest`` instant, the same action checked at
    exactly that instant (against the timeline as known at ``at``) is allowed."""

    def prop(engine, case):
        timeline, action, at = _timeline_and_action(case)
        result = check(timeline, action, policy(), at, engine=engine)
        assume(result.earliest is not None)
        earliest = _instant(result.earliest)
        again = check(_known_at(timeline, at), action, policy(), earliest, engine=engine)
        assert again.decision == "allow", (result.earliest, again.findings)
        assert again.at == result.earliest

    _run(engine, planned_checks(timely=True), prop)


def test_one_second_before_earliest_denies(engine):
    """When ``earliest`` is later than ``at`` (by a second or more), the action checked
    one second before ``earliest`` is still denied: ``earliest`` is the first allowed
    instant, not just some allowed instant."""

    def prop(engine, case):
        timeline, action, at = _timeline_and_action(case)
        result = check(timeline, action, policy(), at, engine=engine)
        assume(result.earliest is not None)
        earliest = _instant(result.earliest)
        assert earliest > at
        before = earliest - timedelta(seconds=1)
        assume(before >= at)
        again = check(_known_at(timeline, at), action, policy(), before, engine=engine)
        assert again.decision == "deny", (result.earliest, again)

    _run(engine, planned_checks(timely=True), prop)


def test_check_denies_exactly_when_the_audit_with_the_action_has_a_violation_citing_it(engine):
    """``check`` denies exactly when auditing the timeline plus the action (placed here,
    as an event dict added to the timeline data with a fresh id, as of ``at``) yields a
    violation that cites the action; and the findings ``check`` reports are those
    findings (whatever the id).

    ``at`` is never exactly an event's instant here, so that the independently placed
    action (sorted by id) and ``check``'s (after every event at ``at``) have the same
    position; ties are covered by ``test_contact_at_the_instant_of_a_rejection_is_denied``
    in test_check_examples.py.
    """

    def prop(engine, case):
        data, action, at = case
        result = check(timeline_from_data(data), PlannedAction.model_validate(action), policy(), at, engine=engine)

        placed = copy.deepcopy(data)
        placed["events"].append({"id": ACTION_ID, "at": at.isoformat(), **action})
        report = audit(timeline_from_data(placed), policy(), at, engine=engine)
        citing = [f for f in report.findings if ACTION_ID in f.events]
        violates = any(f.severity == "violation" for f in citing)

        assert (result.decision == "deny") == violates, (result, citing)

        def key(f):
            return (f.rule, f.severity, f.application, f.contact, len(f.events), f.due)
        assert sorted(map(key, result.findings)) == sorted(map(key, citing))

    _run(engine, planned_checks(ties=False), prop)


def test_an_allowed_action_has_no_earliest_and_every_finding_cites_the_action(engine):
    """``allow`` comes with ``earliest: null`` and no alternatives; ``deny`` with at least
    one violation; and every finding of a check (allowed or not) cites the planned
    action: an event id that is not in the timeline."""

    def prop(engine, case):
        timeline, action, at = _timeline_and_action(case)
        result = check(timeline, action, policy(), at, engine=engine)
        event(result.decision)
        if result.decision == "allow":
            assert result.earliest is None
            assert result.alternatives == []
            assert all(f.severity != "violation" for f in result.findings)
        else:
            assert any(f.severity == "violation" for f in result.findings)
        known = set(timeline.by_id)
        for finding in result.findings:
            assert set(finding.events) - known, f"{finding.rule} does not cite the action: {finding.events}"

    _run(engine, planned_checks(), prop)


def test_earliest_is_never_before_at_and_the_result_names_at_in_utc(engine):
    """``at`` in the result is the requested instant in UTC (``Z``); ``earliest``, when
    given, is strictly later than ``at`` (at ``at`` itself the action was denied)."""

    def prop(engine, case):
        timeline, action, at = _timeline_and_action(case)
        result = check(timeline, action, policy(), at, engine=engine)
        assert result.at.endswith("Z") and _instant(result.at) == at
        if result.earliest is not None:
            assert result.earliest.endswith("Z") and _instant(result.earliest) > at

    _run(engine, planned_checks(timely=True), prop)


@pytest.mark.parametrize("timely,expected", [
    (False, {("allow", False), ("deny", False)}),
    (True, {("allow", False), ("deny", True)}),
], ids=["any", "timely"])
def test_the_strategy_reaches_the_answers_the_properties_need(timely, expected):
    """Sanity check of :func:`planned_checks` (reference engine): the general cases are
    sometimes allowed and sometimes denied for good; the ``timely`` ones are sometimes
    allowed and sometimes denied with an ``earliest``. So the properties above are not
    vacuous."""
    seen: set[tuple[str, bool]] = set()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])
    @given(case=planned_checks(timely=timely))
    def collect(case):
        timeline, action, at = _timeline_and_action(case)
        result = check(timeline, action, policy(), at)
        seen.add((result.decision, result.earliest is not None))

    collect()
    assert expected <= seen, seen
