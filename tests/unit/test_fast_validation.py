"""The fast paths of timeline validation give the answers of the general code they skip.

``parse_timestamp`` reads the common RFC 3339 form with ``datetime.fromisoformat`` and
everything else with the general parser; ``text_problems`` walks the data (to locate a NUL
or a lone surrogate) only when one C-level JSON pass says one may be there. Each property
compares the fast path with the general code on inputs built to sit at the edges of the
common form: impossible dates and times, offsets out of range, long fractions, other
separators, years outside the allowed range.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import example, given
from hypothesis import strategies as st

from engine import timeline as tl
from engine.timeline import parse_timestamp, text_problems

_FRACTIONS = st.sampled_from(["", ".5", ".123456", ".1234567", "."])
#: ``Z``, an offset (hours and minutes each out of range half the time), or another tail
_OFFSETS = st.one_of(st.just("Z"), st.tuples(st.sampled_from("+-"), st.one_of(st.integers(0, 23), st.just(24)),
                                             st.one_of(st.integers(0, 59), st.sampled_from([60, 75]))).map(
    lambda t: f"{t[0]}{t[1]:02d}:{t[2]:02d}"), st.sampled_from(["", "z", "+05:30:15", " Z", "Z "]))
#: ``(start, end)`` of each field in ``YYYY-MM-DDTHH:MM:SS``, and values that break it
_EDITS = {"year": (0, 4, ["0000", "0001", "1899", "2200", "9999"]), "month": (5, 7, ["00", "13", "99"]),
          "day": (8, 10, ["00", "29", "30", "31", "32"]), "sep": (10, 11, ["t", " ", "_"]),
          "hour": (11, 13, ["24", "99"]), "minute": (14, 16, ["60", "99"]), "second": (17, 19, ["60", "99"])}


@st.composite
def _timestamps(draw) -> str:
    """Text in the common form or near it: half the time one field of the date or time is
    broken; the fraction and the offset are valid or not on their own."""
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 1),
                               max_value=datetime(2199, 12, 31)))
    head = moment.strftime("%Y-%m-%dT%H:%M:%S")
    tail = draw(_FRACTIONS) + draw(_OFFSETS)
    edit = draw(st.sampled_from([None] * len(_EDITS) + list(_EDITS)))
    if edit is not None:
        start, end, values = _EDITS[edit]
        head = head[:start] + draw(st.sampled_from(values)) + head[end:]
    return head + tail


def _outcome(parse, text):
    try:
        value = parse(text)
    except ValueError as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("value", value, value.utcoffset())


@given(_timestamps())
@example("2026-03-02T10:00:00+05:75")  # an offset fromisoformat would read as +06:15
@example("2026-03-02T10:00:00+24:00")
@example("2026-02-30T10:00:00Z")
@example("2026-03-02T24:00:00Z")
@example("0000-03-02T10:00:00Z")
@example("2200-01-01T00:00:00+01:00")
@example("2026-03-02T10:00:00.1234567Z")
def test_parse_timestamp_answers_as_the_general_parser_does(text):
    """For every text, ``parse_timestamp`` returns the general parser's instant (and offset)
    or raises its error, of the same type, with the same message."""
    assert _outcome(parse_timestamp, text) == _outcome(tl._parse_general, text)


_BAD = st.sampled_from(["\x00", "\ud800", "\udfff", "a\x00b", "x\udc00"])
_CLEAN_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8)
_TEXT = st.one_of(_CLEAN_TEXT, st.builds(lambda a, b, c: a + b + c, _CLEAN_TEXT, _BAD, _CLEAN_TEXT),
                  st.just("\\u0000"))
_SCALARS = st.one_of(_TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False),
                     st.dates())
_DATA = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_TEXT, inner, max_size=4)), max_leaves=20)


@given(_DATA)
def test_text_problems_with_the_pre_check_equal_the_full_walk(data):
    """The JSON pre-check never hides a problem: ``text_problems`` gives exactly the problems
    (codes, messages, paths) of the full walk, for data with and without NUL characters and
    lone surrogates in keys and values."""
    fast = text_problems(data, None, "timeline.invalid")
    original = tl._may_hold_bad_text
    tl._may_hold_bad_text = lambda data: True
    try:
        full = text_problems(data, None, "timeline.invalid")
    finally:
        tl._may_hold_bad_text = original
    assert [(p.code, p.message, p.path) for p in fast] == [(p.code, p.message, p.path) for p in full]


def test_the_pre_check_walks_data_it_cannot_encode():
    """Recursive data (a YAML alias inside itself) and keys JSON cannot write are walked."""
    loop: list = []
    loop.append(loop)
    assert tl._may_hold_bad_text(loop)
    assert tl._may_hold_bad_text({("a", "b"): "x"})
    assert not tl._may_hold_bad_text({"a": ["b", 1, None]})
