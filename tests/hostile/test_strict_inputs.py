"""Strict types and ranges at the edges: what a fuzzing pass found, and the invariants behind it.

Timestamps are RFC 3339 text and dates ``YYYY-MM-DD`` text (pydantic's lax mode read
numbers as epoch seconds), whole numbers and text are never coerced, instants lie in
the years 1900 to 2199, durations are ASCII and bounded, zones are real IANA names,
and no text holds a NUL or a lone surrogate. Every refusal is a located one-line
error (exit 2 in the CLI, 4xx over HTTP), never a traceback or a silently wrong answer.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import api
from engine.cli import main
from engine.decide import agenda, check, planned_action_from_data
from engine.timeline import load_timeline
from engine.duration import parse_duration
from engine.errors import InputError
from engine.limits import MAX_BUSINESS_DAYS, MAX_DURATION_SECONDS, MAX_INSTANT, MIN_INSTANT
from engine.policy import policy_from_text
from engine.server import create_app
from engine.source import parse_document
from engine.timeline import timeline_from_data

UTC = timezone.utc
POLICY = api.load_policy("etiquette")
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def timeline(*events: dict, **top) -> dict:
    """A one-application timeline with contacts ``alice`` and ``bob``."""
    return {"contacts": {"alice": {"name": "Alice"}, "bob": {"name": "Bob"}},
            "applications": {"acme": {"company": "Acme"}}, "events": list(events), **top}


def interview(**fields) -> dict:
    return {"id": "i1", "type": "interview", "at": "2026-03-02T10:00:00-05:00", "with": ["alice"], **fields}


def timetable(**fields) -> dict:
    return {"id": "t1", "type": "timetable", "at": "2026-03-02T11:00:00-05:00", "by": "alice", **fields}


def problems(data: dict) -> list[tuple[str, str]]:
    """(code, path) of each problem ``data`` has as a timeline (none: it is valid)."""
    try:
        timeline_from_data(data)
    except InputError as exc:
        return [(p.code, p.path) for p in exc.problems]
    return []


def located(text: str, name: str = "t.yaml") -> list[str]:
    """The error lines of a timeline written as YAML/JSON ``text``."""
    doc = parse_document(text, name)
    with pytest.raises(InputError) as info:
        timeline_from_data(doc.data, doc)
    return info.value.lines()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- 1. numbers, booleans and epoch values are not timestamps or dates -----------------------------


@pytest.mark.parametrize("field,value,path", [
    ("at", 20260320, "events[0].at"),                       # read as epoch seconds: a day in 1970
    ("at", 1.7e9, "events[0].at"),
    ("at", True, "events[0].at"),
    ("at", "1700000000", "events[0].at"),                  # a numeric string is epoch seconds to pydantic
    ("at", "2026", "events[0].at"),                        # ... and so is a bare year
    ("at", "2026-03-02", "events[0].at"),                  # a date is not a timestamp
    ("at", "20260302T100000Z", "events[0].at"),            # ISO 8601 basic format
    ("at", "2026-W10-1T10:00:00Z", "events[0].at"),        # week date
    ("at", "2026-03-02T10:00:00+0500", "events[0].at"),    # RFC 3339 offsets have a colon
    ("at", " 2026-03-02T10:00:00Z", "events[0].at"),
    ("at", "2026-03-02T10:00:00Z\n", "events[0].at"),
    ("at", "٢٠٢٦-03-02T10:00:00Z", "events[0].at"),        # Arabic-Indic digits
    ("ends_at", 20260302, "events[0].ends_at"),
    ("ends_at", [2026, 3, 2], "events[0].ends_at"),
])
def test_a_timestamp_must_be_rfc3339_text(field, value, path):
    assert problems(timeline(interview(**{field: value}))) == [("timeline.invalid", path)]


@pytest.mark.parametrize("value", [20260320, 0, 1.5, True, "20260320", "2026-3-20", "2026-03-20\n", " 2026-03-20",
                                   "1773964800"])
def test_decision_by_must_be_a_date_or_timestamp_text(value):
    assert problems(timeline(interview(), timetable(decision_by=value))) == [("timeline.invalid",
                                                                             "events[1].decision_by")]


@pytest.mark.parametrize("value", [0, 86400, 20260101, True, "2026-1-1", "2026-01-01T00:00:00Z"])
def test_a_closure_must_be_a_date_text(value):
    data = timeline()
    data["applications"]["acme"]["closures"] = [value]
    assert problems(data) == [("timeline.invalid", "applications.acme.closures[0]")]


def test_a_numeric_decision_by_is_a_located_error_not_a_passing_audit(capsys, tmp_path):
    """`decision_by: 20260320` was a day in 1970, so a premature inquiry passed with exit 0."""
    path = tmp_path / "t.yaml"
    written = "decision_by: 2026-03-20"
    text = f"""contacts: {{alice: {{name: Alice}}}}
applications: {{acme: {{company: Acme, timezone: America/New_York}}}}
events:
  - {{id: i1, type: interview, at: 2026-03-02T10:00:00-05:00, with: [alice]}}
  - {{id: t1, type: timetable, at: 2026-03-02T11:00:00-05:00, by: alice, {written}}}
  - {{id: y1, type: thank_you, at: 2026-03-02T15:00:00-05:00, to: alice, channel: email,
     body: "Thank you for the tour of the reporting stack."}}
  - {{id: q1, type: status_inquiry, at: 2026-03-10T09:00:00-04:00, to: alice, channel: email}}
"""
    path.write_text(text)
    code, out, _ = run(capsys, "audit", str(path), "--as-of=2026-03-11T00:00:00Z", "--engine=reference")
    assert code == 1 and "inquiry-after-timetable" in out  # the inquiry is premature
    path.write_text(text.replace(written, "decision_by: 20260320"))
    code, out, err = run(capsys, "audit", str(path), "--as-of=2026-03-11T00:00:00Z", "--engine=reference")
    col = text.splitlines()[4].index("decision_by") + len("decision_by: ") + 1
    assert (code, out) == (2, "")
    assert err.startswith(f"{path}:5:{col}: error[timeline.invalid]: `events[1].decision_by`: "), err
    assert "Traceback" not in err


def test_a_numeric_planned_action_at_is_a_located_error(capsys, tmp_path):
    """`"at": 20260401` was allowed "at Sun 23 Aug 1970"."""
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps(timeline(interview())))
    action = '{"type": "thank_you", "to": "alice", "channel": "email", "at": 20260401}'
    code, out, err = run(capsys, "check", str(path), "--action", action, "--engine=reference")
    assert (code, out) == (2, "")
    assert err.startswith(f"--action:1:{action.index('2026') + 1}: error[action.invalid]: `at`: "), err
    assert "not a number" in err


# -- 1b. whole numbers and text are strict ---------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, "2", 2.0, 0, -1, 1001, 2 ** 63])
def test_round_is_a_whole_number_from_1_to_1000(value):
    assert problems(timeline(interview(round=value))) == [("timeline.invalid", "events[0].round")]


def test_a_round_in_range_is_kept():
    tl = timeline_from_data(timeline(interview(round=1000)))
    assert tl.events[0].round == 1000


@pytest.mark.parametrize("where,value,path", [
    ("event", {"id": b"i1"}, "events[0].id"),             # bytes were decoded into text
    ("event", {"id": 7}, "events[0].id"),
    ("event", {"note": 3}, "events[0].note"),
    ("event", {"with": ("alice",)}, "events[0].with"),    # a tuple was turned into a list
    ("event", {"with": {"alice"}}, "events[0].with"),     # a set has no order
    ("contact", {"name": b"Alice"}, "contacts.alice.name"),
    ("contact", {"name": 1}, "contacts.alice.name"),
    ("application", {"company": bytearray(b"Acme")}, "applications.acme.company"),
])
def test_text_and_lists_are_never_coerced(where, value, path):
    data = timeline(interview())
    target = {"event": data["events"][0], "contact": data["contacts"]["alice"],
              "application": data["applications"]["acme"]}[where]
    target.update(value)
    assert [code for code, p in problems(data) if p.startswith(path)] == ["timeline.invalid"], problems(data)


# -- 2. instants and dates in the years 1900 to 2199 -----------------------------------------------


@pytest.mark.parametrize("event,path", [
    (interview(at="0001-01-01T00:00:00Z"), "events[0].at"),
    (interview(at="9999-12-31T23:59:59Z"), "events[0].at"),
    (interview(at="9999-12-31T23:59:59-05:00"), "events[0].at"),   # overflowed converting to UTC
    (interview(at="2199-12-31T23:00:00-05:00"), "events[0].at"),   # 2200-01-01T04:00Z
    (interview(at="1900-01-01T00:00:00+01:00"), "events[0].at"),   # 1899-12-31T23:00Z
    (interview(ends_at="9999-01-01T00:00:00Z"), "events[0].ends_at"),
    (timetable(decision_by="9999-12-31"), "events[0].decision_by"),  # end of that day overflowed
    (timetable(decision_by="0001-01-01"), "events[0].decision_by"),
    (timetable(decision_by="1899-12-31"), "events[0].decision_by"),
    (timetable(decision_by="2200-01-01T00:00:00Z"), "events[0].decision_by"),
])
def test_instants_and_dates_outside_1900_to_2199_are_refused(event, path):
    assert problems(timeline(event)) == [("timeline.invalid", path)]


@pytest.mark.parametrize("zone", [None, "America/New_York", "Pacific/Kiritimati"])
def test_a_naive_year_9999_in_a_zone_is_refused_not_an_overflow(zone):
    """A local time in year 9999 made OverflowError (exit 3) converting to UTC."""
    data = timeline(interview(at="9999-12-31T23:59:59"), timezone=zone or "America/Los_Angeles")
    assert problems(data) == [("timeline.invalid", "events[0].at")]


def test_a_closure_out_of_range_is_refused():
    data = timeline()
    data["applications"]["acme"]["closures"] = ["2026-12-24", "9999-12-31"]
    assert problems(data) == [("timeline.invalid", "applications.acme.closures[1]")]


def test_the_edges_of_the_range_are_accepted_and_evaluate():
    """The first and last instants allowed, with the longest durations, audit and plan
    without overflowing."""
    low = timeline(interview(at="1900-01-01T00:00:00Z"), timetable(at="1900-01-01T01:00:00Z", within="3660d"))
    high = timeline(interview(at="2199-12-31T23:59:59Z", ends_at="2199-12-31T23:59:59.999999Z"),
                    timetable(at="2199-12-31T23:59:59Z", within=f"{MAX_BUSINESS_DAYS}bd"),
                    {"id": "t2", "type": "timetable", "at": "2199-12-31T12:00:00", "decision_by": "2199-12-31"},
                    timezone="Pacific/Kiritimati")
    high["applications"]["acme"].update(country="US", timezone="Pacific/Pago_Pago", closures=["2199-12-31"])
    for data, as_of in ((low, datetime(1900, 1, 2, tzinfo=UTC)), (high, MAX_INSTANT - timedelta(microseconds=1))):
        tl = timeline_from_data(data)
        for event in tl.events:
            if event.type == "timetable":
                assert tl.decision_instant(event) > event.at
        api.audit(tl, POLICY, as_of, engine="reference")
        agenda(tl, POLICY, as_of)
        action = planned_action_from_data({"type": "status_inquiry", "to": "alice", "channel": "email"})
        check(tl, action, POLICY, as_of)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00",
                                  "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "2199-12-31T20:00:00-05:00"])
def test_parse_instant_out_of_range_is_input_out_of_range(text):
    with pytest.raises(InputError) as info:
        api.parse_instant(text, "--as-of")
    [problem] = info.value.problems
    assert problem.code == "input.out-of-range"
    assert problem.message == f"--as-of `{text}` is outside the years 1900 to 2199"


@pytest.mark.parametrize("text,code", [
    ("2026", "input.bad-instant"), ("20260301T000000Z", "input.bad-instant"), ("2026-W10-1T00:00Z", "input.bad-instant"),
    ("2026-03-01T00:00+05", "input.bad-instant"), ("2026-03-01", "input.bad-instant"), ("1700000000", "input.bad-instant"),
    ("2026-02-30T00:00:00Z", "input.bad-instant"), ("2026-03-01T00:00:00+24:00", "input.bad-instant"),
    ("2026-03-01T00:00:00", "input.naive-instant"), ("", "input.bad-instant"),
])
def test_parse_instant_takes_rfc3339_only(text, code):
    with pytest.raises(InputError) as info:
        api.parse_instant(text)
    assert [p.code for p in info.value.problems] == [code]


@pytest.mark.parametrize("value", [20260301, None, b"2026-03-01T00:00:00Z", ["2026-03-01T00:00:00Z"]])
def test_parse_instant_refuses_what_is_not_text(value):
    """It called ``.strip()`` on whatever it was given (AttributeError)."""
    with pytest.raises(InputError) as info:
        api.parse_instant(value)
    assert [p.code for p in info.value.problems] == ["input.bad-instant"]


@pytest.mark.parametrize("text,expected", [
    ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    (" 2026-03-01T05:00:00-05:00 \n", datetime(2026, 3, 1, 10, tzinfo=UTC)),   # spaces around are ignored
    ("2026-03-01 10:00z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ("2026-03-01t10:00:00.123456789+00:00", datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ("1900-01-01T00:00:00Z", MIN_INSTANT),
    ("2199-12-31T23:59:59.999999Z", MAX_INSTANT - timedelta(microseconds=1)),
])
def test_parse_instant_reads_rfc3339(text, expected):
    assert api.parse_instant(text) == expected


def test_agenda_as_of_year_9999_is_exit_2_not_an_internal_error(capsys, tmp_path):
    """`agenda --as-of 9999-...` overflowed adding the horizon: exit 3, "internal error"."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps(timeline(interview())))
    code, out, err = run(capsys, "agenda", str(path), "--as-of", "9999-12-31T23:59:59Z", "--engine=reference")
    assert (code, out) == (2, "")
    assert err.strip() == "error[input.out-of-range]: --as-of `9999-12-31T23:59:59Z` is outside the years 1900 to 2199"


def test_http_agenda_as_of_year_9999_is_422_not_500():
    with TestClient(create_app(engine="reference")) as client:
        response = client.post("/v1/agenda", json={"timeline": timeline(interview()), "as_of": "9999-12-31T23:59:59Z"})
    assert response.status_code == 422, response.text
    assert [e["code"] for e in response.json()["errors"]] == ["input.out-of-range"]


def test_check_and_agenda_refuse_python_instants_out_of_range():
    tl = timeline_from_data(timeline(interview()))
    action = planned_action_from_data({"type": "thank_you", "to": "alice", "channel": "email"})
    for call in (lambda: agenda(tl, POLICY, datetime(9999, 12, 31, tzinfo=UTC)),
                 lambda: check(tl, action, POLICY, datetime(9999, 12, 31, tzinfo=UTC)),
                 lambda: check(tl, action, POLICY, datetime(1, 1, 1, tzinfo=UTC))):
        with pytest.raises(InputError) as info:
            call()
        assert [p.code for p in info.value.problems] == ["input.out-of-range"]


# -- 3. durations: ASCII, no spaces, bounded -------------------------------------------------------


@pytest.mark.parametrize("text", ["٢٤h", "２４h", "24 h", " 24h", "24h ", "24h\n", "2 4h", "24H", "+24h", "-1d", "1.5h",
                                  "1e3s", "999999w", "3661d", f"{MAX_DURATION_SECONDS + 1}s", "2601bd", "99999999999bd",
                                  "1234567890123s", ""])
def test_a_duration_is_ascii_digits_and_a_unit_within_the_limits(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text,seconds,business_days", [
    ("3660d", MAX_DURATION_SECONDS, 0), (f"{MAX_DURATION_SECONDS}s", MAX_DURATION_SECONDS, 0),
    ("522w", 522 * 7 * 86400, 0), ("2600bd", 0, 2600), ("0h", 0, 0), ("024h", 86400, 0),
])
def test_durations_up_to_the_limits_are_accepted(text, seconds, business_days):
    d = parse_duration(text)
    assert (d.seconds, d.business_days) == (seconds, business_days)


@pytest.mark.parametrize("value", ["999999w", "٢٤h", "24 h", 24])
def test_a_bad_timetable_duration_is_located(value):
    """`within: 999999w` crashed with OverflowError when the decision time was computed."""
    assert problems(timeline(timetable(within=value))) == [("timeline.invalid", "events[0].within")]


def test_a_policy_duration_over_the_limit_is_a_located_policy_error():
    text = """policy: p
rules:
  - id: x
    kind: deadline
    category: overdue
    message: m
    trigger: {type: interview}
    expect: {type: thank_you}
    within: 999999w
"""
    with pytest.raises(InputError) as info:
        policy_from_text(text, "p.yaml")
    [line] = info.value.lines()
    assert line.startswith("p.yaml:9:13: error[policy.invalid]:") and "`999999w` is too long" in line


# -- 4. time zones are IANA names, not files or directories ----------------------------------------


@pytest.mark.parametrize("zone", ["America", "America/", "Etc", "../../../../etc/passwd", "/usr/share/zoneinfo/UTC",
                                  "posix/UTC", "right/UTC", "localtime", "posixrules", "", "America//New_York",
                                  "./UTC", "tzdata.zi", "zone1970.tab", "America/New_York ", "Mars/Olympus"])
@pytest.mark.parametrize("where", ["timeline", "contact", "application"])
def test_a_zone_that_is_not_an_iana_name_is_a_located_error(zone, where):
    data = timeline(interview())
    target, path = {"timeline": (data, "timezone"), "contact": (data["contacts"]["alice"], "contacts.alice.timezone"),
                    "application": (data["applications"]["acme"], "applications.acme.timezone")}[where]
    target["timezone"] = zone
    assert problems(data) == [("timeline.invalid", path)]


def test_a_zone_in_the_wrong_case_gets_a_suggestion():
    lines = located("timezone: america/new_york\nevents: []\n")
    assert lines == ["t.yaml:1:11: error[timeline.invalid]: `timezone`: unknown time zone `america/new_york`; "
                     "did you mean `America/New_York`?"]


def test_a_directory_zone_was_a_crash_and_is_located(capsys, tmp_path):
    """`timezone: America` raised IsADirectoryError from ZoneInfo."""
    path = tmp_path / "t.yaml"
    path.write_text("timezone: America\nevents: []\n")
    code, out, err = run(capsys, "audit", str(path), "--as-of=2026-04-01T00:00:00Z", "--engine=reference")
    assert (code, out) == (2, "")
    assert err.strip() == (f"{path}:1:11: error[timeline.invalid]: `timezone`: unknown time zone `America`; "
                           "use an IANA name such as `America/New_York`")


# -- 5. no lone surrogates, no NUL -----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "\x00", "id\x00"])
@pytest.mark.parametrize("where,path", [
    (lambda d, v: d["events"][0].update(note=v), "events[0].note"),
    (lambda d, v: d["events"][0].update(id=v), "events[0].id"),
    (lambda d, v: d.update(candidate=v), "candidate"),
    (lambda d, v: d["contacts"]["alice"].update(name=v), "contacts.alice.name"),
    (lambda d, v: d["applications"]["acme"].update(title=v), "applications.acme.title"),
    (lambda d, v: d["events"].append({"id": "y", "type": "thank_you", "at": "2026-03-02T18:00:00Z", "to": ["alice", v],
                                      "channel": "email"}), "events[1].to[1]"),
])
def test_text_with_a_lone_surrogate_or_nul_is_refused_where_it_is(bad, where, path):
    data = timeline(interview())
    where(data, bad)
    assert problems(data) == [("timeline.invalid", path)]


def test_a_lone_surrogate_in_a_body_was_a_crash_and_is_refused():
    """A JSON ``"\\ud800"`` in a body passed validation and failed encoding to UTF-8 in the audit."""
    data = json.loads('{"contacts": {"alice": {"name": "Alice"}}, "applications": {"acme": {"company": "Acme"}},'
                      '"events": [{"id": "y", "type": "thank_you", "at": "2026-03-02T18:00:00Z", "to": "alice",'
                      ' "channel": "email", "body": "thanks \\ud800"}]}')
    with pytest.raises(InputError) as info:
        api.audit(timeline_from_data(data), POLICY, AS_OF, engine="reference")
    [problem] = info.value.problems
    assert (problem.code, problem.path) == ("timeline.invalid", "events[0].body")
    assert "lone surrogate" in problem.message
    str(problem).encode("utf-8")  # the message itself can be printed


@pytest.mark.parametrize("key", ["\ud83d", "bad\x00key"])
def test_keys_with_lone_surrogates_or_nul_are_refused_printably(key):
    """An unknown field's name, or a contact id, is repeated in messages: they must encode."""
    for data in (timeline(interview(**{key: 1})), {**timeline(interview()), "contacts": {key: {"name": "K"}}}):
        with pytest.raises(InputError) as info:
            timeline_from_data(data)
        for line in info.value.lines():
            line.encode("utf-8")
            assert "\x00" not in line
        assert {p.code for p in info.value.problems} == {"timeline.invalid"}


def test_a_lone_surrogate_in_yaml_is_located_at_its_value():
    """YAML's own reader refuses a lone surrogate escape: a located syntax error at the escape."""
    text = 'events:\n  - {id: e1, type: withdrawal, at: 2026-03-02T10:00:00Z, note: "x\\ud800"}\n'
    col = text.splitlines()[1].index("\\ud800") + 3  # libyaml points at the escape's digits
    with pytest.raises(InputError) as info:
        parse_document(text, "t.yaml")
    assert info.value.lines() == [f"t.yaml:2:{col}: error[yaml.syntax]: malformed YAML/JSON: found invalid Unicode "
                             "character escape code"]


def test_a_lone_surrogate_in_json_is_located_at_its_value(tmp_path):
    text = '{"events": [{"id": "e1", "type": "withdrawal", "at": "2026-03-02T10:00:00Z", "note": "x\\ud800"}]}'
    path = tmp_path / "t.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_timeline(str(path))
    col = text.index('"x') + 1
    assert [str(p) for p in exc.value.problems] == [
        f"{path}:1:{col}: error[timeline.invalid]: `events[0].note`: text must not contain a lone surrogate "
        "(an unpaired UTF-16 escape): `x\\ud800`"]


def test_http_lone_surrogate_in_a_body_is_422_not_500():
    body = ('{"timeline": {"contacts": {"alice": {"name": "Alice"}}, "applications": {"acme": {"company": "Acme"}}, '
            '"events": [{"id": "y", "type": "thank_you", "at": "2026-03-02T10:00:00Z", "to": "alice", '
            '"channel": "email", "body": "thanks \\ud800"}]}, "as_of": "2026-04-01T00:00:00Z"}')
    with TestClient(create_app(engine="reference")) as client:
        response = client.post("/v1/audit", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["timeline.events[0].body"]


# -- 6. planned actions follow the same rules ------------------------------------------------------


@pytest.mark.parametrize("change,path", [
    ({"at": 20260401}, "at"), ({"at": True}, "at"), ({"at": "1775000000"}, "at"),
    ({"at": "9999-12-31T23:59:59Z"}, "at"), ({"at": "0001-01-01T00:00:00Z"}, "at"),
    ({"at": "2026-04-01T09:00:00"}, "at"),   # no offset: an action has no zone to read it in
    ({"at": "2026-04-01"}, "at"),
    ({"to": 5}, "to"), ({"to": [5]}, "to[0]"), ({"to": ("alice",)}, "to"), ({"to": "\ud800"}, "to"),
    ({"body": 1}, "body"), ({"body": "hi\x00"}, "body"), ({"application": b"acme"}, "application"),
])
def test_planned_actions_are_strict(change, path):
    data = {"type": "thank_you", "to": "alice", "channel": "email", **change}
    with pytest.raises(InputError) as info:
        planned_action_from_data(data)
    assert [(p.code, p.path) for p in info.value.problems] == [("action.invalid", path)]


def test_a_valid_planned_action_at_is_utc():
    action = planned_action_from_data({"type": "thank_you", "to": "alice", "channel": "email",
                                       "at": "2026-04-01T09:00:00-04:00"})
    assert action.at == datetime(2026, 4, 1, 13, tzinfo=UTC) and action.to == ["alice"]


# -- properties ------------------------------------------------------------------------------------

#: JSON-like values of every type, and text that looks like a timestamp with any year,
#: field values and offset (in range or not)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
TIMESTAMPISH = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format,
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.sampled_from(["T", " ", "t", "_"]),
    st.integers(0, 25), st.integers(0, 61), st.integers(0, 61), st.sampled_from(["", ".5", ".123456789"]),
    st.sampled_from(["", "Z", "z", "+00:00", "-05:00", "+14:00", "-12:00", "+23:59", "-23:59:59", "+24:00", "+0500"]))
DATEISH = st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32))
PYTHON_TIMES = (st.datetimes(timezones=st.none() | st.timezones()) | st.dates()
                | st.datetimes(timezones=st.just(UTC)))
ANY_TIME = JSON_VALUES | TIMESTAMPISH | DATEISH | PYTHON_TIMES
FIELDS = ["at", "ends_at", "decision_by", "closure"]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _substitute(field: str, value, zone: str | None) -> dict:
    top = {"timezone": zone} if zone else {}
    if field == "closure":
        data = timeline(interview(), timetable(within="5bd"), **top)
        data["applications"]["acme"]["closures"] = [value]
    elif field == "decision_by":
        data = timeline(interview(), timetable(decision_by=value), **top)
    else:
        data = timeline(interview(**{field: value}), timetable(within="10bd"), **top)
    return data


@PROPERTY
@given(field=st.sampled_from(FIELDS), value=ANY_TIME,
       zone=st.sampled_from([None, "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]))
def test_any_value_for_a_time_field_gives_a_valid_timeline_or_an_input_error(field, value, zone):
    """Any JSON-like value (or Python date/datetime) substituted for a timestamp or date
    field gives either a valid timeline, whose instants lie in MIN_INSTANT..MAX_INSTANT
    and which audits without error, or an InputError, never another exception."""
    try:
        tl = timeline_from_data(_substitute(field, value, zone))
    except InputError as exc:
        assert exc.problems and all(p.code.startswith("timeline.") for p in exc.problems)
        return
    for event in tl.events:
        assert MIN_INSTANT <= event.at < MAX_INSTANT
        if getattr(event, "ends_at", None) is not None:
            assert MIN_INSTANT <= event.ends_at < MAX_INSTANT
        if event.type == "timetable":
            tl.decision_instant(event)
    for day in tl.applications["acme"].closures:
        assert type(day) is date and 1900 <= day.year <= 2199
    api.audit(tl, POLICY, max(e.at for e in tl.events), engine="reference")


@PROPERTY
@given(value=ANY_TIME)
def test_any_value_for_a_planned_action_at_gives_an_action_or_an_input_error(value):
    """Any value for a planned action's ``at`` gives an action whose ``at`` is an aware
    instant in range (or absent, for null), or an InputError, never another exception."""
    try:
        action = planned_action_from_data({"type": "contact", "to": "alice", "channel": "email", "at": value})
    except InputError as exc:
        assert [p.code for p in exc.problems] == ["action.invalid"]
        return
    assert (value is None and action.at is None) or (action.at.utcoffset() == timedelta(0)
                                                      and MIN_INSTANT <= action.at < MAX_INSTANT)


@PROPERTY
@given(text=TIMESTAMPISH | st.text(max_size=40) | JSON_VALUES)
def test_parse_instant_gives_an_instant_in_range_or_an_input_error(text):
    """parse_instant of any value is a UTC instant in MIN_INSTANT..MAX_INSTANT or an
    InputError with one of its three codes, never another exception."""
    try:
        instant = api.parse_instant(text)
    except InputError as exc:
        assert {p.code for p in exc.problems} <= {"input.bad-instant", "input.naive-instant", "input.out-of-range"}
        return
    assert instant.utcoffset() == timedelta(0) and MIN_INSTANT <= instant < MAX_INSTANT


@PROPERTY
@given(text=st.text(max_size=16) | st.from_regex(r"\A[0-9]{1,13}(bd|s|m|h|d|w)\Z"))
def test_a_duration_is_bounded_or_a_value_error(text):
    """parse_duration of any text is a Duration within MAX_DURATION_SECONDS and
    MAX_BUSINESS_DAYS whose text is ASCII, or a ValueError, never another exception."""
    try:
        d = parse_duration(text)
    except ValueError:
        return
    assert 0 <= d.seconds <= MAX_DURATION_SECONDS and 0 <= d.business_days <= MAX_BUSINESS_DAYS
    assert text.isascii() and text.strip() == text and " " not in text
