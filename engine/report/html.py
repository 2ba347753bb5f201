"""HTML for coaches: one self-contained page with an SVG timeline per application.

The page is rendered from the Jinja2 templates in ``engine/report/templates/`` with
autoescaping on, and every interpolated string also goes through
:func:`~engine.report.escape.escape_text` first (the environment's ``finalize``), so a
name holding ``<script>``, quotes or a bidi override comes out as visible, inert text.
The page needs no script and names no external URL (no fonts, images or style sheets
from elsewhere; a Content-Security-Policy meta tag forbids loading anything), and has
print rules (``@media print``).

Per application the picture has a time axis in the employer's zone, a lane for the
employer's side (the company: events that name no contact) and one per contact, and a
mark per event and lane whose shape and colour say its type (filled: the candidate's
messages; hollow: the employer's side). Shaded spans show the windows of the policy's
rules: a deadline rule's window from its trigger to its deadline (met, missed or still
open), and a not-before rule's waiting time (e.g. no status inquiry before the
timetable has passed). Marks of events a finding cites are ringed; each such mark links
to the finding (``#f-...``) and the finding links back to its marks (``#e-...``).
Events after the as-of time are drawn faded in a "not evaluated" zone, with a banner.

The windows come from the policy: an :class:`~engine.report.AuditItem` with its
``policy`` gets every window (computed from the same facts the backends evaluate, in time
linear in the events); without one, only the windows the findings name (the deadline
of a missed obligation, the opening time of a premature message).

Public API: :func:`render`, and for a batch that streams its output, :func:`page_head`
+ :func:`section` for each item (anchors ``t1``, ``t2``, ...) + :func:`page_tail`, which
together equal :func:`render`; :func:`summary_table` for a caseload's summary and
:func:`render_agenda` for ``followup agenda --format html``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable
from zoneinfo import ZoneInfo

from ..errors import InputError
from ..findings import human_type
from . import AuditItem
from ._common import SEVERITY_WORD, application_title, by_application, counts
from .escape import escape_text

if TYPE_CHECKING:
    from ..decide import Agenda
    from ..policy import Policy
    from ..timeline import Timeline

__all__ = ["render", "page_head", "section", "page_tail", "summary_table", "render_agenda", "EVENT_STYLES",
           "Window", "windows", "shown"]

UTC = timezone.utc

# -- how events are drawn ---------------------------------------------------------------------

_STAR = "M" + "L".join(f"{(8.5 if k % 2 == 0 else 3.6) * math.sin(k * math.pi / 5):.2f},"
                       f"{-(8.5 if k % 2 == 0 else 3.6) * math.cos(k * math.pi / 5):.2f}" for k in range(10)) + "Z"


def _polygon(sides: int, radius: float, turn: float = 0.0) -> str:
    return "M" + "L".join(f"{radius * math.sin(turn + 2 * math.pi * k / sides):.2f},"
                          f"{-radius * math.cos(turn + 2 * math.pi * k / sides):.2f}" for k in range(sides)) + "Z"


#: event type -> (shape name, SVG path centred on 0,0, colour, words for the legend)
EVENT_STYLES: dict[str, tuple[str, str, str, str]] = {
    "interview": ("square", "M-6.5,-6.5H6.5V6.5H-6.5Z", "#0072b2", "interview"),
    "timetable": ("diamond", "M0,-8.5L8.5,0L0,8.5L-8.5,0Z", "#cc79a7", "timetable given"),
    "preference": ("triangle pointing down", "M0,8L7.5,-6H-7.5Z", "#6b6b6b", "channel preference"),
    "employer_contact": ("hexagon", _polygon(6, 7.5, math.pi / 6), "#3a9ad9", "message from the employer"),
    "offer": ("star", _STAR, "#009e73", "offer"),
    "rejection": ("cross", "M-7,-4L-4,-7L0,-3L4,-7L7,-4L3,0L7,4L4,7L0,3L-4,7L-7,4L-3,0Z", "#d55e00", "rejection"),
    "do_not_contact": ("hourglass", "M-7,-7H7L-7,7H7Z", "#8c1c13", "do-not-contact request"),
    "thank_you": ("circle", "M-7,0A7,7 0 1,0 7,0A7,7 0 1,0 -7,0Z", "#009e73", "thank-you"),
    "status_inquiry": ("triangle", "M0,-8L7.5,6H-7.5Z", "#e69f00", "status inquiry"),
    "feedback_request": ("pentagon", _polygon(5, 7.5), "#7a5195", "feedback request"),
    "contact": ("plus", "M-2.5,-7H2.5V-2.5H7V2.5H2.5V7H-2.5V2.5H-7V-2.5H-2.5Z", "#444444", "other message"),
    "withdrawal": ("bar", "M-8,-3H8V3H-8Z", "#222222", "withdrawal"),
}

#: window status -> words for the legend and the list under the picture
WINDOW_WORDS = {
    "met": "deadline window, kept",
    "missed": "deadline window, missed",
    "open": "deadline window, still open",
    "void": "deadline window, no longer owed",
    "wait": "waiting time (too early before its end)",
}

# -- geometry (SVG user units; the picture scales to the page width) -------------------------
WIDTH, LABEL_W, PAD_R, AXIS_H, LANE_H, BOTTOM = 1000, 190, 24, 44, 36, 10
PLOT_W = WIDTH - LABEL_W - PAD_R
#: marks closer than this share a lane at different heights (offsets from the lane's centre)
MARK_GAP, LEVELS = 13.0, (0.0, -9.0, 9.0)
#: at most this many labelled ticks on an axis
MAX_TICKS = 10

_ANCHOR = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


# -- windows ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """A span the policy gives meaning to: a deadline's window or a waiting time."""

    application: str
    #: the contact whose lane it is drawn in (None: the employer's lane)
    contact: str | None
    rule: str
    status: str  # one of WINDOW_WORDS
    start: datetime
    end: datetime
    #: the event it counts from
    event: str
    #: what is due or allowed, in words: ``thank-you to Raj Patel``, ``status inquiry``
    what: str


#: how the list under a picture starts the line of a window, by status
WINDOW_LABELS = {"met": "Kept:", "missed": "Missed:", "open": "Open:", "void": "No longer owed:", "wait": "Wait:"}


def describe(window: Window, zone: str) -> str:
    """``window`` in words, its times in ``zone``: "thank-you to Raj Patel due by ... (from i2, ...)"."""
    since = f"(from {window.event}, {_local(window.start, zone)})"
    if window.status == "wait":
        return f"{window.what} allowed from {_local(window.end, zone)} {since}"
    return f"{window.what} due by {_local(window.end, zone)} {since}"


def _from_epoch(seconds: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def windows(timeline: "Timeline", report, policy: "Policy | None") -> list[Window]:
    """The windows to shade for ``timeline`` audited into ``report`` (see the module docstring)."""
    as_of = datetime.fromisoformat(report.as_of.replace("Z", "+00:00"))
    if policy is None:
        return _windows_from_findings(timeline, report)
    from ..facts import prepare_facts
    from ..ir import Absence, Premature
    cut, _ = timeline.until(as_of)
    program = policy.program
    try:
        table = prepare_facts(cut, program, as_of)
    except InputError:  # e.g. a calendar without business days: the audit would have said so already
        return _windows_from_findings(timeline, report)
    clock = table.clock
    absent = {(f.rule, f.events[0], f.contact or "") for f in report.findings if f.events}
    early = {(f.rule, f.events[0], f.due) for f in report.findings if len(f.events) >= 2 and f.due}
    out: list[Window] = []
    for app, facts in table.apps.items():
        for node in program.nodes:
            rule = node.meta.rule
            if isinstance(node, Absence):
                tk, ek, dk = table.sel(node.trigger), table.sel(node.expect), table.time(node.deadline)
                ck = table.sel(node.cancel)
                expected: dict[str, list[tuple[float, int]]] = {}
                cancels: list[tuple[float, int]] = []
                for f in facts:
                    if f[ek]:
                        expected.setdefault(f["party"] if node.per_party else "", []).append((f["ts"], f["seq"]))
                    if ck and f[ck]:
                        cancels.append((f["ts"], f["seq"]))
                what = " or ".join(sorted(human_type(t) for t in node.expect.types))
                for f in facts:
                    if not f[tk] or not (f["party"] if node.per_party else f["primary"]):  # as the backends
                        continue
                    start, end, party = f["ts"], f[dk], f["party"]
                    if (rule, f["id"], party) in absent:
                        status = "missed"
                    elif _within(expected.get(party if node.per_party else "", ()), start, end, f["seq"]):
                        status = "met"
                    elif _within(cancels, start, end, f["seq"]):
                        status = "void"
                    elif end >= clock:  # a finding only once the deadline has passed
                        status = "open"
                    else:
                        status = "missed"
                    whom = f" to {timeline.contact_name(party)}" if node.per_party and party else ""
                    out.append(Window(app, party if node.per_party and party else None, rule, status,
                                      _from_epoch(start), _from_epoch(max(end, start)), f["id"],
                                      f"{what}{whom}"))
            elif isinstance(node, Premature):
                ak, ok = table.sel(node.anchor), table.time(node.opens)
                unless = [table.sel(s) for s in node.unless]
                anchors = [f for f in facts if f[ak] and f["primary"]]
                if not anchors:
                    continue
                chosen = [f for f in anchors
                          if (rule, f["id"], _iso(f[ok])) in early]
                if not any(f[k] for f in facts for k in unless) and not any(f is anchors[-1] for f in chosen):
                    chosen.append(anchors[-1])
                what = " or ".join(sorted(human_type(t) for t in node.subject.types))
                for f in chosen:
                    out.append(Window(app, None, rule, "wait", _from_epoch(f["ts"]),
                                      _from_epoch(max(f[ok], f["ts"])), f["id"],
                                      what))
    return out


def _iso(seconds: float) -> str:
    from ..calendar import iso_utc
    return iso_utc(_from_epoch(seconds))


def _within(points: Iterable[tuple[float, int]], start: float, end: float, seq: int) -> bool:
    """Whether a (ts, seq) of another event than ``seq`` lies in ``start <= ts <= end``
    (``points`` sorted by ts)."""
    points = list(points) if not isinstance(points, list) else points
    i = bisect_left(points, (start, -1))
    while i < len(points) and points[i][0] <= end:
        if points[i][1] != seq:
            return True
        i += 1
    return False


def _windows_from_findings(timeline: "Timeline", report) -> list[Window]:
    by_id = timeline.by_id
    out = []
    for f in report.findings:
        if not f.due or not f.events or f.events[0] not in by_id:
            continue
        start = by_id[f.events[0]].at
        end = max(datetime.fromisoformat(f.due.replace("Z", "+00:00")), start)
        if len(f.events) == 1:  # a deadline's trigger
            out.append(Window(f.application, f.contact, f.rule, "missed", start, end, f.events[0],
                              f"the follow-up {f.rule} expects"))
        else:  # an anchor, then the message that came too early
            subject = by_id.get(f.events[-1])
            what = human_type(subject.type) if subject is not None else "the message"
            out.append(Window(f.application, None, f.rule, "wait", start, end, f.events[0], what))
    return out


# -- the picture --------------------------------------------------------------------------------

@dataclass
class _Mark:
    id: str
    x: float
    y: float
    path: str
    colour: str
    candidate: bool
    title: str
    cited: bool
    ignored: bool
    href: str | None
    bar_x2: float | None = None


@dataclass
class _Span:
    x: float
    y: float
    w: float
    h: float
    status: str
    title: str


@dataclass
class _Chart:
    height: int
    lanes: list[tuple[float, str, str]]  # (y centre, name, role)
    ticks: list[tuple[float, str, str]]  # (x, first line, second line)
    marks: list[_Mark]
    spans: list[_Span]
    as_of_x: float | None
    as_of_label: str
    as_of_off: bool  # the as-of instant lies past the right edge
    zone: str
    title: str
    bottom: float


def _lane_of(event) -> tuple[str, ...]:
    parties = tuple(p for p in event.parties if p)
    return parties or ("",)


def _ticks(t0: datetime, t1: datetime, zone: str) -> list[tuple[datetime, str, str]]:
    """At most :data:`MAX_TICKS` round local instants in ``[t0, t1]`` with their labels."""
    tz = ZoneInfo(zone)
    span = (t1 - t0).total_seconds()
    out: list[tuple[datetime, str, str]] = []
    for hours in (1, 2, 3, 6, 12):
        if span / (hours * 3600) <= MAX_TICKS:
            local = t0.astimezone(tz).replace(minute=0, second=0, microsecond=0)
            for _ in range(int(span // 3600) + 2):  # each hour of the range, at most 12 * MAX_TICKS + 2
                instant = local.astimezone(UTC)
                # a local hour the zone skipped is no tick (its round trip lands off the hour)
                if local.hour % hours == 0 and instant.astimezone(tz).minute == 0:
                    if t0 <= instant <= t1:
                        out.append((instant, local.strftime("%H:%M"), local.strftime("%a %d %b")))
                # the next whole local hour (an offset change of a quarter hour, as Kathmandu's in
                # 1986, moves the hours off the UTC grid)
                later = (local.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
                local = later.replace(minute=0, second=0, microsecond=0)
                if local.astimezone(UTC) <= later.astimezone(UTC) - timedelta(hours=1):
                    local = later
                if local.astimezone(UTC) > t1:
                    break
            return out
    first = t0.astimezone(tz).date()
    last = t1.astimezone(tz).date()
    days = (last - first).days + 1
    for step in (1, 2, 7, 14):
        if days / step <= MAX_TICKS:
            day = first if step < 7 else first + timedelta(days=(-first.weekday()) % 7)  # weeks start on Monday
            while day <= last:
                instant = _midnight(day, tz)
                if instant is not None and t0 <= instant <= t1:
                    out.append((instant, day.strftime("%a %d %b"), day.strftime("%Y") if not out else ""))
                day += timedelta(days=step)
            return out
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    for step in (1, 2, 3, 6, 12, 24, 60, 120, 300, 600, 1200, 3000):
        if months / step <= MAX_TICKS:
            break
    index = first.year * 12 + first.month - 1
    index += (-index) % step
    while index <= last.year * 12 + last.month - 1:
        day = date(index // 12, index % 12 + 1, 1)
        instant = _midnight(day, tz)
        if instant is not None and t0 <= instant <= t1:
            out.append((instant, day.strftime("%b %Y") if step < 12 else day.strftime("%Y"), ""))
        index += step
    return out


def _midnight(day: date, tz: ZoneInfo) -> datetime | None:
    """Local midnight of ``day`` in UTC, or None when the zone skipped it (a clock change at
    midnight: it is no whole local hour then)."""
    instant = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    return instant if instant.astimezone(tz).time() == time(0) else None


def _local(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M %Z")


def _chart(item: AuditItem, app: str, anchor: str, events: list, wins: list[Window],
           seq_of: dict[str, int]) -> tuple[_Chart, dict[tuple[str, str], str]]:
    """The picture of ``app`` (its ``events`` and windows), and for each (event id, lane
    contact) the id of its mark."""
    tl, report = item.timeline, item.report
    zone = tl.application_zone(app)
    as_of = datetime.fromisoformat(report.as_of.replace("Z", "+00:00"))
    ignored = set(report.ignored)
    # lanes: the employer's side first, then contacts in order of appearance
    lanes: dict[str, int] = {"": 0}
    for e in events:
        for p in _lane_of(e):
            lanes.setdefault(p, len(lanes))
    for w in wins:
        if w.contact:
            lanes.setdefault(w.contact, len(lanes))
    times = [e.at for e in events] + [e.ends_at for e in events if getattr(e, "ends_at", None)]
    times += [w.start for w in wins] + [w.end for w in wins]
    if not times:
        times = [as_of]
    t0, t1 = min(times), max(times)
    span = (t1 - t0).total_seconds()
    if t0 <= as_of and (as_of - t1).total_seconds() <= max(span, 7 * 86400):
        t1 = max(t1, as_of)
    elif as_of < t0:
        t0 = as_of
    span = max((t1 - t0).total_seconds(), 3600.0)
    pad = span * 0.03
    lo, hi = t0 - timedelta(seconds=pad), t1 + timedelta(seconds=pad)
    total = (hi - lo).total_seconds()

    def x(t: datetime) -> float:
        return round(LABEL_W + (t - lo).total_seconds() / total * PLOT_W, 1)

    def y(lane: str) -> float:
        return AXIS_H + LANE_H * lanes[lane] + LANE_H / 2

    mark_ids: dict[tuple[str, str], str] = {}
    marks: list[_Mark] = []
    recent: dict[str, list[tuple[float, int]]] = {}  # lane -> (x, level) of its marks within reach

    def place(lane: str, at_x: float) -> float:
        """The mark's height in its lane: lifted or lowered when it would cover a mark just before it."""
        near = [(px, lv) for px, lv in recent.get(lane, ()) if at_x - px < MARK_GAP]
        taken = {lv for _, lv in near}
        level = next((lv for lv in range(len(LEVELS)) if lv not in taken), 0)
        recent[lane] = near + [(at_x, level)]
        return y(lane) + LEVELS[level]

    for e in events:
        shape, path, colour, words = EVENT_STYLES[e.type]
        ends = getattr(e, "ends_at", None)
        for k, lane in enumerate(_lane_of(e)):
            mid = f"e-{anchor}-{seq_of[e.id]}-{k}"
            mark_ids[(e.id, lane)] = mid
            who = f" with {tl.contact_name(lane)}" if lane and e.type == "interview" else (
                f" to {tl.contact_name(lane)}" if lane and e.side == "candidate" else (
                    f", {tl.contact_name(lane)}" if lane else ""))
            title = f"{e.id}: {words}{who}, {_local(e.at, zone)}"
            if e.id in ignored:
                title += " (after the as-of time: not evaluated)"
            marks.append(_Mark(mid, x(e.at), place(lane, x(e.at)), path, colour, e.side == "candidate", title, False,
                               e.id in ignored, None, x(ends) if ends and ends > e.at else None))
    spans = []
    for w in wins:
        x1, x2 = x(w.start), x(w.end)
        wait = w.status == "wait"  # a waiting time: a band along the lane's foot, under the deadlines
        spans.append(_Span(x1, y(w.contact or "") + (LANE_H / 2 - 11 if wait else -LANE_H / 2 + 3), max(x2 - x1, 3.0),
                           8 if wait else LANE_H - 6, w.status,
                           f"{WINDOW_LABELS[w.status]} {describe(w, zone)}"))
    ticks = [(x(t), a, b) for t, a, b in _ticks(lo, hi, zone)]
    names = []
    for lane, index in sorted(lanes.items(), key=lambda kv: kv[1]):
        if lane:
            person = tl.contacts.get(lane)
            names.append((y(lane), tl.contact_name(lane), person.role.replace("_", " ") if person else "contact"))
        else:
            names.append((y(lane), tl.applications[app].company, "employer's side"))
    off = as_of > hi
    as_of_x = None if off else x(as_of)
    height = AXIS_H + LANE_H * len(lanes) + BOTTOM
    chart = _Chart(height, names, ticks, marks, spans, as_of_x, _local(as_of, zone), off, zone,
                   f"Timeline of {application_title(tl, app)}", AXIS_H + LANE_H * len(lanes))
    return chart, mark_ids


# -- sections -----------------------------------------------------------------------------------

@dataclass
class _FindingView:
    id: str
    severity: str
    word: str
    rule: str
    category: str
    message: str
    due: str | None
    links: list[tuple[str, str]]  # (mark id, event id)


@dataclass
class _AppView:
    id: str
    title: str
    zone: str
    chart: _Chart
    findings: list[_FindingView]
    empty_note: str | None
    #: the note says nothing more than "nothing to flag"
    quiet: bool
    windows: list[tuple[str, str, str]]  # (status, words, when)
    counts: str


@dataclass
class _LegendEntry:
    path: str
    colour: str
    candidate: bool
    words: str
    shape: str


@dataclass
class _SectionView:
    anchor: str
    who: str
    label: str
    policy: str
    engine: str
    as_of: str
    counts: str
    ignored: list[str]
    apps: list[_AppView] = field(default_factory=list)
    legend: list[_LegendEntry] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    windows_from_policy: bool = True


#: Unicode noncharacters (U+FDD0..U+FDEF and the last two code points of every plane): text may
#: hold them, but HTML does not allow them in a document, so they are shown escaped as well
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xfffe)}{chr(p * 0x10000 + 0xffff)}"
                                                          for p in range(17)) + "]")


def _noncharacter(match: re.Match) -> str:
    o = ord(match.group(0))
    return f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def shown(value: str) -> str:
    """``value`` as the page shows it (before HTML escaping): :func:`escape_text`, and
    noncharacters escaped the same way."""
    return _NONCHARACTERS.sub(_noncharacter, escape_text(value))


def _finalize(value: Any) -> Any:
    """Every ``{{ ... }}``: strings shown with :func:`shown` (then autoescaped)."""
    from markupsafe import Markup
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return shown(value)
    return value


@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined
    return Environment(loader=PackageLoader("engine.report", "templates"), autoescape=True,
                       finalize=_finalize, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def _template(name: str):
    return _env().get_template(name)


def _check_anchor(anchor: str) -> str:
    if not isinstance(anchor, str) or not _ANCHOR.fullmatch(anchor):
        raise ValueError(f"an anchor is a letter then letters, digits, `-` or `_`, not {anchor!r}")
    return anchor


def _section_view(item: AuditItem, anchor: str) -> _SectionView:
    tl, report = item.timeline, item.report
    zone = tl.timezone or "UTC"
    policy = getattr(item, "policy", None)
    wins = windows(tl, report, policy)
    seq_of = {e.id: k for k, e in enumerate(tl.events)}
    fids = {id(f): f"f-{anchor}-{k}" for k, f in enumerate(report.findings)}
    view = _SectionView(anchor, tl.candidate or "the candidate", item.label, report.policy, report.engine,
                        _local(datetime.fromisoformat(report.as_of.replace("Z", "+00:00")), zone),
                        counts(report.findings), list(report.ignored), windows_from_policy=policy is not None)
    by_id = tl.by_id
    ignored = set(report.ignored)
    types: set[str] = set()
    statuses: set[str] = set()
    events_of: dict[str, list] = {app: [] for app in tl.applications}
    for e in tl.events:
        events_of.setdefault(e.application, []).append(e)
    wins_of: dict[str, list[Window]] = {}
    for w in wins:
        wins_of.setdefault(w.application, []).append(w)
    for app, findings in by_application(tl, report.findings):
        app_wins, app_events = wins_of.get(app, []), events_of.get(app, [])
        chart, mark_ids = _chart(item, app, anchor, app_events, app_wins, seq_of)
        marks = {m.id: m for m in chart.marks}
        app_zone = tl.application_zone(app)
        views = []
        for f in findings:
            links = []
            for eid in f.events:
                event = by_id.get(eid)
                lanes = _lane_of(event) if event is not None else ()
                lane = f.contact if f.contact in lanes else (lanes[0] if lanes else None)
                mid = mark_ids.get((eid, lane)) if lane is not None else None
                links.append((mid, eid))
                mark = marks.get(mid) if mid else None
                if mark is not None:  # ringed, linked to its first finding, the findings in its tooltip
                    if not mark.cited:
                        mark.cited, mark.href = True, f"#{fids[id(f)]}"
                        mark.title += "; cited by: " + f.message
                    else:
                        mark.title += "; " + f.message
            due = _local(datetime.fromisoformat(f.due.replace("Z", "+00:00")), app_zone) if f.due else None
            views.append(_FindingView(fids[id(f)], f.severity, SEVERITY_WORD[f.severity], f.rule, f.category,
                                      f.message, due, links))
        later = [e.id for e in app_events if e.id in ignored]
        evaluated = len(app_events) - len(later)
        note = None
        if not findings:
            if not evaluated:
                note = "No event of this application up to the as-of time: nothing was evaluated."
            else:
                note = "Nothing to flag up to the as-of time."
            if later:
                note += (f" {len(later)} later event{'s' if len(later) != 1 else ''} of this application "
                         f"{'were' if len(later) != 1 else 'was'} not evaluated: {', '.join(later)}.")
        types.update(e.type for e in app_events)
        statuses.update(w.status for w in app_wins)
        listed = [(w.status, WINDOW_LABELS[w.status], describe(w, app_zone)) for w in app_wins]
        view.apps.append(_AppView(app, application_title(tl, app), app_zone, chart, views, note,
                                  bool(evaluated) and not later, listed,
                                  counts(findings)))
    view.legend = [_LegendEntry(EVENT_STYLES[t][1], EVENT_STYLES[t][2], t in ("thank_you", "status_inquiry",
                                                                              "feedback_request", "contact",
                                                                              "withdrawal"),
                                EVENT_STYLES[t][3], EVENT_STYLES[t][0]) for t in EVENT_STYLES if t in types]
    view.statuses = [(s, WINDOW_WORDS[s]) for s in WINDOW_WORDS if s in statuses]
    return view


#: the line under an audit page's title
AUDIT_INTRO = ("Times are in each employer's time zone. Hover over a mark for its details; a ringed mark "
               "links to the finding that cites it.")


def page_head(title: str, intro: str = AUDIT_INTRO) -> str:
    """The start of a page: doctype, head with the inline style sheet, the page title."""
    return _template("head.html").render(title=title, intro=intro)


def section(item: AuditItem, anchor: str) -> str:
    """One audited timeline as a ``<section id="{anchor}">``: a banner for ignored events,
    then per application its picture, its findings and its windows."""
    return _template("section.html").render(s=_section_view(item, _check_anchor(anchor)))


def page_tail(legend: bool = True) -> str:
    """The end of a page (``legend``: with the note on how marks are drawn)."""
    return _template("tail.html").render(legend=legend)


def _title(items: list[AuditItem]) -> str:
    if len(items) == 1:
        return f"Follow-up audit for {items[0].timeline.candidate or items[0].label}"
    return f"Follow-up audits: {len(items)} timelines"


def render(items: list[AuditItem]) -> str:
    """The whole document: ``page_head`` + a ``section`` per item (``t1``, ``t2``, ...) + ``page_tail``."""
    parts = [page_head(_title(items))]
    parts.extend(section(item, f"t{k}") for k, item in enumerate(items, 1))
    parts.append(page_tail())
    return "".join(parts)


def summary_table(rows) -> str:
    """A caseload's summary as a table fragment: one row per candidate, linking to ``#{anchor}``.

    Each row has ``candidate, file, anchor, applications, violations, warnings, next_item,
    next_due (datetime or None), invalid, problems``; invalid rows show their problems.
    """
    views = []
    for r in rows:
        anchor = _check_anchor(r.anchor) if r.anchor else None
        due = r.next_due.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC") if r.next_due else None
        views.append({"candidate": r.candidate or r.file, "file": r.file, "anchor": anchor,
                      "applications": r.applications, "violations": r.violations, "warnings": r.warnings,
                      "next_item": r.next_item, "next_due": due, "invalid": bool(r.invalid),
                      "problems": list(r.problems or ())})
    return _template("summary.html").render(rows=views)


def render_agenda(result: "Agenda", timeline: "Timeline") -> str:
    """``followup agenda --format html``: a page with a table of what is due per application."""
    groups: dict[str, list] = {}
    for item in result.items:
        groups.setdefault(item.application, []).append(item)
    apps = []
    for app, items in groups.items():
        zone = timeline.application_zone(app)
        rows = [{"kind": i.kind, "message": i.message, "rule": i.rule,
                 "due": _local(datetime.fromisoformat(i.due.replace("Z", "+00:00")), zone) if i.due else None}
                for i in items]
        apps.append({"id": app, "title": application_title(timeline, app), "rows": rows})
    zone = timeline.timezone or "UTC"
    who = timeline.candidate or "the candidate"
    body = _template("agenda.html").render(
        who=who, policy=result.policy, apps=apps,
        as_of=_local(datetime.fromisoformat(result.as_of.replace("Z", "+00:00")), zone))
    return (page_head(f"Agenda for {who}", "What is due next, per application; times in each employer's time zone.")
            + body + page_tail(legend=False))
