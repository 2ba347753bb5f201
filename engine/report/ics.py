"""The agenda as an iCalendar file (RFC 5545), written with the ``icalendar`` package.

Every agenda item is one calendar entry. Those that have a time -- the open obligations
(``due``, ``overdue``) and the inquiry windows -- are VEVENTs. A prohibition (``no further
contact with ...``) has no time: it is a VTODO (a task, which calendar programs list beside
the calendar) that starts at the as-of instant and has no due date, so it stays on the
list as long as that agenda is the current one.

* ``DTSTART`` is the item's due time, or for an inquiry window the instant it opens; an
  overdue item, still owed, starts at the as-of instant. Times are written in UTC
  (``...Z``), which every calendar program shows in its own zone. ``DURATION`` is 15
  minutes, so the entry is visible in day views.
* ``DTSTAMP`` is the agenda's as-of instant, never the clock: the same timeline, policy
  and as-of give the same bytes.
* ``UID`` is a hash of the timeline (its candidate and the application's company) and of
  the item (application, rule, contact, and the due time for an obligation; an inquiry
  window keeps its UID as it moves), so importing a newer agenda updates the entries
  instead of duplicating them.
* A ``VALARM`` reminds: an hour before a deadline, and at the start of an inquiry window
  or an overdue item.
* Text comes from timelines and is hostile: control and invisible format characters are
  shown escaped (:func:`engine.report.escape.escape_text`), and ``icalendar`` escapes
  ``,`` ``;`` ``\\`` and folds lines at 75 octets.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

from ..decide import Agenda, AgendaItem
from ..timeline import Timeline
from .escape import escape_text

__all__ = ["render_agenda_ics", "calendar_items", "prohibitions", "PRODID"]

PRODID = "-//followup//agenda//EN"
UTC = timezone.utc
#: how long each entry lasts in a calendar view
ENTRY_LENGTH = timedelta(minutes=15)
#: how long before a deadline its reminder goes off
DEADLINE_REMINDER = timedelta(hours=1)


def calendar_items(result: Agenda) -> list[AgendaItem]:
    """The items that become calendar entries: all those with a time (not the prohibitions)."""
    return [item for item in result.items if item.due is not None and item.kind != "prohibition"]


def prohibitions(result: Agenda) -> list[AgendaItem]:
    """The items that become tasks (VTODO): the prohibitions, which have no time."""
    return [item for item in result.items if item.due is None or item.kind == "prohibition"]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _clean(text: str) -> str:
    return escape_text(text)


def _uid(timeline: Timeline, item: AgendaItem, seen: set[str]) -> str:
    application = timeline.applications.get(item.application)
    key = [timeline.candidate or "", item.application, application.company if application else "",
           "window" if item.kind == "inquiry-window" else "obligation", item.rule, item.contact or "",
           "" if item.kind == "inquiry-window" else item.due]
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    uid, n = f"{digest}@followup", 1
    while uid in seen:  # two items alike in every part of the key: still one entry each
        n += 1
        uid = f"{digest}-{n}@followup"
    seen.add(uid)
    return uid


def _summary(timeline: Timeline, item: AgendaItem) -> str:
    application = timeline.applications.get(item.application)
    company = application.company if application else item.application
    whom = timeline.contact_name(item.contact) if item.contact else company
    if item.kind == "inquiry-window":
        return f"status inquiry allowed: {whom} ({company})"
    if item.kind == "prohibition" or item.due is None:
        return f"do not: {item.rule} - {whom} ({company})"
    what = "late" if item.kind == "overdue" else "due"
    return f"{what}: {item.rule} - {whom} ({company})"


def render_agenda_ics(result: Agenda, timeline: Timeline) -> str:
    """``result`` as an iCalendar document (CRLF line ends, as RFC 5545 writes them)."""
    from icalendar import Alarm, Calendar, Event, Todo

    as_of = _instant(result.as_of)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _clean(f"followup agenda: {timeline.candidate or 'the candidate'}"))
    seen: set[str] = set()
    for item in calendar_items(result):
        due = _instant(item.due)  # type: ignore[arg-type]
        start = max(due, as_of) if item.kind == "overdue" else due
        summary = _clean(_summary(timeline, item))
        event = Event()
        event.add("uid", _uid(timeline, item, seen))
        event.add("dtstamp", as_of)
        event.add("dtstart", start)
        event.add("duration", ENTRY_LENGTH)
        event.add("summary", summary)
        event.add("description", _clean(f"{item.message} (policy {result.policy}, rule {item.rule}; "
                                        f"agenda as of {result.as_of})"))
        event.add("categories", ["followup", item.kind])
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        # before a deadline: relative to the start; otherwise at the start itself, written as a UTC
        # date-time (a zero duration reads ``P0D``, which not every program takes)
        if item.kind == "due":
            alarm.add("trigger", -DEADLINE_REMINDER)
        else:
            alarm.add("trigger", start, parameters={"VALUE": "DATE-TIME"})
        event.add_component(alarm)
        cal.add_component(event)
    for item in prohibitions(result):
        todo = Todo()
        todo.add("uid", _uid(timeline, item, seen))
        todo.add("dtstamp", as_of)
        todo.add("dtstart", as_of)
        todo.add("summary", _clean(_summary(timeline, item)))
        todo.add("description", _clean(f"{item.message} (policy {result.policy}, rule {item.rule}; "
                                       f"agenda as of {result.as_of})"))
        todo.add("categories", ["followup", item.kind])
        todo.add("status", "NEEDS-ACTION")
        cal.add_component(todo)
    return cal.to_ical().decode("utf-8")
