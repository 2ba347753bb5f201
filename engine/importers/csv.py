"""Timelines from spreadsheets: an events sheet, one row per event, plus contacts and applications sheets.

The layout (``docs/importing.md`` documents every column): the first line of each sheet
names its columns (in any order; case and spaces do not matter: ``Ends at`` is
``ends_at``), every later line is one event, contact or application. A blank cell is a
field left out. Lists (``with``, ``to``, ``closures``) are written ``alice; bob``. A
timestamp is RFC 3339 text with a UTC offset, or a local time read in the row's
``timezone`` cell, else in ``--timezone``; it is written out with its offset, so the
timeline holds exact instants.

Cells are text and stay text: nothing is evaluated (a cell holding ``=HYPERLINK(...)``
is that text), nothing is converted but the ``round`` number and the lists. Every
problem is reported at once, located ``file:LINE:COLUMN`` (the line the row starts on
and the 1-based column of the cell). The produced timeline is validated with
:func:`engine.timeline.timeline_from_data` before it is returned; its problems are
located at the cell that caused them.
"""

from __future__ import annotations

import csv as _csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from ..duration import shown
from ..errors import MAX_PROBLEMS, InputError, Loc, Problem, did_you_mean
from ..limits import DEFAULT_LIMITS, MAX_INT_DIGITS, Limits
from ..timeline import MAX_ROUND, OutOfRange, check_instant, parse_timestamp, timeline_from_data
from ..source import dotted_path
from ._common import Imported, iso, localize, read_text, zone_name

__all__ = ["import_csv", "EVENT_COLUMNS", "CONTACT_COLUMNS", "APPLICATION_COLUMNS"]

#: the events sheet's columns, in the order fields are written out
EVENT_COLUMNS = ("id", "type", "application", "at", "timezone", "ends_at", "round", "with", "by", "from",
                 "contact", "to", "channel", "decision_by", "within", "body", "note")
CONTACT_COLUMNS = ("id", "name", "role", "timezone", "preferred_channel", "email", "phone")
APPLICATION_COLUMNS = ("id", "company", "title", "country", "subdivision", "timezone", "closures")
_REQUIRED = {"events": ("type", "at"), "contacts": ("id", "name"), "applications": ("id", "company")}
_LISTS = {"with", "to", "closures"}
_TIMESTAMPS = {"at", "ends_at"}
#: free text: kept exactly as written (other cells lose the spaces around them)
_FREE_TEXT = {"body", "note"}
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: the leading "`events[3].at`: " of a validation message; the cell says where, the column says what
_PATH_PREFIX = re.compile(r"^`(?:events\[\d+\]|contacts\..*?|applications\..*?)\.([^`]*)`: ")


@dataclass
class _Sheet:
    """One CSV file read into rows: the columns, and for each row its line and cells."""

    name: str
    kind: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def loc(self, line: int, column: str | None = None) -> Loc:
        """Where ``column`` of the row on ``line`` is (column 1 if the sheet has no such column)."""
        col = self.columns.index(column) + 1 if column in self.columns else 1  # at most 17 named columns
        return Loc(self.name, line, col)


class _Import:
    def __init__(self, limits: Limits, timezone: str | None):
        self.limits = limits
        self.problems: list[Problem] = []
        #: dotted data path -> where it was written; ``bad`` paths already have a problem
        self.where: dict[str, Loc] = {}
        self.bad: set[str] = set()
        self.zone = timezone

    def fail(self, code: str, message: str, loc: Loc, path: str = "") -> None:
        self.problems.append(Problem(code, message, loc, path=path))
        if path:
            self.bad.add(path)

    # -- reading ---------------------------------------------------------------------------------

    def read(self, path: str, kind: str, delimiter: str, max_rows: int) -> _Sheet:
        name, text = read_text(path, self.limits)
        sheet = _Sheet(name, kind)
        reader = _csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        start = 1
        try:
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not sheet.columns:
                    if not any(c.strip() for c in cells):
                        continue  # blank lines before the header
                    self.header(sheet, cells, line)
                    if not sheet.columns:
                        return sheet
                    continue
                if not any(c.strip() for c in cells):
                    continue  # a blank row (spreadsheets end with some)
                if len(sheet.rows) >= max_rows:
                    code = "timeline.too-many-events" if kind == "events" else "input.too-large"
                    self.fail(code, f"the {kind} sheet has more than {max_rows} rows; the limit is {max_rows}",
                              Loc(name, line, 1))
                    return sheet
                sheet.rows.append((line, cells))
        except _csv.Error as exc:
            message = str(exc)
            self.fail("csv.syntax", f"not valid CSV: {message[:1].lower() + message[1:]}",
                      Loc(name, reader.line_num or 1, 1))
            return sheet
        if not sheet.columns:
            self.fail("csv.header", f"the {kind} sheet is empty; its first line must name the columns, e.g. "
                      f"`{','.join(_REQUIRED[kind])}`", Loc(name, 1, 1))
        return sheet

    def header(self, sheet: _Sheet, cells: list[str], line: int) -> None:
        known = {"events": EVENT_COLUMNS, "contacts": CONTACT_COLUMNS, "applications": APPLICATION_COLUMNS}[sheet.kind]
        last = max(i for i, c in enumerate(cells) if c.strip())  # empty cells after the last name are no columns
        columns: list[str] = []
        first: dict[str, int] = {}
        before = len(self.problems)
        for i, cell in enumerate(cells[:last + 1]):
            if len(self.problems) - before >= MAX_PROBLEMS:
                break  # a hostile header: enough said
            loc = Loc(sheet.name, line, i + 1)
            name = " ".join(cell.split()).lower().replace(" ", "_")
            if "\x00" in cell:
                self.fail("csv.header", "a column name must not contain a NUL character", loc)
            elif not name:
                self.fail("csv.header", "a column has no name", loc)
            elif name not in known:
                hint = did_you_mean(name, known) or f"; the {sheet.kind} sheet's columns are: {', '.join(known)}"
                self.fail("csv.header", f"unknown column `{shown(cell.strip())}`{hint}", loc)
            elif name in first:
                self.fail("csv.header", f"column `{name}` is named twice (first in column {first[name] + 1})", loc)
            else:
                first[name] = i
            columns.append(name)
        for required in _REQUIRED[sheet.kind]:
            if required not in first:
                self.fail("csv.header", f"the {sheet.kind} sheet needs a `{required}` column", Loc(sheet.name, line, 1))
        sheet.columns = columns if len(self.problems) == before else []

    def cells(self, sheet: _Sheet, line: int, cells: list[str]) -> dict[str, tuple[str, Loc]]:
        """The row's non-blank cells by column, each with its location."""
        out: dict[str, tuple[str, Loc]] = {}
        for i, cell in enumerate(cells):
            loc = Loc(sheet.name, line, i + 1)
            if i >= len(sheet.columns) or not sheet.columns[i]:
                if cell.strip():
                    self.fail("csv.invalid", "this cell is outside the named columns", loc)
                continue
            column = sheet.columns[i]
            value = cell if column in _FREE_TEXT else cell.strip()
            if not value.strip():
                continue
            if "\x00" in value:
                self.fail("csv.invalid", f"`{column}`: text must not contain a NUL character: `{shown(value)}`", loc)
                continue
            out[column] = (value, loc)
        return out

    # -- converting ------------------------------------------------------------------------------

    def timestamp(self, text: str, zone: str | None, column: str, loc: Loc, path: str) -> str | None:
        try:
            parsed = parse_timestamp(text)
            if parsed.tzinfo is None:
                if zone == "":
                    self.bad.add(path)
                    return None
                if zone is None:
                    self.fail("csv.invalid", f"`{column}`: `{shown(text)}` has no UTC offset and the row has no "
                              "`timezone`; write an offset such as `-05:00`, fill the `timezone` column or "
                              "pass --timezone", loc, path)
                    return None
                parsed = localize(parsed, zone)
            return iso(check_instant(parsed, text).astimezone(parsed.tzinfo))
        except (OutOfRange, ValueError) as exc:
            self.fail("csv.invalid", f"`{column}`: {exc}", loc, path)
            return None

    def value(self, column: str, text: str, zone: str | None, loc: Loc, path: str) -> Any:
        """The timeline value of a cell, or None (with a problem) if it cannot be one."""
        if column in _LISTS:
            return [item.strip() for item in text.split(";") if item.strip()]
        if column in _TIMESTAMPS:
            return self.timestamp(text, zone, column, loc, path)
        if column == "decision_by" and not _DATE_ONLY.fullmatch(text):
            return self.timestamp(text, zone, column, loc, path)
        if column == "round":
            digits = text.lstrip("+")
            if digits.isascii() and digits.isdigit() and len(digits) > MAX_INT_DIGITS:
                self.fail("input.number-too-large", f"`round`: a number of {len(digits)} digits; rounds go from 1 "
                          f"to {MAX_ROUND}", loc, path)
                return None
            if not (text.isascii() and text.isdigit()):
                self.fail("csv.invalid", f"`round`: `{shown(text)}` is not a whole number from 1 to {MAX_ROUND}", loc,
                          path)
                return None
            return int(text)
        return text

    def row_zone(self, row: dict[str, tuple[str, Loc]], path: str) -> str | None:
        if "timezone" not in row:
            return self.zone
        text, loc = row["timezone"]
        try:
            return zone_name(text)
        except ValueError as exc:
            self.fail("csv.invalid", f"`timezone`: {exc}", loc, path + ".timezone")
            return ""  # the row's local times cannot be read; already reported

    def record(self, sheet: _Sheet, key: str | None, kinds: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        """The contacts or applications sheet as a mapping id -> fields."""
        out: dict[str, dict[str, Any]] = {}
        first: dict[str, int] = {}
        for line, raw in sheet.rows:
            row = self.cells(sheet, line, raw)
            if "id" not in row:
                self.fail("csv.invalid", f"`id`: every row of the {sheet.kind} sheet needs an id",
                          sheet.loc(line, "id"))
                continue
            ident, id_loc = row.pop("id")
            if ident in out:
                self.fail("csv.invalid", f"`id`: duplicate {key} id `{shown(ident)}` (first on line {first[ident]})",
                          id_loc)
                continue
            first[ident] = line
            base = dotted_path((sheet.kind, ident))
            self.where[base] = Loc(sheet.name, line, 1)
            fields: dict[str, Any] = {}
            for column in kinds:
                if column not in row:
                    self.where[f"{base}.{column}"] = sheet.loc(line, column)
                    continue
                text, loc = row[column]
                path = f"{base}.{column}"
                self.where[path] = loc
                fields[column] = self.value(column, text, None, loc, path) if column in _LISTS else text
            out[ident] = fields
        return out

    def events(self, sheet: _Sheet) -> list[dict[str, Any]]:
        out = []
        for index, (line, raw) in enumerate(sheet.rows):
            row = self.cells(sheet, line, raw)
            base = dotted_path(("events", index))
            self.where[base] = Loc(sheet.name, line, 1)
            zone = self.row_zone(row, base)
            event: dict[str, Any] = {}
            if "id" not in row:
                event["id"] = f"row{line}"
            for column in EVENT_COLUMNS:
                path = f"{base}.{column}"
                if column not in row:
                    self.where.setdefault(path, sheet.loc(line, column))
                    continue
                text, loc = row[column]
                self.where[path] = loc
                if column == "timezone":
                    continue  # used to read this row's local times, not a field of events
                value = self.value(column, text, zone, loc, path)
                if value is not None:
                    event[column] = value
                    if column in _LISTS:
                        for j in range(len(value)):
                            self.where[f"{path}[{j}]"] = loc
            out.append(event)
        return out

    # -- validation problems, located in the sheets -------------------------------------------------

    def locate(self, p: Problem) -> Problem | None:
        path = p.path
        missing = re.fullmatch(r"missing required field `([^`]*)`", p.message)
        if p.code.endswith(".missing-field") and missing and not path.endswith("." + missing.group(1)):
            path = f"{path}.{missing.group(1)}" if path else missing.group(1)
        if any(path == bad or path.startswith(bad + ".") or path.startswith(bad + "[") for bad in self.bad):
            return None  # the cell already has a problem of its own
        probe = path
        while probe and probe not in self.where:
            cut = re.sub(r"(\[\d+\]|\.[^.\[\]]*)$", "", probe)
            probe = "" if cut == probe else cut
        loc = self.where.get(probe) or self.where.get(path.split(".")[0].split("[")[0])
        code, message = p.code, _PATH_PREFIX.sub(lambda m: f"`{m.group(1)}`: ", p.message)
        if code.endswith(".unknown-field"):
            column = path.rsplit(".", 1)[-1]
            code, message = "csv.invalid", f"column `{column}` does not apply to this row's type"
        elif code.endswith(".missing-field") and missing:
            code, message = "csv.invalid", f"`{missing.group(1)}` is required for this row's type"
        elif code in ("timeline.invalid", "timeline.unknown-type"):
            code = "csv.invalid"
        return Problem(code, message, loc, path=p.path)


def import_csv(events: str, contacts: str | None = None, applications: str | None = None, *,
               timezone: str | None = None, candidate: str | None = None, delimiter: str = ",",
               limits: Limits = DEFAULT_LIMITS) -> Imported:
    """A v1 timeline from CSV sheets: ``events`` (one row per event) and, optionally, the
    ``contacts`` and ``applications`` sheets (``-`` reads standard input, for one of them).

    ``timezone`` reads local times of rows without a ``timezone`` cell and becomes the
    timeline's ``timezone``; ``candidate`` its ``candidate``. Raise :class:`InputError`
    with every problem, located ``file:line:column``.
    """
    job = _Import(limits, None)
    data: dict[str, Any] = {}
    if candidate is not None:
        data["candidate"] = candidate
    if timezone is not None:
        try:
            job.zone = zone_name(timezone)
            data["timezone"] = timezone
        except ValueError as exc:
            raise InputError(Problem("input.bad-timezone", f"--timezone: {exc}")) from None
    sheets = []
    if contacts is not None:
        sheets.append(("contacts", job.read(contacts, "contacts", delimiter, limits.max_events)))
    if applications is not None:
        sheets.append(("applications", job.read(applications, "applications", delimiter, limits.max_events)))
    event_sheet = job.read(events, "events", delimiter, limits.max_events)
    if job.problems:
        raise InputError(job.problems)
    for kind, sheet in sheets:
        columns = CONTACT_COLUMNS[1:] if kind == "contacts" else APPLICATION_COLUMNS[1:]
        data[kind] = job.record(sheet, kind[:-1], columns)
        job.where[kind] = Loc(sheet.name, 1, 1)
    data.setdefault("contacts", {})
    data.setdefault("applications", {})
    data["events"] = job.events(event_sheet)
    job.where["events"] = Loc(event_sheet.name, 1, 1)
    job.where[""] = Loc(event_sheet.name, 1, 1)
    problems = list(job.problems)
    try:
        timeline = timeline_from_data(data, max_events=limits.max_events)
    except InputError as exc:
        located = [job.locate(p) for p in exc.problems]
        problems.extend(p for p in located if p is not None)
        raise InputError(problems) from None
    if problems:
        raise InputError(problems)
    return Imported(data, timeline)
