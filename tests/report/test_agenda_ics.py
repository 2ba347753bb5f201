"""``followup agenda --format ics``: the agenda as an iCalendar file (engine/report/ics.py).

Every agenda item is exactly one entry: one with a time (open obligations, inquiry
windows) a VEVENT with its start, a reminder, a stable UID and DTSTAMP = the as-of
instant; a prohibition a VTODO with no due date. The file parses with the ``icalendar``
package; user text cannot add components or lines.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import icalendar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_policy, load_timeline, parse_instant
from engine.cli import main
from engine.decide import agenda
from engine.report.decisions import render_agenda
from engine.report.ics import calendar_items, render_agenda_ics
from engine.timeline import timeline_from_data
from helpers import interview, tl
from strategies import timelines

ROOT = Path(__file__).resolve().parents[2]


def _agenda(timeline, as_of: str):
    return agenda(timeline, load_policy(), parse_instant(as_of))


def _vevents(text: str) -> list:
    return list(icalendar.Calendar.from_ical(text).walk("VEVENT"))


def test_each_timed_item_is_one_vevent_with_start_reminder_uid_and_dtstamp():
    timeline = load_timeline(ROOT / "examples" / "ics" / "northwind.yaml")
    result = _agenda(timeline, "2026-03-11T12:00:00Z")
    assert [i.kind for i in result.items] == ["due", "due", "inquiry-window"]
    events = _vevents(render_agenda_ics(result, timeline))
    assert len(events) == 3
    for item, event in zip(result.items, events, strict=True):
        assert event.decoded("dtstart") == parse_instant(item.due)
        assert event.decoded("dtstamp") == parse_instant("2026-03-11T12:00:00Z")
        assert item.message in str(event["description"])
        alarms = event.walk("VALARM")
        assert len(alarms) == 1 and alarms[0]["action"] == "DISPLAY"
    assert events[0].walk("VALARM")[0].decoded("trigger") == -timedelta(hours=1)
    assert events[2].walk("VALARM")[0].decoded("trigger") == parse_instant(result.items[2].due)
    assert len({str(e["uid"]) for e in events}) == 3


def _vtodos(text: str):
    return list(icalendar.Calendar.from_ical(text).walk("VTODO"))


def test_prohibitions_have_no_time_and_are_tasks_not_events():
    timeline = load_timeline(ROOT / "examples" / "forgetful.yaml")
    result = _agenda(timeline, "2026-06-05T00:00:00Z")
    kinds = [i.kind for i in result.items]
    assert "prohibition" in kinds
    text = render_agenda_ics(result, timeline)
    assert len(_vevents(text)) == len(calendar_items(result)) == sum(k != "prohibition" for k in kinds)
    todos = _vtodos(text)
    assert len(todos) == kinds.count("prohibition")
    assert all("due" not in t and t.decoded("dtstart") == parse_instant("2026-06-05T00:00:00Z") for t in todos)
    assert all(str(t["summary"]).startswith("do not: ") for t in todos)


def test_an_overdue_item_starts_at_the_as_of_instant_and_keeps_its_uid():
    timeline = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"])])
    early, late = _agenda(timeline, "2026-03-02T20:00:00Z"), _agenda(timeline, "2026-03-05T12:00:00Z")
    due = [i for i in early.items if i.kind == "due"]
    overdue = [i for i in late.items if i.kind == "overdue"]
    assert len(due) == len(overdue) == 1
    first = next(e for e in _vevents(render_agenda_ics(early, timeline)) if "due" in str(e["categories"].cats))
    second = next(e for e in _vevents(render_agenda_ics(late, timeline)) if "overdue" in str(e["categories"].cats))
    assert first.decoded("dtstart") == parse_instant(due[0].due)
    assert second.decoded("dtstart") == parse_instant("2026-03-05T12:00:00Z")
    assert str(first["uid"]) == str(second["uid"])


def test_output_is_deterministic_and_never_reads_the_clock():
    timeline = load_timeline(ROOT / "examples" / "ics" / "northwind.yaml")
    result = _agenda(timeline, "2026-03-11T12:00:00Z")
    first = render_agenda_ics(result, timeline)
    assert first == render_agenda_ics(result, timeline)
    assert "DTSTAMP:20260311T120000Z" in first


def test_lines_are_crlf_terminated_and_folded_at_75_octets():
    timeline = load_timeline(ROOT / "examples" / "ics" / "northwind.yaml")
    text = render_agenda_ics(_agenda(timeline, "2026-03-11T12:00:00Z"), timeline)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert any(line.startswith(" ") for line in text.split("\r\n"))  # the long descriptions are folded


def test_hostile_names_cannot_add_components_or_control_characters():
    contacts = {"alice": {"name": "Eve\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:pwned\x1b[31m"}}
    timeline = tl([interview("i1", "2026-03-02T10:00:00-05:00", ["alice"])], contacts=contacts)
    result = _agenda(timeline, "2026-03-02T20:00:00Z")
    text = render_agenda_ics(result, timeline)
    assert calendar_items(result)
    assert "\x1b" not in text
    lines = text.split("\r\n")
    assert lines.count("BEGIN:VEVENT") == len(_vevents(text)) == len(calendar_items(result))
    summaries = [str(e["summary"]) for e in _vevents(text)]
    assert any("Eve\\r\\nEND:VEVENT" in s for s in summaries)


def test_cli_agenda_format_ics(capsys):
    code = main(["agenda", "examples/ics/northwind.yaml", "--as-of", "2026-03-11T12:00:00Z", "--format", "ics",
                 "--engine", "reference"])
    out = capsys.readouterr().out
    assert code == 0 and len(_vevents(out)) == 3
    timeline = load_timeline(ROOT / "examples" / "ics" / "northwind.yaml")
    assert out == render_agenda(_agenda(timeline, "2026-03-11T12:00:00Z"), timeline, "ics")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=timelines(max_events=8), hours=st.integers(-48, 24 * 30))
def test_any_valid_timelines_agenda_ics_parses_with_one_entry_per_agenda_item(data, hours):
    """Invariant: for any valid timeline and as-of, the ics agenda parses with icalendar and has
    exactly one entry per agenda item: a VEVENT (with a unique UID and one VALARM) per item that
    has a time, a VTODO per prohibition, and no two entries with the same UID."""
    timeline = timeline_from_data(data)
    events = [e.at for e in timeline.events]
    as_of = (max(events) if events else parse_instant("2026-03-02T12:00:00Z")) + timedelta(hours=hours)
    result = agenda(timeline, load_policy(), as_of)
    text = render_agenda_ics(result, timeline)
    parsed, todos = _vevents(text), _vtodos(text)
    assert len(parsed) == len(calendar_items(result))
    assert len(parsed) + len(todos) == len(result.items)
    assert len({str(e["uid"]) for e in parsed + todos}) == len(parsed) + len(todos)
    assert all(len(e.walk("VALARM")) == 1 for e in parsed)
    assert [e.decoded("dtstamp") for e in parsed] == [as_of] * len(parsed)
