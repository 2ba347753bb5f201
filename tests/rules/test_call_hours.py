"""call-hours: calls, voicemails and texts outside 08:00-21:00 in the recipient's zone.

Semantics (rules/hours.py, ir.Flag/OutsideHours per party): for each recipient of a
candidate message on phone, voicemail or text, the local time in the recipient's
zone (contact ``timezone``, else the application's, else the timeline's) must be
in [08:00, 21:00); weekends are fine (``business_days: false``). Flagged per
recipient, citing [message]. Severity warning, category harassing.
"""

from __future__ import annotations

import pytest

from helpers import contact, findings, inquiry, interview, tl

RULE = "call-hours"
AS_OF = "2026-12-31T00:00:00Z"

# a candidate in Berlin (timeline zone: times below are Berlin local time)
# calling a hiring manager in Los Angeles
CONTACTS = {"luis": {"name": "Luis Ortega", "role": "hiring_manager", "timezone": "America/Los_Angeles"},
            "alice": {"name": "Alice Park", "role": "interviewer", "timezone": "America/New_York"},
            "noz": {"name": "Nora Zhou", "role": "recruiter"}}  # no zone: the employer's applies
APPS = {"pacific": {"company": "Pacific Freight", "country": "US", "timezone": "America/Los_Angeles"}}
START = [interview("i1", "2026-03-04T18:00:00", ["luis", "alice"])]


def run(events, engine):
    t = tl(START + list(events), contacts=CONTACTS, applications=APPS, timezone="Europe/Berlin")
    return findings(t, AS_OF, rules=RULE, engine=engine)


def test_berlin_to_los_angeles_in_summer_time(engine):
    # 15 April: Berlin CEST (+02:00), Los Angeles PDT (-07:00), 9 hours apart
    assert run([contact("c1", "2026-04-15T17:00:00", "luis", channel="phone")], engine) == []  # 08:00 LA
    [f] = run([contact("c1", "2026-04-15T16:00:00", "luis", channel="phone")], engine)         # 07:00 LA
    assert (f.rule, f.severity, f.category) == (RULE, "warning", "harassing")
    assert (f.application, f.contact, f.events, f.due) == ("pacific", "luis", ["c1"], None)
    assert "08:00-21:00" in f.message


def test_in_the_weeks_when_us_and_eu_dst_disagree_the_gap_is_eight_hours(engine):
    # 18 March: the US changed on 8 March, the EU changes on 29 March: Berlin CET (+01:00), LA PDT (-07:00)
    assert run([contact("c1", "2026-03-18T16:00:00", "luis", channel="phone")], engine) == []  # 08:00 LA
    assert len(run([contact("c1", "2026-03-18T15:59:00", "luis", channel="phone")], engine)) == 1
    # 30 October: the EU is back on CET since 25 October, the US changes on 1 November
    assert run([contact("c1", "2026-10-30T16:00:00", "luis", channel="phone")], engine) == []


@pytest.mark.parametrize("local_ny, fired", [
    ("07:59", True), ("08:00", False), ("20:59", False), ("21:00", True), ("23:30", True), ("03:00", True),
])
def test_hour_boundaries_in_the_recipients_zone(engine, local_ny, fired):
    sent = f"2026-04-15T{local_ny}:00-04:00"  # written in New York time, where Alice is
    found = run([contact("c1", sent, "alice", channel="phone")], engine)
    assert bool(found) is fired


@pytest.mark.parametrize("channel, fired", [
    ("phone", True), ("voicemail", True), ("text", True), ("email", False), ("linkedin", False),
])
def test_only_calls_and_texts_are_checked(engine, channel, fired):
    found = run([contact("c1", "2026-04-15T12:00:00", "luis", channel=channel)], engine)  # 03:00 LA
    assert bool(found) is fired


def test_status_inquiry_by_phone(engine):
    [f] = run([inquiry("q1", "2026-04-15T14:30:00", "luis", channel="phone")], engine)  # 05:30 LA
    assert f.events == ["q1"]


def test_contact_without_a_zone_uses_the_employers(engine):
    # 16:30 Berlin = 07:30 Los Angeles (the application's zone)
    [f] = run([contact("c1", "2026-04-15T16:30:00", "noz", channel="text")], engine)
    assert f.contact == "noz"


def test_a_group_text_is_judged_per_recipient(engine):
    # 16:30 Berlin = 10:30 New York (fine for Alice) = 07:30 Los Angeles (too early for Luis)
    [f] = run([contact("c1", "2026-04-15T16:30:00", ["alice", "luis"], channel="text")], engine)
    assert (f.contact, f.events) == ("luis", ["c1"])


def test_weekends_are_not_outside_hours(engine):
    # Sat 18 April 19:00 Berlin = 10:00 Los Angeles
    assert run([contact("c1", "2026-04-18T19:00:00", "luis", channel="phone")], engine) == []
