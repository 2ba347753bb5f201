"""contact-frequency: more than 2 candidate contacts (thank-yous excepted) in any 7 days.

Semantics (rules/limit.py, ir.Count with window): status inquiries, feedback
requests and other contacts of one application are counted in order (one per
event, whatever its recipients); a message is flagged when the two before it exist
and the first of them is less than 7 * 86400 s (elapsed) earlier. Cites [the two
before, this]; the contact is this message's first recipient. Severity violation,
category harassing.
"""

from __future__ import annotations

import pytest

from helpers import contact, feedback, findings, inquiry, interview, thank_you, timetable, tl

RULE = "contact-frequency"
AS_OF = "2026-12-31T00:00:00Z"
START = [interview("i1", "2026-04-06T10:00:00-04:00", ["alice", "bob"]),
         timetable("t1", "2026-04-06T10:50:00-04:00", decision_by="2026-04-10")]


def run(events, engine, start=START, **kw):
    return findings(tl(start + list(events), **kw), AS_OF, rules=RULE, engine=engine)


def test_third_message_in_a_week(engine):
    [f] = run([inquiry("q1", "2026-04-13T09:00:00-04:00", "alice"),
               contact("c1", "2026-04-14T09:00:00-04:00", "alice", channel="linkedin"),
               contact("c2", "2026-04-15T09:00:00-04:00", "bob")], engine)
    assert (f.rule, f.severity, f.category) == (RULE, "violation", "harassing")
    assert (f.contact, f.events, f.due) == ("bob", ["q1", "c1", "c2"], None)
    assert "3 messages to Acme Corp" in f.message


def test_two_messages_are_fine(engine):
    assert run([inquiry("q1", "2026-04-13T09:00:00-04:00", "alice"),
                contact("c1", "2026-04-13T09:05:00-04:00", "alice")], engine) == []


def test_thank_yous_do_not_count(engine):
    assert run([thank_you("y1", "2026-04-06T16:00:00-04:00", "alice"),
                thank_you("y2", "2026-04-06T16:10:00-04:00", "bob"),
                thank_you("y3", "2026-04-07T09:00:00-04:00", "carol"),
                contact("c1", "2026-04-08T09:00:00-04:00", "alice"),
                inquiry("q1", "2026-04-12T09:00:00-04:00", "alice")], engine) == []


@pytest.mark.parametrize("third, fired", [
    ("2026-04-20T08:59:59-04:00", True),   # 7 days - 1 s after the first
    ("2026-04-20T09:00:00-04:00", False),  # exactly 7 days: the first has left the window
])
def test_window_boundary(engine, third, fired):
    found = run([inquiry("q1", "2026-04-13T09:00:00-04:00", "alice"),
                 contact("c1", "2026-04-15T09:00:00-04:00", "alice"),
                 contact("c2", third, "alice")], engine)
    assert bool(found) is fired


def test_the_window_is_elapsed_time_across_dst(engine):
    # Mon 2 March 09:00 EST = 14:00Z; Mon 9 March 09:30 EDT = 13:30Z: 6 days 23.5 hours elapsed,
    # although the wall clocks are 7 days and 30 minutes apart
    start = [interview("i1", "2026-02-23T10:00:00-05:00", ["alice"])]
    [f] = run([contact("c1", "2026-03-02T09:00:00-05:00", "alice"),
               contact("c2", "2026-03-05T09:00:00-05:00", "alice"),
               contact("c3", "2026-03-09T09:30:00-04:00", "alice")], engine, start=start)
    assert f.events == ["c1", "c2", "c3"]


def test_rolling_window(engine):
    # days 0, 5, 8, 9: {0, 5, 8} spans 8 days (fine), {5, 8, 9} spans 4 days (too many)
    found = run([contact("c1", "2026-04-13T09:00:00-04:00", "alice"),
                 contact("c2", "2026-04-18T09:00:00-04:00", "alice"),
                 contact("c3", "2026-04-21T09:00:00-04:00", "alice"),
                 contact("c4", "2026-04-22T09:00:00-04:00", "alice")], engine)
    assert [f.events for f in found] == [["c2", "c3", "c4"]]


def test_four_in_a_week_flags_the_third_and_fourth(engine):
    found = run([inquiry("q1", "2026-04-13T09:00:00-04:00", "alice"),
                 feedback("f1", "2026-04-14T09:00:00-04:00", "alice"),
                 contact("c1", "2026-04-15T09:00:00-04:00", "alice"),
                 contact("c2", "2026-04-16T09:00:00-04:00", "alice")], engine)
    assert [f.events for f in found] == [["q1", "f1", "c1"], ["f1", "c1", "c2"]]


def test_counted_per_company_not_per_person(engine):
    found = run([contact("c1", "2026-04-13T09:00:00-04:00", "alice"),
                 contact("c2", "2026-04-13T10:00:00-04:00", "bob"),
                 contact("c3", "2026-04-13T11:00:00-04:00", "carol")], engine)
    assert [(f.contact, f.events) for f in found] == [("carol", ["c1", "c2", "c3"])]


def test_a_message_to_several_people_counts_once(engine):
    assert run([contact("c1", "2026-04-13T09:00:00-04:00", ["alice", "bob", "carol"]),
                contact("c2", "2026-04-14T09:00:00-04:00", ["alice", "bob"])], engine) == []


def test_other_companies_are_counted_separately(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    start = [{**e, "application": "acme"} for e in START] + [
        interview("i2", "2026-04-07T10:00:00-04:00", "bob", application="globex")]
    events = [contact("c1", "2026-04-13T09:00:00-04:00", "alice", application="acme"),
              contact("c2", "2026-04-13T10:00:00-04:00", "bob", application="globex"),
              contact("c3", "2026-04-14T09:00:00-04:00", "alice", application="acme"),
              contact("c4", "2026-04-14T10:00:00-04:00", "bob", application="globex")]
    assert run(events, engine, start=start, applications=apps) == []
    found = run(events + [contact("c5", "2026-04-15T10:00:00-04:00", "bob", application="globex")],
                engine, start=start, applications=apps)
    assert [(f.application, f.events) for f in found] == [("globex", ["c2", "c4", "c5"])]
