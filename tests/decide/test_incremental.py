"""Incremental ``check`` against the full re-audit it replaces.

:func:`engine.decide.check` prepares the timeline's facts once, adds only the planned
action's facts at each instant it tries, and evaluates only the action's application and
the nodes that can cite it. The old path, kept here as the oracle (:func:`_full_check`),
appended the action to the timeline and re-audited all of it at every instant. Both must
give exactly the same result.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings

from engine.api import audit
from engine.calendar import iso_utc, local_time
from engine.decide import (HORIZON, MAX_TRIES, Alternative, CheckResult, PlannedAction, _denies, _in_range,
                           _preferred, _waiting_can_help, check, check_action_refs)
from engine.facts import append_event, epoch, from_epoch, prepare_facts
from engine.findings import describe_event
from engine.ir import Count, Flag, OutsideHours
from engine.timeline import Outreach, timeline_from_data
from helpers import policy

from .test_check_properties import _run, planned_checks

# --------------------------------------------------------------------------- the old path (the oracle)


def _place(timeline, action, when):
    check_action_refs(timeline, action)
    app = action.application or next(iter(timeline.applications))
    ident, n = "planned", 1
    while ident in timeline.by_id:
        n += 1
        ident = f"planned-{n}"
    event = Outreach.model_construct(id=ident, type=action.type, at=when, application=app, to=list(action.to),
                                     channel=action.channel, body=action.body)
    before = [e for e in timeline.events if e.at <= when]
    after = [e for e in timeline.events if e.at > when]
    return timeline.model_copy(update={"events": [*before, event, *after]}), ident


def _caused(timeline, action, pol, when, engine):
    placed, ident = _place(timeline, action, when)
    # an audit names the action by its id (`{what}`: "status inquiry planned"); check, in words
    recorded, planned = describe_event(action.type, ident), describe_event(action.type, ident, ident)
    return [f.model_copy(update={"message": f.message.replace(recorded, planned)})
            for f in audit(placed, pol, when, engine=engine).findings if ident in f.events]


def _boundaries(timeline, action, pol, at):
    placed, ident = _place(timeline, action, at)
    table = prepare_facts(placed, pol.program, at)
    limit = epoch(at + HORIZON)
    points: set[float] = set()
    for fact in table.facts:
        for key, value in fact.items():
            if key[0] == "t" and key[1:].isdigit():
                points.add(value)
    for node in pol.program.nodes:
        if isinstance(node, Count) and node.window is not None:
            points.update(f["ts"] + node.window for f in table.facts)
        if isinstance(node, Flag) and isinstance(node.test, OutsideHours):
            for contact in action.to:
                zone = ZoneInfo(timeline.contact_zone(contact, placed.by_id[ident].application))
                day = at.astimezone(zone).date()
                start = time(node.test.start_minute // 60, node.test.start_minute % 60)
                for offset in range(0, 60):
                    points.add(epoch(datetime.combine(day + timedelta(days=offset), start, tzinfo=zone)))
    now = epoch(at)
    return [from_epoch(p) for p in sorted(p for p in points if now < p <= limit)]


def _earliest(timeline, action, pol, when, engine, findings):
    if any(f.severity == "violation" and not _waiting_can_help(pol, f.rule) for f in findings):
        return None
    for tries, candidate in enumerate(_boundaries(timeline, action, pol, when)):
        if tries >= MAX_TRIES:
            break
        if not _denies(_caused(timeline, action, pol, candidate, engine)):
            return candidate
    return None


def _alternatives(timeline, action, pol, when, engine, findings, earliest):
    out = []
    app = action.application or next(iter(timeline.applications))
    zone = timeline.application_zone(app)
    channels = {_preferred(timeline, c, app, when) for c in action.to} - {None, action.channel}
    for channel in sorted(channels):
        other = action.model_copy(update={"channel": channel})
        caused = _caused(timeline, other, pol, when, engine)
        if not _denies(caused):
            out.append(Alternative(change={"channel": channel},
                                   reason=f"send it by {channel.replace('_', ' ')}, the recipient's preferred channel, now"))
        else:
            later = _earliest(timeline, other, pol, when, engine, caused)
            if later is not None:
                out.append(Alternative(change={"channel": channel, "at": iso_utc(later)},
                                       reason=f"send it by {channel.replace('_', ' ')} from {local_time(later, zone)}"))
    if earliest is not None:
        out.append(Alternative(change={"at": iso_utc(earliest)}, reason=f"wait until {local_time(earliest, zone)}"))
    if len(action.to) > 1:
        for contact in action.to:
            single = action.model_copy(update={"to": [contact]})
            if not _denies(_caused(timeline, single, pol, when, engine)):
                out.append(Alternative(change={"to": contact},
                                       reason=f"send it to {timeline.contact_name(contact)} only"))
    return out


def _full_check(timeline, action, pol, when, engine) -> CheckResult:
    """``check`` as it was: the whole timeline re-audited with the action appended, at every instant."""
    when = _in_range(when, "`at`")
    timeline, _ = timeline.until(when)
    findings = _caused(timeline, action, pol, when, engine)
    denied = _denies(findings)
    earliest = _earliest(timeline, action, pol, when, engine, findings) if denied else None
    alternatives = _alternatives(timeline, action, pol, when, engine, findings, earliest) if denied else []
    return CheckResult(decision="deny" if denied else "allow", at=iso_utc(when), earliest=iso_utc(earliest),
                       findings=findings, alternatives=alternatives, policy=pol.name)


# --------------------------------------------------------------------------- properties


def _same_as_full_re_audit(engine, case):
    data, raw, at = case
    timeline, action = timeline_from_data(data), PlannedAction.model_validate(raw)
    pol = policy()
    assert check(timeline, action, pol, at, engine=engine) == _full_check(timeline, action, pol, at, engine)


def test_incremental_check_gives_exactly_the_full_re_audits_decision_findings_earliest_and_alternatives(engine):
    """Incremental check gives exactly the full re-audit's decision, findings, earliest and
    alternatives: on any generated timeline and planned action (any type, channel, recipients,
    instant: at, around or long after the timeline's events)."""
    _run(engine, planned_checks(), _same_as_full_re_audit)


def test_incremental_check_gives_exactly_the_full_re_audits_answer_when_waiting_may_help(engine):
    """Incremental check gives exactly the full re-audit's decision, findings, earliest and
    alternatives on the checks whose answer is often "not yet" (so the earliest-time search runs)."""
    _run(engine, planned_checks(timely=True), _same_as_full_re_audit)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=planned_checks())
def test_appending_the_action_gives_the_same_facts_as_preparing_the_timeline_with_it(case):
    """Appending the action's facts to the timeline's prepared facts gives exactly the facts of
    preparing the whole timeline with the action appended (ids, positions, rounds, count ranks)."""
    data, raw, at = case
    timeline, action = timeline_from_data(data), PlannedAction.model_validate(raw)
    timeline = timeline.until(at)[0]
    pol = policy()
    placed, ident = _place(timeline, action, at)
    event = placed.by_id[ident]
    later = at + timedelta(days=3)
    event_later = event.model_copy(update={"at": later})
    whole = prepare_facts(placed, pol.program, at)
    appended = append_event(prepare_facts(timeline, pol.program, at), timeline, pol.program, event, at)
    assert appended.facts == whole.facts and appended.clock == whole.clock
    assert {a: [f["fid"] for f in fs] for a, fs in appended.apps.items()} == \
        {a: [f["fid"] for f in fs] for a, fs in whole.apps.items()}
    moved = placed.model_copy(update={"events": [*timeline.events, event_later]})
    assert append_event(prepare_facts(timeline, pol.program, at), timeline, pol.program, event_later,
                        later).facts == prepare_facts(moved, pol.program, later).facts
