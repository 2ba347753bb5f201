"""Limits on untrusted input: every file, request body and policy is assumed hostile.

Each limit has a documented default (``docs/limits.md``) and, where it makes sense,
a command-line option and a server setting. Exceeding a limit is a located input
error with its own code (exit 2 / HTTP 413 or 422), never a crash, a stall or
unbounded memory.

========================  ===============================  =========================
limit                     default                          error code
========================  ===============================  =========================
file / stdin size         16 MiB (``--max-bytes``)          ``input.too-large``
request body size         2 MiB                            ``request.too-large``
nesting depth             64 levels                        ``input.too-deep``
expanded nodes (aliases)  1,000,000 nodes                  ``input.too-many-nodes``
integer literals          20 digits                        ``input.number-too-large``
events per timeline       10,000 (``--max-events``)         ``timeline.too-many-events``
calendar to parse         10,000 lines, 2 MiB (``import ics``) ``ics.too-large``
calendar components       200,000 (``import ics``)          ``ics.too-large``
instants                  years 1900 to 2199               ``*.invalid`` / ``input.out-of-range``
durations                 up to 10 years (3,660 d, 2,600bd) ``*.invalid``
server time budget        10 s per request                 ``request.over-budget`` (503)
large requests in flight  4 (bodies over 128 KiB)          ``server.busy`` (503)
========================  ===============================  =========================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["Limits", "DEFAULT_LIMITS", "MIN_YEAR", "MAX_YEAR", "MIN_INSTANT", "MAX_INSTANT",
           "CALENDAR_LAST_YEAR", "MAX_DURATION_SECONDS", "MAX_BUSINESS_DAYS", "MAX_BODY_BYTES", "TIME_BUDGET_SECONDS",
           "LARGE_BODY_BYTES", "LARGE_BODY_WORKERS", "LARGE_BODY_QUEUE", "LARGE_BODY_NICE",
           "MAX_INT_DIGITS", "MAX_CALENDAR_LINES", "MAX_CALENDAR_CHARS", "MAX_CALENDAR_COMPONENTS"]

#: the years an instant may fall in: the time-zone and holiday libraries are exact there,
#: and every instant plus any allowed duration stays representable
MIN_YEAR, MAX_YEAR = 1900, 2199
MIN_INSTANT = datetime(MIN_YEAR, 1, 1, tzinfo=timezone.utc)
MAX_INSTANT = datetime(MAX_YEAR + 1, 1, 1, tzinfo=timezone.utc)

#: business-day arithmetic reaches this year, so that any accepted instant plus the longest
#: accepted duration (and a year of closures on the way) can be computed
CALENDAR_LAST_YEAR = MAX_YEAR + 12

#: the longest duration a policy or timeline may write: ten years
MAX_DURATION_SECONDS = 3660 * 86400
MAX_BUSINESS_DAYS = 2600

#: integer literals with more digits than this (sign, ``_`` and a ``0x``/``0b`` prefix not
#: counted) are refused: Python refuses to convert more than 4,300 digits anyway, and no
#: field needs more than 20
MAX_INT_DIGITS = 20

#: ``followup import ics`` hands the calendar parser (icalendar, about 50 microseconds a content
#: line and 0.35 a character here) only the VCALENDAR wrappers, the VTIMEZONEs and the events
#: that match; more content lines or characters than these in them is ``ics.too-large``. A few
#: dozen interviews, with long Outlook/Teams descriptions, are a few thousand lines and 1-2 MB.
MAX_CALENDAR_LINES = 10_000
MAX_CALENDAR_CHARS = 2 * 1024 * 1024
#: components (BEGIN lines) in a whole calendar: the pre-scan reads each one's structure (a 16 MiB
#: export of real events has some tens of thousands, counting their alarms)
MAX_CALENDAR_COMPONENTS = 200_000

#: request bodies larger than this are refused with 413
MAX_BODY_BYTES = 2 * 1024 * 1024

#: how long the server may spend on one request before it answers 503
TIME_BUDGET_SECONDS = 10.0

#: admission control in the server: a body larger than this (a timeline of more than
#: about 1,000 events) is answered by the server's own large-request workers, so large
#: (possibly hostile, possibly slow) requests never occupy the workers small ones use
LARGE_BODY_BYTES = 128 * 1024
#: how many large-request workers there are (started on the first large request) ...
LARGE_BODY_WORKERS = 1
#: ... at how much lower a CPU priority (``nice``) they run ...
LARGE_BODY_NICE = 10
#: ... and how many large requests may be in the server at once (waiting or running);
#: more are refused at once with 503 ``server.busy``
LARGE_BODY_QUEUE = 4


@dataclass(frozen=True)
class Limits:
    """The configurable limits on one document (file, stdin or request body)."""

    #: bytes read at most (for pipes and devices too: at most this + 1 bytes are read)
    max_bytes: int = 16 * 1024 * 1024
    #: mappings and sequences nested deeper than this are refused
    max_depth: int = 64
    #: the document's size after alias expansion, in nodes
    max_nodes: int = 1_000_000
    #: events in one timeline
    max_events: int = 10_000


DEFAULT_LIMITS = Limits()
