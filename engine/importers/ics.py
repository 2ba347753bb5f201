"""Interviews from a calendar export (RFC 5545), read with the ``icalendar`` package.

Each VEVENT whose SUMMARY or one of whose CATEGORIES matches a pattern (default
:data:`DEFAULT_MATCH`, "interview" in any case) becomes an ``interview`` event:

* ``at``/``ends_at`` from DTSTART and DTEND (or DURATION), written with the UTC offset
  they have in their own zone: a TZID is resolved by ``icalendar`` (an IANA name, or the
  calendar's own VTIMEZONE, daylight-saving rules included), ``Z`` is UTC, and a
  floating time (no zone) is read in ``timezone`` (``--timezone``) or is an error;
* ``with`` from the ATTENDEEs: matched to a contact by email (case-insensitively) when
  the timeline merged into has one, else added as a new contact whose id is the
  address's local part (``nadia.hassan``) and whose name is the CN. Rooms and resources
  (``CUTYPE``), attendees who declined and the candidate's own addresses (``me``) are
  left out;
* ``application``: ``application`` when given (created, with ``company``, if new); else
  the only application of the timeline merged into; else found from the organizer's
  email domain (else the first attendee's): an application of that id, or the one whose
  contacts have addresses there, or a new one named after the domain;
* ``id``: ``interview-YYYY-MM-DD`` (the local date), made unique; ``note``: the SUMMARY.

Cancelled, recurring (RRULE) and all-day events are skipped with a notice, and so is an
event already in the timeline merged into (an interview of that application at the same
instant), so importing the same calendar twice changes nothing.
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime, timedelta
from typing import Any

from ..duration import shown
from ..errors import InputError, Loc, Problem
from ..limits import DEFAULT_LIMITS, MAX_CALENDAR_CHARS, MAX_CALENDAR_COMPONENTS, MAX_CALENDAR_LINES, Limits
from ..source import dotted_path, read_document
from ..timeline import OutOfRange, check_instant, timeline_from_data
from ._common import Imported, iso, localize, read_text, zone_name

__all__ = ["import_ics", "DEFAULT_MATCH"]

#: the default pattern SUMMARY or CATEGORIES must match
DEFAULT_MATCH = r"(?i)interview"
#: only the start of a SUMMARY or category is matched against the pattern (bounds the time a pattern takes)
_MATCHED_CHARS = 500
#: a property name written plainly, and the delimiter after it
_LINE = re.compile(r"([A-Za-z0-9-]+)([;:])")
#: what icalendar takes for a name: the text before the first ``:`` or ``;`` (a quote or a
#: backslash there makes it no name), without spaces and tabs; and what a name may be
_HEAD = re.compile(r'[^:;"\\]*')
_TOKEN = re.compile(r"[\w.-]+")
#: icalendar's folds and line ends (``icalendar.parser.content_line``)
_UNFOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
_NEWLINE = re.compile(r"\r?\n")
#: a line break, then a plain ``BEGIN:NAME`` or ``END:NAME`` line (not continued on the next),
#: or a line that may be a BEGIN, END, SUMMARY or CATEGORIES: its name's first letters, maybe with
#: spaces or a fold in them. A component that is left out needs no other line read: a line that
#: starts otherwise has a name that is none of these (icalendar takes the name from the text
#: before the first ``:`` or ``;``, without its spaces and tabs).
_PLAIN_OR_MAYBE_NEEDED = re.compile(
    r"\n(?:(BEGIN|END):([A-Za-z0-9-]+)\r?\n(?=(?:\r?\n)*(?:[^ \t\r\n]|\r(?!\n)|\Z))"
    r"|(?=[Bb][ \t]*(?:[Ee]|\r?\n)|[Ee][ \t]*(?:[Nn]|\r?\n)|[Ss][ \t]*(?:[Uu]|\r?\n)|[Cc][ \t]*(?:[Aa]|\r?\n)))")
_PLAIN_BEGIN = re.compile(r"BEGIN:([A-Za-z0-9-]+)\r?\n(?=(?:\r?\n)*(?:[^ \t\r\n]|\r(?!\n)|\Z))")
#: the name and parameters of a line: up to the first ``:`` outside quotes, not escaped
_PARAMETERS = re.compile(r'(?:[^":\\]|\\.|"[^"]*"?)*', re.S)
#: a character of a name or parameter counts this many against ``MAX_CALENDAR_CHARS``
PARAMETER_WEIGHT = 8
#: STANDARD/DAYLIGHT components a calendar may define in all (each is expanded to transitions)
MAX_OBSERVANCES = 100
#: the parts a time-zone RRULE may have, and how many values its lists may hold (a rule such as
#: ``FREQ=YEARLY;BYMONTH=3;BYDAY=2SU``, or ``BYMONTHDAY=8,...,14;BYDAY=SU``: one transition a year)
_ZONE_RULE_PARTS = frozenset({"FREQ", "BYMONTH", "BYDAY", "BYMONTHDAY", "UNTIL", "COUNT", "INTERVAL", "WKST"})
_ZONE_RULE_LISTS = {"BYMONTH": 1, "BYDAY": 1, "BYMONTHDAY": 7}


class _Reader:
    r"""The content lines of a text, split and unfolded exactly as ``icalendar`` does it: lines
    end at ``\n`` or ``\r\n``; a line starting with a space or tab continues the last one,
    across blank lines; blank lines are dropped. Each is numbered by the line it starts on,
    counting a lone ``\r`` as a line end too, as editors do."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0  # where the next physical line starts
        self._at, self._number = 0, 1  # a position, and the number of its line

    def line_number(self, pos: int) -> int:
        """The number of the line at ``pos`` (never before the last position asked about)."""
        t, at = self.text, self._at
        self._number += t.count("\n", at, pos) + t.count("\r", at, pos) - t.count("\r\n", at, pos)
        self._at = pos
        return self._number

    def next_line(self) -> tuple[int, str, int] | None:
        """``(line number, content line, where it starts)``; None at the end."""
        t, n = self.text, len(self.text)
        while True:
            pos = begin = start = self.pos
            first: str | None = None  # the line's first physical line
            folded = False
            while pos < n:
                end = t.find("\n", pos)
                if end < 0:
                    end = n
                stop = end - 1 if pos < end < n and t[end - 1] == "\r" else end
                if stop > pos:
                    if t[pos] in " \t" and pos > 0:
                        if first is None:  # after nothing but blank lines at the start of the text
                            first, start = "", pos
                        folded = True
                    elif first is not None:
                        break
                    else:
                        first, start, begin = t[pos:stop], pos, pos
                pos = end + 1
            self.pos = pos
            if first is None:
                return None
            line = first
            if folded:  # unfolded as icalendar does it (a lone \r before a fold may end the line there)
                lines = [part for part in _NEWLINE.split(_UNFOLD.sub("", t[begin:min(pos, n)])) if part]
                line = lines[0] if lines else ""
            if line:
                return self.line_number(start), line, start

    def rewind(self, pos: int, number: int) -> None:
        self.pos, self._at, self._number = pos, pos, number


def _logical_lines(text: str):
    r"""``(line number, content line)`` for each content line of ``text`` (see :class:`_Reader`)."""
    reader = _Reader(text)
    while (got := reader.next_line()) is not None:
        yield got[0], got[1]


class _Frame:
    """An open component: its kind, where it starts, its properties' first lines, and for a
    VEVENT the raw SUMMARY and CATEGORIES values the pre-filter matches."""

    __slots__ = ("kind", "props", "summaries", "categories", "unsure")

    def __init__(self, kind: str, props: dict[str, int]):
        self.kind = kind
        self.props = props
        self.summaries: list[str] = []
        self.categories: list[str] = []
        self.unsure = False


class _Unit:
    """A component outside the VCALENDAR wrappers and time zones (a VEVENT, a VTODO...). It is
    first read only for its structure and its SUMMARY/CATEGORIES lines; if it (or a component in
    it) is a VEVENT that may match, or a VTIMEZONE, it is read again from its BEGIN, in full,
    and handed to ``icalendar``; else it is left out."""

    __slots__ = ("root", "start", "number", "observances", "keep")

    def __init__(self, root: int, start: int, number: int, observances: int):
        self.root, self.start, self.number, self.observances = root, start, number, observances
        self.keep = False


class _TooLarge(Exception):
    pass


class _Blocks:
    """One pass over the content lines before ``icalendar`` reads any of them:

    * the pre-filter: ``text`` is what ``icalendar`` is given: the VCALENDAR wrappers with
      their properties, the VTIMEZONEs, and the components holding a VEVENT whose SUMMARY or
      CATEGORIES may match ``pattern`` (the rule of :func:`_matches`, on the raw values with
      their escapes undone as ``icalendar`` undoes them); everything else is left out, so a
      calendar of thousands of other events costs one scan. What is kept is bounded
      (:data:`~engine.limits.MAX_CALENDAR_LINES`, :data:`~engine.limits.MAX_CALENDAR_CHARS`:
      ``ics.too-large``);
    * where each kept VEVENT and its properties start (icalendar keeps no positions):
      ``events``, in the order ``icalendar`` walks them;
    * the nesting depth, and time-zone rules that would make ``icalendar`` expand
      transitions without end (``FREQ=SECONDLY``, every hour of every day...).

    Components are recognised as ``icalendar`` recognises them (``BEGIN;X=1:VEVENT`` and
    ``begin :vevent`` included), so nothing hides from these checks."""

    def __init__(self, name: str, text: str, max_depth: int, pattern: re.Pattern[str] | None = None,
                 max_lines: int = MAX_CALENDAR_LINES, max_chars: int = MAX_CALENDAR_CHARS):
        from icalendar.parser import split_on_unescaped_comma, unescape_backslash
        self._unescape, self._split = unescape_backslash, split_on_unescaped_comma
        self.name = name
        self.pattern = pattern
        self.max_lines, self.max_chars = max_lines, max_chars
        self.events: list[tuple[int, dict[str, int]]] = []
        self.problems: list[Problem] = []
        self.kept: list[str] = []
        self.used = 0  # content lines icalendar reads: the kept ones, and those the scan has it parse
        self.chars = 0
        try:
            self._scan(text, max_depth)
        except _TooLarge:
            pass
        self.text = "\r\n".join(self.kept) + "\r\n" if self.kept else ""

    def _scan(self, text: str, max_depth: int) -> None:
        reader = _Reader(text)
        stack: list[_Frame] = []
        unit: _Unit | None = None  # the component being read for its structure only
        whole: int | None = None  # the depth of the VTIMEZONE being kept whole
        kept_until = -1  # a unit read again in full ends here
        observances = components = 0
        while True:
            if unit is not None:  # read for its structure only: jump to the next line that may matter
                match = _PLAIN_OR_MAYBE_NEEDED.search(text, reader.pos - 1) if 0 < reader.pos < len(text) else None
                reader.pos = match.end() if match else len(text)
                if match and match.group(1):  # a plain `BEGIN:NAME` or `END:NAME`, no need to read it again
                    kind = match.group(2).upper()
                    if match.group(1) == "END":
                        frame = stack.pop()
                        if not unit.keep and frame.kind == "VEVENT" and self._may_match(frame):
                            unit.keep = True
                        if len(stack) == unit.root:
                            if unit.keep:  # read it again, in full
                                kept_until, observances = reader.pos, unit.observances
                                reader.rewind(unit.start, unit.number)
                            unit = None
                        continue
                    components += 1
                    if len(stack) + 1 > max_depth or components > MAX_CALENDAR_COMPONENTS or (
                            kind in ("STANDARD", "DAYLIGHT") and observances + 1 > MAX_OBSERVANCES):
                        components -= 1
                        reader.pos = match.start() + 1  # read it in full, for the problem
                    else:
                        if kind in ("STANDARD", "DAYLIGHT"):
                            observances += 1
                        elif kind == "VTIMEZONE":
                            unit.keep = True
                        stack.append(_Frame(kind, {}))
                        continue
            elif whole is None and reader.pos >= kept_until:  # a plain BEGIN of a component left out, maybe
                match = _PLAIN_BEGIN.match(text, reader.pos)
                if match and match.group(1).upper() not in ("VCALENDAR", "VTIMEZONE", "STANDARD", "DAYLIGHT") \
                        and len(stack) < max_depth and components < MAX_CALENDAR_COMPONENTS:
                    components += 1
                    start = reader.pos
                    unit = _Unit(len(stack), start, reader.line_number(start), observances)
                    stack.append(_Frame(match.group(1).upper(), {}))
                    reader.pos = match.end()
                    continue
            got = reader.next_line()
            if got is None:
                if unit is None:
                    return
                for frame in stack[unit.root:]:  # not closed: icalendar drops it, but reads it
                    if frame.kind == "VEVENT" and self._may_match(frame):
                        unit.keep = True
                if not unit.keep:
                    return
                del stack[unit.root:]
                kept_until, observances = len(text) + 1, unit.observances
                reader.rewind(unit.start, unit.number)
                unit = None
                continue
            number, line, start = got
            name, delim, rest = self._name(number, line)
            if name == "BEGIN" or name == "END":
                kind = self._component(number, line, delim, rest)
                if kind is None:
                    name = ""  # a line icalendar cannot read: neither BEGIN nor END
            if name == "BEGIN":
                components += 1
                if components > MAX_CALENDAR_COMPONENTS:
                    self.problems.append(Problem("ics.too-large", f"the calendar has more than "
                                                 f"{MAX_CALENDAR_COMPONENTS:,} components", Loc(self.name, number, 1)))
                    return
                if len(stack) + 1 > max_depth:
                    self.problems.append(Problem("input.too-deep", f"components are nested deeper than {max_depth} "
                                                 "levels", Loc(self.name, number, 1)))
                    return
                if kind in ("STANDARD", "DAYLIGHT"):
                    observances += 1
                    if observances > MAX_OBSERVANCES:
                        self.problems.append(Problem("ics.invalid", f"the calendar's time zones have more than "
                                                     f"{MAX_OBSERVANCES} STANDARD/DAYLIGHT rules",
                                                     Loc(self.name, number, 1)))
                        return
                if unit is None and whole is None and start >= kept_until:
                    if kind == "VTIMEZONE":
                        whole = len(stack)
                    elif kind != "VCALENDAR":
                        unit = _Unit(len(stack), start, number, observances - (kind in ("STANDARD", "DAYLIGHT")))
                elif unit is not None and kind == "VTIMEZONE":
                    unit.keep = True
                frame = _Frame(kind, {})
                stack.append(frame)
                if unit is None:
                    if kind == "VEVENT":
                        self.events.append((number, frame.props))
                    self._emit(number, line, delim, rest)
                continue
            if name == "END" and stack:
                frame = stack.pop()
                if unit is None:
                    self._emit(number, line, delim, rest)
                    if whole is not None and len(stack) == whole:
                        whole = None
                    continue
                if not unit.keep and frame.kind == "VEVENT" and self._may_match(frame):
                    unit.keep = True
                if len(stack) == unit.root:
                    if unit.keep:  # read it again, in full
                        kept_until, observances = reader.pos, unit.observances
                        reader.rewind(unit.start, unit.number)
                    unit = None
                continue
            if unit is not None:
                if stack and (name == "SUMMARY" or name == "CATEGORIES") and stack[-1].kind == "VEVENT":
                    self._record(stack[-1], name, line, delim, rest)
                continue
            if stack and name:
                frame = stack[-1]
                frame.props.setdefault(name, number)
                if frame.kind in ("STANDARD", "DAYLIGHT"):
                    self.observance(name, line, number)
            self._emit(number, line, delim, rest)

    def _name(self, number: int, line: str) -> tuple[str, str, int]:
        """The property name ``icalendar`` reads (upper case; ``""`` for a line it cannot read),
        the delimiter after it (``:`` or ``;``) and where the rest of the line starts."""
        match = _LINE.match(line)
        if match:
            return match.group(1).upper(), match.group(2), match.end()
        head = _HEAD.match(line).group()
        delim = line[len(head):len(head) + 1]
        if delim not in (":", ";"):
            return "", "", 0
        name = re.sub(r"[ \t]+", "", head.strip())
        if not _TOKEN.fullmatch(name):
            return "", "", 0
        return name.upper(), delim, len(head) + 1

    def _component(self, number: int, line: str, delim: str, rest: int) -> str | None:
        """The component a BEGIN or END line names, as ``icalendar`` reads it; None if it cannot."""
        if delim == ":":
            return self._unescape(line[rest:]).upper()
        self._use(number, 1, self._cost(line, delim, rest))  # parameters on BEGIN/END: icalendar decides
        from icalendar.parser import Contentline
        try:
            return Contentline(line).parts()[2].upper()
        except ValueError:
            return None

    def _record(self, frame: _Frame, name: str, line: str, delim: str, rest: int) -> None:
        """Keep the raw value of a SUMMARY or CATEGORIES line; a line whose reading is not
        plain (a VALUE or quoted parameter, an escape before the value) makes the event kept."""
        if delim == ":":
            value = line[rest:]
        else:
            colon = line.find(":", rest)
            prefix = line[:colon] if colon >= 0 else line
            if colon < 0 or '"' in prefix or "\\" in prefix or "VALUE" in prefix.upper():
                frame.unsure = True
                return
            value = line[colon + 1:]
        (frame.summaries if name == "SUMMARY" else frame.categories).append(value)

    def _may_match(self, frame: _Frame) -> bool:
        """Whether ``icalendar`` may read this VEVENT as matching (never False when it would)."""
        if self.pattern is None or frame.unsure or len(frame.summaries) > 1:
            return True
        texts = [self._unescape(v) for v in frame.summaries]
        for value in frame.categories:
            texts.extend(self._split(value))
        return any(self.pattern.search(t[:_MATCHED_CHARS]) for t in texts)

    def _emit(self, number: int, line: str, delim: str, rest: int) -> None:
        self._use(number, 1, self._cost(line, delim, rest))
        self.kept.append(line)

    @staticmethod
    def _cost(line: str, delim: str, rest: int) -> int:
        """The characters of a line, its name and parameters counted :data:`PARAMETER_WEIGHT`
        times: icalendar reads a value about 0.35 microseconds a character, parameters about 3."""
        if delim == ":":
            head = rest
        else:
            head = _PARAMETERS.match(line, rest if delim == ";" else 0).end()
        return len(line) + (PARAMETER_WEIGHT - 1) * head

    def _use(self, number: int, lines: int, chars: int) -> None:
        """Count what icalendar will read; ``ics.too-large`` at the line that passes a limit."""
        self.used += lines
        self.chars += chars
        if self.used > self.max_lines:
            what = f"more than {self.max_lines:,} content lines"
        elif self.chars > self.max_chars:
            what = f"more than {self.max_chars:,} characters (those of parameters counting {PARAMETER_WEIGHT} times)"
        else:
            return
        self.problems.append(Problem("ics.too-large", f"the events that match and the time zones have {what} "
                                     "to parse; narrow --match or export fewer events",
                                     Loc(self.name, number, 1)))
        raise _TooLarge

    def observance(self, prop: str, line: str, number: int) -> None:
        """Refuse a time-zone rule real calendars never write and that would take unbounded time."""
        loc = Loc(self.name, number, 1)
        value = line.split(":", 1)[1] if ":" in line else ""
        if prop == "RRULE":
            parts = dict(p.split("=", 1) if "=" in p else (p, "") for p in value.upper().split(";") if p)
            freq = parts.get("FREQ", "")
            bad = sorted(set(parts) - _ZONE_RULE_PARTS)
            many_days = len(parts.get("BYMONTHDAY", "").split(",")) > 1 and "BYDAY" not in parts
            if freq != "YEARLY" or bad or many_days or parts.get("INTERVAL", "1") != "1" or any(
                    len(parts.get(k, "").split(",")) > limit for k, limit in _ZONE_RULE_LISTS.items()):
                self.problems.append(Problem("ics.invalid", f"a time-zone rule `RRULE:{shown(value, 60)}` is not a "
                                             "yearly rule such as `FREQ=YEARLY;BYMONTH=3;BYDAY=2SU`", loc))
        elif prop == "RDATE" and value.count(",") >= MAX_OBSERVANCES:
            self.problems.append(Problem("ics.invalid", f"a time-zone rule lists more than {MAX_OBSERVANCES} dates",
                                         loc))
        elif prop == "DTSTART":
            year = value.strip()[:4]
            if year.isdigit() and int(year) < 1600:
                self.problems.append(Problem("ics.invalid", f"a time-zone rule starts in the year {int(year)}; "
                                             "rules start in 1600 or later", loc))

    def loc(self, index: int, prop: str | None = None) -> Loc:
        if index >= len(self.events):
            return Loc(self.name, 1, 1)
        start, props = self.events[index]
        return Loc(self.name, props.get(prop, start) if prop else start, 1)


def _lower(message: str) -> str:
    return message[:1].lower() + message[1:]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _categories(value: Any) -> list[str]:
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        cats = getattr(item, "cats", None)
        if cats is not None:
            out.extend(str(c) for c in cats)
        elif item is not None:
            out.append(str(item))
    return out


def _address(value: Any) -> str | None:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
        return text if "@" in text else None
    return None


#: second-level names under a country's domain that are not the organisation (acme.co.uk, acme.com.au)
_SECOND_LEVEL = frozenset({"co", "com", "ac", "org", "net", "gov", "edu", "ltd", "plc", "ne", "or"})


def _domain_label(domain: str) -> str:
    """The organisation's part of an email domain: ``mail.acme.com`` and ``acme.co.uk`` give ``acme``."""
    labels = [p for p in domain.lower().split(".") if p]
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else (labels[0] if labels else "employer")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    return slug or "contact"


class _Merge:
    def __init__(self, data: dict[str, Any], blocks: _Blocks, me: set[str], timezone: str | None,
                 application: str | None, company: str | None, into_named: bool):
        self.data = data
        self.blocks = blocks
        self.me = me
        self.zone = timezone
        self.application = application
        self.company = company
        self.into_named = into_named
        self.problems: list[Problem] = []
        self.notices: list[str] = []
        self.where: dict[str, Loc] = {}
        self.by_email = {str(c.get("email")).lower(): cid for cid, c in data["contacts"].items()
                         if isinstance(c, dict) and isinstance(c.get("email"), str)}
        self.ids = {e.get("id") for e in data["events"] if isinstance(e, dict)}

    def fail(self, code: str, message: str, loc: Loc) -> None:
        self.problems.append(Problem(code, message, loc))

    def instant(self, prop: Any, name: str, index: int) -> datetime | None | bool:
        """An aware datetime from DTSTART/DTEND; ``False`` for a date (all day); None with a problem."""
        loc = self.blocks.loc(index, name)
        if isinstance(prop, list):
            self.fail("ics.invalid", f"`{name}` is given {len(prop)} times", loc)
            return None
        try:
            value = getattr(prop, "dt", None)
        except Exception as exc:  # noqa: BLE001 - icalendar raises on a property it could not parse
            self.fail("ics.invalid", f"`{name}` cannot be read: {_lower(shown(' '.join(str(exc).split()), 160))}", loc)
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
                if tzid:
                    self.fail("ics.invalid", f"`{name}`: unknown time zone `{shown(str(tzid))}` (neither an IANA "
                              "name nor defined by a VTIMEZONE of the calendar)", loc)
                    return None
                if self.zone is None:
                    self.fail("ics.floating-time", f"`{name}` is a floating local time (no zone); pass --timezone to "
                              "say where it is", loc)
                    return None
                try:
                    value = localize(value, self.zone)
                except ValueError as exc:
                    self.fail("ics.invalid", f"`{name}`: {exc}", loc)
                    return None
            try:
                check_instant(value, value.isoformat())
                value.utcoffset()
            except (OutOfRange, ValueError, OverflowError) as exc:
                self.fail("ics.invalid", f"`{name}`: {exc}", loc)
                return None
            return value
        if isinstance(value, date):
            return False
        self.fail("ics.invalid", f"`{name}` is not a date-time", loc)
        return None

    def contact(self, attendee: Any, index: int) -> str | None:
        params = getattr(attendee, "params", {}) or {}
        if str(params.get("CUTYPE", "INDIVIDUAL")).upper() in ("ROOM", "RESOURCE"):
            return None
        email = _address(attendee)
        if email is None:
            self.notices.append(f"{self.blocks.loc(index, 'ATTENDEE')}: note: left out an attendee without an "
                                f"email address: `{shown(str(attendee))}`")
            return None
        key = email.lower()
        if key in self.me:
            return None
        if str(params.get("PARTSTAT", "")).upper() == "DECLINED":
            self.notices.append(f"{self.blocks.loc(index, 'ATTENDEE')}: note: left out `{shown(email)}`, who "
                                "declined")
            return None
        if key in self.by_email:
            return self.by_email[key]
        base = _slug(email.split("@", 1)[0])
        ident, n = base, 1
        while ident in self.data["contacts"]:
            n += 1
            ident = f"{base}-{n}"
        name = str(params.get("CN") or email.split("@", 1)[0]).strip() or email
        self.data["contacts"][ident] = {"name": name, "email": email}
        self.by_email[key] = ident
        self.where[dotted_path(("contacts", ident))] = self.blocks.loc(index, "ATTENDEE")
        self.notices.append(f"{self.blocks.loc(index, 'ATTENDEE')}: note: new contact `{ident}` ({shown(name)}, "
                            f"{shown(email)})")
        return ident

    def application_for(self, event: Any, index: int) -> str | None:
        apps = self.data["applications"]
        if self.application:
            if self.application not in apps:
                apps[self.application] = {"company": self.company or self.application}
            return self.application
        if self.into_named and len(apps) == 1:
            return next(iter(apps))
        organizer = event.get("ORGANIZER")
        addresses = [a for a in [_address(organizer)] if a] if organizer is not None else []
        attendees = event.get("ATTENDEE")
        for a in attendees if isinstance(attendees, list) else [attendees] if attendees is not None else []:
            address = _address(a)
            if address and address.lower() not in self.me:
                addresses.append(address)
        addresses = [a for a in addresses if a.lower() not in self.me]
        if not addresses:
            if len(apps) == 1:
                return next(iter(apps))
            self.fail("ics.no-application", "cannot tell which application this interview is for (no organizer or "
                      "attendee address); pass --application", self.blocks.loc(index))
            return None
        domain = addresses[0].rsplit("@", 1)[1].lower()
        label = _slug(_domain_label(domain))
        if label in apps:
            return label
        found = {e.get("application") for e in self.data["events"] if isinstance(e, dict)
                 and any(self._email_of(c).endswith("@" + domain) for c in _parties(e))}
        found.discard(None)
        if len(found) == 1:
            return found.pop()
        apps[label] = {"company": self.company or label}
        self.where[dotted_path(("applications", label))] = self.blocks.loc(index, "ORGANIZER")
        self.notices.append(f"{self.blocks.loc(index)}: note: new application `{label}` (from the address "
                            f"`{shown(addresses[0])}`); name its company with --company")
        return label

    def _email_of(self, contact: str) -> str:
        person = self.data["contacts"].get(contact)
        return str(person.get("email", "")).lower() if isinstance(person, dict) else ""

    def add(self, event: Any, index: int) -> None:
        loc = self.blocks.loc(index)
        if _text(event.get("STATUS")).upper() == "CANCELLED":
            self.notices.append(f"{loc}: note: skipped a cancelled event")
            return
        if event.get("RRULE") is not None:
            self.notices.append(f"{loc}: note: skipped a recurring event (RRULE); recurrences are not expanded")
            return
        errors = getattr(event, "errors", []) or []
        for prop, message in errors:
            self.fail("ics.invalid", f"`{shown(str(prop))}` cannot be read: {_lower(shown(str(message), 120))}",
                      self.blocks.loc(index, str(prop)))
        if errors:
            return
        start_prop = event.get("DTSTART")
        if start_prop is None:
            self.fail("ics.invalid", "the event has no `DTSTART`", loc)
            return
        start = self.instant(start_prop, "DTSTART", index)
        if start is False:
            self.notices.append(f"{loc}: note: skipped an all-day event (no time of day)")
            return
        if start is None:
            return
        end = None
        if event.get("DTEND") is not None:
            end = self.instant(event.get("DTEND"), "DTEND", index)
            if end is None:
                return
            end = end or None
        elif event.get("DURATION") is not None:
            try:
                duration = getattr(event.get("DURATION"), "dt", None)
            except Exception:  # noqa: BLE001 - a DURATION icalendar could not parse
                duration = None
            if not isinstance(duration, timedelta):
                self.fail("ics.invalid", "`DURATION` is not a duration", self.blocks.loc(index, "DURATION"))
                return
            end = start + duration
        if end is not None and end < start:
            self.fail("ics.invalid", "the event ends before it starts", self.blocks.loc(index, "DTEND"))
            return
        attendees = event.get("ATTENDEE")
        people: dict[str, None] = {}  # ordered, and a set: an event may list thousands of attendees
        for attendee in attendees if isinstance(attendees, list) else [attendees] if attendees is not None else []:
            ident = self.contact(attendee, index)
            if ident is not None:
                people[ident] = None
        app = self.application_for(event, index)
        if app is None:
            return
        for existing in self.data["events"]:
            if (isinstance(existing, dict) and existing.get("type") == "interview"
                    and existing.get("application", app) == app and self._same_instant(existing.get("at"), start)):
                self.notices.append(f"{loc}: note: skipped, already in the timeline as `{shown(str(existing['id']))}`")
                return
        base = f"interview-{start.date().isoformat()}"
        ident, n = base, 1
        while ident in self.ids:
            n += 1
            ident = f"{base}-{n}"
        self.ids.add(ident)
        out: dict[str, Any] = {"id": ident, "type": "interview", "application": app, "at": iso(start)}
        if end is not None:
            out["ends_at"] = iso(end)
        out["with"] = list(people)
        summary = _text(event.get("SUMMARY")).strip()
        if summary:
            out["note"] = summary
        position = len(self.data["events"])
        base_path = dotted_path(("events", position))
        self.where[base_path] = loc
        self.where[base_path + ".at"] = self.blocks.loc(index, "DTSTART")
        self.where[base_path + ".ends_at"] = self.blocks.loc(index, "DTEND" if event.get("DTEND") else "DURATION")
        self.where[base_path + ".with"] = self.blocks.loc(index, "ATTENDEE")
        self.where[base_path + ".note"] = self.blocks.loc(index, "SUMMARY")
        self.data["events"].append(out)

    def _same_instant(self, text: Any, instant: datetime) -> bool:
        from ..timeline import parse_timestamp
        if not isinstance(text, str):
            return False
        try:
            parsed = parse_timestamp(text)
            if parsed.tzinfo is None:
                zone = self.data.get("timezone")
                if not isinstance(zone, str):
                    return False
                parsed = localize(parsed, zone)
            return parsed == instant
        except ValueError:
            return False


def _parties(event: dict) -> list[str]:
    out: list[str] = []
    for key in ("with", "to", "by", "from", "contact"):
        value = event.get(key)
        out.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return out


def import_ics(calendar: str, *, into: str | None = None, match: str = DEFAULT_MATCH,
               timezone: str | None = None, application: str | None = None, company: str | None = None,
               me: tuple[str, ...] = (), candidate: str | None = None,
               limits: Limits = DEFAULT_LIMITS) -> Imported:
    """A v1 timeline with the interviews of ``calendar`` (an ``.ics`` file; ``-``: stdin).

    ``into``: a timeline file to merge them into (its contacts are matched by email);
    ``match``: the pattern SUMMARY or CATEGORIES must match; ``timezone``: where floating
    times are (and, for a new timeline, its ``timezone``); ``application``/``company``:
    the application the interviews belong to; ``me``: the candidate's own addresses.
    Raise :class:`InputError` with every problem, located ``file:line:1``.
    """
    try:
        pattern = re.compile(match)
    except (re.error, RecursionError, OverflowError) as exc:
        raise InputError(Problem("input.bad-pattern", f"--match: `{shown(match)}` is not a regular expression: "
                                 f"{exc}")) from None
    zone = None
    if timezone is not None:
        try:
            zone = zone_name(timezone)
        except ValueError as exc:
            raise InputError(Problem("input.bad-timezone", f"--timezone: {exc}")) from None
    if into is not None:
        doc = read_document(into, limits=limits)
        timeline_from_data(doc.data, doc, max_events=limits.max_events)  # the file itself must be valid
        data = copy.deepcopy(doc.data)
        apps = data.get("applications") or {}
        if len(apps) == 1:  # its events may omit `application`; say it, in case the import adds another
            only = next(iter(apps))
            for event in data.get("events") or []:
                if isinstance(event, dict) and "application" not in event:
                    event["application"] = only
    else:
        data = {}
        if candidate is not None:
            data["candidate"] = candidate
        if zone is not None:
            data["timezone"] = zone
    data.setdefault("contacts", {})
    data.setdefault("applications", {})
    data.setdefault("events", [])
    name, text = read_text(calendar, limits)
    blocks = _Blocks(name, text, limits.max_depth, pattern)
    if blocks.problems:
        raise InputError(blocks.problems)
    if len(blocks.events) > limits.max_events:
        raise InputError(Problem("timeline.too-many-events", f"the calendar has {len(blocks.events)} matching "
                                 f"events; the limit is {limits.max_events}", blocks.loc(limits.max_events)))
    events = _parse(name, blocks.text)
    merge = _Merge(data, blocks, {m.lower() for m in me}, zone, application, company, into is not None)
    for index, event in enumerate(events):
        if _matches(pattern, event):
            merge.add(event, index)
    if merge.problems:
        raise InputError(merge.problems)
    try:
        timeline = timeline_from_data(data, max_events=limits.max_events)
    except InputError as exc:
        raise InputError([_locate(p, merge.where, into or name) for p in exc.problems]) from None
    return Imported(data, timeline, merge.notices)


def _matches(pattern: re.Pattern[str], event: Any) -> bool:
    """Whether the SUMMARY or one of the CATEGORIES of a parsed VEVENT matches (their first
    500 characters)."""
    summary = _text(event.get("SUMMARY"))[:_MATCHED_CHARS]
    return bool(pattern.search(summary)) or any(pattern.search(c[:_MATCHED_CHARS])
                                                 for c in _categories(event.get("CATEGORIES")))


def _parse(name: str, text: str) -> list[Any]:
    import icalendar
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
        return [e for cal in calendars for e in cal.walk("VEVENT")]
    except Exception as exc:  # noqa: BLE001 - whatever the parser raises, the file is not a calendar it can read
        message = " ".join(str(exc).split())
        raise InputError(Problem("ics.syntax", f"not an iCalendar file the parser can read: "
                                 f"{shown(message[:1].lower() + message[1:], 120)}", Loc(name, 1, 1))) from None


def _locate(p: Problem, where: dict[str, Loc], fallback: str) -> Problem:
    probe = p.path
    while probe and probe not in where:
        cut = re.sub(r"(\[\d+\]|\.[^.\[\]]*)$", "", probe)
        probe = "" if cut == probe else cut
    return Problem(p.code, p.message, where.get(probe, Loc(fallback)), path=p.path)
