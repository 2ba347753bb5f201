"""Durations as written in policies and timelines: ``90s``, ``30m``, ``24h``, ``7d``, ``2w``, ``5bd``.

``s``/``m``/``h``/``d``/``w`` are elapsed time (a day is 24 hours of elapsed time,
even across a DST change). ``bd`` counts business days in a calendar and is
resolved against one by :func:`engine.calendar.BusinessCalendar.add`.

The text is exactly ASCII digits and a unit, with no spaces anywhere (`24 h`, ` 24h`
and other scripts' digits such as `٢٤h` are refused), and a duration is bounded: at
most :data:`engine.limits.MAX_DURATION_SECONDS` of elapsed time and
:data:`engine.limits.MAX_BUSINESS_DAYS` business days, so that any instant the engine
accepts plus any duration stays representable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .limits import MAX_BUSINESS_DAYS, MAX_DURATION_SECONDS

__all__ = ["Duration", "parse_duration", "DURATION_PATTERN"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: the whole text of a duration (ASCII digits only: ``\d`` would match any script's digits)
DURATION_PATTERN = r"^[0-9]{1,12}(bd|s|m|h|d|w)$"
_RE = re.compile(r"([0-9]{1,12})(bd|s|m|h|d|w)")
#: how much of a rejected value an error message repeats
_SHOWN = 40


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
        raise ValueError(f"a duration must be text such as `24h`, `7d`, `2w` or `5bd`, not {kind_of(value)}")
    match = _RE.fullmatch(value)
    if not match:
        raise ValueError(f"`{shown(value)}` is not a duration; write a whole number and a unit: "
                         "`s`, `m`, `h`, `d`, `w` or `bd` (business days), e.g. `24h` or `5bd`")
    number, unit = int(match.group(1)), match.group(2)
    if unit == "bd":
        if number > MAX_BUSINESS_DAYS:
            raise ValueError(f"`{value}` is too long: at most {MAX_BUSINESS_DAYS} business days")
        if number == 0:
            return Duration(0, 0, "0bd")
        return Duration(0, number, f"{number}bd")
    if number * _UNITS[unit] > MAX_DURATION_SECONDS:
        raise ValueError(f"`{value}` is too long: at most {MAX_DURATION_SECONDS // 86400} days "
                         f"(`{MAX_DURATION_SECONDS // 86400}d`)")
    return Duration(number * _UNITS[unit], 0, f"{number}{unit}")


def kind_of(value: object) -> str:
    """What a JSON/YAML value is, in words (for "must be text, not a number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def shown(text: str, limit: int = _SHOWN) -> str:
    """``text`` fit to quote in a one-line message: control characters and lone surrogates
    escaped (``\\x00``, ``\\ud800``, ``\\n``), and cut to ``limit`` characters."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in cut)
