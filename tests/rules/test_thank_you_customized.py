"""thank-you-customized: identical thank-you bodies to several interviewers of one interview.

Semantics (rules/identical_bodies.py, ir.Duplicate): a thank-you (per recipient) whose
body equals, ignoring case and runs of whitespace, the body of an earlier thank-you
to *another* person of the same application and the same interview round is
flagged; it cites [the earliest such thank-you, this one] and names this recipient.
One note sent to several people counts as identical notes to each. Severity
warning, category quality, no ``due``.
"""

from __future__ import annotations

from helpers import findings, interview, thank_you, tl

RULE = "thank-you-customized"
AS_OF = "2026-05-01T00:00:00Z"
SAME = ("Thank you for taking the time to meet with me today. I enjoyed learning about the "
        "analytics roadmap and I am excited about the opportunity to contribute.")


def run(t, engine):
    return findings(t, AS_OF, rules=RULE, engine=engine)


def panel(*events):
    return tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob", "carol"]), *events])


def test_identical_bodies_to_two_panelists(engine):
    t = panel(thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body=SAME),
              thank_you("y2", "2026-04-14T17:05:00-04:00", "bob", body=SAME))
    [f] = run(t, engine)
    assert (f.rule, f.severity, f.category) == (RULE, "warning", "quality")
    assert (f.contact, f.events, f.due) == ("bob", ["y1", "y2"], None)
    assert "y1" in f.message and "Bob Lee" in f.message


def test_case_and_whitespace_do_not_make_a_body_personal(engine):
    shouty = "  " + SAME.upper().replace(" ", "\n   ") + "\n"
    t = panel(thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body=SAME),
              thank_you("y2", "2026-04-14T17:05:00-04:00", "bob", body=shouty))
    assert [f.events for f in run(t, engine)] == [["y1", "y2"]]


def test_personal_bodies_pass(engine):
    t = panel(thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body=SAME),
              thank_you("y2", "2026-04-14T17:05:00-04:00", "bob",
                        body=SAME.replace("analytics roadmap", "data platform migration")))
    assert run(t, engine) == []


def test_three_identical_cite_the_first_each_time(engine):
    t = panel(thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body=SAME),
              thank_you("y2", "2026-04-14T17:05:00-04:00", "bob", body=SAME),
              thank_you("y3", "2026-04-14T17:10:00-04:00", "carol", body=SAME))
    assert [(f.contact, f.events) for f in run(t, engine)] == [("bob", ["y1", "y2"]), ("carol", ["y1", "y3"])]


def test_one_note_to_several_people_counts_as_identical_notes(engine):
    t = panel(thank_you("y1", "2026-04-14T17:00:00-04:00", ["alice", "bob"], body=SAME))
    [f] = run(t, engine)
    assert (f.contact, f.events) == ("bob", ["y1"])


def test_one_note_to_several_people_without_a_body_is_not_compared(engine):
    t = panel(thank_you("y1", "2026-04-14T17:00:00-04:00", ["alice", "bob", "carol"]),
              thank_you("y2", "2026-04-14T17:00:00-04:00", "alice", body="   "))
    assert run(t, engine) == []


def test_same_body_in_different_rounds_passes(engine):
    t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"], round=1),
            thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body=SAME),
            interview("i2", "2026-04-21T10:00:00-04:00", ["bob"], round=2),
            thank_you("y2", "2026-04-21T17:00:00-04:00", "bob", body=SAME)])
    assert run(t, engine) == []


def test_same_body_to_the_same_person_twice_is_not_this_rule(engine):
    t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"]),
            thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body=SAME),
            thank_you("y2", "2026-04-14T17:01:00-04:00", "alice", body=SAME)])
    assert run(t, engine) == []


def test_same_body_for_different_applications_passes(engine):
    apps = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
            "globex": {"company": "Globex", "country": "US", "timezone": "America/New_York"}}
    t = tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice"], application="acme"),
            interview("i2", "2026-04-14T13:00:00-04:00", ["bob"], application="globex"),
            thank_you("y1", "2026-04-14T17:00:00-04:00", "alice", body=SAME, application="acme"),
            thank_you("y2", "2026-04-14T17:05:00-04:00", "bob", body=SAME, application="globex")],
           applications=apps)
    assert run(t, engine) == []


def test_only_thank_yous_are_compared(engine):
    from helpers import inquiry
    t = panel(inquiry("q1", "2026-04-24T10:00:00-04:00", "alice", body=SAME),
              inquiry("q2", "2026-04-24T10:05:00-04:00", "bob", body=SAME))
    assert run(t, engine) == []
