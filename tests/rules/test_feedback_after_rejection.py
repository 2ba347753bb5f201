"""feedback-after-rejection: a rejection with no feedback request within 7 days.

Semantics (rules/deadline.py, ir.Absence without per_party): each rejection has a
deadline of its ``at`` + 7 * 86400 s elapsed; any feedback request of the same
application (to anyone) with ``rejection.at <= request.at <= deadline`` satisfies
it; the finding appears once ``as_of`` is past the deadline, cites [rejection],
names the rejection's sender (``from``) if any and has ``due`` = the deadline.
Severity warning, category missed.
"""

from __future__ import annotations

import pytest

from helpers import feedback, findings, inquiry, interview, rejection, tl

RULE = "feedback-after-rejection"
LATER = "2026-12-31T00:00:00Z"
START = [interview("i1", "2026-04-06T10:00:00-04:00", ["alice"]),
         rejection("r1", "2026-04-20T15:00:00-04:00", "carol")]
DUE = "2026-04-27T19:00:00Z"  # Mon 20 April 15:00 EDT + 7 days


def run(events, engine, as_of=LATER, start=START, **kw):
    return findings(tl(start + list(events), **kw), as_of, rules=RULE, engine=engine)


def test_no_feedback_request(engine):
    [f] = run([], engine)
    assert (f.rule, f.severity, f.category) == (RULE, "warning", "missed")
    assert (f.application, f.contact, f.events, f.due) == ("acme", "carol", ["r1"], DUE)


@pytest.mark.parametrize("sent, fired", [
    ("2026-04-20T15:00:00-04:00", False),  # the same minute
    ("2026-04-27T15:00:00-04:00", False),  # exactly 7 days
    ("2026-04-27T15:00:01-04:00", True),   # 7 days + 1 s
])
def test_seven_day_boundary(engine, sent, fired):
    found = run([feedback("f1", sent, "alice")], engine)
    assert bool(found) is fired
    if fired:
        assert found[0].due == DUE


def test_not_due_before_seven_days_have_passed(engine):
    assert run([], engine, as_of="2026-04-25T00:00:00Z") == []
    assert run([], engine, as_of=DUE) == []
    assert [f.events for f in run([], engine, as_of="2026-04-27T19:00:01Z")] == [["r1"]]


def test_a_request_to_anyone_at_the_company_counts(engine):
    assert run([feedback("f1", "2026-04-22T09:00:00-04:00", "alice")], engine) == []


def test_other_messages_are_not_a_feedback_request(engine):
    [f] = run([inquiry("q1", "2026-04-22T09:00:00-04:00", "alice")], engine)
    assert f.events == ["r1"]


def test_a_request_before_the_rejection_does_not_count(engine):
    start = START[:1] + [feedback("f0", "2026-04-17T09:00:00-04:00", "alice")] + START[1:]
    assert [f.events for f in run([], engine, start=start)] == [["r1"]]


def test_a_request_to_another_company_does_not_count(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    start = [{**e, "application": "acme"} for e in START] + [
        interview("i2", "2026-04-08T10:00:00-04:00", "bob", application="globex")]
    [f] = run([feedback("f1", "2026-04-21T09:00:00-04:00", "bob", application="globex")],
              engine, start=start, applications=apps)
    assert (f.application, f.events) == ("acme", ["r1"])


def test_rejection_without_a_sender_has_no_contact(engine):
    [f] = run([], engine, start=START[:1] + [rejection("r1", "2026-04-20T15:00:00-04:00")])
    assert (f.contact, f.events, f.due) == (None, ["r1"], DUE)


def test_seven_days_are_elapsed_time_across_the_fall_back(engine):
    # Thu 29 Oct 12:00 EDT (16:00Z) + 7 days = Thu 5 Nov 16:00Z = 11:00 EST (not 12:00 EST)
    start = [interview("i1", "2026-10-20T10:00:00-04:00", ["alice"]),
             rejection("r1", "2026-10-29T12:00:00-04:00", "alice")]
    assert run([feedback("f1", "2026-11-05T11:00:00-05:00", "alice")], engine, start=start) == []
    [f] = run([feedback("f1", "2026-11-05T11:30:00-05:00", "alice")], engine, start=start)
    assert f.due == "2026-11-05T16:00:00Z"


def test_each_rejection_is_its_own_obligation(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    start = [interview("i1", "2026-04-06T10:00:00-04:00", ["alice"], application="acme"),
             interview("i2", "2026-04-07T10:00:00-04:00", ["bob"], application="globex"),
             rejection("r1", "2026-04-20T15:00:00-04:00", "alice", application="acme"),
             rejection("r2", "2026-04-21T15:00:00-04:00", "bob", application="globex")]
    found = run([feedback("f1", "2026-04-22T09:00:00-04:00", "alice", application="acme")],
                engine, start=start, applications=apps)
    assert [(f.application, f.contact, f.events, f.due) for f in found] == [
        ("globex", "bob", ["r2"], "2026-04-28T19:00:00Z")]
