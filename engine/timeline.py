"""The timeline format, v1: contacts, applications and events, validated and normalised.

A timeline is what a tracker knows about one candidate: who they met, for which
applications, and what happened when. It is read from YAML or JSON, validated with
pydantic (unknown fields are errors), every timestamp is turned into a UTC instant
(a timestamp without an offset takes the timeline's ``timezone``; without one it is
an error) and events are sorted by (instant, id), so the order of the input never
matters. ``docs/timeline-format.md`` documents every field.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from .calendar import check_region, end_of_local_day
from .duration import parse_duration
from .errors import InputError, Problem, did_you_mean
from .source import Document, dotted_path, draft07_schema, load_document, pydantic_problems

__all__ = ["Timeline", "Event", "Contact", "Application", "load_timeline", "timeline_from_data",
           "CHANNELS", "CANDIDATE_TYPES", "EMPLOYER_TYPES", "EVENT_TYPES", "timeline_json_schema"]

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

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone `{value}`; use an IANA name such as `America/New_York`")
    return value


def _instant(value: datetime, info: ValidationInfo) -> datetime:
    """A UTC instant from an aware datetime, or from a naive one in the timeline's zone."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC)
    zone = (info.context or {}).get("zone")
    if not zone:
        raise ValueError(f"timestamp `{value.isoformat()}` has no UTC offset and the timeline sets no "
                         "`timezone`; write an offset such as `-05:00` or set `timezone:`")
    return _localize(value, zone).astimezone(UTC)


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
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Contact(_Model):
    name: str = Field(description="How the contact is named in messages.")
    role: Role = Field("interviewer", description="The contact's part in the hiring process.")
    timezone: str | None = Field(None, description="IANA zone of the contact, for local-time rules.")
    preferred_channel: Channel | None = Field(None, description="The channel the contact asked to be reached on.")
    email: str | None = None
    phone: str | None = None

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _zone(v)))


class Application(_Model):
    company: str
    title: str | None = None
    country: str | None = Field(None, description="ISO 3166 country code of the employer, for public holidays.")
    subdivision: str | None = Field(None, description="State or province code, for regional holidays.")
    timezone: str | None = Field(None, description="IANA zone of the employer (business days, end of day).")
    closures: list[date] = Field(default_factory=list, description="Extra days the employer is closed.")

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
    id: str = Field(min_length=1, description="Unique within the timeline; findings cite it.")
    at: datetime = Field(description="When it happened: RFC 3339 with an offset, or local time in the timeline's zone.")
    application: str | None = Field(None, description="Application id; may be omitted when there is only one.")
    note: str | None = Field(None, description="Free text, ignored by rules.")

    @field_validator("at", mode="after")
    @classmethod
    def _utc(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _instant(value, info)

    @property
    def parties(self) -> tuple[str, ...]:
        """The contacts this event is with, to, from or about (in the order written)."""
        return ()

    @property
    def side(self) -> str:
        return "employer"


class Interview(_Event):
    type: Literal["interview"]
    with_: list[str] = Field(default_factory=list, alias="with", description="Contact ids of the interviewers.")
    ends_at: datetime | None = Field(None, description="When the interview ended; deadlines count from here.")
    round: int | None = Field(None, ge=1)

    @field_validator("ends_at", mode="after")
    @classmethod
    def _utc_end(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return None if value is None else _instant(value, info)

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
    by: str | None = Field(None, description="Contact id of who gave the timetable.")
    decision_by: date | datetime | None = Field(
        None, description="When they expect to decide: a date (end of that day, employer's zone) or a time.")
    within: str | None = Field(None, description="Or: a duration from `at`, e.g. `2w` or `10bd`.")

    @field_validator("decision_by", mode="before")
    @classmethod
    def _date_or_time(cls, value: Any) -> Any:
        # only a date-only string is a date: pydantic would read a midnight datetime as a date
        if isinstance(value, str):
            text = value.strip()
            if _DATE_ONLY.match(text):
                return date.fromisoformat(text)
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                return value
        return value

    @field_validator("decision_by", mode="after")
    @classmethod
    def _utc_decision(cls, value: date | datetime | None, info: ValidationInfo) -> date | datetime | None:
        if isinstance(value, datetime):
            return _instant(value, info)
        return value

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
    contact: str = Field(description="Contact id whose preference this is.")
    channel: Channel

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.contact,)


class EmployerContact(_Event):
    type: Literal["employer_contact"]
    from_: str | None = Field(None, alias="from", description="Contact id of the sender.")
    channel: Channel | None = None

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.from_,) if self.from_ else ()


class Decision(_Event):
    type: Literal["rejection", "offer"]
    from_: str | None = Field(None, alias="from")

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.from_,) if self.from_ else ()


class DoNotContact(_Event):
    type: Literal["do_not_contact"]
    contact: str | None = Field(None, description="Contact who must not be contacted; omitted = the whole company.")
    by: str | None = None

    @property
    def parties(self) -> tuple[str, ...]:
        return (self.contact,) if self.contact else ()


class Outreach(_Event):
    type: Literal["thank_you", "status_inquiry", "feedback_request", "contact"]
    to: list[str] | str = Field(min_length=1, description="Contact ids of the recipients (one id, or a list).")
    channel: Channel
    body: str | None = Field(None, description="The message text, for content rules.")

    @field_validator("to", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

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

    candidate: str | None = None
    timezone: str | None = Field(None, description="Zone for timestamps written without an offset.")
    contacts: dict[str, Contact] = Field(default_factory=dict)
    applications: dict[str, Application] = Field(default_factory=dict)
    events: list[Event] = Field(default_factory=list)

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
        for field_name, alias in (("with_", "with"), ("to", "to"), ("by", "by"), ("from_", "from"),
                                  ("contact", "contact")):
            value = getattr(event, field_name, None)
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
