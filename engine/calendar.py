"""Business calendars: weekends, public holidays and listed closures, in one time zone.

Public holidays come from the maintained ``holidays`` package, by ISO country code
and optional subdivision (``US``/``CA``). Business-day arithmetic follows the usual
rule for deadlines: the day of the trigger is not counted; ``T + N business days``
is the same local time of day on the N-th business day after T's local date.

The search for that day is bounded: it never goes past the last day of
:data:`~engine.limits.CALENDAR_LAST_YEAR` (the last accepted year plus the longest accepted
duration), and it gives up when more than :data:`MAX_DAYS_OFF`
days in a row are days off (a calendar closed for over a year). Both are input
errors (:class:`CalendarError`), never a crash or an endless loop.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import TZPATH, ZoneInfo

from .errors import InputError, Problem
from .limits import CALENDAR_LAST_YEAR

__all__ = ["BusinessCalendar", "CalendarError", "MAX_DAYS_OFF", "WEEKDAYS", "end_of_local_day", "check_region",
           "iso_utc", "local_time", "is_zone_key"]

#: the most days off in a row (weekend, holidays, closures) a business-day search passes over
MAX_DAYS_OFF = 366

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


if TYPE_CHECKING:
    from holidays import HolidayBase


def _countries_package() -> None:
    """Make ``holidays.countries`` importable without running its ``__init__``.

    That ``__init__`` imports every one of the ~250 country modules (a fifth of a second),
    and importing any one of them (``holidays.countries.united_states``) runs it first;
    the package has no maintained way to load a single country. Unless the real package
    is already loaded, a bare package module with the same ``__path__`` stands in for it,
    so that only the modules a calendar uses are imported. Its attributes load lazily
    from the package's registry, so ``from holidays.countries import Canada`` still works.
    """
    if "holidays.countries" in sys.modules:
        return
    import holidays
    from holidays.registry import COUNTRIES

    names = {name: module for module, names in COUNTRIES.items() for name in names}
    package = types.ModuleType("holidays.countries")
    package.__path__ = [os.path.join(path, "countries") for path in holidays.__path__]
    package.__package__ = "holidays.countries"

    def __getattr__(name: str):  # PEP 562: the registry's names, imported on first use
        if name not in names:
            raise AttributeError(f"module 'holidays.countries' has no attribute {name!r}")
        value = getattr(importlib.import_module(f"holidays.countries.{names[name]}"), name)
        setattr(package, name, value)
        return value

    package.__getattr__ = __getattr__
    sys.modules["holidays.countries"] = package
    holidays.countries = package


def _country_class(code: str):
    """The ``holidays`` class for an ISO 3166 code or alias (``US``, ``USA``, ``UK``), or None.

    Only country entities count: financial markets (``NYSE``) and the package's other
    names (``JAN``, a month constant) are not countries.
    """
    from holidays.registry import COUNTRIES
    for module, names in COUNTRIES.items():
        if code in names[1:] and code.isupper():
            _countries_package()
            return getattr(importlib.import_module(f"holidays.countries.{module}"), names[0])
    return None


@lru_cache(maxsize=256)
def _holiday_table(country: str, subdivision: str | None) -> "HolidayBase":
    """The public holidays of ``country`` (upper case), as ``holidays.country_holidays`` would
    give them, importing only that country's module. Raises ``NotImplementedError`` for an
    unknown country or subdivision, as ``holidays`` does."""
    cls = _country_class(country)
    if cls is None:
        raise NotImplementedError(f"Country {country} not available")
    return cls(subdiv=subdivision)


def check_region(country: str, subdivision: str | None) -> str | None:
    """Return a user-facing message if the country/subdivision is unknown, else None."""
    try:
        _holiday_table(country.upper(), subdivision)
    except NotImplementedError as exc:
        if subdivision and "subdivision" in str(exc):
            return f"country `{country}` has no subdivision `{subdivision}` in the holiday calendar"
        return f"no public-holiday calendar for country `{country}`"
    return None


@lru_cache(maxsize=1024)
def is_zone_key(name: str) -> bool:
    """Whether ``name`` is in ``zoneinfo.available_timezones()``, found without listing them all.

    ``available_timezones`` opens every file under the zone directories (tens of
    milliseconds, on every cold start); this looks only along ``name``'s own path, the way
    that walk would find it: each directory listed (so case and spelling must be exact), no
    symbolic link to a directory on the way (the walk does not follow them), never under the
    top-level ``right/`` or ``posix/``, a file that starts with ``TZif``; else the ``tzdata``
    package's list of zones. ``posixrules`` is not a zone, and ``localtime`` (the host's own
    zone, where there is such a file) does not count: it would make answers depend on the machine.
    """
    parts = name.split("/")
    if name in ("posixrules", "localtime") or "\x00" in name or any(part in ("", ".", "..") for part in parts):
        return False
    for root in TZPATH:
        if parts[0] in ("right", "posix") and len(parts) > 1 or not os.path.isdir(root):
            continue
        folder = root
        try:
            for i, part in enumerate(parts):
                if part not in os.listdir(folder):
                    break
                folder = os.path.join(folder, part)
                last = i == len(parts) - 1
                if os.path.isdir(folder) if last else (os.path.islink(folder) or not os.path.isdir(folder)):
                    break
            else:
                with open(folder, "rb") as fh:
                    if fh.read(4) == b"TZif":
                        return True
        except OSError:
            continue
    return name in _tzdata_zones()


@lru_cache(maxsize=1)
def _tzdata_zones() -> frozenset[str]:
    """The zones the ``tzdata`` package lists (empty without it), as ``available_timezones`` reads them."""
    from importlib import resources
    try:
        with resources.files("tzdata").joinpath("zones").open("r") as fh:
            return frozenset(line.strip() for line in fh if line.strip())
    except (ImportError, FileNotFoundError):
        return frozenset()


class CalendarError(InputError):
    """A business-day count that cannot be done in a calendar: it has no business day for
    over :data:`MAX_DAYS_OFF` days (``calendar.no-business-day``), or the count would end
    after :data:`~engine.limits.CALENDAR_LAST_YEAR` (``input.out-of-range``)."""


@dataclass(frozen=True)
class BusinessCalendar:
    zone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    weekend: frozenset[int] = frozenset({5, 6})
    closures: frozenset[date] = frozenset()
    use_public_holidays: bool = True

    def is_business_day(self, day: date) -> bool:
        if day.weekday() in self.weekend or day in self.closures:
            return False
        if self.use_public_holidays and self.country:
            return day not in _holiday_table(self.country.upper(), self.subdivision)
        return True

    def holiday_name(self, day: date) -> str | None:
        if self.use_public_holidays and self.country:
            return _holiday_table(self.country.upper(), self.subdivision).get(day)
        return None

    @lru_cache(maxsize=4096)
    def business_day_after(self, day: date, business_days: int) -> date:
        """The ``business_days``-th business day after ``day`` (``day`` itself not counted).

        Raises :class:`CalendarError` when more than :data:`MAX_DAYS_OFF` days in a row
        are off on the way, or when the day would fall after ``CALENDAR_LAST_YEAR``.
        The work is at most one pass over each year from ``day``'s to ``CALENDAR_LAST_YEAR``
        (each year's business days are listed once per calendar and then bisected).
        """
        if business_days <= 0:
            return day
        remaining = business_days
        last = day.toordinal()  # the last business day counted (at first, the start)
        for year in range(day.year, CALENDAR_LAST_YEAR + 1):
            days, first = _business_days(self, year), _first_ordinal(year)
            i = bisect_right(days, last - first) if year == day.year else 0
            if i < len(days):
                if first + days[i] - last - 1 > MAX_DAYS_OFF:
                    break
                if remaining <= len(days) - i:
                    return date.fromordinal(first + days[i + remaining - 1])
                remaining -= len(days) - i
                last = first + days[-1]
            elif _first_ordinal(year + 1) - 1 - last > MAX_DAYS_OFF:
                break
        else:
            raise CalendarError(Problem(
                "input.out-of-range", f"{business_days} business days after {day.isoformat()} end after "
                f"{CALENDAR_LAST_YEAR}, the last year business days are counted in"))
        off_from = date.fromordinal(last + 1).isoformat()
        raise CalendarError(Problem(
            "calendar.no-business-day", f"no business day for more than {MAX_DAYS_OFF} days from {off_from} "
            "(weekend, public holidays and closures cover them all); check the calendar's closures"))

    def add(self, instant: datetime, business_days: int) -> datetime:
        """``instant`` plus ``business_days``: the same local time on that business day, in UTC."""
        if business_days <= 0:
            return instant.astimezone(UTC)
        tz = ZoneInfo(self.zone)
        local = instant.astimezone(tz)
        day = self.business_day_after(local.date(), business_days)
        return datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=tz).astimezone(UTC)

    def add_to_end_of(self, day: date, business_days: int) -> datetime:
        """The end of the ``business_days``-th business day after the whole of ``day``, in UTC."""
        last = self.business_day_after(day, business_days) if business_days > 0 else day
        return end_of_local_day(datetime.combine(last, time(12), tzinfo=ZoneInfo(self.zone)), self.zone)


def _first_ordinal(year: int) -> int:
    return date(year, 1, 1).toordinal()


@lru_cache(maxsize=1024)
def _business_days(calendar: BusinessCalendar, year: int) -> array:
    """The business days of ``year`` in ``calendar``, as sorted offsets from 1 January."""
    first = date(year, 1, 1)
    length = _first_ordinal(year + 1) - first.toordinal()  # year <= CALENDAR_LAST_YEAR: year + 1 is a valid date
    return array("H", (k for k in range(length) if calendar.is_business_day(first + timedelta(days=k))))


def iso_utc(instant: datetime | None) -> str | None:
    """``instant`` as ISO 8601 in UTC with a ``Z`` (the form every JSON output uses)."""
    return None if instant is None else instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_time(instant: datetime, zone: str) -> str:
    """``instant`` for people, in ``zone``: ``Tue 2026-03-03 10:00 EST``."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


def end_of_local_day(instant: datetime, zone: str) -> datetime:
    """The first instant of the next local day in ``zone`` (the end of ``instant``'s day)."""
    tz = ZoneInfo(zone)
    day = instant.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
