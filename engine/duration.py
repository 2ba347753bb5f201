"""Durations as written in policies and timelines: ``90s``, ``30m``, ``24h``, ``7d``, ``2w``, ``5bd``.

``s``/``m``/``h``/``d``/``w`` are elapsed time (a day is 24 hours of elapsed time,
even across a DST change). ``bd`` counts business days in a calendar and is
resolved against one by :func:`engine.calendar.BusinessCalendar.add`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Duration", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RE = re.compile(r"^\s*(\d{1,6})\s*(bd|s|m|h|d|w)\s*$")


@dataclass(frozen=True)
class Duration:
    """Either elapsed ``seconds`` or a number of ``business_days`` (never both)."""

    seconds: int = 0
    business_days: int = 0
    text: str = ""

    def __str__(self) -> str:
        return self.text or (f"{self.business_days}bd" if self.business_days else f"{self.seconds}s")

    @property
    def is_business(self) -> bool:
        return self.business_days > 0

    def describe(self) -> str:
        """Words for people: ``24 hours``, ``5 business days``."""
        if self.business_days:
            return _plural(self.business_days, "business day")
        for unit, size in (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
            if self.seconds and self.seconds % size == 0 and not (unit == "day" and self.seconds < 86400):
                if unit == "day" and self.seconds <= 2 * 86400:
                    return _plural(self.seconds // 3600, "hour")
                return _plural(self.seconds // size, unit)
        return _plural(self.seconds, "second")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def parse_duration(value: object) -> Duration:
    """Parse ``24h``-style text; raise ``ValueError`` with a message fit for users."""
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a duration must be text such as `24h`, `7d`, `2w` or `5bd`, not {value!r}")
    match = _RE.match(value)
    if not match:
        raise ValueError(f"`{value}` is not a duration; write a whole number and a unit: "
                         "`s`, `m`, `h`, `d`, `w` or `bd` (business days), e.g. `24h` or `5bd`")
    number, unit = int(match.group(1)), match.group(2)
    if unit == "bd":
        if number == 0:
            return Duration(0, 0, "0bd")
        return Duration(0, number, f"{number}bd")
    return Duration(number * _UNITS[unit], 0, f"{number}{unit}")
