"""Hypothesis strategies for timelines (format v1), valid by construction.

Every strategy here builds *data* — the plain dict a tracker would send, with
timestamps as RFC 3339 text — never a :class:`~engine.timeline.Timeline`, so that
property tests can rewrite that data (shift it, reorder it, re-render it) before
validating it with :func:`engine.timeline.timeline_from_data`. Every generated dict
validates: ids are unique, every contact and application named exists, an event
names its application whenever the timeline has several, a timetable has exactly
one of ``decision_by``/``within``, and ``ends_at`` is never before ``at``. Nothing
is generated and then filtered.

What the timelines contain:

* 1-3 applications, each with a zone; some with a holiday country (US, DE, GB) and
  a subdivision, some with closure days; 2-5 contacts with roles, zones and
  sometimes a preferred channel;
* 0-25 events of every type, over a six-week period chosen among three: one that
  straddles the spring DST changes (2026-03-08 America, 2026-03-29 Europe), one
  that straddles the autumn ones (2026-10-25 Europe, 2026-11-01 America) and a
  summer one without changes. Instants cluster at DST changes and repeat exactly
  (ties at one instant, broken by id), and each is written with an explicit UTC
  offset: the local offset of the application's zone, ``Z``, or any fixed offset;
* interview panels with and without ``ends_at``; timetables by date, by datetime
  (sometimes exactly at local midnight) or ``within`` a duration; outreach ``to``
  several people, on every channel, with bodies from :data:`BODIES` (identical
  texts, texts equal after normalising case and spaces, texts over 200 words,
  impatient phrases such as "still waiting").

Knobs: ``timelines(dst=False)`` draws every zone from :data:`FIXED_ZONES` (no
offset change in 2026), ``timelines(holidays=False)`` leaves ``country`` out, and
``timelines(naive_local=True)`` writes some instants as zone-less local times in the
timeline's ``timezone`` (only those that exist once). :func:`as_ofs` draws an
evaluation instant for a timeline, :func:`iso_in_offset` renders an instant in a
random fixed offset, :func:`employer_contacts` and :func:`candidate_contacts` draw
an event to add to a timeline.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from engine.timeline import CANDIDATE_TYPES, CHANNELS, EVENT_TYPES

__all__ = [
    "UTC", "DST_ZONES", "FIXED_ZONES", "ALL_ZONES", "REGIONS", "APPLICATION_IDS", "CONTACT_IDS", "ROLES",
    "CHANNEL_VALUES", "DST_CHANGES", "PERIOD_STARTS", "PERIOD", "BODIES", "LONG_BODY", "WITHIN_VALUES",
    "OFFSETS", "EVENT_ID_PREFIX",
    "render_instant", "parse_instant", "iso_in_offset", "instants", "timelines", "as_ofs", "audits",
    "employer_contacts", "candidate_contacts", "event_instants", "zone_of_timeline",
    "TIMELINES", "FIXED_ZONE_TIMELINES", "NAIVE_LOCAL_TIMELINES", "DISPLAY_TEXTS",
]

UTC = timezone.utc

#: zones whose UTC offset changes in 2026 (northern and southern hemisphere, and a 45-minute one)
DST_ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin", "Europe/London",
             "Australia/Sydney", "Pacific/Chatham")
#: zones with one UTC offset all through 2026 (whole, half and quarter hours, both signs)
FIXED_ZONES = ("UTC", "Asia/Tokyo", "Asia/Kolkata", "America/Phoenix", "Africa/Lagos", "Asia/Kathmandu",
               "Pacific/Honolulu", "America/Sao_Paulo")
ALL_ZONES = DST_ZONES + FIXED_ZONES

#: holiday countries and subdivisions known to the ``holidays`` package (None: the country only)
REGIONS = {"US": (None, "NY", "CA", "TX"), "DE": (None, "BY", "BE", "NW"), "GB": (None, "ENG", "SCT", "NIR")}

APPLICATION_IDS = ("acme", "globex", "initech")
CONTACT_IDS = ("alice", "bob", "carol", "dave", "erin")
ROLES = ("interviewer", "hiring_manager", "recruiter", "coordinator", "agency_recruiter", "other")
CHANNEL_VALUES: tuple[str, ...] = tuple(CHANNELS)

#: the 2026 DST changes, as UTC instants
DST_CHANGES = (
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),    # America: 02:00 EST -> 03:00 EDT
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),   # Europe: 01:00 UTC, clocks forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Europe: 01:00 UTC, clocks back
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),   # America: 02:00 EDT -> 01:00 EST
)
#: where the event periods start: spring changes, autumn changes, a quiet summer
PERIOD_STARTS = (datetime(2026, 2, 23, tzinfo=UTC), datetime(2026, 10, 12, tzinfo=UTC),
                 datetime(2026, 6, 1, tzinfo=UTC))
PERIOD = timedelta(weeks=6)

#: the prefix of generated event ids, by type (ids are prefix + position, so all unique)
EVENT_ID_PREFIX = {
    "interview": "i", "timetable": "t", "preference": "p", "employer_contact": "c", "rejection": "r",
    "offer": "o", "do_not_contact": "d", "thank_you": "y", "status_inquiry": "q", "feedback_request": "f",
    "contact": "m", "withdrawal": "w",
}
assert set(EVENT_ID_PREFIX) == set(EVENT_TYPES)

LONG_BODY = " ".join(
    ["Thank you again for taking the time to meet with me today about the analyst position."]
    + ["I especially enjoyed hearing how the team measures the impact of its forecasting work and how"
       " the new data platform will change the way analysts collaborate with product managers."] * 7
)  # 219 words: a real letter, over 200

#: message bodies: repeats, repeats up to case and spaces, >200 words, exactly 200 and 201
#: words, impatient phrases, blank ones
BODIES = (
    "Thank you for your time today. I enjoyed our conversation about the team.",
    "thank you  for your time today.\nI enjoyed our conversation about the TEAM.",
    "Thanks again: the data-quality project sounds like a great fit for my experience.",
    "I remain very interested and look forward to hearing about the next steps this week.",
    "I am still waiting to hear back about the role.",
    "Per my last email, could you share an update on the timeline?",
    "I haven't heard back yet and wanted to check in.",
    "Could you share any feedback on my interview? It would help me grow.",
    LONG_BODY,
    " ".join(["word"] * 200),
    " ".join(["word"] * 201),
    "",
    "   ",
)

#: ``within`` durations of timetables: elapsed and business days, and zero
WITHIN_VALUES = ("2w", "7d", "72h", "90m", "10bd", "5bd", "1bd", "0bd")

#: fixed UTC offsets to write instants in; None means ``Z``
OFFSETS = st.one_of(
    st.sampled_from([None, timedelta(0), timedelta(hours=-5), timedelta(hours=-4), timedelta(hours=1),
                     timedelta(hours=2), timedelta(hours=5, minutes=30), timedelta(hours=5, minutes=45),
                     timedelta(hours=-12), timedelta(hours=14), timedelta(hours=-9, minutes=-30)]),
    st.integers(-12 * 60, 14 * 60).map(lambda m: timedelta(minutes=m)),
)

_BOOLEANS = st.booleans()
# "one in N" draws compare with N - 1, so that the shrinker (which shrinks towards 0)
# takes the rarer option away
_ONE_IN_FOUR = st.integers(0, 3)
_ONE_IN_FIVE = st.integers(0, 4)
_ONE_IN_TEN = st.integers(0, 9)


@lru_cache(maxsize=None)
def _one_of(values: tuple) -> st.SearchStrategy:
    """``sampled_from(values)``, built once per tuple (building strategies is not free)."""
    return st.sampled_from(values)


@lru_cache(maxsize=None)
def _none_or(values: tuple) -> st.SearchStrategy:
    return st.none() | st.sampled_from(values)


@lru_cache(maxsize=None)
def _subsets(values: tuple, min_size: int) -> st.SearchStrategy:
    return st.lists(st.sampled_from(values), min_size=min_size, max_size=3, unique=True)


def render_instant(instant: datetime, offset: timedelta | None) -> str:
    """``instant`` as RFC 3339 text in a fixed ``offset`` (None: UTC written ``Z``)."""
    if offset is None:
        return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return instant.astimezone(timezone(offset)).isoformat()


def parse_instant(text: str, zone: str | None = None) -> datetime:
    """The aware instant ``text`` (as written by these strategies) stands for.

    A zone-less local time is read in ``zone`` (the strategies only write local
    times that exist exactly once there).
    """
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        if zone is None:
            raise ValueError(f"`{text}` has no offset and no zone was given")
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value


#: how a fixed offset is chosen: any of :data:`OFFSETS`, or the one making the instant local midnight
_OFFSET_CHOICES = st.one_of(OFFSETS, st.just("midnight"))


def _fixed_offset(instant: datetime, choice: timedelta | str | None) -> timedelta | None:
    """``choice`` as an offset for ``instant``; ``"midnight"`` is the offset in which
    ``instant`` reads 00:00 (UTC when there is none within -12:00..+14:00)."""
    if choice != "midnight":
        return choice
    utc = instant.astimezone(UTC)
    if utc.second or utc.microsecond:
        return None
    minute_of_day = utc.hour * 60 + utc.minute
    for minutes in (-minute_of_day, 24 * 60 - minute_of_day):
        if -12 * 60 <= minutes <= 14 * 60:
            return timedelta(minutes=minutes)
    return None


def iso_in_offset(instant: datetime) -> st.SearchStrategy[str]:
    """RFC 3339 renderings of ``instant`` in a random fixed offset, including ``Z`` and
    the offset that makes it local midnight."""
    return _OFFSET_CHOICES.map(lambda choice: render_instant(instant, _fixed_offset(instant, choice)))


def _is_unambiguous(instant: datetime, zone: str) -> bool:
    """Whether ``instant``'s local wall time in ``zone`` exists exactly once."""
    tz = ZoneInfo(zone)
    naive = instant.astimezone(tz).replace(tzinfo=None)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    return first.utcoffset() == second.utcoffset()


# Events are drawn as *drafts*: every choice about an event except its instant (which
# may tie with an earlier event's) and its id (its position). A timeline's events are
# a list of drafts, so the shrinker can delete events one by one.

_PERIOD_MINUTES = int(PERIOD.total_seconds()) // 60

#: when an event happens: anywhere in the period, near one of its DST changes, or
#: exactly when an earlier event happened
_WHENS = st.one_of(
    st.tuples(st.just("any"), st.integers(0, _PERIOD_MINUTES - 1), st.sampled_from((0, 0, 0, 30, 59))),
    st.tuples(st.just("any"), st.integers(0, _PERIOD_MINUTES - 1), st.just(0)),
    st.tuples(st.just("dst"), st.integers(0, 1), st.integers(-180, 180)),
    st.tuples(st.just("tie"), st.integers(0, 24), st.just(0)),
)

#: how an instant is written: in the application zone's offset (most often), in a fixed
#: offset, or zone-less in the timeline's zone (only where asked and unambiguous)
_WRITINGS = st.tuples(st.sampled_from(("zone", "zone", "fixed", "naive")), _OFFSET_CHOICES)


def _resolve_when(when: tuple, start: datetime, prior: list[datetime]) -> datetime:
    how, a, b = when
    if how == "tie":
        return prior[a % len(prior)] if prior else start
    if how == "dst":  # a period without a DST change has its middle instead
        changes = [c for c in DST_CHANGES if start <= c < start + PERIOD]
        return (changes[a % len(changes)] if changes else start + PERIOD / 2) + timedelta(minutes=b)
    return start + timedelta(minutes=a, seconds=b)


def _written(instant: datetime, writing: tuple, zone: str, naive_zone: str | None) -> str:
    style, choice = writing
    if style == "naive" and naive_zone is not None and _is_unambiguous(instant, naive_zone):
        return instant.astimezone(ZoneInfo(naive_zone)).replace(tzinfo=None).isoformat()
    if style == "fixed":
        return render_instant(instant, _fixed_offset(instant, choice))
    return render_instant(instant, instant.astimezone(ZoneInfo(zone)).utcoffset())


@st.composite
def instants(draw, start: datetime, used: list[datetime] | None = None) -> datetime:
    """A UTC instant in the period from ``start``: anywhere (whole minutes, sometimes
    seconds), within three hours of a DST change in the period, or exactly an instant
    already in ``used`` (a tie)."""
    return _resolve_when(draw(_WHENS), start, list(used or ()))


@st.composite
def _contacts(draw, zones: tuple[str, ...]) -> dict[str, dict]:
    ids = draw(st.lists(st.sampled_from(CONTACT_IDS), min_size=2, max_size=5, unique=True))
    out = {}
    for cid in ids:
        contact: dict[str, Any] = {"name": f"{cid.title()} {draw(_one_of(('Park', 'Lee', 'Ngata')))}"}
        role = draw(_none_or(ROLES))
        if role is not None:
            contact["role"] = role
        zone = draw(_none_or(zones))
        if zone is not None:
            contact["timezone"] = zone
        channel = draw(_none_or(CHANNEL_VALUES + (None, None)))
        if channel is not None:
            contact["preferred_channel"] = channel
        out[cid] = contact
    return out


@st.composite
def _applications(draw, zones: tuple[str, ...], holidays: bool, start: datetime) -> dict[str, dict]:
    ids = draw(st.lists(st.sampled_from(APPLICATION_IDS), min_size=1, max_size=3, unique=True))
    out = {}
    for aid in ids:
        app: dict[str, Any] = {"company": aid.title(), "timezone": draw(_one_of(zones))}
        if draw(_BOOLEANS):
            app["title"] = "Analyst"
        if holidays and draw(_BOOLEANS):
            country = draw(_one_of(tuple(sorted(REGIONS))))
            app["country"] = country
            subdivision = draw(_one_of(REGIONS[country]))
            if subdivision is not None:
                app["subdivision"] = subdivision
        closures = draw(st.lists(st.integers(0, PERIOD.days + 14), max_size=3, unique=True))
        if closures:
            app["closures"] = [(start.date() + timedelta(days=d)).isoformat() for d in closures]
        out[aid] = app
    return out


# how often each event type is drawn: interviews and outreach carry most rules
_TYPE_WEIGHTS = (("interview", 3), ("timetable", 2), ("preference", 1), ("employer_contact", 2),
                 ("rejection", 1), ("offer", 1), ("do_not_contact", 1), ("thank_you", 3), ("status_inquiry", 3),
                 ("feedback_request", 2), ("contact", 2), ("withdrawal", 1))
_TYPES = tuple(t for t, n in _TYPE_WEIGHTS for _ in range(n))


def _people(draw, contacts: tuple[str, ...], min_size: int) -> list[str]:
    return draw(_subsets(contacts, min_size))


def _maybe(draw, contacts: tuple[str, ...]) -> str | None:
    return draw(_none_or(contacts))


@dataclass(frozen=True)
class _Draft:
    """An event but for its instant and id. ``fields`` are the instant-free fields;
    ``end`` is (minutes after ``at``, writing); ``decision`` a timetable's
    (how, days, minutes, writing)."""

    type: str
    application: str
    name_application: bool
    when: tuple
    writing: tuple
    fields: dict
    end: tuple | None = None
    decision: tuple | None = None

    def build(self, eid: str, instant: datetime, data: dict, naive_zone: str | None) -> dict:
        zone = data["applications"][self.application]["timezone"]
        event: dict[str, Any] = {"id": eid, "type": self.type, "at": _written(instant, self.writing, zone, naive_zone)}
        if self.name_application:
            event["application"] = self.application
        event.update(copy.deepcopy(self.fields))
        if self.end is not None:
            minutes, writing = self.end
            event["ends_at"] = _written(instant + timedelta(minutes=minutes), writing, zone, naive_zone)
        if self.decision is not None:
            how, days, minutes, writing = self.decision
            local_day = instant.astimezone(ZoneInfo(zone)).date() + timedelta(days=days)
            if how == "date":
                event["decision_by"] = local_day.isoformat()
            elif how == "midnight":  # "by midnight on the 9th", written with the zone's offset
                midnight = datetime.combine(local_day, time(0), tzinfo=ZoneInfo(zone))
                event["decision_by"] = render_instant(midnight, midnight.utcoffset())
            else:
                event["decision_by"] = _written(instant + timedelta(days=days, minutes=minutes), writing, zone,
                                                naive_zone)
        return event


@st.composite
def _drafts(draw, applications: tuple[str, ...], contacts: tuple[str, ...]) -> _Draft:
    """A draft event of any type for a timeline with these applications and contacts."""
    etype = draw(_one_of(_TYPES))
    app = draw(_one_of(applications))
    name_app = len(applications) > 1 or draw(_BOOLEANS)
    when, writing = draw(_WHENS), draw(_WRITINGS)
    fields: dict[str, Any] = {}
    end = decision = None
    if etype == "interview":
        fields["with"] = _people(draw, contacts, 0)
        if draw(_BOOLEANS):
            end = (draw(_one_of((0, 30, 45, 60, 90, 180, 240))), draw(_WRITINGS))
        if draw(_ONE_IN_FIVE) == 4:
            fields["round"] = draw(st.integers(1, 3))
    elif etype == "timetable":
        by = _maybe(draw, contacts)
        if by is not None:
            fields["by"] = by
        how = draw(_one_of(("date", "datetime", "midnight", "within")))
        if how == "within":
            fields["within"] = draw(_one_of(WITHIN_VALUES))
        else:
            decision = (how, draw(st.integers(0, 21)), draw(st.integers(0, 600)), draw(_WRITINGS))
    elif etype == "preference":
        fields["contact"] = draw(_one_of(contacts))
        fields["channel"] = draw(_one_of(CHANNEL_VALUES))
    elif etype == "employer_contact":
        sender = _maybe(draw, contacts)
        if sender is not None:
            fields["from"] = sender
        channel = draw(_none_or(CHANNEL_VALUES))
        if channel is not None:
            fields["channel"] = channel
    elif etype in ("rejection", "offer"):
        sender = _maybe(draw, contacts)
        if sender is not None:
            fields["from"] = sender
    elif etype == "do_not_contact":
        for key in ("contact", "by"):
            who = _maybe(draw, contacts)
            if who is not None:
                fields[key] = who
    elif etype in CANDIDATE_TYPES:
        to = _people(draw, contacts, 1)
        fields["to"] = to[0] if len(to) == 1 and draw(_ONE_IN_FOUR) == 3 else to
        fields["channel"] = draw(_one_of(CHANNEL_VALUES))
        body = draw(_none_or(BODIES))
        if body is not None:
            fields["body"] = body
    if draw(_ONE_IN_TEN) == 9:
        fields["note"] = "from the tracker"
    return _Draft(etype, app, name_app, when, writing, fields, end, decision)


@st.composite
def timelines(draw, *, dst: bool = True, holidays: bool = True, naive_local: bool = False,
              min_events: int = 0, max_events: int = 25) -> dict:
    """A valid timeline dict (see the module docstring).

    ``dst=False``: every zone (applications, contacts, timeline) has one offset all
    through 2026. ``holidays=False``: no application has a holiday ``country``.
    ``naive_local=True``: the timeline has a ``timezone`` and some instants are
    written without an offset, as local times in it.
    """
    zones = ALL_ZONES if dst else FIXED_ZONES
    start = draw(_one_of(PERIOD_STARTS))
    data: dict[str, Any] = {}
    if draw(_BOOLEANS):
        data["candidate"] = "Dana Reyes"
    if naive_local or draw(_BOOLEANS):
        data["timezone"] = draw(_one_of(zones))
    data["contacts"] = draw(_contacts(zones))
    data["applications"] = draw(_applications(zones, holidays, start))
    naive_zone = data["timezone"] if naive_local else None
    # events come in batches of 1-5, and half the timelines have at least 3 batches:
    # a plain list of events would mostly stay short; this still shrinks event by event
    batch = st.lists(_drafts(tuple(sorted(data["applications"])), tuple(sorted(data["contacts"]))),
                     min_size=1, max_size=5)
    batches = st.one_of(st.lists(batch, min_size=min_events, max_size=max_events),
                        st.lists(batch, min_size=max(min_events, 3), max_size=max(max_events, 3)))
    drafts = [d for b in draw(batches) for d in b]
    prior: list[datetime] = []
    events = []
    for position, draft in enumerate(drafts[:max_events]):
        instant = _resolve_when(draft.when, start, prior)
        prior.append(instant)
        events.append(draft.build(f"{EVENT_ID_PREFIX[draft.type]}{position}", instant, data, naive_zone))
    data["events"] = events
    return data


def zone_of_timeline(data: dict) -> str | None:
    """The zone a zone-less timestamp of ``data`` is read in."""
    return data.get("timezone")


def event_instants(data: dict) -> list[datetime]:
    """The instants (``at``) of the events of ``data``, in UTC, sorted."""
    zone = zone_of_timeline(data)
    return sorted(parse_instant(e["at"], zone).astimezone(UTC) for e in data["events"])


def _span(data: dict) -> tuple[datetime, datetime]:
    found = event_instants(data)
    if not found:
        return PERIOD_STARTS[0], PERIOD_STARTS[0] + PERIOD
    return found[0], found[-1]


@st.composite
def as_ofs(draw, data: dict) -> datetime:
    """An evaluation instant for ``data``, aware, in a random fixed offset: exactly at an
    event (events at ``as_of`` count), just before or after one, anywhere from a day
    before the first event to four weeks after the last, or long after."""
    first, last = _span(data)
    found = event_instants(data)
    how = draw(st.sampled_from(["between", "between", "at", "near", "late"] if found else ["between", "late"]))
    if how == "at":
        instant = draw(st.sampled_from(found))
    elif how == "near":
        instant = draw(st.sampled_from(found)) + timedelta(seconds=draw(st.sampled_from([-1, 1, -3600, 86399])))
    elif how == "late":
        instant = last + timedelta(days=draw(st.integers(60, 400)))
    else:
        lo, hi = first - timedelta(days=1), last + timedelta(weeks=4)
        instant = lo + timedelta(minutes=draw(st.integers(0, int((hi - lo).total_seconds()) // 60)))
    offset = draw(OFFSETS) or timedelta(0)
    return instant.astimezone(timezone(offset))


@st.composite
def audits(draw, **kwargs: Any) -> tuple[dict, datetime]:
    """A timeline dict (``timelines(**kwargs)``) and an ``as_of`` for it."""
    data = draw(timelines(**kwargs))
    return data, draw(as_ofs(data))


def _fresh_id(draw, data: dict, stem: str) -> str:
    """An id no event of ``data`` has; sorting before or after the generated ids, so
    that a tie at one instant is broken either way."""
    taken = {e["id"] for e in data["events"]}
    eid = draw(st.sampled_from([f"0{stem}", f"z{stem}"]))
    while eid in taken:
        eid += "x"
    return eid


@st.composite
def _added_instant(draw, data: dict) -> str:
    """When an added event happens: at an existing event (a tie), or anywhere from a
    week before the first event to four weeks after the last."""
    found = event_instants(data)
    first, last = _span(data)
    if found and draw(_BOOLEANS):
        instant = draw(st.sampled_from(found))
    else:
        lo, hi = first - timedelta(weeks=1), last + timedelta(weeks=4)
        instant = lo + timedelta(minutes=draw(st.integers(0, int((hi - lo).total_seconds()) // 60)))
    return draw(iso_in_offset(instant))


def _added_application(draw, data: dict, event: dict) -> None:
    apps = tuple(sorted(data["applications"]))
    app = draw(_one_of(apps))
    if len(apps) > 1 or draw(_BOOLEANS):
        event["application"] = app


@st.composite
def employer_contacts(draw, data: dict) -> dict:
    """An ``employer_contact`` event that can be added to ``data``: fresh id, any
    instant around the timeline, any application, sender and channel or none."""
    event: dict[str, Any] = {"id": _fresh_id(draw, data, "employer"), "type": "employer_contact",
                             "at": draw(_added_instant(data))}
    _added_application(draw, data, event)
    sender = _maybe(draw, tuple(sorted(data["contacts"])))
    if sender is not None:
        event["from"] = sender
    channel = draw(_none_or(CHANNEL_VALUES))
    if channel is not None:
        event["channel"] = channel
    return event


@st.composite
def candidate_contacts(draw, data: dict, types: tuple[str, ...] = CANDIDATE_TYPES) -> dict:
    """A candidate message (one of ``types``) that can be added to ``data``."""
    event: dict[str, Any] = {"id": _fresh_id(draw, data, "candidate"), "type": draw(_one_of(types)),
                             "at": draw(_added_instant(data))}
    _added_application(draw, data, event)
    event["to"] = _people(draw, tuple(sorted(data["contacts"])), 1)
    event["channel"] = draw(_one_of(CHANNEL_VALUES))
    body = draw(_none_or(BODIES))
    if body is not None:
        event["body"] = body
    return event


#: any valid timeline: DST changes, holiday calendars, every event type
TIMELINES = timelines()
#: timelines whose zones never change offset in 2026 and with no holiday calendar, so
#: that moving everything by whole weeks moves every local time and business day with it
FIXED_ZONE_TIMELINES = timelines(dst=False, holidays=False)
#: timelines with some zone-less local times, read in the timeline's ``timezone``
NAIVE_LOCAL_TIMELINES = timelines(naive_local=True)


#: any text a timeline may hold (no NUL, no lone surrogate): names, companies, ids from hostile sources,
#: with markup, quotes, bidi controls and noncharacters made likely
DISPLAY_TEXTS = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30),
    st.lists(st.sampled_from(["<script>", "</svg>", "\"", "'", "&amp;", "&", "<", ">", "\u202e", "\u2066",
                              "\u200d", "\ufffe", "\U0010ffff", "\x0c", "\r\n", "]]>", "<!--", "Zoë", "山田"]),
             min_size=1, max_size=8).map("".join),
)
