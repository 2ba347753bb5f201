"""Decisions for trackers: may the candidate do this now? If not, when, and how? What is due next?

``check`` appends the planned action to the timeline and keeps the findings that cite
it: any violation among them denies. ``earliest`` is found from the rules' own time
boundaries — the instants at which a rule's verdict on the action can change (a
``not-before`` opening, a rolling window sliding past an old message, the start of
the recipient's office hours) — never by scanning the clock: the allowed instants
are a union of intervals whose left ends are among those boundaries, so trying them
in order finds the first allowed instant exactly. ``agenda`` lists the obligations
still open, when the next status inquiry is allowed, and standing prohibitions.
"""

from __future__ import annotations

from bisect import bisect_right

from datetime import datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .api import audit
from .calendar import iso_utc, local_time
from .errors import InputError, Problem, did_you_mean
from .backends import Backend, get_backend
from .backends.reference import _RUN, _Application, ReferenceBackend
from .facts import FactTable, append_event, epoch, from_epoch, prepare_application
from .findings import Finding, build_findings, human_type
from .ir import Absence, Count, Flag, Follows, OutsideHours, Premature
from .policy import Policy
from .source import Document, dotted_path, pydantic_problems
from .timeline import (CANDIDATE_TYPES, CHANNELS, AwareTimestamp, OutOfRange, Outreach, Recipients, Text, Timeline,
                       check_instant, text_problems)

__all__ = ["PlannedAction", "Alternative", "CheckResult", "AgendaItem", "Agenda", "check", "agenda",
           "planned_action_from_data", "check_action_refs"]

UTC = timezone.utc
#: how far ahead ``earliest`` looks before answering "never"
HORIZON = timedelta(days=400)
#: how many boundary instants ``earliest`` tries at most
MAX_TRIES = 500

Channel = Literal[CHANNELS]  # type: ignore[valid-type]


class PlannedAction(BaseModel):
    """A candidate-side message the tracker is about to send (an event without an id).

    Validated as strictly as a timeline's events: text is text (no NUL, no lone
    surrogate), ``at`` is RFC 3339 text with a UTC offset in the years 1900 to 2199.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["thank_you", "status_inquiry", "feedback_request", "contact"]
    to: Recipients = Field(min_length=1, description="Contact ids of the recipients (one id, or a list).")
    channel: Channel
    application: Text | None = None
    body: Text | None = None
    at: AwareTimestamp | None = Field(None, description="When it would be sent; `--at` overrides it.")


class Alternative(BaseModel):
    """A concrete change to the action that would be allowed."""

    change: dict[str, str]
    reason: str


class CheckResult(BaseModel):
    decision: Literal["allow", "deny"]
    at: str
    earliest: str | None
    findings: list[Finding]
    alternatives: list[Alternative]
    policy: str


class AgendaItem(BaseModel):
    kind: Literal["overdue", "due", "inquiry-window", "prohibition"]
    application: str
    contact: str | None = None
    rule: str
    due: str | None = None
    channel: str | None = None
    message: str


class Agenda(BaseModel):
    as_of: str
    policy: str
    items: list[AgendaItem]


def planned_action_from_data(data: Any, doc: Document | None = None, root: tuple = ()) -> PlannedAction:
    """Validate a planned action given as parsed JSON/YAML; raise :class:`InputError`.

    With ``doc``, problems are located in it; ``root`` is where ``data`` sits inside it.
    """
    located = doc is not None
    if not located:
        doc, root = Document(data, "<action>"), ()
    problems = text_problems(data, doc if located else None, "action.invalid", root)
    if problems:
        raise InputError(problems)
    try:
        return PlannedAction.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, doc, "action", root=root)
        if not located:
            problems = [Problem(p.code, p.message, None, path=p.path) for p in problems]
        raise InputError(problems) from None


def check_action_refs(timeline: Timeline, action: PlannedAction, doc: Document | None = None,
                      root: tuple = ()) -> None:
    """Raise a (located, with ``doc``) :class:`InputError` if ``action`` names an unknown
    application or contact, or omits the application of a timeline that has several."""
    problems = []

    def problem(code: str, message: str, path: tuple) -> None:
        problems.append(Problem(code, message, doc.loc_of(root + path) if doc else None,
                                path=dotted_path(root + path)))

    if action.application is None:
        if len(timeline.applications) != 1:
            problem("action.missing-application",
                    "the planned action must name its `application` (the timeline has several)", ())
    elif action.application not in timeline.applications:
        problem("action.unknown-application", f"unknown application `{action.application}`"
                f"{did_you_mean(action.application, timeline.applications)}", ("application",))
    for i, contact in enumerate(action.to):
        if contact not in timeline.contacts:
            where = ("to", i) if doc is not None and isinstance(_get(doc.data, root + ("to",)), list) else ("to",)
            problem("action.unknown-contact", f"unknown contact `{contact}`{did_you_mean(contact, timeline.contacts)}",
                    where)
    if problems:
        raise InputError(problems)


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data



def _in_range(instant: datetime, what: str) -> datetime:
    """``instant`` in UTC; outside the years 1900 to 2199 (the horizon added to it must
    stay representable) it is an ``input.out-of-range`` error."""
    try:
        return check_instant(instant, instant.isoformat())
    except OutOfRange as exc:
        raise InputError(Problem("input.out-of-range", f"{what} {exc}")) from None


class _Checker:
    """One ``check`` call's prepared state: the timeline (cut at ``when``) and its facts,
    prepared once; each planned action at each instant then adds only its own facts and
    runs only the nodes that can cite it.

    The action is always the timeline's last event (every event is at or before ``when``,
    and it is placed at ``when`` or later, after whatever is recorded for that instant), so
    a finding that cites it has it as the subject (the offender): every node cites its
    subject and only earlier facts besides. Only the action's application is evaluated,
    and of its nodes only those whose subject (an absence's trigger) selector matches one
    of the action's facts.
    """

    def __init__(self, timeline: Timeline, policy: Policy, when: datetime, engine: "str | Backend"):
        self.timeline, self.policy, self.when = timeline, policy, when
        self.backend = get_backend(engine) if isinstance(engine, str) else engine
        #: application -> its base facts, prepared (or found prepared) on first use
        self._tables: dict[str, FactTable] = {}
        #: application -> its business calendar under the policy, shared by every table prepared here
        self._calendars: dict[str, object] = {}
        ident, n = "planned", 1
        while ident in timeline.by_id:
            n += 1
            ident = f"planned-{n}"
        self.ident = ident

    def table(self, app: str) -> FactTable:
        """The facts of ``app``'s recorded events (only its own: every node is application-scoped)."""
        table = self._tables.get(app)
        if table is None:
            table = self._tables[app] = prepare_application(self.timeline, self.policy.program, self.when, app,
                                                            self._calendars)
        return table

    def _base(self, app: str) -> _Application:
        """``app``'s base facts grouped by event (the reference backend's view), kept with the facts."""
        table = self.table(app)
        base = table.memo.get("reference")
        if base is None:
            base = table.memo["reference"] = _Application(table.facts)
        return base

    def place(self, action: PlannedAction, when: datetime) -> FactTable:
        """The facts of ``action``'s application with ``action`` sent at ``when`` appended, as of ``when``."""
        check_action_refs(self.timeline, action)
        app = action.application or next(iter(self.timeline.applications))
        # not validated again: the action was, and ``when`` may be a boundary past the last instant
        # a timeline may hold (MAX_INSTANT), which is still far from overflowing
        event = Outreach.model_construct(id=self.ident, type=action.type, at=when, application=app,
                                         to=list(action.to), channel=action.channel, body=action.body)
        return append_event(self.table(app), self.timeline, self.policy.program, event, when, self._calendars)

    def _citing(self, action: PlannedAction, when: datetime, violations_only: bool = False):
        """The facts with ``action`` sent at ``when`` placed, and a lazy iterator of the matches
        that cite it (of violation nodes only, with ``violations_only``).

        A finding that cites the action comes from a match whose offender is one of the
        action's facts (every node cites its offender); on the reference backend only the
        nodes whose subject (an absence's trigger) selector matches one of them can have one.
        """
        program = self.policy.program
        table = self.place(action, when)
        app = table.facts[-1]["app"]
        own = table.facts[len(self.table(app).facts):]
        fids = {f["fid"] for f in own}

        nodes = frozenset(index for index, node in enumerate(program.nodes)
                          if (not violations_only or node.meta.severity == "violation")
                          and any(f[table.sel(node.trigger if isinstance(node, Absence) else node.subject)]
                                  for f in own))

        def matches():
            if not isinstance(self.backend, ReferenceBackend):
                yield from (m for m in self.backend.run(program, table, nodes) if m.offender in fids)
                return
            facts = self._base(app).with_event(own)
            for index, node in enumerate(program.nodes):
                if index in nodes:
                    yield from (m for m in _RUN[type(node)](index, node, table, facts) if m.offender in fids)

        return table, matches()

    def caused(self, action: PlannedAction, when: datetime) -> list[Finding]:
        """The findings that cite ``action`` sent at ``when``."""
        table, matches = self._citing(action, when)
        findings = build_findings(self.policy.program, table, list(matches), self.timeline, planned=self.ident)
        return [f for f in findings if self.ident in f.events]

    def denied(self, action: PlannedAction, when: datetime) -> bool:
        """Whether ``action`` sent at ``when`` draws a violation: ``_denies(self.caused(action, when))``,
        without building the findings, and stopping at the first violation found."""
        return bool(self.violations(action, when, first=True))

    def violations(self, action: PlannedAction, when: datetime, first: bool = False) -> set[int]:
        """The indexes of the nodes whose violations cite ``action`` sent at ``when`` (with
        ``first``, at most one: the search stops at it), without building the findings
        (a finding's severity is its node's)."""
        found: set[int] = set()
        for m in self._citing(action, when, violations_only=True)[1]:
            found.add(m.node)
            if first:
                break
        return found


def _denies(findings: list[Finding]) -> bool:
    return any(f.severity == "violation" for f in findings)


def _boundaries(checker: _Checker, action: PlannedAction, at: datetime) -> dict[int, list[float]]:
    """For each violation node whose verdict on the action can change with its send time, the
    instants after ``at`` (within the horizon) at which it may change, in epoch seconds, in
    order: the times it compares the action's time with. A node's verdict is the same from
    one of its instants up to the next."""
    timeline, policy = checker.timeline, checker.policy
    table = checker.place(action, at)
    now, limit = epoch(at), epoch(at + HORIZON)
    app = table.facts[-1]["app"]
    out: dict[int, list[float]] = {}
    for index, node in enumerate(policy.program.nodes):
        if node.meta.severity != "violation":
            continue
        points: set[float] = set()
        if isinstance(node, (Premature, Absence)):
            key = table.time(node.opens if isinstance(node, Premature) else node.deadline)
            points = {fact[key] for fact in table.facts}
        elif isinstance(node, Count) and node.window is not None:
            points = {f["ts"] + node.window for f in table.facts}
        elif isinstance(node, Flag) and isinstance(node.test, OutsideHours):
            start = time(node.test.start_minute // 60, node.test.start_minute % 60)
            for contact in action.to:
                zone = ZoneInfo(timeline.contact_zone(contact, app))
                day = at.astimezone(zone).date()
                for offset in range(0, 60):
                    points.add(epoch(datetime.combine(day + timedelta(days=offset), start, tzinfo=zone)))
        else:
            continue  # compares no time with the action's: waiting does not change its verdict
        out[index] = sorted(p for p in points if now < p <= limit)
    return out


def check(timeline: Timeline, action: PlannedAction, policy: Policy, at: datetime | None = None,
          engine: "str | Backend" = "reference") -> CheckResult:
    """May the candidate send ``action`` at ``at``? If not, when, and how?

    ``at`` defaults to the action's own ``at``; one of them is required (this never
    reads the clock). Timeline events after ``at`` are left out.
    """
    when = at or action.at
    if when is None:
        raise InputError(Problem("action.no-time", "say when the action would happen: `at` in the action or --at"))
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputError(Problem("input.naive-instant", "`at` must be timezone-aware"))
    when = _in_range(when, "`at`")
    timeline, _ = timeline.until(when)
    checker = _Checker(timeline, policy, when, engine)
    findings = checker.caused(action, when)
    denied = _denies(findings)
    earliest = _earliest(checker, action, findings) if denied else None
    alternatives = _alternatives(checker, action, findings, earliest) if denied else []
    return CheckResult(decision="deny" if denied else "allow", at=iso_utc(when), earliest=iso_utc(earliest),
                       findings=findings, alternatives=alternatives, policy=policy.name)


def _waiting_can_help(policy: Policy, rule_id: str) -> bool:
    """Whether the verdict of rule ``rule_id`` on a planned message can change with its send time.

    The message is the latest event, so only a node that compares its time with something
    can change its mind: an opening time, a rolling window, office hours. A wrong channel,
    a message after a rejection, a count per silence or identical bodies stay as they are.
    """
    for node in policy.program.nodes:
        if node.meta.rule != rule_id:
            continue
        if isinstance(node, Premature) or (isinstance(node, Count) and node.window is not None) \
                or (isinstance(node, Flag) and isinstance(node.test, OutsideHours)):
            return True
    return False


def _earliest(checker: _Checker, action: PlannedAction, findings: list[Finding]) -> datetime | None:
    """The first instant after the checker's ``when`` at which ``action`` is allowed, or None.

    From an instant ``t`` at which nodes ``S`` deny the action, the next instant worth
    trying is the latest of each node of ``S``'s next instant of change: until then, one
    of them still denies it (each node's verdict holds between its instants, see
    :func:`_boundaries`). Only those instants are tried, at most :data:`MAX_TRIES` of them.
    """
    if any(f.severity == "violation" and not _waiting_can_help(checker.policy, f.rule) for f in findings):
        return None  # some violation holds at every later instant too
    changes = _boundaries(checker, action, checker.when)
    at = epoch(checker.when)
    denying = checker.violations(action, checker.when)
    for _ in range(MAX_TRIES):
        later = []
        for node in denying:
            upcoming = changes.get(node, [])
            k = bisect_right(upcoming, at)
            if k == len(upcoming):
                return None  # it denies the action until the horizon
            later.append(upcoming[k])
        at = max(later)
        instant = from_epoch(at)
        denying = checker.violations(action, instant)
        if not denying:
            return instant
    return None


def _preferred(timeline: Timeline, contact: str, app: str, when: datetime) -> str | None:
    latest = None
    for event in timeline.events:
        if event.type == "preference" and event.contact == contact and event.application == app and event.at <= when:
            latest = event.channel
    if latest:
        return latest
    person = timeline.contacts.get(contact)
    return person.preferred_channel if person else None


def _alternatives(checker: _Checker, action: PlannedAction, findings: list[Finding],
                  earliest: datetime | None) -> list[Alternative]:
    timeline, when = checker.timeline, checker.when
    out: list[Alternative] = []
    app = action.application or next(iter(timeline.applications))
    zone = timeline.application_zone(app)
    channels = {_preferred(timeline, c, app, when) for c in action.to} - {None, action.channel}
    for channel in sorted(channels):
        other = action.model_copy(update={"channel": channel})
        caused = checker.caused(other, when)
        if not _denies(caused):
            out.append(Alternative(change={"channel": channel},
                                   reason=f"send it by {channel.replace('_', ' ')}, the recipient's preferred channel, now"))
        else:
            later = _earliest(checker, other, caused)
            if later is not None:
                out.append(Alternative(change={"channel": channel, "at": iso_utc(later)},
                                       reason=f"send it by {channel.replace('_', ' ')} from {local_time(later, zone)}"))
    if earliest is not None:
        out.append(Alternative(change={"at": iso_utc(earliest)}, reason=f"wait until {local_time(earliest, zone)}"))
    if len(action.to) > 1:
        for contact in action.to:
            single = action.model_copy(update={"to": [contact]})
            if not checker.denied(single, when):
                out.append(Alternative(change={"to": contact},
                                       reason=f"send it to {timeline.contact_name(contact)} only"))
    return out


def agenda(timeline: Timeline, policy: Policy, as_of: datetime, engine: str = "reference") -> Agenda:
    """What is due next as of ``as_of``: open obligations, inquiry windows, prohibitions."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InputError(Problem("input.naive-instant", "`as_of` must be timezone-aware"))
    as_of = _in_range(as_of, "`as_of`")
    timeline, _ = timeline.until(as_of)
    items: list[AgendaItem] = []
    kinds = {r.id: r.kind for r in policy.rules}
    # Deadlines still open: evaluate far ahead; deadline findings due later than as_of are pending.
    ahead = audit(timeline, policy, as_of + HORIZON, engine=engine)
    for f in ahead.findings:
        if kinds.get(f.rule) != "deadline":
            continue
        if not policy.rule(f.rule).expect.types() <= set(CANDIDATE_TYPES):
            continue  # an agenda lists what the candidate sends, not what the employer records
        due = datetime.fromisoformat(f.due.replace("Z", "+00:00")) if f.due else None
        overdue = due is not None and due <= as_of
        channel = _preferred(timeline, f.contact, f.application, as_of) if f.contact else None
        rule = policy.rule(f.rule)
        what = " or ".join(sorted(human_type(t) for t in rule.expect.types()))
        whom = timeline.contact_name(f.contact) if f.contact else timeline.applications[f.application].company
        when = local_time(due, timeline.application_zone(f.application)) if due else "now"
        how = f" by {channel.replace('_', ' ')}" if channel else ""
        message = (f"{what} to {whom}{how} was due {when} (after {f.events[0]}); it is late"
                   if overdue else f"{what} to {whom}{how} due by {when} (after {f.events[0]})")
        items.append(AgendaItem(kind="overdue" if overdue else "due", application=f.application, contact=f.contact,
                                rule=f.rule, due=f.due, channel=channel, message=message))
    items.extend(_inquiry_windows(timeline, policy, as_of, engine))
    items.extend(_prohibitions(timeline, policy))
    items.sort(key=lambda i: (i.application, i.due or "9999", i.kind, i.rule, i.contact or ""))
    return Agenda(as_of=iso_utc(as_of), policy=policy.name, items=items)


def _inquiry_windows(timeline: Timeline, policy: Policy, as_of: datetime, engine: str) -> list[AgendaItem]:
    out = []
    per_silence = [n.max for n in policy.program.nodes
                   if isinstance(n, Count) and "status_inquiry" in n.subject.types and n.reset is not None]
    for app, application in timeline.applications.items():
        events = [e for e in timeline.events if e.application == app]
        if not any(e.type == "interview" for e in events):
            continue
        if any(e.type in ("offer", "rejection", "withdrawal") for e in events):
            continue
        recipient = None
        for e in events:
            if e.type == "timetable" and e.by:
                recipient = e.by
            elif e.type == "interview" and e.with_ and recipient is None:
                recipient = e.with_[0]
        if recipient is None:
            continue
        channel = _preferred(timeline, recipient, app, as_of) or "email"
        action = PlannedAction(type="status_inquiry", to=[recipient], channel=channel, application=app)
        result = check(timeline, action, policy, as_of, engine=engine)
        allowed = f"; {per_silence[0]} allowed until they reply" if per_silence else ""
        name = timeline.contact_name(recipient)
        zone = timeline.application_zone(app)
        if result.decision == "allow":
            message = f"a status inquiry to {name} at {application.company} by {channel} is allowed now{allowed}"
            due = result.at
        elif result.earliest:
            opens = local_time(datetime.fromisoformat(result.earliest.replace("Z", "+00:00")), zone)
            message = f"a status inquiry to {name} at {application.company} by {channel} is allowed from {opens}{allowed}"
            due = result.earliest
        else:
            continue
        out.append(AgendaItem(kind="inquiry-window", application=app, contact=recipient, rule="status_inquiry",
                              due=due, channel=channel, message=message))
    return out


def _prohibitions(timeline: Timeline, policy: Policy) -> list[AgendaItem]:
    out, seen = [], set()
    for node in policy.program.nodes:
        if not isinstance(node, Follows):
            continue
        for event in timeline.events:
            if event.type not in node.anchor.types:
                continue
            named = event.parties[0] if node.party_scoped and event.parties else None
            key = (node.meta.rule, event.application, named)
            if key in seen:
                continue
            seen.add(key)
            company = timeline.applications[event.application].company
            whom = f"{timeline.contact_name(named)} at {company}" if named else company
            out.append(AgendaItem(kind="prohibition", application=event.application, contact=named,
                                  rule=node.meta.rule, due=None,
                                  message=f"no further contact with {whom}: {human_type(event.type)} on "
                                          f"{event.at.date().isoformat()} ({event.id})"))
    return out
