"""do-not-contact: candidate contact after a do-not-contact request.

Semantics (rules/forbidden_after.py with ``scope: named-contact``, ir.Follows
party_scoped): after a do-not-contact event of an application, a candidate message
of that application is flagged for each recipient the request covers: a request
naming a contact covers only that contact; a request naming nobody covers the whole
company (then the message is flagged once, for its first recipient). Cites [request,
message]. Severity violation, category harassing.
"""

from __future__ import annotations

import pytest

from helpers import (contact, do_not_contact, feedback, findings, inquiry, interview, thank_you, tl)

RULE = "do-not-contact"
AS_OF = "2026-12-31T00:00:00Z"
START = [interview("i1", "2026-04-06T10:00:00-04:00", ["alice", "bob"]),
         thank_you("y1", "2026-04-06T17:00:00-04:00", "alice"),
         thank_you("y2", "2026-04-06T17:05:00-04:00", "bob")]
DNC_BOB = do_not_contact("d1", "2026-04-09T12:00:00-04:00", contact="bob", by="carol")
DNC_ALL = do_not_contact("d1", "2026-04-09T12:00:00-04:00", by="carol")


def run(events, engine, **kw):
    return findings(tl(START + list(events), **kw), AS_OF, rules=RULE, engine=engine)


def test_message_to_the_named_contact(engine):
    [f] = run([DNC_BOB, contact("c1", "2026-04-10T09:00:00-04:00", "bob", channel="linkedin")], engine)
    assert (f.rule, f.severity, f.category) == (RULE, "violation", "harassing")
    assert (f.contact, f.events, f.due) == ("bob", ["d1", "c1"], None)
    assert "Bob Lee" in f.message and "d1" in f.message


def test_a_named_request_leaves_other_contacts_reachable(engine):
    assert run([DNC_BOB, inquiry("q1", "2026-04-16T09:00:00-04:00", "alice")], engine) == []


def test_a_group_message_is_flagged_for_the_named_contact_only(engine):
    [f] = run([DNC_BOB, inquiry("q1", "2026-04-16T09:00:00-04:00", ["alice", "bob"])], engine)
    assert (f.contact, f.events) == ("bob", ["d1", "q1"])


def test_a_company_wide_request_covers_everyone(engine):
    found = run([DNC_ALL, inquiry("q1", "2026-04-16T09:00:00-04:00", "alice"),
                 contact("c1", "2026-04-17T09:00:00-04:00", "carol")], engine)
    assert [(f.contact, f.events) for f in found] == [("alice", ["d1", "q1"]), ("carol", ["d1", "c1"])]


def test_a_company_wide_request_flags_a_group_message_once(engine):
    [f] = run([DNC_ALL, inquiry("q1", "2026-04-16T09:00:00-04:00", ["bob", "alice"])], engine)
    assert (f.contact, f.events) == ("bob", ["d1", "q1"])


@pytest.mark.parametrize("make", [thank_you, inquiry, feedback, contact])
def test_every_kind_of_message_is_covered(engine, make):
    [f] = run([DNC_ALL, make("x1", "2026-04-16T09:00:00-04:00", "alice")], engine)
    assert f.events == ["d1", "x1"]


def test_messages_before_the_request_are_fine(engine):
    assert run([inquiry("q0", "2026-04-08T09:00:00-04:00", "bob"), DNC_BOB], engine) == []


def test_the_request_binds_from_its_own_instant(engine):
    # same instant: events are ordered by (instant, id), so `c0` sorts before `d1` and is fine
    same = contact("c0", "2026-04-09T12:00:00-04:00", "bob")
    assert run([same, DNC_BOB], engine) == []
    later = contact("c2", "2026-04-09T12:00:01-04:00", "bob")
    assert [f.events for f in run([DNC_BOB, later], engine)] == [["d1", "c2"]]


def test_a_request_at_another_company_does_not_apply(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    events = [interview("i2", "2026-04-07T10:00:00-04:00", "bob", application="globex"),
              do_not_contact("d2", "2026-04-09T12:00:00-04:00", by="bob", application="globex"),
              contact("c1", "2026-04-10T09:00:00-04:00", "bob", application="acme"),
              contact("c2", "2026-04-10T09:30:00-04:00", "bob", application="globex")]
    start = [{**e, "application": "acme"} for e in START]
    found = findings(tl(start + events, applications=apps), AS_OF, rules=RULE, engine=engine)
    assert [(f.application, f.contact, f.events) for f in found] == [("globex", "bob", ["d2", "c2"])]


def test_two_requests_cite_the_earliest_that_covers_the_message(engine):
    found = run([DNC_BOB, do_not_contact("d2", "2026-04-12T12:00:00-04:00", by="carol"),
                 contact("c1", "2026-04-13T09:00:00-04:00", "bob"),
                 contact("c2", "2026-04-13T10:00:00-04:00", "alice")], engine)
    assert [(f.contact, f.events) for f in found] == [("bob", ["d1", "c1"]), ("alice", ["d2", "c2"])]
