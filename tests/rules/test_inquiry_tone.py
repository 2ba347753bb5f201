"""inquiry-tone: impatient phrases in a status inquiry or feedback request.

Semantics (rules/phrases.py, ir.Flag/Phrases): a status inquiry or feedback request
whose body contains one of the listed phrases, ignoring case and runs of whitespace,
is flagged once (first recipient), citing [it]. Severity warning, category tone.
"""

from __future__ import annotations

import pytest

from helpers import contact, feedback, findings, inquiry, interview, rejection, thank_you, tl

RULE = "inquiry-tone"
AS_OF = "2026-12-31T00:00:00Z"
START = [interview("i1", "2026-04-06T10:00:00-04:00", ["alice", "bob"])]


def run(events, engine):
    return findings(tl(START + list(events)), AS_OF, rules=RULE, engine=engine)


def test_impatient_inquiry(engine):
    body = "Hi Alice, I haven't heard back since our interview and wanted to check in."
    [f] = run([inquiry("q1", "2026-04-16T09:00:00-04:00", "alice", body=body)], engine)
    assert (f.rule, f.severity, f.category) == (RULE, "warning", "tone")
    assert (f.contact, f.events, f.due) == ("alice", ["q1"], None)
    assert "q1" in f.message


@pytest.mark.parametrize("body", [
    "I HAVEN'T HEARD BACK yet.",
    "I Have Not Heard Back from anyone.",
    "I am still\n   waiting for an answer.",
    "Per my last email, could you give me an update?",
    "Why haven't you replied?",
    "Why is this taking so long?",
    "You said you would decide by Friday.",
    "you said you'd call me.",
])
def test_phrases_match_ignoring_case_and_spacing(engine, body):
    assert len(run([inquiry("q1", "2026-04-16T09:00:00-04:00", "alice", body=body)], engine)) == 1


@pytest.mark.parametrize("body", [
    "Hi Alice, you mentioned you hoped to decide by April 10; I remain very interested and "
    "would be glad to provide anything else you need.",
    "I heard back from the reference you suggested and wanted to say thanks.",
    None,
])
def test_positive_inquiries_pass(engine, body):
    assert run([inquiry("q1", "2026-04-16T09:00:00-04:00", "alice", body=body)], engine) == []


def test_feedback_requests_are_checked_too(engine):
    found = run([rejection("r1", "2026-04-20T15:00:00-04:00", "alice"),
                 feedback("f1", "2026-04-21T09:00:00-04:00", "alice",
                          body="I'm still waiting to understand why you said you would call.")], engine)
    assert [f.events for f in found] == [["f1"]]


@pytest.mark.parametrize("make", [thank_you, contact])
def test_other_messages_are_not_checked(engine, make):
    assert run([make("x1", "2026-04-16T09:00:00-04:00", "alice", body="Still waiting!")], engine) == []


def test_a_group_inquiry_is_flagged_once(engine):
    [f] = run([inquiry("q1", "2026-04-16T09:00:00-04:00", ["bob", "alice"], body="Still waiting.")], engine)
    assert (f.contact, f.events) == ("bob", ["q1"])
