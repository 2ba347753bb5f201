"""no-contact-after-rejection: candidate contact after a rejection, except one feedback request.

Semantics (rules/forbidden_after.py): lowered into two nodes of the same rule id.
(1) ir.Follows: every thank-you, status inquiry or other contact of an application
after a rejection of it is flagged once (first recipient), citing [earliest
rejection, message]. (2) ir.Count with ``after``: feedback requests are counted in
order; one is flagged when the previous feedback request exists and some rejection
precedes that previous one, citing [previous request, this] -- so the first feedback
request after a rejection is allowed and every further one is flagged. Severity
violation, category harassing.
"""

from __future__ import annotations

import pytest

from helpers import contact, feedback, findings, inquiry, interview, rejection, thank_you, tl

RULE = "no-contact-after-rejection"
AS_OF = "2026-12-31T00:00:00Z"
START = [interview("i1", "2026-04-06T10:00:00-04:00", ["alice", "bob"]),
         thank_you("y1", "2026-04-06T17:00:00-04:00", ["alice", "bob"]),
         inquiry("q1", "2026-04-16T09:00:00-04:00", "alice"),        # before the rejection: fine
         rejection("r1", "2026-04-20T15:00:00-04:00", "carol")]


def run(events, engine, start=START, **kw):
    return findings(tl(start + list(events), **kw), AS_OF, rules=RULE, engine=engine)


def test_nothing_after_the_rejection_is_fine(engine):
    assert run([], engine) == []


def test_one_feedback_request_is_welcome(engine):
    assert run([feedback("f1", "2026-04-21T10:00:00-04:00", "alice")], engine) == []


def test_a_second_feedback_request_is_flagged(engine):
    [f] = run([feedback("f1", "2026-04-21T10:00:00-04:00", "alice"),
               feedback("f2", "2026-04-28T10:00:00-04:00", "alice")], engine)
    assert (f.rule, f.severity, f.category) == (RULE, "violation", "harassing")
    assert (f.contact, f.events, f.due) == ("alice", ["f1", "f2"], None)


def test_a_third_feedback_request_is_flagged_too(engine):
    found = run([feedback("f1", "2026-04-21T10:00:00-04:00", "alice"),
                 feedback("f2", "2026-04-28T10:00:00-04:00", "bob"),
                 feedback("f3", "2026-05-05T10:00:00-04:00", "carol")], engine)
    assert [(f.contact, f.events) for f in found] == [("bob", ["f1", "f2"]), ("carol", ["f2", "f3"])]


@pytest.mark.parametrize("make", [inquiry, contact, thank_you])
def test_any_other_message_after_the_rejection_is_flagged(engine, make):
    [f] = run([make("x1", "2026-04-22T10:00:00-04:00", "alice")], engine)
    assert (f.contact, f.events) == ("alice", ["r1", "x1"])
    assert "Acme Corp" in f.message and "turned the application down" in f.message


def test_feedback_then_a_further_message(engine):
    found = run([feedback("f1", "2026-04-21T10:00:00-04:00", "alice"),
                 contact("c1", "2026-04-24T10:00:00-04:00", "alice", body="Could you reconsider?")], engine)
    assert [(f.contact, f.events) for f in found] == [("alice", ["r1", "c1"])]


def test_a_group_message_is_flagged_once(engine):
    [f] = run([contact("c1", "2026-04-22T10:00:00-04:00", ["bob", "alice"])], engine)
    assert (f.contact, f.events) == ("bob", ["r1", "c1"])


def test_a_feedback_request_sent_before_the_rejection_does_not_use_up_the_allowance(engine):
    start = START[:3] + [feedback("f0", "2026-04-17T10:00:00-04:00", "alice"), START[3]]
    assert run([feedback("f1", "2026-04-21T10:00:00-04:00", "alice")], engine, start=start) == []


def test_rejection_by_another_company_does_not_apply(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    start = [{**e, "application": "acme"} for e in START[:3]] + [
        interview("i2", "2026-04-08T10:00:00-04:00", "bob", application="globex"),
        rejection("r2", "2026-04-20T15:00:00-04:00", application="globex")]
    found = run([contact("c1", "2026-04-22T10:00:00-04:00", "alice", application="acme"),
                 contact("c2", "2026-04-22T11:00:00-04:00", "bob", application="globex")],
                engine, start=start, applications=apps)
    assert [(f.application, f.events) for f in found] == [("globex", ["r2", "c2"])]
