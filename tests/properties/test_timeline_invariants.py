"""Metamorphic properties of audits: how findings move when the timeline changes.

Each test is named for its invariant and states it in its docstring. Timelines come
from :mod:`strategies` (valid by construction); an audit is the public
``audit(timeline_from_data(data), load_policy("etiquette"), as_of, engine)``, on every
available backend (the ``engine`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, timedelta
from typing import Any, Callable

import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from engine.api import audit, load_policy
from engine.findings import Finding
from engine.source import parse_document
from engine.timeline import timeline_from_data
from strategies import (NAIVE_LOCAL_TIMELINES, TIMELINES, as_ofs, audits, candidate_contacts, employer_contacts,
                        iso_in_offset, parse_instant)

POLICY = load_policy("etiquette")
#: example counts come from the active profile. No deadline: an audit of 25 events takes
#: milliseconds, but the first one of a holiday country builds its table. The `engine`
#: fixture is function-scoped but only names a backend, so it is safe to share between
#: examples.
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                          HealthCheck.function_scoped_fixture])

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def findings(data: dict, as_of: datetime, engine: str) -> list[Finding]:
    return audit(timeline_from_data(copy.deepcopy(data)), POLICY, as_of, engine=engine).findings


def dumped(found: list[Finding]) -> list[dict]:
    return [f.model_dump() for f in found]


def rewrite_times(data: dict, on_instant: Callable[[str, str | None], str],
                  on_date: Callable[[str], str]) -> dict:
    """A copy of ``data`` with every instant (``at``, ``ends_at``, a datetime
    ``decision_by``) and every date (a date ``decision_by``, ``closures``) rewritten."""
    out = copy.deepcopy(data)
    zone = out.get("timezone")
    for application in out["applications"].values():
        if "closures" in application:
            application["closures"] = [on_date(day) for day in application["closures"]]
    for event in out["events"]:
        for key in ("at", "ends_at", "decision_by"):
            if key in event:
                text = event[key]
                event[key] = on_date(text) if _DATE_ONLY.match(text) else on_instant(text, zone)
    return out


def with_event(data: dict, event: dict) -> dict:
    out = copy.deepcopy(data)
    out["events"].append(event)
    return out


# -- shifting by whole weeks ------------------------------------------------------------

@st.composite
def shifted_audits(draw) -> tuple[dict, datetime, int]:
    """A timeline in zones without DST and without holiday calendars, an as_of, and
    a whole number of weeks to move them by."""
    data, as_of = draw(audits(dst=False, holidays=False))
    return data, as_of, draw(st.integers(-26, 26))


def _shift(data: dict, delta: timedelta) -> dict:
    def instant(text: str, zone: str | None) -> str:
        return (datetime.fromisoformat(text.replace("Z", "+00:00")) + delta).isoformat()

    def day(text: str) -> str:
        return (date.fromisoformat(text) + delta).isoformat()

    return rewrite_times(data, instant, day)


def _key_with_due(f: Finding, delta: timedelta) -> tuple:
    due = None if f.due is None else datetime.fromisoformat(f.due.replace("Z", "+00:00")) - delta
    return (f.rule, f.severity, f.category, f.application, f.contact, tuple(f.events), due)


@PROPERTY
@given(case=shifted_audits())
def test_shifting_everything_by_whole_weeks_leaves_findings_unchanged(case, engine):
    """Moving every timestamp, every date (date ``decision_by``, closures) and ``as_of``
    by the same whole number of weeks gives the same findings, with ``due`` moved by
    the same amount — for timelines whose zones have no DST and whose employers have
    no holiday calendar (weekdays and local times then move with the instants).
    Messages are not compared: they render dates."""
    data, as_of, weeks = case
    delta = timedelta(weeks=weeks)
    moved = _shift(data, delta)
    before = [_key_with_due(f, timedelta(0)) for f in findings(data, as_of, engine)]
    after = [_key_with_due(f, delta) for f in findings(moved, as_of + delta, engine)]
    assert after == before


# -- input order --------------------------------------------------------------------------

@st.composite
def permuted_audits(draw) -> tuple[dict, dict, datetime]:
    data, as_of = draw(audits())
    permuted = copy.deepcopy(data)
    permuted["events"] = draw(st.permutations(permuted["events"]))
    return data, permuted, as_of


@PROPERTY
@given(case=permuted_audits())
def test_the_order_of_events_in_the_input_does_not_change_findings(case, engine):
    """Permuting the ``events`` list of the input gives identical findings (events are
    ordered by instant, then id, whatever order they were written in)."""
    data, permuted, as_of = case
    assert dumped(findings(permuted, as_of, engine)) == dumped(findings(data, as_of, engine))


# -- UTC offsets ------------------------------------------------------------------------------

@st.composite
def reoffset_audits(draw) -> tuple[dict, dict, datetime]:
    """A timeline (some with zone-less local times), the same timeline with every
    instant written in another UTC offset, and an as_of."""
    data = draw(st.one_of(TIMELINES, NAIVE_LOCAL_TIMELINES))
    as_of = draw(as_ofs(data))

    def instant(text: str, zone: str | None) -> str:
        return draw(iso_in_offset(parse_instant(text, zone)))

    return data, rewrite_times(data, instant, lambda day: day), as_of


@PROPERTY
@given(case=reoffset_audits())
def test_the_same_instants_written_with_other_utc_offsets_give_the_same_findings(case, engine):
    """Rewriting each ``at``, ``ends_at`` and datetime ``decision_by`` as the same
    instant in another UTC offset (or writing a zone-less local time with its offset)
    gives identical findings, messages included."""
    data, rewritten, as_of = case
    note(f"rewritten events: {rewritten['events']}")
    assert dumped(findings(rewritten, as_of, engine)) == dumped(findings(data, as_of, engine))


# -- employer contacts never add harassment ----------------------------------------------------

def _offender_key(f: Finding) -> tuple:
    """A finding's identity: rule, application, contact and the event it is about."""
    return (f.rule, f.application, f.contact, f.events[-1])


def _harassing(found: list[Finding]) -> set[tuple]:
    return {_offender_key(f) for f in found if f.category == "harassing"}


@st.composite
def audits_plus_employer_contact(draw) -> tuple[dict, dict, datetime]:
    data, as_of = draw(audits())
    return data, draw(employer_contacts(data)), as_of


@PROPERTY
@given(case=audits_plus_employer_contact())
def test_adding_an_employer_contact_never_adds_a_harassing_finding(case, engine):
    """An ``employer_contact`` inserted at any instant, for any application, from
    anyone or no one, adds no harassing finding: it only starts a new silence
    (single-inquiry), it is not a candidate message (contact-frequency, call-hours,
    forbidden-after) and it is neither a rejection nor a do-not-contact request."""
    data, extra, as_of = case
    before = _harassing(findings(data, as_of, engine))
    after = _harassing(findings(with_event(data, extra), as_of, engine))
    assert after <= before, f"added: {sorted(after - before)}"


# -- candidate contacts never remove harassment ------------------------------------------------

@st.composite
def audits_plus_candidate_contact(draw) -> tuple[dict, dict, datetime]:
    data, as_of = draw(audits())
    return data, draw(candidate_contacts(data)), as_of


@PROPERTY
@given(case=audits_plus_candidate_contact())
def test_adding_a_candidate_contact_never_removes_a_harassing_finding(case, engine):
    """Every harassing finding of a timeline — identified by rule, application,
    contact and offending event (the last one cited) — is still reported after a
    candidate message (thank-you, status inquiry, feedback request or other
    contact) is added anywhere. The cited events may change (a new message can come
    between the offender and what it was counted with); the finding may not go."""
    data, extra, as_of = case
    before = _harassing(findings(data, as_of, engine))
    after = _harassing(findings(with_event(data, extra), as_of, engine))
    assert before <= after, f"removed: {sorted(before - after)}"


# -- overdue findings stay overdue -------------------------------------------------------------

@st.composite
def two_as_ofs(draw) -> tuple[dict, datetime, datetime]:
    data, as_of = draw(audits())
    later = as_of + draw(st.one_of(st.just(timedelta(0)),
                                   st.integers(1, 60 * 86400).map(lambda s: timedelta(seconds=s))))
    return data, as_of, later


def _overdue(found: list[Finding]) -> set[tuple]:
    return {(f.rule, tuple(f.events), f.contact) for f in found if f.category == "overdue"}


@PROPERTY
@given(case=two_as_ofs())
def test_a_later_as_of_never_removes_an_overdue_finding(case, engine):
    """An overdue finding (rule, cited events, contact) as of one instant is still
    reported as of any later instant: once a deadline has passed unmet, events after
    it (now inside the evaluation) cannot meet it."""
    data, as_of, later = case
    before = _overdue(findings(data, as_of, engine))
    after = _overdue(findings(data, later, engine))
    assert before <= after, f"no longer overdue: {sorted(before - after)}"


# -- renderings -----------------------------------------------------------------------------------

class _PlainTimestamps(yaml.SafeDumper):
    """Writes timestamp-like strings unquoted, as people write them by hand."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> Any:
    if re.match(r"^\d{4}-\d{2}-\d{2}([T ].*)?$", value):
        return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value)
    return dumper.represent_str(value)


_PlainTimestamps.add_representer(str, _represent_str)


@PROPERTY
@given(case=audits())
def test_validating_again_or_from_json_or_yaml_text_gives_identical_findings(case, engine):
    """The same timeline gives identical findings (messages included) when the same
    dict is validated twice, and when it is read back from its JSON text
    (``json.dumps``), its YAML text (``yaml.safe_dump``) and YAML text with unquoted
    timestamps, as people write it."""
    data, as_of = case
    first = dumped(findings(data, as_of, engine))
    assert dumped(findings(data, as_of, engine)) == first
    assert timeline_from_data(copy.deepcopy(data)) == timeline_from_data(copy.deepcopy(data))
    renderings = {
        "json": json.dumps(data),
        "yaml": yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
        "yaml, plain timestamps": yaml.dump(data, Dumper=_PlainTimestamps, allow_unicode=True, sort_keys=False),
    }
    for name, text in renderings.items():
        doc = parse_document(text, f"<{name}>")
        got = audit(timeline_from_data(doc.data, doc), POLICY, as_of, engine=engine).findings
        assert dumped(got) == first, name
