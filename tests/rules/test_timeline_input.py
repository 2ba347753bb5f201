"""Input properties every rule relies on: ordering, ids, scoping, naive times, the as-of cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from helpers import (contact, employer_contact, feedback, findings, inquiry, interview, rejection, thank_you,
                     timetable, tl)

AS_OF = "2026-06-30T00:00:00Z"
APPS = {"acme": {"company": "Acme Corp", "country": "US", "timezone": "America/New_York"},
        "globex": {"company": "Globex", "country": "US", "timezone": "America/Chicago"}}

# a busy two-application story that makes most rules fire
STORY = [
    interview("i1", "2026-04-06T10:00:00-04:00", ["alice", "bob"], application="acme"),
    thank_you("y1", "2026-04-06T17:00:00-04:00", ["alice"], body="Thank you!", application="acme"),
    thank_you("y2", "2026-04-06T17:05:00-04:00", ["carol"], body="thank  you!", application="acme"),
    inquiry("q1", "2026-04-08T09:00:00-04:00", "alice", body="Still waiting", application="acme"),
    contact("c1", "2026-04-09T07:00:00-04:00", "alice", channel="phone", application="acme"),
    inquiry("q2", "2026-04-10T09:00:00-04:00", "alice", application="acme"),
    interview("g1", "2026-04-07T10:00:00-05:00", ["carol"], application="globex"),
    timetable("gt", "2026-04-07T10:30:00-05:00", decision_by="2026-04-17", application="globex"),
    thank_you("gy", "2026-04-07T15:00:00-05:00", "carol", application="globex"),
    rejection("gr", "2026-04-20T15:00:00-05:00", "carol", application="globex"),
    feedback("gf1", "2026-04-21T09:00:00-05:00", "carol", application="globex"),
    feedback("gf2", "2026-04-22T09:00:00-05:00", "carol", application="globex"),
    employer_contact("ge", "2026-04-23T09:00:00-05:00", "carol", application="globex"),
]


def dump(found):
    return [f.model_dump() for f in found]


def test_the_story_fires_many_rules():
    fired = {f.rule for f in findings(tl(STORY, applications=APPS), AS_OF)}
    assert {"thank-you-within-24h", "timetable-asked", "inquiry-after-timetable", "single-inquiry",
            "contact-frequency", "call-hours", "inquiry-tone", "no-contact-after-rejection"} <= fired


def test_events_out_of_order_give_the_same_findings(engine):
    expected = dump(findings(tl(STORY, applications=APPS), AS_OF, engine=engine))
    assert dump(findings(tl(list(reversed(STORY)), applications=APPS), AS_OF, engine=engine)) == expected


@given(order=st.permutations(STORY))
def test_any_file_order_gives_the_same_findings(order):
    expected = dump(findings(tl(STORY, applications=APPS), AS_OF))
    assert dump(findings(tl(order, applications=APPS), AS_OF)) == expected


def test_duplicate_event_ids_are_an_input_error():
    with pytest.raises(InputError) as err:
        tl([interview("i1", "2026-04-06T10:00:00-04:00", ["alice"]),
            thank_you("i1", "2026-04-06T17:00:00-04:00", "alice")])
    codes = [p.code for p in err.value.problems]
    assert codes == ["timeline.duplicate-id"]
    assert "i1" in err.value.problems[0].message


def test_events_after_as_of_are_ignored(engine):
    from engine.api import audit
    from helpers import instant, policy
    t = tl([interview("i1", "2026-04-06T10:00:00-04:00", ["alice"]),
            timetable("t1", "2026-04-06T10:30:00-04:00", decision_by="2026-04-08"),
            thank_you("y1", "2026-04-06T17:00:00-04:00", "alice"),
            inquiry("q1", "2026-04-10T09:00:00-04:00", "alice"),
            inquiry("q2", "2026-04-20T09:00:00-04:00", "alice")])
    report = audit(t, policy(), instant("2026-04-15T00:00:00Z"), engine=engine)
    assert report.findings == [] and report.ignored == ["q2"]
    later = findings(t, "2026-04-21T00:00:00Z", engine=engine)
    assert [(f.rule, f.events) for f in later] == [("single-inquiry", ["q1", "q2"])]


def test_an_obligation_is_judged_on_what_was_known_at_as_of(engine):
    t = tl([interview("i1", "2026-04-06T10:00:00-04:00", ["alice"]),
            thank_you("y1", "2026-04-07T09:00:00-04:00", "alice")])
    # as of 08:00 EDT on 7 April the thank-you is neither written nor overdue
    assert findings(t, "2026-04-07T08:00:00-04:00", rules="thank-you-within-24h", engine=engine) == []
    # as of 12:00 it was written in time
    assert findings(t, "2026-04-07T12:00:00-04:00", rules="thank-you-within-24h", engine=engine) == []


@pytest.mark.parametrize("local, code_word", [
    ("2026-03-08T02:30:00", "does not exist"),    # spring forward in New York
    ("2026-11-01T01:30:00", "happens twice"),     # fall back in New York
])
def test_naive_times_that_dst_makes_ambiguous_are_input_errors(local, code_word):
    with pytest.raises(InputError) as err:
        tl([interview("i1", local, ["alice"])])
    assert code_word in str(err.value)


def test_naive_time_without_a_timeline_zone_is_an_input_error():
    with pytest.raises(InputError):
        tl([interview("i1", "2026-04-06T10:00:00", ["alice"])], timezone=None)


def test_unknown_contact_is_an_input_error():
    with pytest.raises(InputError) as err:
        tl([thank_you("y1", "2026-04-06T17:00:00-04:00", "alcie")])
    assert [p.code for p in err.value.problems] == ["timeline.unknown-contact"]
    assert "alice" in err.value.problems[0].message  # a suggestion


def test_several_applications_need_the_application_named():
    with pytest.raises(InputError) as err:
        tl([interview("i1", "2026-04-06T10:00:00-04:00", ["alice"])], applications=APPS)
    assert [p.code for p in err.value.problems] == ["timeline.missing-application"]
