"""thank-you-within-24h: every interviewer gets a thank-you within 24h of the interview.

Semantics (etiquette.yaml, rules/deadline.py, ir.Absence with per_party): one
obligation per (interview, interviewer); the deadline is the interview's end
(``ends_at``, else ``at``) + 86400 s of *elapsed* time (UTC instants, never wall
clock); a thank-you of the same application addressed to that interviewer with
``interview.at <= thank_you.at <= deadline`` satisfies it (inclusive); a rejection,
withdrawal, do-not-contact or offer of the application inside that window lifts it;
the finding appears once ``as_of > deadline``, cites [interview], names the
interviewer and has ``due`` = the deadline. Severity violation, category overdue.
"""

from __future__ import annotations

import pytest

from helpers import (do_not_contact, findings, interview, offer, rejection, thank_you, tl, withdrawal)

RULE = "thank-you-within-24h"
LATER = "2026-12-31T00:00:00Z"


def run(t, as_of=LATER, engine="reference"):
    return findings(t, as_of, rules=RULE, engine=engine)


def test_missing_thank_you_fires_for_that_interviewer_only(engine):
    t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob"]),
            thank_you("y1", "2026-04-14T18:00:00-04:00", "alice", body="Thank you, Alice.")])
    [f] = run(t, engine=engine)
    assert (f.rule, f.severity, f.category) == (RULE, "violation", "overdue")
    assert (f.application, f.contact, f.events) == ("acme", "bob", ["i1"])
    assert f.due == "2026-04-15T14:00:00Z"  # 10:00 EDT + 24h
    assert "Bob Lee" in f.message


@pytest.mark.parametrize("sent, fired", [
    ("2026-04-15T09:59:59-04:00", False),
    ("2026-04-15T10:00:00-04:00", False),  # exactly 24h: still in time
    ("2026-04-15T10:00:01-04:00", True),   # 24h + 1s: late
    ("2026-04-15T14:00:01Z", True),        # the same instant written in UTC
])
def test_exactly_24_hours_is_in_time(engine, sent, fired):
    t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"]),
            thank_you("y1", sent, "alice")])
    found = run(t, engine=engine)
    assert bool(found) is fired
    if fired:
        assert found[0].due == "2026-04-15T14:00:00Z" and found[0].events == ["i1"]


def test_not_due_until_the_deadline_has_passed(engine):
    t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"])])
    assert run(t, "2026-04-15T09:00:00-04:00", engine) == []
    assert run(t, "2026-04-15T14:00:00Z", engine) == []  # as_of == deadline
    [f] = run(t, "2026-04-15T14:00:01Z", engine)
    assert f.due == "2026-04-15T14:00:00Z"


def test_deadline_counts_from_the_end_of_the_interview(engine):
    base = [interview("i1", "2026-04-14T10:00:00-04:00", ["alice"], ends_at="2026-04-14T11:30:00-04:00")]
    ok = tl(base + [thank_you("y1", "2026-04-15T11:30:00-04:00", "alice")])
    assert run(ok, engine=engine) == []
    late = tl(base + [thank_you("y1", "2026-04-15T11:30:01-04:00", "alice")])
    [f] = run(late, engine=engine)
    assert f.due == "2026-04-15T15:30:00Z"


class TestDaylightSaving:
    """24h is elapsed time: across a DST change the wall-clock deadline moves by an hour."""

    def test_spring_forward(self, engine):
        # Sat 7 March 16:00 EST (21:00Z); clocks go forward on Sun 8 March at 02:00.
        # deadline = 8 March 21:00Z = 17:00 EDT (wall clock: 25 hours later).
        start = interview("i1", "2026-03-07T16:00:00-05:00", ["alice"])
        # 16:30 EDT is 24.5 wall hours later but only 23.5 hours elapsed: in time
        # (wall-clock arithmetic would have put the deadline at 16:00 EDT and flagged it)
        assert run(tl([start, thank_you("y1", "2026-03-08T16:30:00-04:00", "alice")]), engine=engine) == []
        assert run(tl([start, thank_you("y1", "2026-03-08T17:00:00-04:00", "alice")]), engine=engine) == []
        [f] = run(tl([start, thank_you("y1", "2026-03-08T17:00:01-04:00", "alice")]), engine=engine)
        assert f.due == "2026-03-08T21:00:00Z"
        assert "17:00 EDT" in f.message  # the due time is rendered in the employer's zone

    def test_fall_back(self, engine):
        # Sat 31 Oct 16:00 EDT (20:00Z); clocks go back on Sun 1 Nov at 02:00.
        # deadline = 1 Nov 20:00Z = 15:00 EST (wall clock: 23 hours later).
        start = interview("i1", "2026-10-31T16:00:00-04:00", ["alice"])
        assert run(tl([start, thank_you("y1", "2026-11-01T15:00:00-05:00", "alice")]), engine=engine) == []
        # 15:30 EST is 23.5 wall hours later but 24.5 hours elapsed: late
        # (written without an offset: the timeline's zone, America/New_York, applies)
        [f] = run(tl([start, thank_you("y1", "2026-11-01T15:30:00", "alice")]), engine=engine)
        assert (f.contact, f.events, f.due) == ("alice", ["i1"], "2026-11-01T20:00:00Z")


def test_interviewer_and_candidate_in_different_zones(engine):
    contacts = {"ines": {"name": "Ines Walker", "role": "interviewer", "timezone": "Europe/London"}}
    # candidate in Chicago writes local times; the interviewer reads her mail in London
    start = interview("i1", "2026-05-12T09:00:00", ["ines"])  # 09:00 CDT = 14:00Z
    on_time = thank_you("y1", "2026-05-13T15:00:00+01:00", "ines")  # 15:00 BST = 14:00Z: exactly 24h
    late = thank_you("y1", "2026-05-13T09:00:01", "ines")  # 09:00:01 CDT = 14:00:01Z
    assert run(tl([start, on_time], contacts=contacts, timezone="America/Chicago"), engine=engine) == []
    [f] = run(tl([start, late], contacts=contacts, timezone="America/Chicago"), engine=engine)
    assert (f.contact, f.due) == ("ines", "2026-05-13T14:00:00Z")


class TestPanelsAndRounds:
    def test_panel_of_three_with_one_forgotten(self, engine):
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob", "carol"]),
                thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body="Dear Alice ..."),
                thank_you("y2", "2026-04-14T17:10:00-04:00", "bob", body="Dear Bob ...")])
        [f] = run(t, engine=engine)
        assert (f.contact, f.events, f.due) == ("carol", ["i1"], "2026-04-15T14:00:00Z")

    def test_one_note_addressed_to_the_whole_panel_satisfies_each(self, engine):
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob", "carol"]),
                thank_you("y1", "2026-04-14T17:00:00-04:00", ["alice", "bob", "carol"])])
        assert run(t, engine=engine) == []

    def test_panel_with_nobody_thanked_gives_one_finding_per_interviewer(self, engine):
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob", "carol"])])
        assert [(f.contact, f.events) for f in run(t, engine=engine)] == [
            ("alice", ["i1"]), ("bob", ["i1"]), ("carol", ["i1"])]

    def test_same_person_in_two_rounds_is_owed_two_thank_yous(self, engine):
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"], round=1),
                thank_you("y1", "2026-04-14T16:00:00-04:00", "alice"),
                interview("i2", "2026-04-21T13:00:00-04:00", ["alice", "bob"], round=2),
                thank_you("y2", "2026-04-21T18:00:00-04:00", "bob")])
        # y1 came before round 2, so it does not answer it
        [f] = run(t, engine=engine)
        assert (f.contact, f.events, f.due) == ("alice", ["i2"], "2026-04-22T17:00:00Z")

    def test_back_to_back_interviews_one_note_covers_both(self, engine):
        t = tl([interview("i1", "2026-04-14T09:00:00-04:00", ["alice"], round=1),
                interview("i2", "2026-04-14T11:00:00-04:00", ["alice", "bob"], round=2),
                thank_you("y1", "2026-04-14T15:00:00-04:00", ["alice", "bob"])])
        assert run(t, engine=engine) == []

    def test_each_deadline_anchors_to_its_own_interview(self, engine):
        t = tl([interview("i1", "2026-04-14T09:00:00-04:00", ["alice"]),
                interview("i2", "2026-04-14T15:00:00-04:00", ["alice"]),
                thank_you("y1", "2026-04-15T12:00:00-04:00", "alice")])  # 27h after i1, 21h after i2
        [f] = run(t, engine=engine)
        assert (f.events, f.due) == (["i1"], "2026-04-15T13:00:00Z")

    def test_a_thank_you_written_before_the_interview_does_not_count(self, engine):
        t = tl([thank_you("y0", "2026-04-14T08:00:00-04:00", "alice"),
                interview("i1", "2026-04-14T10:00:00-04:00", ["alice"])])
        assert [f.events for f in run(t, engine=engine)] == [["i1"]]


class TestCancellation:
    @pytest.mark.parametrize("cancel", [
        rejection("r1", "2026-04-14T13:00:00-04:00", "carol"),
        offer("o1", "2026-04-14T17:00:00-04:00", "alice"),
        withdrawal("w1", "2026-04-15T08:00:00-04:00"),
        do_not_contact("d1", "2026-04-14T12:00:00-04:00", contact="alice", by="carol"),
        do_not_contact("d1", "2026-04-14T12:00:00-04:00", by="carol"),  # whole company
    ], ids=["rejection", "offer", "withdrawal", "dnc-named", "dnc-company"])
    def test_cancelled_inside_the_window(self, engine, cancel):
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"]), cancel])
        assert run(t, engine=engine) == []

    def test_rejection_after_the_deadline_does_not_excuse_it(self, engine):
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"]),
                rejection("r1", "2026-04-15T16:00:00-04:00", "carol")])  # 30h later
        [f] = run(t, engine=engine)
        assert (f.contact, f.events) == ("alice", ["i1"])

    def test_rejection_at_exactly_the_deadline_cancels(self, engine):
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"]),
                rejection("r1", "2026-04-15T10:00:00-04:00")])
        assert run(t, engine=engine) == []

    def test_rejection_of_another_application_does_not_cancel(self, engine):
        apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
                "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
        t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"], application="acme"),
                rejection("r1", "2026-04-14T12:00:00-04:00", application="globex")], applications=apps)
        assert [(f.application, f.contact) for f in run(t, engine=engine)] == [("acme", "alice")]


def test_thank_you_for_another_application_does_not_count(engine):
    # an agency recruiter interviews the candidate for two clients on the same day
    contacts = {"rita": {"name": "Rita Gomez", "role": "agency_recruiter", "timezone": "America/New_York"}}
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    t = tl([interview("i1", "2026-04-14T10:00:00-04:00", "rita", application="acme"),
            interview("i2", "2026-04-14T14:00:00-04:00", "rita", application="globex"),
            thank_you("y2", "2026-04-14T18:00:00-04:00", "rita", application="globex")],
           contacts=contacts, applications=apps)
    [f] = run(t, engine=engine)
    assert (f.application, f.contact, f.events) == ("acme", "rita", ["i1"])
