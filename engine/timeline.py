"""The timeline format, v1: contacts, applications and events, validated and normalised.

A timeline is what a tracker knows about one candidate: who they met, for which
applications, and what happened when. It is read from YAML or JSON, validated with
pydantic (unknown fields are errors), every timestamp is turned into a UTC instant
(a timestamp without an offset takes the timeline's ``timezone``; without one it is
an error) and events are sorted by (instant, id), so the order of the input never
matters. ``docs/timeline-format.md`` documents every field.

Values are strict, because a tracker's mistake must not turn into a silently wrong
answer: a timestamp is RFC 3339 text (never a number, which pydantic would read as
epoch seconds), a date is ``YYYY-MM-DD`` text, whole numbers are not booleans, text
or floats, text is never coerced from another type, and no text may hold a NUL or a
lone surrogate (which cannot be written out as UTF-8). Every instant lies in
:data:`engine.limits.MIN_INSTANT` .. :data:`engine.limits.MAX_INSTANT` and every date
in the years :data:`engine.limits.MIN_YEAR` .. :data:`engine.limits.MAX_YEAR`, so no
arithmetic on them (end of a local day, a duration, business days) can overflow.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, Strict,
                      ValidationError, ValidationInfo, WithJsonSchema, field_validator, model_validator)

from .calendar import check_region, end_of_local_day, is_zone_key
from .duration import DURATION_PATTERN, kind_of, parse_duration, shown
from .errors import InputError, Problem, did_you_mean
from .limits import MAX_INSTANT, MAX_YEAR, MIN_INSTANT, MIN_YEAR
from .source import Document, dotted_path, draft07_schema, load_document, pydantic_problems

__all__ = ["Timeline", "Event", "Contact", "Application", "load_timeline", "timeline_from_data",
           "CHANNELS", "CANDIDATE_TYPES", "EMPLOYER_TYPES", "EVENT_TYPES", "timeline_json_schema",
           "parse_timestamp", "check_instant", "OutOfRange", "text_problems", "Text", "Ids", "Recipients",
           "Timestamp", "AwareTimestamp", "MAX_ROUND"]

UTC = timezone.utc

Channel = Literal["email", "phone", "voicemail", "text", "linkedin", "letter", "in_person", "other"]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
Role = Literal["interviewer", "hiring_manager", "recruiter", "coordinator", "agency_recruiter", "other"]

#: candidate-side outreach (each has ``to``, ``channel`` and an optional ``body``)
CANDIDATE_TYPES = ("thank_you", "status_inquiry", "feedback_request", "contact")
#: employer-side events and facts
EMPLOYER_TYPES = ("interview", "timetable", "preference", "employer_contact", "rejection", "offer",
                  "do_not_contact")
EVENT_TYPES = EMPLOYER_TYPES + CANDIDATE_TYPES + ("withdrawal",)

#: the highest interview ``round``: the durable backend compares numbers as doubles, so
#: rounds beyond 2**53 would be told apart by one backend and not the other
MAX_ROUND = 1000

# -- strict scalars ------------------------------------------------------------------------------
# ASCII digits only (``\d`` matches every script's digits); the same text, without ``^``/``$``,
# is the JSON Schema ``pattern`` (ECMA 262 regexes: no named groups).
_DATE_TEXT = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIMESTAMP_TEXT = (_DATE_TEXT + r"[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
                   r"([Zz]|[+-][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)?")
_DATE = re.compile(_DATE_TEXT)
_TIMESTAMP = re.compile(_TIMESTAMP_TEXT)
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
#: the form trackers write (``T``, seconds, at most 6 fraction digits, ``Z`` or a valid ``+HH:MM``):
#: ``datetime.fromisoformat`` (C) reads every match as :func:`_parse_general` does
_COMMON_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                               r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")
#: a lone surrogate in JSON text written with ``ensure_ascii=False`` (a NUL is written ``\u0000``)
_SURROGATE = re.compile("[\ud800-\udfff]")
_EXAMPLE = "`2026-03-02T10:00:00-05:00`"


class OutOfRange(ValueError):
    """An instant or date outside the years :data:`MIN_YEAR` to :data:`MAX_YEAR`."""


def _check_year(year: int, text: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise OutOfRange(f"`{shown(text)}` is outside the years {MIN_YEAR} to {MAX_YEAR}")


def parse_timestamp(text: str) -> datetime:
    """A datetime from RFC 3339 text: aware with an offset, naive without one.

    The common form is read by ``datetime.fromisoformat``; anything else (and every
    error) by the general parser, :func:`_parse_general`, which is the definition.
    """
    if _COMMON_TIMESTAMP.fullmatch(text):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass  # an impossible date or time of day: the general parser says which
        else:
            _check_year(parsed.year, text)
            return parsed
    return _parse_general(text)


def _parse_general(text: str) -> datetime:
    """A datetime from RFC 3339 text: aware with an offset, naive without one.

    ``YYYY-MM-DD``, then ``T``, ``t`` or a space, then ``HH:MM``, optional ``:SS`` and
    fraction (up to 9 digits, kept to the microsecond), then optionally ``Z`` or
    ``+HH:MM`` (``+HH:MM:SS`` too, which Python writes for old local mean times).
    Nothing else: no surrounding spaces, no week dates, no basic format, no bare
    year, no epoch seconds. The local year must be in range. Raise ``ValueError``
    with a message for users.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        if _DATE.fullmatch(text):
            raise ValueError(f"`{text}` is a date without a time of day; write a timestamp such as {_EXAMPLE}")
        raise ValueError(f"`{shown(text)}` is not an RFC 3339 timestamp such as {_EXAMPLE}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    _check_year(int(year), text)
    tz = None
    if offset in ("Z", "z"):
        tz = UTC
    elif offset:
        parts = [int(p) for p in offset[1:].split(":")] + [0]
        if parts[0] > 23 or parts[1] > 59 or parts[2] > 59:
            raise ValueError(f"`{text}` has an impossible UTC offset `{offset}`")
        delta = timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])
        tz = timezone(-delta if offset[0] == "-" else delta)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro,
                        tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"`{text}` is not a valid timestamp: {exc}") from None


def check_instant(instant: datetime, text: str) -> datetime:
    """``instant`` (aware) in UTC, if it lies in ``MIN_INSTANT <= t < MAX_INSTANT``; else :class:`OutOfRange`."""
    _check_year(instant.year, text)  # before converting: a local year 9999 could overflow
    utc = instant.astimezone(UTC)
    if not MIN_INSTANT <= utc < MAX_INSTANT:
        raise OutOfRange(f"`{shown(text)}` is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return utc


def _instant(value: Any, zone: str | None, naive_hint: str | None) -> datetime:
    """A UTC instant from RFC 3339 text or a datetime; a naive one is local time in ``zone``.

    Without ``zone`` a naive one is an error; ``naive_hint`` says how to fix it (None:
    the timeline's wording).
    """
    if isinstance(value, str):
        text, parsed = value, parse_timestamp(value)
    elif isinstance(value, datetime):
        text, parsed = value.isoformat(), value
    else:
        raise ValueError(f"a timestamp must be text such as {_EXAMPLE}, not {kind_of(value)}")
    if parsed.tzinfo is not None and parsed.utcoffset() is not None:
        return check_instant(parsed, text)
    if not zone:
        if naive_hint is not None:
            raise ValueError(naive_hint)
        raise ValueError(f"timestamp `{parsed.isoformat()}` has no UTC offset and the timeline sets no "
                         "`timezone`; write an offset such as `-05:00` or set `timezone:`")
    _check_year(parsed.year, text)
    return check_instant(_localize(parsed, zone), text)


def _timeline_instant(value: Any, info: ValidationInfo) -> datetime:
    return _instant(value, (info.context or {}).get("zone"), None)


def _aware_instant(value: Any) -> datetime:
    return _instant(value, None, f"`{shown(value) if isinstance(value, str) else value}` has no UTC offset; "
                                 "write one, e.g. `2026-03-12T09:00:00-05:00`")


def _date(value: Any) -> date:
    """A date from ``YYYY-MM-DD`` text (or a ``date``, not a datetime) in the allowed years."""
    if isinstance(value, str):
        match = _DATE.fullmatch(value)
        if match is None:
            raise ValueError(f"`{shown(value)}` is not a date; write `YYYY-MM-DD`, e.g. `2026-03-09`")
        _check_year(int(match.group(1)), value)
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError as exc:
            raise ValueError(f"`{value}` is not a valid date: {exc}") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        _check_year(value.year, value.isoformat())
        return value
    raise ValueError(f"a date must be text such as `2026-03-09`, not {kind_of(value)}")


def _date_or_instant(value: Any, info: ValidationInfo) -> date | datetime:
    if (isinstance(value, str) and _DATE.fullmatch(value)) or (isinstance(value, date)
                                                               and not isinstance(value, datetime)):
        return _date(value)
    if not isinstance(value, (str, datetime)):
        raise ValueError(f"`decision_by` must be a date such as `2026-03-09` or a timestamp such as {_EXAMPLE}, "
                         f"not {kind_of(value)}")
    return _timeline_instant(value, info)


def _text(value: str) -> str:
    if _BAD_CHARS.search(value):
        raise ValueError(_bad_text(value))
    return value


def _bad_text(value: str) -> str:
    what = "a NUL character" if "\x00" in value else "a lone surrogate (an unpaired UTF-16 escape)"
    return f"text must not contain {what}: `{shown(value)}`"


_TIMESTAMP_SCHEMA = {"type": "string", "pattern": f"^{_TIMESTAMP_TEXT}$"}
_DATE_SCHEMA = {"type": "string", "format": "date", "pattern": f"^{_DATE_TEXT}$"}

#: text: never coerced from another type (bytes, numbers), no NUL, no lone surrogate
Text = Annotated[str, Strict(), AfterValidator(_text)]
#: an instant from RFC 3339 text; without an offset, local time in the timeline's ``timezone``
Timestamp = Annotated[datetime, PlainValidator(_timeline_instant), WithJsonSchema(_TIMESTAMP_SCHEMA)]
#: an instant from RFC 3339 text with an offset
AwareTimestamp = Annotated[datetime, PlainValidator(_aware_instant), WithJsonSchema(_TIMESTAMP_SCHEMA)]
Day = Annotated[date, PlainValidator(_date), WithJsonSchema(_DATE_SCHEMA)]
DayOrTimestamp = Annotated[Union[date, datetime], PlainValidator(_date_or_instant),
                           WithJsonSchema({"anyOf": [_DATE_SCHEMA, _TIMESTAMP_SCHEMA]})]
DurationText = Annotated[str, Strict(), WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN})]
Ids = Annotated[list[Text], Strict()]


def _listify(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ValueError(f"write a contact id or a list of contact ids, not {kind_of(value)}")
    return value


#: one contact id, or a non-empty list of them; always a list once validated
Recipients = Annotated[Ids, BeforeValidator(_listify), WithJsonSchema({"anyOf": [
    {"type": "array", "items": {"type": "string"}, "minItems": 1}, {"type": "string"}]})]


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """The IANA zones this machine knows, by case-folded name (``localtime`` is the host's
    own zone, not a name: it would make answers depend on the machine)."""
    return {name.casefold(): name for name in available_timezones() if name not in ("localtime", "posixrules")}


def _zone(value: str | None) -> str | None:
    """``value`` if it names an IANA zone (never a directory, path or file of the zone database)."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_zone_key(value) and _zones().get(value.casefold()) != value:
        known = _zones().get(value.casefold()) if isinstance(value, str) else None
        hint = f"; did you mean `{known}`?" if known else "; use an IANA name such as `America/New_York`"
        raise ValueError(f"unknown time zone `{shown(str(value))}`{hint}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone `{shown(value)}`; use an IANA name such as `America/New_York`") from None
    return value


def _localize(naive: datetime, zone: str) -> datetime:
    tz = ZoneInfo(zone)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise ValueError(f"`{naive.isoformat()}` does not exist in `{zone}` (clocks skip it "
                             "for daylight saving time); write the UTC offset")
        raise ValueError(f"`{naive.isoformat()}` happens twice in `{zone}` (clocks go back); "
                         "write the UTC offset to say which")
    return first


class _Model(BaseModel):
    # defer_build: a model's own validator is built when it is first used; contacts,
    # applications and events are validated only inside a Timeline, so theirs never are
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class Contact(_Model):
    name: Text = Field(description="How the contact is named in messages.")
    role: Role = Field("interviewer", description="The contact's part in the hiring process.")
    timezone: Text | None = Field(None, description="IANA zone of the contact, for local-time rules.")
    preferred_channel: Channel | None = Field(None, description="The channel the contact asked to be reached on.")
    email: Text | None = None
    phone: Text | None = None

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _zone(v)))


class Application(_Model):
    company: Text
    title: Text | None = None
    country: Text | None = Field(None, description="ISO 3166 country code of the employer, for public holidays.")
    subdivision: Text | None = Field(None, description="State or province code, for regional holidays.")
    timezone: Text | None = Field(None, description="IANA zone of the employer (business days, end of day).")
    closures: Annotated[list[Day], Strict()] = Field(default_factory=list,
                                                      description="Extra days the employer is closed.")

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _zone(v)))

    @model_validator(mode="after")
    def _region(self) -> "Application":
        if self.country:
            problem = check_region(self.country, self.subdivision)
            if problem:
                raise ValueError(problem)
        elif self.subdivision:
            raise ValueError("`subdivision` needs a `country`")
        return self


class _Event(_Model):
    id: Text = Field(min_length=1, description="Unique within the timeline; findings cite it.")
    at: Timestamp = Field(description="When it happened: RFC 3339 with an offset, or local time in the timeline's "
                                      "zone.")
    application: Text | None = Field(None, description="Application id; may be omitted when there is only one.")
    note: Text | None = Field(None, description="Free text, ignored by rules.")

    @property
    def parties(self) -> tuple[str, ...]:
        """The contacts this event is with, to, from or about (in the order written)."""
        return ()

    @property
    def side(self) -> str:
        return "employer"


class Interview(_Event):
    type: Literal["interview"]
    with_: Ids = Field(default_factory=list, alias="with", description="Contact ids of the interviewers.")
    ends_at: Timestamp | None = Field(None, description="When the interview ended; deadlines count from here.")
    round: Annotated[int, Strict()] | None = Field(None, ge=1, le=MAX_ROUND,
                                                   description="The interview round, for people only.")

    @model_validator(mode="after")
    def _order(self) -> "Interview":
        if self.ends_at is not None and self.ends_at < self.at:
            raise ValueError("`ends_at` is before `at`")
        return self

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.with_)


class Timetable(_Event):
    type: Literal["timetable"]
    by: Text | None = Field(None, description="Contact id of who gave the timetable.")
    decision_by: DayOrTimestamp | None = Field(
        None, description="When they expect to decide: a date (end of that day, employer's zone) or a time.")
    within: DurationText | None = Field(None, description="Or: a duration from `at`, e.g. `2w` or `10bd`.")

    @field_validator("within")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one_of(self) -> "Timetable":
        if (self.decision_by is None) == (self.within is None):
            raise ValueError("a timetable needs exactly one of `decision_by` or `within`")
        return self

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.by,) if self.by else ()


class Preference(_Event):
    type: Literal["preference"]
    contact: Text = Field(description="Contact id whose preference this is.")
    channel: Channel

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.contact,)


class EmployerContact(_Event):
    type: Literal["employer_contact"]
    from_: Text | None = Field(None, alias="from", description="Contact id of the sender.")
    channel: Channel | None = None

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.from_,) if self.from_ else ()


class Decision(_Event):
    type: Literal["rejection", "offer"]
    from_: Text | None = Field(None, alias="from")

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.from_,) if self.from_ else ()


class DoNotContact(_Event):
    type: Literal["do_not_contact"]
    contact: Text | None = Field(None, description="Contact who must not be contacted; omitted = the whole company.")
    by: Text | None = None

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.contact,) if self.contact else ()


class Outreach(_Event):
    type: Literal["thank_you", "status_inquiry", "feedback_request", "contact"]
    to: Recipients = Field(min_length=1, description="Contact ids of the recipients (one id, or a list).")
    channel: Channel
    body: Text | None = Field(None, description="The message text, for content rules.")

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.to)

    @property
    def side(self) -> str:
        return "candidate"


class Withdrawal(_Event):
    type: Literal["withdrawal"]

    @property
    def side(self) -> str:
        return "candidate"


Event = Annotated[Union[Interview, Timetable, Preference, EmployerContact, Decision, DoNotContact,
                        Outreach, Withdrawal], Field(discriminator="type")]


class Timeline(_Model):
    """A candidate's follow-up history. ``events`` are sorted by (instant, id)."""

    candidate: Text | None = None
    timezone: Text | None = Field(None, description="Zone for timestamps written without an offset.")
    contacts: dict[Text, Contact] = Field(default_factory=dict)
    applications: dict[Text, Application] = Field(default_factory=dict)
    events: Annotated[list[Event], Strict()] = Field(default_factory=list)

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _zone(v)))

    def application_zone(self, app: str) -> str:
        application = self.applications.get(app)
        return (application and application.timezone) or self.timezone or "UTC"

    def contact_zone(self, contact: str | None, app: str) -> str:
        person = self.contacts.get(contact) if contact else None
        return (person and person.timezone) or self.application_zone(app)

    def contact_name(self, contact: str | None) -> str:
        if not contact:
            return ""
        person = self.contacts.get(contact)
        return person.name if person else contact

    def decision_instant(self, event: Timetable, calendar=None) -> datetime:
        """When a timetable says the decision is due, as a UTC instant.

        ``calendar`` counts ``within: Nbd`` (default: the employer's own calendar).
        """
        if event.within is not None:
            d = parse_duration(event.within)
            if d.is_business:
                return (calendar or self.calendar(event.application)).add(event.at, d.business_days)
            return event.at + timedelta(seconds=d.seconds)
        if isinstance(event.decision_by, datetime):
            return event.decision_by
        zone = self.application_zone(event.application)
        local_noon = datetime.combine(event.decision_by, datetime.min.time(), tzinfo=ZoneInfo(zone))
        return end_of_local_day(local_noon, zone)

    def calendar(self, app: str, **policy: Any):
        """The employer's business calendar for ``app``; ``policy`` adds weekend/closures."""
        from .calendar import BusinessCalendar
        application = self.applications.get(app)
        closures = frozenset(application.closures if application else ()) | frozenset(policy.get("closures", ()))
        return BusinessCalendar(
            zone=self.application_zone(app),
            country=application.country if application else None,
            subdivision=application.subdivision if application else None,
            weekend=policy.get("weekend", frozenset({5, 6})),
            closures=closures,
            use_public_holidays=policy.get("public_holidays", True),
        )

    @property
    def by_id(self) -> dict[str, Any]:
        # not cached: model_copy would carry a stale cache into the copy
        return {e.id: e for e in self.events}

    def until(self, as_of: datetime) -> tuple["Timeline", list[str]]:
        """This timeline without events after ``as_of``, and the ids left out."""
        kept = [e for e in self.events if e.at <= as_of]
        dropped = [e.id for e in self.events if e.at > as_of]
        if not dropped:
            return self, []
        return self.model_copy(update={"events": kept}), dropped



#: the event fields that name contacts (Python name, name in the file)
_CONTACT_FIELDS = (("with_", "with"), ("to", "to"), ("by", "by"), ("from_", "from"), ("contact", "contact"))


def _cross_check(tl: Timeline, doc: Document | None, root: tuple = ()) -> tuple[Timeline, list[Problem]]:
    problems: list[Problem] = []

    def problem(code: str, msg: str, path: tuple) -> None:
        loc = doc.loc_of(root + ("events",) + path) if doc else None
        problems.append(Problem(code, msg, loc, path=dotted_path(root + ("events",) + path)))

    seen: dict[str, int] = {}
    fixed = []
    only_app = next(iter(tl.applications)) if len(tl.applications) == 1 else None
    for i, event in enumerate(tl.events):
        if event.id in seen:
            problem("timeline.duplicate-id", f"duplicate event id `{event.id}` (first used by events[{seen[event.id]}])",
                    (i, "id"))
        seen.setdefault(event.id, i)
        app = event.application
        if app is None:
            if only_app is None:
                msg = ("the timeline has no `applications`" if not tl.applications else
                       f"event `{event.id}` must name its `application` (the timeline has several)")
                problem("timeline.missing-application", msg, (i,))
            else:
                event = event.model_copy(update={"application": only_app})
        elif app not in tl.applications:
            problem("timeline.unknown-application",
                    f"unknown application `{app}`{did_you_mean(app, tl.applications)}", (i, "application"))
        fields = event.__dict__  # pydantic's getattr is slow for fields a model lacks
        for field_name, alias in _CONTACT_FIELDS:
            value = fields.get(field_name)
            if not value:
                continue
            ids = value if isinstance(value, list) else ([value] if value else [])
            for j, contact in enumerate(ids):
                if contact not in tl.contacts:
                    path = (i, alias, j) if isinstance(value, list) else (i, alias)
                    problem("timeline.unknown-contact",
                            f"unknown contact `{contact}`{did_you_mean(contact, tl.contacts)}", path)
            if isinstance(value, list) and len(set(value)) != len(value):
                problem("timeline.repeated-contact", f"a contact is listed twice in `{alias}`", (i, alias))
        fixed.append(event)
    ordered = sorted(fixed, key=lambda e: (e.at, e.id))
    return tl.model_copy(update={"events": ordered}), problems


def text_problems(data: Any, doc: Document | None, code: str, root: tuple = ()) -> list[Problem]:
    """A problem for every key and text in ``data`` that holds a NUL or a lone surrogate.

    Checked before validation, because such text cannot be printed or encoded: error
    messages that repeat an unknown field's name or a bad value would fail in turn.
    Located in ``doc`` (``data`` sits at ``root`` in it) when given; paths escape the
    offending characters. Shared containers (YAML aliases) are looked at once.
    """
    if not _may_hold_bad_text(data):
        return []
    problems: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[tuple, Any]] = [((), data)]

    def add(path: tuple, message: str, key: bool) -> None:
        shown_path = tuple(shown(p, 60) if isinstance(p, str) else p for p in root + path)
        where = doc.loc_of(root + path, key=key) if doc is not None else None
        prefix = f"`{dotted_path(shown_path)}`: " if shown_path else ""
        problems.append(Problem(code, prefix + message, where, path=dotted_path(shown_path)))

    while stack and len(problems) < 50:
        path, node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                continue
            seen.add(id(node))
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and _BAD_CHARS.search(key):
                    add(path + (key,), "the key: " + _bad_text(key), True)
                stack.append((path + (key,), value))
        elif isinstance(node, list):
            stack.extend((path + (i,), item) for i, item in enumerate(node))
        elif isinstance(node, str) and _BAD_CHARS.search(node):
            add(path, _bad_text(node), False)
    return problems


def _may_hold_bad_text(data: Any) -> bool:
    """False when no key or text in ``data`` holds a NUL or a lone surrogate, found in one
    pass of the C JSON encoder; True when one may (then :func:`text_problems` walks the data
    to locate them), including for data the encoder cannot write (recursive aliases,
    keys that are not scalars)."""
    try:
        dumped = json.dumps(data, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return True
    if "\\u0000" in dumped:
        return True
    return not dumped.isascii() and _SURROGATE.search(dumped) is not None


def timeline_from_data(data: Any, doc: Document | None = None, root: tuple = (), *,
                       max_events: int | None = None) -> Timeline:
    """Validate already-parsed data (e.g. a JSON body); raise :class:`InputError`.

    With ``doc``, problems are located in it; ``root`` is where ``data`` sits inside it.
    More than ``max_events`` events (default: :attr:`engine.limits.Limits.max_events`)
    are refused, located at ``events``, before any is validated.
    """
    from .limits import DEFAULT_LIMITS
    limit = DEFAULT_LIMITS.max_events if max_events is None else max_events
    if isinstance(data, dict) and isinstance(data.get("events"), list) and len(data["events"]) > limit:
        where = root + ("events",)
        raise InputError(Problem("timeline.too-many-events", f"the timeline has {len(data['events'])} events; "
                                 f"the limit is {limit}", doc.loc_of(where, key=True) if doc is not None else None,
                                 path=dotted_path(where)))
    if doc is None:
        doc = Document(data, "<timeline>")
        located, root = False, ()  # ``root`` places ``data`` inside a document we do not have
    else:
        located = True
    if not isinstance(data, dict):
        raise InputError(Problem("timeline.not-a-mapping", "a timeline must be a mapping with `events`",
                                 doc.loc_of(root) if located else None))
    problems = text_problems(data, doc if located else None, "timeline.invalid", root if located else ())
    if problems:
        raise InputError(problems)
    zone = data.get("timezone") if isinstance(data.get("timezone"), str) else None
    try:
        zone = _zone(zone)
    except ValueError:
        zone = None  # reported by validation below
    try:
        tl = Timeline.model_validate(data, context={"zone": zone})
    except ValidationError as exc:
        problems = pydantic_problems(exc, doc, "timeline", root=root)
        if not located:
            problems = [Problem(p.code, p.message, None, path=p.path) for p in problems]
        raise InputError(problems) from None
    tl, problems = _cross_check(tl, doc if located else None, root)
    if problems:
        raise InputError(problems)
    return tl


def load_timeline(source: str | Any) -> Timeline:
    """Load a timeline from a path (YAML or JSON) and validate it."""
    doc = load_document(source)
    return timeline_from_data(doc.data, doc)


def timeline_json_schema() -> dict:
    return draft07_schema(Timeline, "followup timeline v1")
