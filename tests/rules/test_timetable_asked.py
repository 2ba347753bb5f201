"""timetable-asked: an interview ends with no `timetable` recorded that (employer-local) day.

Semantics (policies/etiquette.yaml, engine/rules/deadline.py, ir.Absence): the
trigger is each interview (its first interviewer is the finding's contact); the
deadline is the end of the interview's local day in the employer's zone (the first
instant of the next day), counted from the interview's ``at``; a timetable of the same
application with ``interview.at <= timetable.at <= deadline`` satisfies it; the
finding appears only once ``as_of`` is past the deadline, cites [interview] and has
``due`` = the deadline. Severity warning, category missed.
"""

from __future__ import annotations

from helpers import findings, interview, iso, timetable, tl

RULE = "timetable-asked"
LATER = "2026-04-01T00:00:00Z"


def run(t, as_of=LATER, engine="reference"):
    return findings(t, as_of, rules=RULE, engine=engine)


def test_fires_without_a_timetable(engine):
    t = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice", "bob"])])
    [f] = run(t, engine=engine)
    assert (f.rule, f.severity, f.category) == (RULE, "warning", "missed")
    assert f.application == "acme"
    assert f.contact == "alice"  # the first interviewer
    assert f.events == ["i1"]
    # end of Mon 2 March in New York (EST, -05:00) = Tue 3 March 00:00 EST
    assert f.due == "2026-03-03T05:00:00Z"
    assert "i1" in f.message


def test_not_fired_with_a_timetable_that_day(engine):
    t = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"]),
            timetable("t1", "2026-03-02T10:50:00-05:00", decision_by="2026-03-09", by="alice")])
    assert run(t, engine=engine) == []


def test_timetable_late_in_the_evening_still_counts(engine):
    t = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"]),
            timetable("t1", "2026-03-02T23:59:59-05:00", within="2w", by="alice")])
    assert run(t, engine=engine) == []


def test_deadline_boundary_is_the_first_instant_of_the_next_day(engine):
    # the window is inclusive: a timetable at exactly 00:00 the next day still counts ...
    at_midnight = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"]),
                      timetable("t1", "2026-03-03T00:00:00-05:00", within="2w")])
    assert run(at_midnight, engine=engine) == []
    # ... one second later it does not
    after = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"]),
                timetable("t1", "2026-03-03T00:00:01-05:00", within="2w")])
    [f] = run(after, engine=engine)
    assert f.events == ["i1"] and f.due == "2026-03-03T05:00:00Z"


def test_not_yet_due_before_the_day_ends(engine):
    t = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"])])
    assert run(t, "2026-03-02T23:00:00-05:00", engine) == []
    assert run(t, "2026-03-03T00:00:00-05:00", engine) == []  # as_of == deadline: not past it
    assert [f.events for f in run(t, "2026-03-03T00:00:01-05:00", engine)] == [["i1"]]


def test_a_timetable_before_the_interview_does_not_count(engine):
    # the window opens at the interview's start
    t = tl([timetable("t0", "2026-03-02T09:00:00-05:00", decision_by="2026-03-09", by="carol"),
            interview("i1", "2026-03-02T10:00:00-05:00", ["alice"])])
    [f] = run(t, engine=engine)
    assert f.events == ["i1"]


def test_the_day_is_the_employers_day_not_the_candidates(engine):
    # employer in Los Angeles, candidate (timeline zone) in New York
    apps = {"sun": {"company": "Sunset Media", "country": "US", "timezone": "America/Los_Angeles"}}
    # interview 18:00 PST (21:00 EST); timetable 23:30 PST = 02:30 EST the next day for the candidate
    t = tl([interview("i1", "2026-03-02T18:00:00-08:00", ["alice"]),
            timetable("t1", "2026-03-02T23:30:00-08:00", within="1w")], applications=apps)
    assert run(t, engine=engine) == []
    bare = tl([interview("i1", "2026-03-02T18:00:00-08:00", ["alice"])], applications=apps)
    [f] = run(bare, engine=engine)
    assert f.application == "sun"
    assert f.due == "2026-03-03T08:00:00Z"  # Tue 3 March 00:00 PST


def test_each_round_needs_its_own_timetable(engine):
    t = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["carol"], round=1),
            timetable("t1", "2026-03-02T10:40:00-05:00", within="1w", by="carol"),
            interview("i2", "2026-03-12T14:00:00-04:00", ["alice", "bob"], round=2)])
    [f] = run(t, engine=engine)
    assert f.events == ["i2"] and f.contact == "alice"
    assert f.due == "2026-03-13T04:00:00Z"  # end of Thu 12 March, EDT (after the 8 March change)


def test_a_timetable_for_another_application_does_not_count(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    t = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"], application="acme"),
            interview("i2", "2026-03-02T14:00:00-05:00", ["bob"], application="globex"),
            timetable("t2", "2026-03-02T14:45:00-05:00", within="1w", by="bob", application="globex")],
           applications=apps)
    [f] = run(t, engine=engine)
    assert (f.application, f.events, f.contact) == ("acme", ["i1"], "alice")


def test_interview_without_named_interviewers_has_no_contact(engine):
    t = tl([interview("i1", "2026-03-02T10:00:00-05:00")])
    [f] = run(t, engine=engine)
    assert f.contact is None and f.events == ["i1"]
    assert f.due == iso("2026-03-03T00:00:00-05:00")
