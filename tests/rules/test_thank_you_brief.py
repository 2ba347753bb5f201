"""thank-you-brief: a thank-you body over 200 words.

Semantics (rules/word_limit.py, ir.Flag/WordsOver): a thank-you whose body has more
than ``thank_you_max_words`` (200) whitespace-separated words is flagged once per
event (first recipient), citing [it]. Severity warning, category quality.
"""

from __future__ import annotations

import pytest

from helpers import findings, inquiry, interview, thank_you, tl, words

RULE = "thank-you-brief"
AS_OF = "2026-05-01T00:00:00Z"


def run(t, engine):
    return findings(t, AS_OF, rules=RULE, engine=engine)


def note(body, to="alice", type_=thank_you):
    return tl([interview("i1", "2026-04-14T10:00:00-04:00", ["alice", "bob"]),
               type_("y1", "2026-04-14T17:00:00-04:00", to, body=body)])


@pytest.mark.parametrize("n, fired", [(150, False), (200, False), (201, True), (450, True)])
def test_word_limit_boundary(engine, n, fired):
    found = run(note(words(n)), engine)
    assert bool(found) is fired
    if fired:
        [f] = found
        assert (f.rule, f.severity, f.category) == (RULE, "warning", "quality")
        assert (f.contact, f.events, f.due) == ("alice", ["y1"], None)
        assert "200 words" in f.message


def test_words_are_split_on_any_whitespace(engine):
    body = "\n\n".join(" \t".join(words(67).split()) for _ in range(3))  # 201 words over lines and tabs
    assert len(body.split()) == 201
    assert len(run(note(body), engine)) == 1


def test_a_long_note_to_two_people_is_flagged_once(engine):
    [f] = run(note(words(201), to=["alice", "bob"]), engine)
    assert (f.contact, f.events) == ("alice", ["y1"])


def test_no_body_passes(engine):
    assert run(note(None), engine) == []


def test_other_message_types_are_not_limited(engine):
    assert run(note(words(500), type_=inquiry), engine) == []
