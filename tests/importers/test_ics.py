"""``followup import ics``: interviews from calendar exports (RFC 5545, read with icalendar).

The shipped calendar examples/ics/northwind.ics has an Outlook-style VTIMEZONE and two
interviews on either side of the change to daylight saving time in New York (8 March
2026). Imported into examples/ics/northwind-base.yaml it must audit exactly like the
hand-written examples/ics/northwind.yaml; the thank-you that is 15 minutes late only
under the right offset makes the round trip fail if a UTC offset is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import InputError, audit, load_policy, load_timeline, parse_instant
from engine.cli import main
from engine.importers import dump_timeline
from engine.importers.ics import import_ics
from engine.limits import Limits
from engine.source import read_document
from engine.timeline import timeline_from_data

ROOT = Path(__file__).resolve().parents[2]
ICS = ROOT / "examples" / "ics"
AS_OF = "2026-03-25T12:00:00Z"
ME = ("priya.raman@mail.example",)


def _contract(timeline, as_of=AS_OF):
    return audit(timeline, load_policy(), parse_instant(as_of)).contract()


def _calendar(tmp_path, *events: str, extra: str = "", name: str = "cal.ics") -> str:
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *([extra] if extra else []),
                        *events, "END:VCALENDAR"]) + "\r\n"
    path = tmp_path / name
    path.write_text(body, newline="")
    return str(path)


def _vevent(*lines: str, uid: str = "u1") -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"])


def test_import_into_the_base_audits_like_the_hand_written_timeline():
    imported = import_ics(str(ICS / "northwind.ics"), into=str(ICS / "northwind-base.yaml"), me=ME)
    expected = _contract(load_timeline(ICS / "northwind.yaml"))
    assert _contract(imported.timeline) == expected
    late = [f for f in expected["findings"] if f["rule"] == "thank-you-within-24h"]
    assert {f["contact"] for f in late} == {"omar", "lena.fischer"}


def test_vtimezone_and_dst_give_each_interview_its_own_utc_offset():
    imported = import_ics(str(ICS / "northwind.ics"), into=str(ICS / "northwind-base.yaml"), me=ME)
    interviews = {e["id"]: (e["at"], e["ends_at"]) for e in imported.data["events"] if e["type"] == "interview"}
    assert interviews == {"interview-2026-03-06": ("2026-03-06T10:00:00-05:00", "2026-03-06T10:45:00-05:00"),
                          "interview-2026-03-10": ("2026-03-10T14:00:00-04:00", "2026-03-10T15:30:00-04:00")}
    hand = load_timeline(ICS / "northwind.yaml")
    assert imported.timeline.events == hand.events and imported.timeline.contacts == hand.contacts


def test_a_tzid_only_the_calendars_vtimezone_defines_is_used_with_its_dst_rules(tmp_path):
    vtimezone = "\r\n".join([
        "BEGIN:VTIMEZONE", "TZID:Followup Test Central", "BEGIN:STANDARD", "DTSTART:16011104T020000",
        "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11", "TZOFFSETFROM:-0500", "TZOFFSETTO:-0600", "END:STANDARD",
        "BEGIN:DAYLIGHT", "DTSTART:16010311T020000", "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
        "TZOFFSETFROM:-0600", "TZOFFSETTO:-0500", "END:DAYLIGHT", "END:VTIMEZONE"])
    cal = _calendar(tmp_path,
                    _vevent("DTSTART;TZID=Followup Test Central:20261030T090000", "DURATION:PT1H",
                            "SUMMARY:Interview", "ATTENDEE;CN=Ann:mailto:ann@acme.example", uid="a"),
                    _vevent("DTSTART;TZID=Followup Test Central:20261102T090000", "DURATION:PT1H",
                            "SUMMARY:Interview", "ATTENDEE;CN=Ann:mailto:ann@acme.example", uid="b"),
                    extra=vtimezone)
    events = import_ics(cal).data["events"]
    assert [(e["at"], e["ends_at"]) for e in events] == [("2026-10-30T09:00:00-05:00", "2026-10-30T10:00:00-05:00"),
                                                        ("2026-11-02T09:00:00-06:00", "2026-11-02T10:00:00-06:00")]


def test_a_new_timeline_gets_contacts_from_attendees_and_the_application_from_the_domain(tmp_path):
    imported = import_ics(str(ICS / "northwind.ics"), me=ME, timezone="America/New_York", company="Northwind")
    data = imported.data
    assert data["contacts"] == {
        "maya.lopez": {"name": "Maya Lopez", "email": "maya.lopez@northwind.example"},
        "omar.haddad": {"name": "Omar Haddad", "email": "omar.haddad@northwind.example"},
        "lena.fischer": {"name": "Lena Fischer", "email": "lena.fischer@northwind.example"}}
    assert data["applications"] == {"northwind": {"company": "Northwind"}}
    assert [e["with"] for e in data["events"]] == [["maya.lopez"], ["omar.haddad", "lena.fischer"]]
    assert data["timezone"] == "America/New_York"
    # the room, the candidate, the dentist and the cancelled interview are left out; the notices say so
    assert any("skipped a cancelled event" in n for n in imported.notices)


def test_without_me_the_candidate_becomes_a_contact_and_a_notice_says_so():
    imported = import_ics(str(ICS / "northwind.ics"))
    assert "priya.raman" in imported.data["contacts"]
    assert any("new contact `priya.raman`" in n for n in imported.notices)


def test_importing_twice_adds_nothing(tmp_path):
    first = import_ics(str(ICS / "northwind.ics"), into=str(ICS / "northwind-base.yaml"), me=ME)
    merged = tmp_path / "merged.yaml"
    merged.write_text(dump_timeline(first.data))
    again = import_ics(str(ICS / "northwind.ics"), into=str(merged), me=ME)
    assert again.data == first.data
    assert sum("already in the timeline" in n for n in again.notices) == 2


def test_match_pattern_selects_by_summary_or_categories(tmp_path):
    cal = _calendar(tmp_path,
                    _vevent("DTSTART:20260302T150000Z", "SUMMARY:Chat with Acme", "CATEGORIES:Hiring,Onsite",
                            "ATTENDEE:mailto:ann@acme.example", uid="a"),
                    _vevent("DTSTART:20260303T150000Z", "SUMMARY:Lunch", "ATTENDEE:mailto:ann@acme.example", uid="b"))
    assert import_ics(cal).data["events"] == []
    events = import_ics(cal, match="(?i)onsite").data["events"]
    assert [(e["id"], e["at"], e["application"]) for e in events] == [("interview-2026-03-02", "2026-03-02T15:00:00Z",
                                                                      "acme")]
    with pytest.raises(InputError) as exc:
        import_ics(cal, match="(")
    assert [p.code for p in exc.value.problems] == ["input.bad-pattern"]


def test_floating_times_need_a_timezone_and_dst_gaps_are_errors(tmp_path):
    cal = _calendar(tmp_path, _vevent("DTSTART:20260308T023000", "SUMMARY:Interview",
                                      "ATTENDEE:mailto:ann@acme.example"))
    with pytest.raises(InputError) as exc:
        import_ics(cal)
    assert [str(p).replace(str(tmp_path) + "/", "") for p in exc.value.problems] == [
        "cal.ics:7:1: error[ics.floating-time]: `DTSTART` is a floating local time (no zone); pass --timezone to say "
        "where it is"]
    with pytest.raises(InputError) as exc:
        import_ics(cal, timezone="America/Chicago")
    assert "does not exist in `America/Chicago`" in exc.value.problems[0].message
    ok = import_ics(cal, timezone="Europe/Berlin").data["events"][0]
    assert ok["at"] == "2026-03-08T02:30:00+01:00"


def test_an_unknown_tzid_is_located_not_guessed(tmp_path):
    cal = _calendar(tmp_path, _vevent("SUMMARY:Interview", "DTSTART;TZID=Nowhere/Land:20260302T100000"))
    with pytest.raises(InputError) as exc:
        import_ics(cal, timezone="UTC")
    assert [str(p).replace(str(tmp_path) + "/", "") for p in exc.value.problems] == [
        "cal.ics:8:1: error[ics.invalid]: `DTSTART`: unknown time zone `Nowhere/Land` (neither an IANA name nor "
        "defined by a VTIMEZONE of the calendar)"]


def test_all_day_recurring_and_declined_are_skipped_with_notices(tmp_path):
    cal = _calendar(tmp_path,
                    _vevent("DTSTART;VALUE=DATE:20260302", "SUMMARY:Interview day", uid="a"),
                    _vevent("DTSTART:20260303T150000Z", "RRULE:FREQ=WEEKLY;COUNT=3", "SUMMARY:Interview", uid="b"),
                    _vevent("DTSTART:20260304T150000Z", "SUMMARY:Interview", "ATTENDEE;CN=Ann:mailto:ann@acme.example",
                            "ATTENDEE;PARTSTAT=DECLINED:mailto:bo@acme.example", uid="c"))
    imported = import_ics(cal)
    assert [e["with"] for e in imported.data["events"]] == [["ann"]]
    notes = " ".join(imported.notices)
    assert "all-day" in notes and "recurring" in notes and "declined" in notes


def test_bad_calendars_are_one_line_errors(tmp_path):
    for text, code in [("not a calendar at all", "ics.syntax"),
                       ("BEGIN:VCALENDAR\r\n" * 100 + "END:VCALENDAR\r\n" * 100, "input.too-deep")]:
        path = tmp_path / "bad.ics"
        path.write_text(text)
        with pytest.raises(InputError) as exc:
            import_ics(str(path))
        assert [p.code for p in exc.value.problems] == [code], text[:30]
    cal = _calendar(tmp_path, _vevent("SUMMARY:Interview", "DTSTART:soon"))
    with pytest.raises(InputError) as exc:
        import_ics(cal)
    assert exc.value.problems[0].code == "ics.invalid" and exc.value.problems[0].loc.line == 8


def test_limits_bound_the_calendar(tmp_path):
    cal = _calendar(tmp_path, *[_vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview", uid=f"u{i}")
                                for i in range(4)])
    with pytest.raises(InputError) as exc:
        import_ics(cal, limits=Limits(max_events=3))
    assert [p.code for p in exc.value.problems] == ["timeline.too-many-events"]
    with pytest.raises(InputError) as exc:
        import_ics(cal, limits=Limits(max_bytes=50))
    assert [p.code for p in exc.value.problems] == ["input.too-large"]


def test_hostile_text_is_kept_as_data_and_reads_back(tmp_path):
    cal = _calendar(tmp_path, _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview\\n=cmd|' /C calc'!A0",
                                      'ATTENDEE;CN="Eve\\nVIOLATION":mailto:eve@acme.example'))
    imported = import_ics(cal)
    text = dump_timeline(imported.data)
    reread = timeline_from_data(read_document(text, "t").data)
    assert reread.events[0].note == "Interview\n=cmd|' /C calc'!A0"


def test_cli_merges_and_writes_the_timeline(capsys, tmp_path):
    out = tmp_path / "t.yaml"
    code = main(["import", "ics", str(ICS / "northwind.ics"), "--into", str(ICS / "northwind-base.yaml"),
                 "--me", ME[0], "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 0
    assert "note: new contact `lena.fischer`" in err
    assert _contract(load_timeline(out)) == _contract(load_timeline(ICS / "northwind.yaml"))
    assert main(["import", "ics", str(tmp_path / "missing.ics")]) == 2
    assert "error[input.not-found]" in capsys.readouterr().err


def test_the_application_is_named_after_the_organizers_domain(tmp_path):
    for domain, expected in [("mail.ibm.com", "ibm"), ("careers.acme.co.uk", "acme"), ("globex.example", "globex")]:
        cal = _calendar(tmp_path, _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview",
                                          f"ORGANIZER:mailto:hr@{domain}", f"ATTENDEE:mailto:ann@{domain}"))
        imported = import_ics(cal, company="Them")
        assert imported.data["applications"] == {expected: {"company": "Them"}}, domain
        assert imported.data["events"][0]["application"] == expected


def test_application_option_and_an_existing_single_application(tmp_path):
    cal = _calendar(tmp_path, _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview",
                                      "ATTENDEE:mailto:ann@acme.example"))
    imported = import_ics(cal, application="acme-2026", company="Acme Corp")
    assert imported.data["applications"] == {"acme-2026": {"company": "Acme Corp"}}
    merged = import_ics(cal, into=str(ICS / "northwind-base.yaml"))
    assert merged.data["events"][-1]["application"] == "northwind"


def test_time_zone_rules_that_would_expand_without_end_are_refused_before_parsing(tmp_path):
    """A VTIMEZONE with ``FREQ=SECONDLY`` made icalendar expand transitions for minutes; such
    rules (not yearly, or from before 1600, or too many of them) are located errors."""
    def zone(*rules: str) -> str:
        return "\r\n".join(["BEGIN:VTIMEZONE", "TZID:Evil", *rules, "END:VTIMEZONE"])

    def rule(rrule: str, start: str = "16010101T000000") -> str:
        return "\r\n".join(["BEGIN:STANDARD", f"DTSTART:{start}", f"RRULE:{rrule}", "TZOFFSETFROM:-0400",
                            "TZOFFSETTO:-0500", "END:STANDARD"])

    event = _vevent("DTSTART;TZID=Evil:20260306T100000", "SUMMARY:Interview", "ATTENDEE:mailto:a@acme.example")
    for extra, message in [(zone(rule("FREQ=SECONDLY")), "is not a yearly rule"),
                           (zone(rule("FREQ=YEARLY;BYMONTH=3;BYHOUR=0,1,2,3")), "is not a yearly rule"),
                           (zone(rule("FREQ=YEARLY;BYMONTHDAY=1,2,3,4,5,6,7")), "is not a yearly rule"),
                           (zone(rule("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", start="00010101T000000")),
                            "starts in the year 1"),
                           (zone(*[rule("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU")] * 101), "more than 100 STANDARD")]:
        cal = _calendar(tmp_path, event, extra=extra)
        with pytest.raises(InputError) as exc:
            import_ics(cal)
        problem = exc.value.problems[0]
        assert problem.code == "ics.invalid" and message in problem.message, (message, str(problem))
        assert problem.loc.line > 4


def test_merging_a_second_application_names_the_first_on_events_that_omitted_it(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("applications: {acme: {company: Acme}}\ncontacts: {}\n"
                    "events:\n  - {id: w, type: withdrawal, at: 2026-03-01T10:00:00Z}\n")
    cal = _calendar(tmp_path, _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview",
                                      "ATTENDEE:mailto:ann@globex.example"))
    merged = import_ics(cal, into=str(base), application="globex", company="Globex")
    assert [(e["id"], e["application"]) for e in merged.data["events"]] == [("w", "acme"),
                                                                           ("interview-2026-03-02", "globex")]


# --- the pre-filter: icalendar reads only the wrappers, the time zones and the events that may match ---

import icalendar  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engine.importers import ics as ics_module  # noqa: E402
from engine.limits import MAX_CALENDAR_CHARS, MAX_CALENDAR_COMPONENTS, MAX_CALENDAR_LINES  # noqa: E402


@pytest.fixture
def parsed_texts(monkeypatch):
    """The texts ``icalendar.Calendar.from_ical`` is given during the test."""
    seen: list[str] = []
    real = icalendar.Calendar.from_ical

    def recording(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(icalendar.Calendar, "from_ical", recording)
    return seen


def test_a_huge_calendar_of_other_events_is_never_given_to_the_parser(tmp_path, parsed_texts):
    """200,000 lines of lunches around two interviews: icalendar is given the wrapper and the two
    interviews only, and the interviews are located at their lines in the original file."""
    lunches = [_vevent("DTSTART:20260301T120000Z", "SUMMARY:Lunch\\, team", "CATEGORIES:Food,Team",
                       "ATTENDEE:mailto:bo@acme.example", *["X-FILLER:x"] * 2, uid=f"l{i}") for i in range(20_000)]
    first = _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview", "ATTENDEE:mailto:ann@acme.example", uid="a")
    second = _vevent("DTSTART:20260303T150000Z", "SUMMARY:Chat", "CATEGORIES:Lunch,Interview",
                     "ATTENDEE:mailto:cy@acme.example", uid="b")
    cal = _calendar(tmp_path, *lunches[:10_000], first, *lunches[10_000:], second)
    with open(cal, newline="") as f:
        lines = f.read().split("\r\n")
    assert len(lines) > 200_000
    imported = import_ics(cal)
    assert [len(t.splitlines()) for t in parsed_texts] == [3 + 7 + 8 + 1]
    assert [(e["at"], e["note"]) for e in imported.data["events"]] == [("2026-03-02T15:00:00Z", "Interview"),
                                                                      ("2026-03-03T15:00:00Z", "Chat")]
    attendees = {line: i + 1 for i, line in enumerate(lines) if line.startswith("ATTENDEE:mailto:")
                 and "bo@" not in line}
    assert [n.replace(cal, "cal.ics") for n in imported.notices] == [
        f"cal.ics:{attendees['ATTENDEE:mailto:ann@acme.example']}:1: note: new contact `ann` (ann, ann@acme.example)",
        "cal.ics:" + str(attendees["ATTENDEE:mailto:ann@acme.example"] - 5)
        + ":1: note: new application `acme` (from the address `ann@acme.example`); name its company with --company",
        f"cal.ics:{attendees['ATTENDEE:mailto:cy@acme.example']}:1: note: new contact `cy` (cy, cy@acme.example)"]


def test_non_matching_events_do_not_count_against_max_events(tmp_path):
    cal = _calendar(tmp_path, *[_vevent("DTSTART:20260302T150000Z", "SUMMARY:Lunch", uid=f"l{i}") for i in range(5)],
                    _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview", "ATTENDEE:mailto:a@acme.example"))
    assert len(import_ics(cal, limits=Limits(max_events=3)).data["events"]) == 1


def test_too_many_lines_to_parse_is_ics_too_large_at_the_line_that_passes_the_limit(tmp_path, parsed_texts, capsys):
    body = [f"ATTENDEE:mailto:p{i}@acme.example" for i in range(MAX_CALENDAR_LINES)]
    cal = _calendar(tmp_path, _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview", *body))
    with pytest.raises(InputError) as exc:
        import_ics(cal)
    [problem] = exc.value.problems
    assert problem.code == "ics.too-large" and f"more than {MAX_CALENDAR_LINES:,} content lines" in problem.message
    # the wrapper's 3 lines and the event's first 3 come before its attendees
    assert problem.loc.line == MAX_CALENDAR_LINES + 1 and parsed_texts == []
    assert main(["import", "ics", cal]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].endswith(problem.message) and f"cal.ics:{MAX_CALENDAR_LINES + 1}:1:" in err[0]


def test_too_many_characters_to_parse_is_ics_too_large(tmp_path, parsed_texts):
    cal = _calendar(tmp_path, _vevent("DTSTART:20260302T150000Z", "SUMMARY:Interview",
                                      "DESCRIPTION:" + "x" * MAX_CALENDAR_CHARS))
    with pytest.raises(InputError) as exc:
        import_ics(cal)
    assert [(p.code, p.loc.line) for p in exc.value.problems] == [("ics.too-large", 9)]
    assert parsed_texts == []
    # the same description in an event that does not match is never read
    with open(cal, newline="") as f:
        (tmp_path / "lunch.ics").write_text(f.read().replace("SUMMARY:Interview", "SUMMARY:Lunch"), newline="")
    assert import_ics(str(tmp_path / "lunch.ics")).data["events"] == []


def test_too_many_components_is_ics_too_large_before_anything_is_parsed(tmp_path, parsed_texts):
    """Each component costs the pre-scan some work even when it is left out: a calendar of
    millions of empty ones is refused at the one that passes the limit."""
    cal = _calendar(tmp_path, *["BEGIN:X-EMPTY\r\nEND:X-EMPTY"] * MAX_CALENDAR_COMPONENTS)
    with pytest.raises(InputError) as exc:
        import_ics(cal)
    # line 1 is the calendar (the first component), 2-3 its properties, then two lines each
    assert [(p.code, p.loc.line) for p in exc.value.problems] == [("ics.too-large",
                                                                   4 + 2 * (MAX_CALENDAR_COMPONENTS - 1))]
    assert parsed_texts == []


def _with_everything_parsed(monkeypatch, *args, **kwargs):
    """What the import gives when the pre-filter keeps every VEVENT (what it did before it existed)."""
    with monkeypatch.context() as m:
        m.setattr(ics_module._Blocks, "_may_match", lambda self, frame: True)
        try:
            got = import_ics(*args, **kwargs)
            return got.data, got.notices
        except InputError as exc:
            return [str(p) for p in exc.problems]


def _filtered(*args, **kwargs):
    try:
        got = import_ics(*args, **kwargs)
        return got.data, got.notices
    except InputError as exc:
        return [str(p) for p in exc.problems]


def test_the_shipped_example_imports_the_same_with_and_without_the_pre_filter(monkeypatch, parsed_texts):
    for kwargs in [dict(into=str(ICS / "northwind-base.yaml"), me=ME), dict(timezone="America/New_York"),
                   dict(match="(?i)dentist|job search")]:
        parsed_texts.clear()
        assert _filtered(str(ICS / "northwind.ics"), **kwargs) == _with_everything_parsed(
            monkeypatch, str(ICS / "northwind.ics"), **kwargs), kwargs
    text = (ICS / "northwind.ics").read_text()
    kept = parsed_texts[0]
    assert "SUMMARY:Dentist" in text and "SUMMARY:Dentist" in kept  # matched by the last pattern
    parsed_texts.clear()
    import_ics(str(ICS / "northwind.ics"))
    assert "BEGIN:VTIMEZONE" in parsed_texts[0] and "Dentist" not in parsed_texts[0]
    assert parsed_texts[0].count("BEGIN:VEVENT") == 3  # two interviews and the cancelled one


def test_escapes_parameters_nesting_and_odd_spellings_import_the_same_with_and_without_the_pre_filter(
        tmp_path, monkeypatch):
    """Each way of writing a SUMMARY, CATEGORIES or component that icalendar reads: the pre-filter
    keeps every event icalendar would match, and what it leaves out changes nothing."""
    events = [
        _vevent("DTSTART:20260302T150000Z", "SUMMARY:Inter\\,view", "ATTENDEE:mailto:a@acme.example", uid="1"),
        _vevent("DTSTART:20260302T160000Z", "SUMMARY;LANGUAGE=en-us:Interview", "ATTENDEE:mailto:a@acme.example",
                uid="2"),
        _vevent("DTSTART:20260302T170000Z", 'SUMMARY;X-Q="a:b":Interview', "ATTENDEE:mailto:a@acme.example", uid="3"),
        _vevent("DTSTART:20260302T180000Z", "CATEGORIES:Lunch,Inter\\,view,Interview", "SUMMARY:Chat",
                "ATTENDEE:mailto:a@acme.example", uid="4"),
        _vevent("DTSTART:20260302T190000Z", "summary:interview\\nround 2", "ATTENDEE:mailto:a@acme.example", uid="5"),
        _vevent("DTSTART:20260302T200000Z", "SUMMARY:Inter\r\n view", "ATTENDEE:mailto:a@acme.example", uid="6"),
        _vevent("DTSTART:20260302T210000Z", "SUMMARY:Lunch", "BEGIN:VALARM", "SUMMARY:Interview", "END:VALARM",
                "ATTENDEE:mailto:a@acme.example", uid="7"),
        "BEGIN:VTODO\r\nSUMMARY:Lunch\r\n" + _vevent("DTSTART:20260302T220000Z", "SUMMARY:Interview",
                                                      "ATTENDEE:mailto:a@acme.example", uid="8") + "\r\nEND:VTODO",
        _vevent("DTSTART:20260302T230000Z", "SUMMARY:Lunch", "SUMMARY:Interview",
                "ATTENDEE:mailto:a@acme.example", uid="9"),
        "BEGIN;X=1:VEVENT\r\nUID:10\r\nDTSTART:20260303T100000Z\r\nSUMMARY:Interview\r\n"
        "ATTENDEE:mailto:a@acme.example\r\nEND;X=1:VEVENT",
        _vevent("DTSTART:20260303T110000Z", "SUMMARY;VALUE=TEXT:Interview", "ATTENDEE:mailto:a@acme.example",
                uid="11"),
        _vevent("DTSTART:20260303T120000Z", "SUMMARY:Lunch", "CATEGORIES:Lunch\\;Interview",
                "ATTENDEE:mailto:a@acme.example", uid="12"),
        _vevent("DTSTART:20260303T130000Z", "SUM\r\n MARY:Interview", "ATTENDEE:mailto:a@acme.example", uid="13"),
        _vevent("DTSTART:20260303T140000Z", "S UMMARY:Interview", "ATTENDEE:mailto:a@acme.example", uid="14"),
        "BE\r\n GIN:VEVENT\r\nUID:15\r\nDTSTART:20260303T150000Z\r\nCATEGORIES:Interview\r\n"
        "ATTENDEE:mailto:a@acme.example\r\nEN\r\n\r\n D:VEVENT",
        _vevent("DTSTART:20260303T160000Z", "SUMMARY:Lunch", "BEGIN:VTIMEZONE", "TZID:Inner", "BEGIN:STANDARD",
                "DTSTART:16010101T000000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE",
                "ATTENDEE:mailto:a@acme.example", uid="16"),
    ]
    cal = _calendar(tmp_path, *events)
    for match in [DEFAULT := "(?i)interview", "view$", r"Inter,view", "Lunch", "vText", "round"]:
        assert _filtered(cal, match=match) == _with_everything_parsed(monkeypatch, cal, match=match), match
    assert len(import_ics(cal, match=DEFAULT).data["events"]) == 13


def test_a_time_zone_rule_behind_begin_with_parameters_is_still_checked(tmp_path):
    """``BEGIN;X=1:STANDARD`` is a STANDARD to icalendar; the pre-scan used to miss it, and so
    the rule in it (here one every two years) went unchecked."""
    zone = "\r\n".join(["BEGIN:VTIMEZONE", "TZID:Evil", "BEGIN;X=1:STANDARD", "DTSTART:16010101T000000",
                        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU;INTERVAL=2", "TZOFFSETFROM:-0400",
                        "TZOFFSETTO:-0500", "END:STANDARD", "END:VTIMEZONE"])
    cal = _calendar(tmp_path, _vevent("DTSTART;TZID=Evil:20260306T100000", "SUMMARY:Interview",
                                      "ATTENDEE:mailto:a@acme.example"), extra=zone)
    with pytest.raises(InputError) as exc:
        import_ics(cal)
    assert [(p.code, p.loc.line) for p in exc.value.problems] == [("ics.invalid", 8)]


_CALENDAR_CHARS = st.lists(st.sampled_from(["\r", "\n", "\r\n", " ", "\t", "A", "b", ":", ";", "é"]),
                           max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_CALENDAR_CHARS)
def test_property_the_pre_scan_reads_the_content_lines_icalendar_reads(text):
    """Unfolding and splitting: the pre-scan's content lines are exactly icalendar's, and each
    is numbered by the line (``\\r``, ``\\n`` or ``\\r\\n`` ends one) it starts on."""
    from icalendar.parser import Contentlines
    lines = list(ics_module._logical_lines(text))
    assert [line for _, line in lines] == [str(c) for c in Contentlines.from_ical(text) if c]
    editor_lines = __import__("re").split(r"\r\n|\n|\r", text)
    numbers = [number for number, _ in lines]
    assert numbers == sorted(set(numbers))
    for number, line in lines:
        first = editor_lines[number - 1]
        assert line.startswith(first) or (first[:1] in " \t" and line.startswith(first[1:]))


_VALUE = st.text(st.sampled_from(["I", "n", "t", "e", "r", "v", "i", "w", "\\", ",", ";", ":", "N", '"', " "]),
                 max_size=14)
_PARAMS = st.sampled_from(["", ";LANGUAGE=en", ';X="a:b"', ";VALUE=TEXT", ";X=a\\b", ";", ";X"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["SUMMARY", "CATEGORIES", "summary"]), _PARAMS, _VALUE), max_size=3),
       st.sampled_from(["(?i)interview", "^I", "w$", ",", ";", "\n", "\\\\", "vText", '"']))
def test_property_the_pre_filter_keeps_every_event_icalendar_matches(props, match):
    """Whatever the SUMMARY and CATEGORIES lines, escapes and parameters: if icalendar reads the
    event as matching, the pre-filter keeps it."""
    lines = [f"{name}{params}:{value}" for name, params, value in props]
    text = "\r\n".join(["BEGIN:VCALENDAR", "BEGIN:VEVENT", *lines, "END:VEVENT", "END:VCALENDAR"]) + "\r\n"
    pattern = __import__("re").compile(match)
    blocks = ics_module._Blocks("t", text, 64, pattern)
    try:
        events = ics_module._parse("t", text)
    except InputError:
        return
    if any(ics_module._matches(pattern, e) for e in events):
        assert len(blocks.events) == 1 and "BEGIN:VEVENT" in blocks.text


_FRAGMENTS = ["SUMMARY:Interview", "SUMMARY:Lunch", "SUMMARY;LANGUAGE=en-us:Interview", "CATEGORIES:a,Inter\\,view",
              "summary:interview", "SUMMARY;VALUE=TEXT:Interview", "SUMMARY:Interv\r\n iew", "S\r\n UMMARY:Interview",
              "DTSTART:20260302T150000Z", "DTSTART:20260303T150000Z", "DURATION:PT1H", "STATUS:CANCELLED", "X-A:1",
              "ATTENDEE;CN=Ann:mailto:ann@acme.example", "ATTENDEE:mailto:bo@globex.example", "BEGIN;X=1:VEVENT",
              "END;X=1:VEVENT", "B EGIN:VTODO", "END:VTODO", "BEGIN:VALARM", "END:VALARM", "BEGIN:VEVENT", "END:VEVENT"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30), st.sampled_from(["(?i)interview", "Lunch", "vText"]))
def test_property_the_pre_filter_changes_no_import(tmp_path_factory, fragments, match):
    """Whatever the components, their nesting and spelling: importing with the pre-filter gives
    what importing the whole calendar gives (the same timeline, notices, or problem codes)."""
    path = tmp_path_factory.mktemp("cal") / "c.ics"
    path.write_text("\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", *fragments, "END:VEVENT",
                                  "END:VCALENDAR"]) + "\r\n", newline="")

    def outcome(keep_all: bool):
        with pytest.MonkeyPatch.context() as m:
            if keep_all:
                m.setattr(ics_module._Blocks, "_may_match", lambda self, frame: True)
            try:
                got = import_ics(str(path), match=match, timezone="UTC")
                return got.data, got.notices
            except InputError as exc:
                return sorted({p.code for p in exc.problems})

    assert outcome(False) == outcome(True)
