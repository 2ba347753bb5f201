"""preferred-channel: candidate contact on a channel other than the recipient's preference.

Semantics (rules/channel.py, ir.ChannelMismatch): for every candidate message and
every recipient, the preference is the latest ``preference`` event for that
recipient (same application) before the message, else ``preferred_channel`` in the
contact list; no preference means any channel is fine. A mismatch is flagged per
recipient, citing [preference, message] or just [message] for a standing
preference. Severity violation, category off-channel.
"""

from __future__ import annotations

import pytest

from helpers import (CONTACTS, contact, feedback, findings, inquiry, interview, preference, thank_you, tl)

RULE = "preferred-channel"
AS_OF = "2026-06-01T00:00:00Z"
PREFS = {**CONTACTS,
         "alice": {**CONTACTS["alice"], "preferred_channel": "email"},
         "carol": {**CONTACTS["carol"], "preferred_channel": "phone"}}


def run(events, engine, contacts=PREFS, **kw):
    return findings(tl(events, contacts=contacts, **kw), AS_OF, rules=RULE, engine=engine)


START = interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob"])


def test_linkedin_message_to_an_email_person(engine):
    [f] = run([START, thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", channel="linkedin")], engine)
    assert (f.rule, f.severity, f.category) == (RULE, "violation", "off-channel")
    assert (f.contact, f.events, f.due) == ("alice", ["y1"], None)
    assert "linkedin" in f.message and "email" in f.message


def test_preferred_channel_passes(engine):
    assert run([START, thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", channel="email")], engine) == []


@pytest.mark.parametrize("channel", ["email", "phone", "linkedin", "text", "letter"])
def test_no_preference_means_any_channel(engine, channel):
    assert run([START, thank_you("y1", "2026-04-14T17:00:00-04:00", "bob", channel=channel)], engine) == []


@pytest.mark.parametrize("make", [inquiry, feedback, contact, thank_you])
def test_every_kind_of_candidate_message_is_checked(engine, make):
    [f] = run([START, make("x1", "2026-04-24T11:00:00-04:00", "alice", channel="phone")], engine)
    assert f.events == ["x1"]


def test_a_preference_event_overrides_the_contact_list(engine):
    # Alice's card says email; in the interview she said "just call me"
    events = [START, preference("p1", "2026-04-14T10:55:00-04:00", "alice", "phone"),
              inquiry("q1", "2026-04-24T11:00:00-04:00", "alice", channel="phone"),
              contact("c1", "2026-04-28T11:00:00-04:00", "alice", channel="email")]
    [f] = run(events, engine)
    assert (f.contact, f.events) == ("alice", ["p1", "c1"])


def test_the_latest_preference_wins(engine):
    events = [START, preference("p1", "2026-04-14T10:55:00-04:00", "bob", "phone"),
              preference("p2", "2026-04-20T09:00:00-04:00", "bob", "text"),
              contact("c1", "2026-04-21T11:00:00-04:00", "bob", channel="phone")]
    [f] = run(events, engine)
    assert (f.contact, f.events) == ("bob", ["p2", "c1"])


def test_a_preference_stated_later_does_not_apply_backwards(engine):
    events = [START, thank_you("y1", "2026-04-14T17:00:00-04:00", "bob", channel="linkedin"),
              preference("p1", "2026-04-15T09:00:00-04:00", "bob", "email")]
    assert run(events, engine) == []


def test_each_recipient_of_a_group_message_is_checked(engine):
    # alice prefers email, bob has no preference, carol prefers phone
    events = [interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob", "carol"]),
              thank_you("y1", "2026-04-14T17:00:00-04:00", ["alice", "bob", "carol"], channel="email")]
    [f] = run(events, engine)
    assert (f.contact, f.events) == ("carol", ["y1"])


def test_a_preference_recorded_for_another_application_does_not_apply(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    events = [interview("i1", "2026-04-14T10:00:00-04:00", "bob", application="acme"),
              interview("i2", "2026-04-15T10:00:00-04:00", "bob", application="globex"),
              preference("p2", "2026-04-15T10:30:00-04:00", "bob", "phone", application="globex"),
              thank_you("y1", "2026-04-14T16:00:00-04:00", "bob", channel="email", application="acme"),
              contact("c1", "2026-04-20T16:00:00-04:00", "bob", channel="email", application="acme"),
              contact("c2", "2026-04-20T16:00:00-04:00", "bob", channel="email", application="globex")]
    [f] = run(events, engine, applications=apps)
    assert (f.application, f.contact, f.events) == ("globex", "bob", ["p2", "c2"])
