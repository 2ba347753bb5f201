"""``followup import csv``: spreadsheets into v1 timelines (docs/importing.md).

The shipped sheets in examples/csv reproduce examples/forgetful.yaml: importing them and
auditing gives the same findings contract as the hand-written timeline. Bad cells are
located ``file:LINE:COLUMN`` (the line the row starts on, the 1-based column), all at
once, exit 2; hostile cells (NUL, formulas, huge fields and numbers, too many rows)
give one-line errors or stay plain text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import InputError, audit, load_policy, load_timeline, parse_instant
from engine.cli import main
from engine.importers import dump_timeline
from engine.importers.csv import import_csv
from engine.limits import Limits
from engine.source import read_document
from engine.timeline import timeline_from_data

ROOT = Path(__file__).resolve().parents[2]
SHEETS = ROOT / "examples" / "csv"
AS_OF = "2026-06-05T00:00:00Z"

CONTACTS = "id,name,role,timezone,email\nalice,Alice Park,hiring_manager,America/New_York,alice@acme.example\n" \
           "bob,Bob Lee,,,\n"
APPS = "id,company,country,timezone\nacme,Acme,US,America/New_York\n"


def _forgetful(**kw):
    return import_csv(str(SHEETS / "forgetful-events.csv"), str(SHEETS / "forgetful-contacts.csv"),
                      str(SHEETS / "forgetful-applications.csv"), timezone="America/Los_Angeles",
                      candidate="Alex Moreno", **kw)


def _contract(timeline, as_of=AS_OF):
    return audit(timeline, load_policy(), parse_instant(as_of)).contract()


def _sheets(tmp_path, events: str, contacts: str = CONTACTS, apps: str = APPS) -> list[str]:
    paths = []
    for name, text in (("events.csv", events), ("contacts.csv", contacts), ("apps.csv", apps)):
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        paths.append(str(path))
    return paths


def _problems(tmp_path, events: str, **kw) -> list[str]:
    e, c, a = _sheets(tmp_path, events)
    with pytest.raises(InputError) as exc:
        import_csv(e, c, a, **kw)
    return [str(p).replace(str(tmp_path) + "/", "") for p in exc.value.problems]


def test_shipped_sheets_audit_like_the_hand_written_forgetful_example():
    imported = _forgetful()
    expected = _contract(load_timeline(ROOT / "examples" / "forgetful.yaml"))
    assert _contract(imported.timeline) == expected
    assert {f["rule"] for f in expected["findings"]} >= {"thank-you-within-24h", "timetable-asked"}


def test_shipped_sheets_give_the_same_events_instants_and_people_as_the_example():
    imported, hand = _forgetful().timeline, load_timeline(ROOT / "examples" / "forgetful.yaml")
    assert imported.events == hand.events
    assert imported.contacts == hand.contacts and imported.applications == hand.applications
    assert (imported.candidate, imported.timezone) == (hand.candidate, hand.timezone)


def test_cli_writes_yaml_that_loads_as_the_same_timeline(capsys, tmp_path):
    out = tmp_path / "forgetful.yaml"
    code = main(["import", "csv", str(SHEETS / "forgetful-events.csv"), "--contacts",
                 str(SHEETS / "forgetful-contacts.csv"), "--applications", str(SHEETS / "forgetful-applications.csv"),
                 "--timezone", "America/Los_Angeles", "--candidate", "Alex Moreno", "-o", str(out)])
    assert code == 0
    assert _contract(load_timeline(out)) == _contract(load_timeline(ROOT / "examples" / "forgetful.yaml"))


def test_cli_writes_json_when_the_output_ends_in_json_and_yaml_to_stdout(capsys, tmp_path):
    e, c, a = _sheets(tmp_path, "id,type,at,with\ni1,interview,2026-03-02T10:00:00-05:00,alice; bob\n")
    assert main(["import", "csv", e, "--contacts", c, "--applications", a, "-o", str(tmp_path / "t.json")]) == 0
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["events"] == [{"id": "i1", "type": "interview", "at": "2026-03-02T10:00:00-05:00",
                               "with": ["alice", "bob"]}]
    assert main(["import", "csv", e, "--contacts", c, "--applications", a]) == 0
    out = capsys.readouterr().out
    assert timeline_from_data(read_document(out, "out").data).events[0].with_ == ["alice", "bob"]


def test_row_timezone_beats_the_option(tmp_path):
    e, c, a = _sheets(tmp_path, "id,type,at,timezone,with\n"
                                "i1,interview,2026-03-02 10:00,,alice\n"
                                "i2,interview,2026-03-02 10:00,Europe/Berlin,bob\n"
                                "i3,interview,2026-03-09T10:00:00,,alice\n")
    tl = import_csv(e, c, a, timezone="America/New_York").timeline
    at = {ev.id: ev.at.isoformat() for ev in tl.events}
    assert at == {"i1": "2026-03-02T15:00:00+00:00", "i2": "2026-03-02T09:00:00+00:00",
                  "i3": "2026-03-09T14:00:00+00:00"}  # i3: after the DST change in New York
    assert tl.timezone == "America/New_York"


def test_headers_ignore_case_and_spaces_and_blank_rows_are_skipped(tmp_path):
    e, c, a = _sheets(tmp_path, "ID,Type,At,Ends At,With\n\ni1,interview,2026-03-02T10:00:00-05:00,"
                                "2026-03-02T11:00:00-05:00,alice\n,,,,\n")
    tl = import_csv(e, c, a).timeline
    assert [(ev.id, ev.ends_at.isoformat()) for ev in tl.events] == [("i1", "2026-03-02T16:00:00+00:00")]


def test_rows_without_an_id_are_named_after_their_line(tmp_path):
    e, c, a = _sheets(tmp_path, "type,at,with\ninterview,2026-03-02T10:00:00-05:00,alice\n")
    assert [ev.id for ev in import_csv(e, c, a).timeline.events] == ["row2"]


def test_bad_cells_are_all_located_at_their_line_and_column(tmp_path):
    events = ("id,type,at,with,to,channel,round\n"           # line 1
              "i1,interview,2026-03-02T10:00:00-05:00,alice,,,two\n"   # 2: round (col 7)
              "y1,thank_you,yesterday,,alice,email,\n"         # 3: at (col 3)
              "y2,thank_you,2026-03-02T18:00:00-05:00,,alice,pigeon,\n"  # 4: channel (col 6)
              "y3,thank_you,2026-03-02T18:00:00-05:00,bob,alice,email,\n")  # 5: with on a thank-you (col 4)
    problems = _problems(tmp_path, events)
    assert len(problems) == 4
    assert problems[0].startswith("events.csv:2:7: error[csv.invalid]: `round`: `two` is not a whole number")
    assert problems[1].startswith("events.csv:3:3: error[csv.invalid]: `at`: `yesterday` is not an RFC 3339 timestamp")
    assert problems[2].startswith("events.csv:4:6: error[csv.invalid]: `channel`: input should be 'email'")
    assert problems[3] == "events.csv:5:4: error[csv.invalid]: column `with` does not apply to this row's type"


def test_reference_problems_are_located_at_the_cell_that_names_the_id(tmp_path):
    events = ("id,type,at,to,channel,application\n"
              "y1,thank_you,2026-03-02T18:00:00-05:00,alice; alise,email,\n"
              "y1,thank_you,2026-03-02T18:00:00-05:00,bob,email,acne\n")
    problems = _problems(tmp_path, events)
    assert "events.csv:2:4: error[timeline.unknown-contact]: unknown contact `alise`; did you mean `alice`?" in problems
    assert "events.csv:3:1: error[timeline.duplicate-id]: duplicate event id `y1` (first used by events[0])" in problems
    assert any(p.startswith("events.csv:3:6: error[timeline.unknown-application]: unknown application `acne`")
               for p in problems)


def test_problems_in_the_contacts_and_applications_sheets_are_located_there(tmp_path):
    e, c, a = _sheets(tmp_path, "id,type,at\nw,withdrawal,2026-03-02T10:00:00-05:00\n",
                      contacts="id,name,role\nalice,Alice,boss\nalice,Alice again,\n",
                      apps="id,company,country,timezone\nacme,Acme,US,Mars/Olympus\n")
    with pytest.raises(InputError) as exc:
        import_csv(e, c, a)
    got = [str(p).replace(str(tmp_path) + "/", "") for p in exc.value.problems]
    assert any(p.startswith("apps.csv:2:4: error[csv.invalid]: `timezone`: unknown time zone `Mars/Olympus`")
               for p in got), got
    assert "contacts.csv:3:1: error[csv.invalid]: `id`: duplicate contact id `alice` (first on line 2)" in got
    assert any(p.startswith("contacts.csv:2:3: error[csv.invalid]: `role`: input should be") for p in got), got


def test_header_problems(tmp_path):
    assert _problems(tmp_path, "type,at,withh\n") == [
        "events.csv:1:3: error[csv.header]: unknown column `withh`; did you mean `with`?"]
    problems = _problems(tmp_path, "id,type,xyz,type\n")
    assert problems == [
        "events.csv:1:1: error[csv.header]: the events sheet needs a `at` column",
        "events.csv:1:3: error[csv.header]: unknown column `xyz`; the events sheet's columns are: id, type, "
        "application, at, timezone, ends_at, round, with, by, from, contact, to, channel, decision_by, within, "
        "body, note",
        "events.csv:1:4: error[csv.header]: column `type` is named twice (first in column 2)",
    ]
    assert _problems(tmp_path, "") == ["events.csv:1:1: error[csv.header]: the events sheet is empty; its first "
                                       "line must name the columns, e.g. `type,at`"]


def test_a_local_time_without_a_zone_or_in_a_dst_gap_is_located(tmp_path):
    events = ("id,type,at,timezone,with\n"
              "i1,interview,2026-03-02 10:00,,alice\n"
              "i2,interview,2026-03-08 02:30,America/Chicago,alice\n")
    problems = _problems(tmp_path, events)
    assert problems[0].startswith("events.csv:2:3: error[csv.invalid]: `at`: `2026-03-02 10:00` has no UTC offset")
    assert problems[1].startswith("events.csv:3:3: error[csv.invalid]: `at`: `2026-03-08T02:30:00` does not exist "
                                  "in `America/Chicago`")


def test_a_multi_line_cell_locates_the_next_rows_on_their_own_lines(tmp_path):
    events = ('id,type,at,to,channel,body\n'
              'y1,thank_you,2026-03-02T18:00:00-05:00,alice,email,"Dear Alice,\nthank you.\n"\n'
              'y2,thank_you,2026-03-02T18:00:00-05:00,alice,fax,\n')
    assert _problems(tmp_path, events)[0].startswith("events.csv:5:5: error[csv.invalid]: `channel`")


def test_cli_prints_every_problem_and_exits_2(capsys, tmp_path):
    e, c, a = _sheets(tmp_path, "id,type,at,channel\nq,status_inquiry,soon,fax\n")
    assert main(["import", "csv", e, "--contacts", c, "--applications", a]) == 2
    err = [line.replace(str(tmp_path) + "/", "") for line in capsys.readouterr().err.splitlines()]
    assert err == ["events.csv:2:1: error[csv.invalid]: `to` is required for this row's type",
                   "events.csv:2:3: error[csv.invalid]: `at`: `soon` is not an RFC 3339 timestamp such as "
                   "`2026-03-02T10:00:00-05:00`",
                   "events.csv:2:4: error[csv.invalid]: `channel`: input should be 'email', 'phone', 'voicemail', "
                   "'text', 'linkedin', 'letter', 'in_person' or 'other'"]


# -- hostile cells ------------------------------------------------------------------------------


def test_formula_cells_are_kept_as_plain_text(tmp_path):
    formula = "=HYPERLINK(\"http://evil.example\",\"click\")"
    e, c, a = _sheets(tmp_path, f'id,type,at,to,channel,body,note\ny1,thank_you,2026-03-02T18:00:00-05:00,alice,'
                                f'email,"{formula.replace(chr(34), chr(34) * 2)}",+cmd|\' /C calc\'!A0\n')
    imported = import_csv(e, c, a)
    event = imported.data["events"][0]
    assert (event["body"], event["note"]) == (formula, "+cmd|' /C calc'!A0")
    reread = timeline_from_data(read_document(dump_timeline(imported.data), "t").data)
    assert reread.events[0].body == formula


def test_a_nul_byte_in_a_cell_is_a_located_error(tmp_path):
    problems = _problems(tmp_path, "id,type,at,with\ni\x001,interview,2026-03-02T10:00:00-05:00,alice\n")
    assert problems == ["events.csv:2:1: error[csv.invalid]: `id`: text must not contain a NUL character: `i\\x001`"]


def test_a_huge_field_is_a_syntax_error_not_a_crash(tmp_path):
    problems = _problems(tmp_path, "id,type,at,body\nx,contact,2026-03-02T10:00:00Z," + "a" * 200_000 + "\n")
    assert problems == ["events.csv:2:1: error[csv.syntax]: not valid CSV: field larger than field limit (131072)"]


def test_a_huge_number_is_refused_without_converting_it(tmp_path):
    problems = _problems(tmp_path, "id,type,at,with,round\ni,interview,2026-03-02T10:00:00Z,alice," + "9" * 5000 + "\n")
    assert problems == ["events.csv:2:5: error[input.number-too-large]: `round`: a number of 5000 digits; rounds go "
                        "from 1 to 1000"]


def test_bad_quoting_and_encoding_are_one_line_errors(tmp_path):
    assert _problems(tmp_path, 'id,type,at\n"i"1,interview,2026-03-02T10:00:00Z\n') == [
        "events.csv:2:1: error[csv.syntax]: not valid CSV: ',' expected after '\"'"]
    e, c, a = _sheets(tmp_path, b"id,type,at\n\xff\n")
    with pytest.raises(InputError) as exc:
        import_csv(e, c, a)
    assert [p.code for p in exc.value.problems] == ["input.encoding"]


def test_size_and_row_limits_come_from_engine_limits(tmp_path):
    rows = "".join(f"w{i},withdrawal,2026-03-02T10:00:00Z\n" for i in range(6))
    e, c, a = _sheets(tmp_path, "id,type,at\n" + rows)
    with pytest.raises(InputError) as exc:
        import_csv(e, c, a, limits=Limits(max_events=5))
    assert [str(p).replace(str(tmp_path) + "/", "") for p in exc.value.problems] == [
        "events.csv:7:1: error[timeline.too-many-events]: the events sheet has more than 5 rows; the limit is 5"]
    with pytest.raises(InputError) as exc:
        import_csv(e, c, a, limits=Limits(max_bytes=100))
    assert [p.code for p in exc.value.problems] == ["input.too-large"]


def test_a_cell_beyond_the_named_columns_is_located(tmp_path):
    problems = _problems(tmp_path, "id,type,at\nw,withdrawal,2026-03-02T10:00:00Z,surprise\n")
    assert problems == ["events.csv:2:4: error[csv.invalid]: this cell is outside the named columns"]


def test_a_bad_row_timezone_is_reported_once_not_again_for_each_local_time(tmp_path):
    problems = _problems(tmp_path, "id,type,at,timezone,ends_at,with\n"
                                   "i1,interview,2026-03-02 10:00,Mars/Base,2026-03-02 11:00,alice\n")
    assert len(problems) == 1 and problems[0].startswith(
        "events.csv:2:4: error[csv.invalid]: `timezone`: unknown time zone `Mars/Base`")


def test_a_hostile_header_gives_a_bounded_list_of_problems(tmp_path):
    """A header of 200,000 cells (empty names, repeats) is refused with at most 50 problems,
    without quadratic work; empty cells after the last name are not columns at all."""
    problems = _problems(tmp_path, "type,at," + "id," * 200_000 + "\n")
    assert 1 <= len(problems) <= 50
    assert problems[0] == "events.csv:1:4: error[csv.header]: column `id` is named twice (first in column 3)"
    e, c, a = _sheets(tmp_path, "id,type,at" + "," * 200_000 + "\nw,withdrawal,2026-03-02T10:00:00Z\n")
    assert [ev.id for ev in import_csv(e, c, a).timeline.events] == ["w"]


# -- property: any timeline survives the trip through sheets -------------------------------------

import csv as _csv  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402

from engine.importers.csv import APPLICATION_COLUMNS, CONTACT_COLUMNS, EVENT_COLUMNS  # noqa: E402
from strategies import timelines  # noqa: E402


def _write_sheet(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = _csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["; ".join(v) if isinstance(v, list) else "" if v is None else str(v)
                             for v in (row.get(c) for c in columns)])


def _without_blank_bodies(timeline) -> dict:
    data = timeline.model_dump()
    for event in data["events"]:
        if isinstance(event.get("body"), str) and not event["body"].strip():
            event["body"] = None
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=timelines(max_events=12))
def test_any_valid_timeline_written_as_sheets_imports_to_the_same_timeline(tmp_path, data):
    """Invariant: a valid timeline written as events, contacts and applications sheets imports to
    the same validated timeline (every field, instant and id), except that a blank body is left
    out, since a blank cell is no field."""
    _write_sheet(tmp_path / "c.csv", CONTACT_COLUMNS, [{"id": k, **v} for k, v in data["contacts"].items()])
    _write_sheet(tmp_path / "a.csv", APPLICATION_COLUMNS, [{"id": k, **v} for k, v in data["applications"].items()])
    _write_sheet(tmp_path / "e.csv", EVENT_COLUMNS, data["events"])
    imported = import_csv(str(tmp_path / "e.csv"), str(tmp_path / "c.csv"), str(tmp_path / "a.csv"),
                          timezone=data.get("timezone"), candidate=data.get("candidate"))
    assert _without_blank_bodies(imported.timeline) == _without_blank_bodies(timeline_from_data(data))
