"""Business calendars: weekends, public holidays and listed closures, in one time zone.

Public holidays come from the maintained ``holidays`` package, by ISO country code
and optional subdivision (``US``/``CA``). Business-day arithmetic follows the usual
rule for deadlines: the day of the trigger is not counted; ``T + N business days``
is the same local time of day on the N-th business day after T's local date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as _holidays

__all__ = ["BusinessCalendar", "WEEKDAYS", "end_of_local_day", "check_region", "iso_utc", "local_time"]

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=256)
def _holiday_table(country: str, subdivision: str | None) -> _holidays.HolidayBase:
    return _holidays.country_holidays(country, subdiv=subdivision)


def check_region(country: str, subdivision: str | None) -> str | None:
    """Return a user-facing message if the country/subdivision is unknown, else None."""
    try:
        _holiday_table(country.upper(), subdivision)
    except NotImplementedError as exc:
        if subdivision and "subdivision" in str(exc):
            return f"country `{country}` has no subdivision `{subdivision}` in the holiday calendar"
        return f"no public-holiday calendar for country `{country}`"
    return None


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
        """The ``business_days``-th business day after ``day`` (``day`` itself not counted)."""
        remaining = business_days
        for _ in range(business_days * 7 + 400):  # bounded: a calendar cannot close forever
            day += timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
                if remaining == 0:
                    return day
        raise ValueError("no business day found within a year; check the calendar's closures")

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
