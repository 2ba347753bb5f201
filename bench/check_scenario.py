"""The check-latency scenario: a 30-event timeline and six planned actions, allowed and denied.

The timeline is generated (``bench/timelines.py``, 30 events, the last application
still waiting for news). The actions are derived from it, so they mean the same thing
on any generated timeline:

=================  ====================================================  ==========================
name               action                                                 expected
=================  ====================================================  ==========================
``thank-you``      a thank-you to an interviewer of the latest round       allow
``recruiter``      a note to the recruiter on their channel                allow
``inquiry-early``  a status inquiry to the hiring manager, now             deny (premature): the
                                                                          earliest-time search finds
                                                                          when it opens
``inquiry-later``  the same inquiry just after that opening               allow
``off-channel``    a message to the hiring manager on a channel they       deny, never allowed by
                   asked not to be used                                  waiting: the search tries
                                                                          every boundary; the
                                                                          alternative is their channel
``late-call``      a phone call to an interviewer at 22:30 their time     allow, with a warning
=================  ====================================================  ==========================

``scenario()`` scans generated timelines from index 0 and keeps the first on which the
reference engine gives exactly these decisions, so the choice is deterministic for a
given seed and engine version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from timelines import generate_one, validate

__all__ = ["Scenario", "scenario", "ACTIONS"]

ACTIONS = ("thank-you", "recruiter", "inquiry-early", "inquiry-later", "off-channel", "late-call")
EXPECTED = {"thank-you": "allow", "recruiter": "allow", "inquiry-early": "deny", "inquiry-later": "allow",
            "off-channel": "deny", "late-call": "allow"}


@dataclass
class Scenario:
    index: int
    data: dict                       # the timeline as JSON-able data (the HTTP body's ``timeline``)
    timeline: object                 # the validated Timeline
    actions: dict[str, dict]         # name -> action data (with ``at`` and ``application``)

    def planned(self, name: str):
        from engine.decide import planned_action_from_data
        return planned_action_from_data(self.actions[name])


def _derive(data: dict, timeline) -> dict[str, dict] | None:
    events = timeline.events
    app = events[-1].application
    mine = [e for e in events if e.application == app]
    interviews = [e for e in mine if e.type == "interview"]
    timetables = [e for e in mine if e.type == "timetable" and e.by]
    senders = [e.from_ for e in mine if e.type == "employer_contact" and e.from_]
    if not interviews or not timetables or not senders:
        return None
    manager, recruiter = timetables[-1].by, senders[-1]
    panel = [c for c in interviews[-1].with_ if c != manager]
    if not panel:
        return None
    zone = ZoneInfo(timeline.application_zone(app))
    last = events[-1].at.astimezone(zone)
    now = datetime.combine(last.date() + timedelta(days=1), time(10, 30), tzinfo=zone)
    contacts = data["contacts"]
    mgr_pref = contacts[manager].get("preferred_channel")
    if mgr_pref is None:
        return None
    other = "linkedin" if mgr_pref != "linkedin" else "email"
    interviewer = panel[0]
    their_zone = ZoneInfo(timeline.contact_zone(interviewer, app))
    late = datetime.combine(now.astimezone(their_zone).date(), time(22, 30), tzinfo=their_zone)

    def iso(value: datetime) -> str:
        return value.isoformat()

    first = contacts[interviewer]["name"].split()[0]
    return {
        "thank-you": {"type": "thank_you", "to": [interviewer], "application": app, "at": iso(now),
                      "channel": contacts[interviewer].get("preferred_channel") or "email",
                      "body": f"Dear {first}, thank you for the conversation about the team's roadmap; "
                              "I enjoyed it. Best, Alex"},
        "recruiter": {"type": "contact", "to": [recruiter], "application": app, "at": iso(now),
                      "channel": contacts[recruiter].get("preferred_channel") or "email",
                      "body": "Hi, thanks for organising the interviews; let me know if you need anything."},
        "inquiry-early": {"type": "status_inquiry", "to": [manager], "application": app, "at": iso(now),
                          "channel": mgr_pref,
                          "body": "Dear colleague, I wanted to follow up on the role; I remain very interested."},
        "inquiry-later": None,  # filled from inquiry-early's earliest
        "off-channel": {"type": "contact", "to": [manager], "application": app, "at": iso(now), "channel": other,
                        "body": "Hi, great meeting you; I would love to stay in touch."},
        "late-call": {"type": "contact", "to": [interviewer], "application": app, "at": iso(late), "channel": "phone"},
    }


def scenario(seed: int = 20260301, events: int = 30, start: int = 0, limit: int = 500) -> Scenario:
    """The first generated timeline (from index ``start``) on which the six actions decide as expected."""
    from engine.api import load_policy
    from engine.decide import check, planned_action_from_data
    policy = load_policy("etiquette")
    for index in range(start, start + limit):
        data, as_of = generate_one(index, events, seed, open_ended=True)
        ((timeline, _),) = validate([(data, as_of)])
        actions = _derive(data, timeline)
        if actions is None:
            continue
        early = check(timeline, planned_action_from_data(actions["inquiry-early"]), policy)
        if early.decision != "deny" or early.earliest is None:
            continue
        opens = datetime.fromisoformat(early.earliest.replace("Z", "+00:00")) + timedelta(hours=2)
        actions["inquiry-later"] = {**actions["inquiry-early"], "at": opens.isoformat()}
        ok = True
        for name in ACTIONS:
            result = check(timeline, planned_action_from_data(actions[name]), policy)
            if result.decision != EXPECTED[name]:
                ok = False
                break
            if name == "off-channel" and result.earliest is not None:
                ok = False
                break
            if name == "late-call" and not any(f.rule == "call-hours" for f in result.findings):
                ok = False
                break
            if name in ("thank-you", "recruiter", "inquiry-later") and result.findings:
                ok = False
                break
        if ok:
            return Scenario(index, data, timeline, actions)
    raise RuntimeError(f"no generated timeline in {start}..{start + limit} fits the scenario")
