"""inquiry-after-timetable: a status inquiry before the stated timetable has passed.

Semantics (rules/not_before.py, ir.Premature, calendar.py): the anchors are tried in
order and the first anchor *type* that occurred before the inquiry (same
application) decides, using the latest event of that type:

1. a timetable: opens at its decision time (``decision_by`` date = end of that day in
   the employer's zone; a datetime as given; ``within`` from the timetable's ``at``)
   plus ``timetable_buffer`` (1 business day);
2. with no timetable: the latest interview's end (``ends_at``, else ``at``) plus
   ``inquiry_wait`` (5 business days).

``T + N business days`` is the same local time on the N-th business day (employer's
calendar: weekends, the country's public holidays, closures) after T's local date.
An inquiry strictly before the opening is flagged once (first recipient), citing
[anchor, inquiry] with ``due`` = the opening. Severity violation, category premature.
"""

from __future__ import annotations

import pytest

from helpers import findings, inquiry, interview, timetable, tl

RULE = "inquiry-after-timetable"
AS_OF = "2026-12-31T00:00:00Z"


def run(events, engine, **kw):
    return findings(tl(events, **kw), AS_OF, rules=RULE, engine=engine)


MON = interview("i1", "2026-03-02T10:00:00-05:00", ["alice"])


class TestWithATimetable:
    # decision_by Mon 9 March (date) = end of that day in New York = Tue 10 March 00:00 EDT;
    # plus one business day = Wed 11 March 00:00 EDT = 04:00Z
    T1 = timetable("t1", "2026-03-02T10:50:00-05:00", decision_by="2026-03-09", by="alice")

    def test_inquiry_in_the_grace_day_is_premature(self, engine):
        [f] = run([MON, self.T1, inquiry("q1", "2026-03-10T09:30:00-04:00", "alice")], engine)
        assert (f.rule, f.severity, f.category) == (RULE, "violation", "premature")
        assert (f.contact, f.events, f.due) == ("alice", ["t1", "q1"], "2026-03-11T04:00:00Z")
        assert "Wed 2026-03-11 00:00 EDT" in f.message

    @pytest.mark.parametrize("sent, fired", [
        ("2026-03-05T09:00:00-05:00", True),   # days before the decision date
        ("2026-03-10T23:59:59-04:00", True),
        ("2026-03-11T00:00:00-04:00", False),  # the opening instant itself is allowed
        ("2026-03-11T09:30:00-04:00", False),
    ])
    def test_boundary(self, engine, sent, fired):
        found = run([MON, self.T1, inquiry("q1", sent, "alice")], engine)
        assert bool(found) is fired
        if fired:
            assert found[0].due == "2026-03-11T04:00:00Z"

    def test_decision_by_a_datetime(self, engine):
        t1 = timetable("t1", "2026-03-02T10:50:00-05:00", decision_by="2026-03-09T17:00:00-04:00")
        # 17:00 EDT Mon + 1 business day = Tue 10 March 17:00 EDT = 21:00Z
        [f] = run([MON, t1, inquiry("q1", "2026-03-10T16:59:00-04:00", "alice")], engine)
        assert f.due == "2026-03-10T21:00:00Z"
        assert run([MON, t1, inquiry("q1", "2026-03-10T17:00:00-04:00", "alice")], engine) == []

    def test_decision_by_a_datetime_at_local_midnight(self, engine):
        # 2026-03-09T00:00:00-04:00 is an instant (04:00Z), the *start* of Monday 9 March;
        # + 1bd = Tue 10 March 00:00 EDT, so an inquiry on Tuesday morning is in time.
        t1 = timetable("t1", "2026-03-02T10:50:00-05:00", decision_by="2026-03-09T00:00:00-04:00")
        [f] = run([MON, t1, inquiry("q1", "2026-03-09T23:00:00-04:00", "alice")], engine)
        assert f.due == "2026-03-10T04:00:00Z"  # actual: 2026-03-11T04:00:00Z
        assert run([MON, t1, inquiry("q1", "2026-03-10T09:00:00-04:00", "alice")], engine) == []

    def test_within_elapsed_weeks(self, engine):
        # 10:50 EST (15:50Z) + 14 days elapsed = Mon 16 March 15:50Z = 11:50 EDT; + 1bd = Tue 17 March 11:50 EDT
        t1 = timetable("t1", "2026-03-02T10:50:00-05:00", within="2w")
        [f] = run([MON, t1, inquiry("q1", "2026-03-17T09:00:00-04:00", "alice")], engine)
        assert (f.events, f.due) == (["t1", "q1"], "2026-03-17T15:50:00Z")

    def test_within_business_days(self, engine):
        # Mon 2 March 10:50 + 10bd = Mon 16 March 10:50 (EDT by then); + 1bd = Tue 17 March 10:50 EDT
        t1 = timetable("t1", "2026-03-02T10:50:00-05:00", within="10bd")
        [f] = run([MON, t1, inquiry("q1", "2026-03-17T10:49:59-04:00", "alice")], engine)
        assert f.due == "2026-03-17T14:50:00Z"

    def test_a_restated_timetable_supersedes_the_first(self, engine):
        t2 = timetable("t2", "2026-03-10T09:00:00-04:00", decision_by="2026-03-19", by="carol")
        # the whole of Thu 19 March, then one business day of grace (Fri 20): open from Sat 21 March 00:00 EDT
        [f] = run([MON, self.T1, t2, inquiry("q1", "2026-03-18T10:00:00-04:00", "alice")], engine)
        assert (f.events, f.due) == (["t2", "q1"], "2026-03-21T04:00:00Z")

    def test_friday_decision_date_keeps_its_business_day_of_grace(self, engine):
        """A date-only decision is a whole day: after "by Friday 20 March", Monday 23 is the
        grace business day, so an inquiry is premature on Monday and fine from Tuesday 00:00."""
        t1 = timetable("t1", "2026-03-02T10:50:00-05:00", decision_by="2026-03-20")
        assert run([MON, t1, inquiry("q1", "2026-03-24T09:00:00-04:00", "alice")], engine) == []
        [f] = run([MON, t1, inquiry("q1", "2026-03-23T09:00:00-04:00", "alice")], engine)
        assert f.due == "2026-03-24T04:00:00Z"

    def test_a_timetable_beats_a_later_interview(self, engine):
        """The first anchor type that occurred decides: once a timetable exists, a later
        round's interview does not restart the five-business-day wait."""
        i2 = interview("i2", "2026-03-12T14:00:00-04:00", ["bob"], round=2)
        assert run([MON, self.T1, i2, inquiry("q1", "2026-03-13T10:00:00-04:00", "alice")], engine) == []


class TestWithoutATimetable:
    def test_five_business_days_across_juneteenth(self, engine):
        # Tue 16 June 14:00 EDT; business days: Wed 17, Thu 18, (Fri 19 Juneteenth), Mon 22, Tue 23, Wed 24
        events = [interview("i1", "2026-06-16T14:00:00-04:00", ["alice"]),
                  inquiry("q1", "2026-06-23T15:00:00-04:00", "alice")]
        [f] = run(events, engine)
        assert (f.contact, f.events, f.due) == ("alice", ["i1", "q1"], "2026-06-24T18:00:00Z")
        # an employer with no country has no public holidays: Tue 23 June 14:00 already open
        apps = {"acme": {"company": "Acme Corp", "timezone": "America/New_York"}}
        assert run(events, engine, applications=apps) == []

    def test_counts_from_the_end_of_the_last_interview(self, engine):
        events = [interview("i1", "2026-06-16T14:00:00-04:00", ["alice"], ends_at="2026-06-16T15:30:00-04:00"),
                  inquiry("q1", "2026-06-24T15:00:00-04:00", "alice")]
        [f] = run(events, engine)
        assert f.due == "2026-06-24T19:30:00Z"

    def test_thanksgiving_and_a_listed_closure(self, engine):
        # Chicago employer; Mon 23 Nov 11:00 CST: Tue 24, Wed 25, (Thu 26 Thanksgiving), Fri 27, Mon 30, Tue 1 Dec
        apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/Chicago"}}
        events = [interview("i1", "2026-11-23T11:00:00-06:00", ["alice"]),
                  inquiry("q1", "2026-12-01T12:00:00-06:00", "alice")]
        assert run(events, engine, applications=apps) == []
        [f] = run(events[:1] + [inquiry("q1", "2026-12-01T10:59:59-06:00", "alice")], engine, applications=apps)
        assert f.due == "2026-12-01T17:00:00Z"
        # the office also closes on Black Friday: the opening moves to Wed 2 Dec 11:00 CST
        closed = {"acme": {**apps["acme"], "closures": ["2026-11-27"]}}
        [f] = run(events, engine, applications=closed)
        assert (f.events, f.due) == (["i1", "q1"], "2026-12-02T17:00:00Z")

    def test_the_latest_interview_is_the_anchor(self, engine):
        events = [interview("i1", "2026-06-01T10:00:00-04:00", ["alice"], round=1),
                  interview("i2", "2026-06-08T10:00:00-04:00", ["alice", "bob"], round=2),
                  inquiry("q1", "2026-06-12T10:00:00-04:00", "alice")]
        [f] = run(events, engine)
        assert (f.events, f.due) == (["i2", "q1"], "2026-06-15T14:00:00Z")

    def test_no_interview_and_no_timetable_means_no_anchor(self, engine):
        assert run([inquiry("q1", "2026-06-12T10:00:00-04:00", "alice")], engine) == []

    def test_a_group_inquiry_is_flagged_once(self, engine):
        events = [interview("i1", "2026-06-01T10:00:00-04:00", ["alice", "bob"]),
                  inquiry("q1", "2026-06-03T10:00:00-04:00", ["bob", "alice"])]
        [f] = run(events, engine)
        assert (f.contact, f.events, f.due) == ("bob", ["i1", "q1"], "2026-06-08T14:00:00Z")


def test_applications_are_judged_separately(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    events = [interview("i1", "2026-06-01T10:00:00-04:00", ["alice"], application="acme"),
              interview("i2", "2026-06-10T10:00:00-04:00", ["bob"], application="globex"),
              inquiry("q1", "2026-06-11T10:00:00-04:00", "alice", application="acme"),   # opened 8 June
              inquiry("q2", "2026-06-11T10:05:00-04:00", "bob", application="globex")]   # opens 17 June
    [f] = run(events, engine, applications=apps)
    assert (f.application, f.contact, f.events, f.due) == ("globex", "bob", ["i2", "q2"], "2026-06-17T14:00:00Z")
