"""single-inquiry: more than one status inquiry in one silence period.

Semantics (rules/limit.py, ir.Count with reset): status inquiries of one
application are counted in order (one per event, whoever they go to); an inquiry is
flagged when the previous inquiry of that application exists and no employer-side
event (interview, timetable, preference, employer contact, rejection, offer,
do-not-contact) of the application lies between them. Cites [previous, this];
the contact is this inquiry's first recipient. Severity violation, category harassing.
"""

from __future__ import annotations

import pytest

from helpers import (employer_contact, findings, inquiry, interview, offer, preference, thank_you,
                     timetable, tl, withdrawal, contact)

RULE = "single-inquiry"
AS_OF = "2026-12-31T00:00:00Z"
START = [interview("i1", "2026-04-06T10:00:00-04:00", ["alice", "bob"]),
         timetable("t1", "2026-04-06T10:50:00-04:00", decision_by="2026-04-10", by="alice")]


def run(events, engine, **kw):
    return findings(tl(START + list(events), **kw), AS_OF, rules=RULE, engine=engine)


def test_second_inquiry_in_one_silence(engine):
    [f] = run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice"),
               inquiry("q2", "2026-04-21T09:00:00-04:00", "alice")], engine)
    assert (f.rule, f.severity, f.category) == (RULE, "violation", "harassing")
    assert (f.contact, f.events, f.due) == ("alice", ["q1", "q2"], None)
    assert "q1" in f.message and "Acme Corp" in f.message


def test_one_inquiry_is_fine(engine):
    assert run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice")], engine) == []


def test_silence_has_no_time_limit(engine):
    [f] = run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice"),
               inquiry("q2", "2026-06-30T09:00:00-04:00", "alice")], engine)
    assert f.events == ["q1", "q2"]


def test_inquiries_to_different_people_share_one_silence(engine):
    [f] = run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice"),
               inquiry("q2", "2026-04-16T09:00:00-04:00", "bob")], engine)
    assert (f.contact, f.events) == ("bob", ["q1", "q2"])


@pytest.mark.parametrize("reply", [
    employer_contact("e1", "2026-04-15T12:00:00-04:00", "alice"),
    interview("i2", "2026-04-16T10:00:00-04:00", ["alice"], round=2),
    timetable("t2", "2026-04-15T12:00:00-04:00", within="1w", by="carol"),
    preference("p1", "2026-04-15T12:00:00-04:00", "alice", "email"),
    offer("o1", "2026-04-15T12:00:00-04:00", "alice"),
], ids=["employer_contact", "interview", "timetable", "preference", "offer"])
def test_any_word_from_the_employer_restarts_the_silence(engine, reply):
    assert run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice"), reply,
                inquiry("q2", "2026-04-21T09:00:00-04:00", "alice")], engine) == []


@pytest.mark.parametrize("mine", [
    thank_you("y9", "2026-04-15T12:00:00-04:00", "bob"),
    contact("c1", "2026-04-15T12:00:00-04:00", "bob"),
    withdrawal("w1", "2026-04-15T12:00:00-04:00"),
], ids=["thank_you", "contact", "withdrawal"])
def test_candidate_side_events_do_not_restart_it(engine, mine):
    [f] = run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice"), mine,
               inquiry("q2", "2026-04-21T09:00:00-04:00", "alice")], engine)
    assert f.events == ["q1", "q2"]


def test_after_a_reply_the_count_starts_again(engine):
    found = run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice"),
                 employer_contact("e1", "2026-04-15T12:00:00-04:00", "carol"),
                 inquiry("q2", "2026-04-22T09:00:00-04:00", "alice"),
                 inquiry("q3", "2026-04-29T09:00:00-04:00", "alice")], engine)
    assert [f.events for f in found] == [["q2", "q3"]]


def test_three_in_a_row_flags_the_second_and_third(engine):
    found = run([inquiry("q1", "2026-04-14T09:00:00-04:00", "alice"),
                 inquiry("q2", "2026-04-20T09:00:00-04:00", "alice"),
                 inquiry("q3", "2026-04-27T09:00:00-04:00", "alice")], engine)
    assert [f.events for f in found] == [["q1", "q2"], ["q2", "q3"]]


APPS = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
        "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}


def _two_apps(*events):
    start = [{**e, "application": "acme"} for e in START]
    return start + [interview("i9", "2026-04-07T10:00:00-04:00", "bob", application="globex")] + list(events)


def test_an_inquiry_to_another_company_does_not_count(engine):
    events = _two_apps(inquiry("q1", "2026-04-14T09:00:00-04:00", "alice", application="acme"),
                       inquiry("q2", "2026-04-16T09:00:00-04:00", "bob", application="globex"))
    assert findings(tl(events, applications=APPS), AS_OF, rules=RULE, engine=engine) == []


def test_a_reply_from_another_company_does_not_restart_the_silence(engine):
    events = _two_apps(inquiry("q1", "2026-04-14T09:00:00-04:00", "alice", application="acme"),
                       employer_contact("e1", "2026-04-15T09:00:00-04:00", "bob", application="globex"),
                       inquiry("q2", "2026-04-21T09:00:00-04:00", "alice", application="acme"))
    [f] = findings(tl(events, applications=APPS), AS_OF, rules=RULE, engine=engine)
    assert (f.application, f.events) == ("acme", ["q1", "q2"])
