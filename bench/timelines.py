"""Deterministic generator of realistic follow-up timelines, for the benchmarks.

``generate(n, events=20, seed=...)`` returns ``n`` timeline dicts in the public
timeline format (``docs/timeline-format.md``), each with exactly ``events`` events,
each paired with an ``as_of`` instant after its last event (so nothing is cut).
The same seed always gives the same timelines (``random.Random`` per timeline,
seeded from ``seed`` and the index; no wall clock, no global random state).

What a timeline looks like: one application (70%) or two interleaved ones (30%),
with employers in the US, Canada, the UK, Germany, France or Australia (public
holidays and business days matter), 3-6 contacts per application in up to three
time zones, some with a standing preferred channel. Each application is a story of
interview rounds: a panel interview (1-3 interviewers), usually a hiring timetable
("decision by Friday", ``5bd``, ``2w``), thank-yous to most interviewers (mostly on
time, some late, some pasted word for word, a few long), occasional channel
preferences, confirmations by text or phone (a few outside calling hours), status
inquiries (mostly after the timetable, some premature, some impatient, a few
repeated), invitations to the next round, and finally an offer, a rejection (with a
feedback request, sometimes over-eager follow-ups, sometimes a do-not-contact) or a
withdrawal. 30% of candidates are "sloppy" (they slip at the rates written in the code, x1.5),
the others rarely slip (x0.25). Under the default policy, the 10,000 timelines of the
default seed have 3.4 findings on average, 11% have none, and every rule fires
somewhere.

``open_ended=True`` leaves the last application undecided (used by the check
latency benchmark: the candidate is waiting for news).

Run it to print one generated timeline as YAML::

    PYTHONPATH=. python bench/timelines.py [--seed N] [--events N]
"""

from __future__ import annotations

import argparse
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

#: the largest interview round the timeline format allows (engine.timeline.MAX_ROUND)
MAX_ROUND = 1000

__all__ = ["generate", "generate_one", "validate"]

UTC = timezone.utc

#: (country, subdivision, employer zone, zones its remote staff may sit in)
REGIONS = [
    ("US", "NY", "America/New_York", ["America/Chicago", "America/Los_Angeles"]),
    ("US", "CA", "America/Los_Angeles", ["America/Denver", "America/New_York"]),
    ("US", "CO", "America/Denver", ["America/Los_Angeles", "America/Chicago"]),
    ("US", "IL", "America/Chicago", ["America/New_York"]),
    ("US", "TX", "America/Chicago", ["America/Denver", "America/New_York"]),
    ("US", "MA", "America/New_York", ["Europe/London"]),
    ("CA", "ON", "America/Toronto", ["America/Vancouver"]),
    ("CA", "BC", "America/Vancouver", ["America/Toronto"]),
    ("GB", None, "Europe/London", ["Europe/Berlin", "America/New_York"]),
    ("DE", "BE", "Europe/Berlin", ["Europe/London", "Europe/Paris"]),
    ("FR", None, "Europe/Paris", ["Europe/Berlin"]),
    ("AU", "NSW", "Australia/Sydney", ["Australia/Melbourne"]),
]

FIRST = ["Olivia", "Daniel", "Sofia", "Wei", "Ahmed", "Nadia", "Kevin", "Tom", "Fiona", "Isabelle", "Greg",
         "Aisha", "Jake", "Karen", "Priya", "Lucas", "Mei", "Omar", "Hannah", "Diego", "Elena", "Kofi",
         "Yuki", "Marta", "Sam", "Ines", "Noah", "Leila", "Ravi", "Zoe"]
LAST = ["Grant", "Kim", "Rossi", "Zhang", "Khan", "Hassan", "O'Brien", "Reilly", "McLeod", "Roy", "Tan",
        "Rahman", "Miller", "Wu", "Nair", "Silva", "Tanaka", "Haddad", "Becker", "Lopez", "Petrova",
        "Mensah", "Sato", "Nowak", "Okafor", "Costa", "Fischer", "Karimi", "Iyer", "Dubois"]
COMPANIES = ["Helios Energy", "Brightline Health", "Maple Ledger", "Summit Outdoor", "Redwood Software",
             "Northwind Logistics", "Bluefin Analytics", "Cobalt Robotics", "Juniper Bank", "Lattice Labs",
             "Orchard Foods", "Quarry Systems", "Saffron Media", "Tidewater Insurance", "Vantage Retail"]
TITLES = ["Data Analyst", "Software Engineer", "Product Manager", "Operations Analyst", "UX Researcher",
          "Business Analyst", "Site Reliability Engineer", "Account Executive", "Financial Analyst"]
TOPICS = ["the forecasting platform", "the onboarding backlog", "the data-quality issues in the feeds",
          "the roadmap for next year", "the migration to the new billing system", "the returns process",
          "how the team runs its planning", "the customer interviews you described", "the reporting stack",
          "the integration work with the clinics", "the hiring plan for the team"]
CLOSERS = ["Best regards", "Kind regards", "Thanks again", "Best", "All the best", "Warm regards"]
IMPATIENT = ["I still haven't heard back", "I am still waiting for news", "per my last email",
             "why is this taking so long", "you said you would decide last week"]
POLITE = ["you mentioned a decision around now, so I wanted to follow up",
          "I wanted to follow up on the role; I remain very interested",
          "I hope the process is going well; is there any update you can share",
          "I know these decisions take time; I would be glad to provide anything else you need"]


def _person(rng: random.Random, used: set[str]) -> tuple[str, str]:
    while True:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        key = f"{first}-{last}".lower().replace("'", "")
        if key not in used:
            used.add(key)
            return key, f"{first} {last}"


class _App:
    """One application's story, written into a shared event list."""

    def __init__(self, rng: random.Random, key: str, prefix: str, start: date, used: set[str],
                 contacts: dict, shared_recruiter: str | None):
        self.rng, self.key, self.prefix = rng, key, prefix
        country, subdivision, zone, remote = rng.choice(REGIONS)
        self.zone = zone
        self.data = {"company": rng.choice(COMPANIES), "title": rng.choice(TITLES), "country": country,
                     "timezone": zone}
        if subdivision:
            self.data["subdivision"] = subdivision
        self.events: list[dict] = []
        self.counter = 0
        self.contacts = contacts

        def add_contact(role: str) -> str:
            cid, name = _person(rng, used)
            person: dict = {"name": name, "role": role}
            r = rng.random()
            person["timezone"] = zone if r < 0.7 else rng.choice(remote)
            if rng.random() < (0.5 if role in ("hiring_manager", "recruiter") else 0.2):
                person["preferred_channel"] = rng.choice(["email"] * 6 + ["linkedin"] * 3 + ["phone"])
            contacts[cid] = person
            return cid

        self.manager = add_contact("hiring_manager")
        self.interviewers = [add_contact("interviewer") for _ in range(rng.randint(1, 3))]
        self.recruiter = shared_recruiter or add_contact(rng.choice(["recruiter", "recruiter", "coordinator"]))
        # local "now" of the story, in the employer's zone
        self.now = datetime.combine(start, time(rng.randint(9, 15), rng.choice([0, 15, 30, 45])),
                                    tzinfo=ZoneInfo(zone))
        #: a careful candidate rarely slips; a sloppy one slips at the rates written below, x1.5
        self.slip_factor = 1.5 if rng.random() < 0.3 else 0.25

    def slip(self, p: float) -> bool:
        """Whether the candidate makes a mistake that happens with base probability ``p``."""
        return self.rng.random() < p * self.slip_factor

    # -- helpers

    def zone_of(self, cid: str) -> ZoneInfo:
        return ZoneInfo(self.contacts[cid].get("timezone") or self.zone)

    def pref(self, cid: str) -> str | None:
        return self.contacts[cid].get("preferred_channel")

    def channel_for(self, cid: str, faithful: float = 0.9) -> str:
        pref = self.pref(cid)
        if pref and not self.slip(1 - faithful):
            return pref
        return self.rng.choice(["email", "email", "email", "linkedin"])

    def advance(self, hours: float) -> None:
        self.now = (self.now + timedelta(hours=hours)).replace(second=0, microsecond=0)

    def to_business_hours(self) -> None:
        """Move ``now`` to the next weekday, between 9:00 and 16:00 local."""
        local = self.now.astimezone(ZoneInfo(self.zone))
        if local.hour >= 16:
            local = datetime.combine(local.date() + timedelta(days=1), time(9, 0), tzinfo=local.tzinfo)
        elif local.hour < 9:
            local = local.replace(hour=9, minute=0)
        while local.weekday() >= 5:
            local = local + timedelta(days=1)
        self.now = local.replace(minute=self.rng.choice([0, 10, 15, 30, 40, 45]))

    def office_hours(self, when: datetime) -> datetime:
        """``when``, or the next 9:xx local if it falls outside 8:00-18:00 local."""
        local = when.astimezone(ZoneInfo(self.zone))
        if 8 <= local.hour < 18:
            return when
        day = local.date() + timedelta(days=1 if local.hour >= 18 else 0)
        return datetime.combine(day, time(9, self.rng.choice([0, 15, 30, 45])), tzinfo=local.tzinfo)

    def emit(self, kind: str, **fields) -> dict:
        self.counter += 1
        at = fields.pop("at", self.now).replace(second=0, microsecond=0)  # trackers record minutes
        event = {"id": f"{self.prefix}-{kind[:2]}{self.counter}", "type": kind, "application": self.key,
                 "at": at.isoformat(), **fields}
        self.events.append(event)
        return event

    def body(self, to: str, long: bool = False) -> str:
        name = self.contacts[to]["name"].split()[0]
        topic = self.rng.choice(TOPICS)
        text = (f"Dear {name}, thank you for taking the time to speak with me. I enjoyed our conversation "
                f"about {topic}, and it made me even more excited about the {self.data['title']} role at "
                f"{self.data['company']}. {self.rng.choice(CLOSERS)}, Alex")
        if long:
            filler = " ".join(f"I also wanted to add a thought about {self.rng.choice(TOPICS)}, which I keep "
                              "coming back to since we spoke." for _ in range(14))
            text = text + " " + filler
        return text

    # -- the story

    def round(self, number: int, budget: int) -> bool:
        """One interview round; False when the budget ran out."""
        rng = self.rng
        self.to_business_hours()
        panel = rng.sample(self.interviewers, k=rng.randint(1, len(self.interviewers)))
        if number == 1 or rng.random() < 0.5:
            panel = [self.manager] + panel
        if budget - len(self.events) < len(panel) + 3:
            return False  # no room for a whole round (interview, timetable, thank-yous): wrap up
        length = rng.choice([45, 60, 60, 90, 120])
        ends = self.now + timedelta(minutes=length)
        interview = {"with": panel, "ends_at": ends.isoformat()}
        if rng.random() < 0.7:
            interview["round"] = min(number, MAX_ROUND)  # the timeline format allows rounds up to 1,000
        self.emit("interview", **interview)
        if len(self.events) >= budget:
            return False
        timetable = None
        if not self.slip(0.25):
            r = rng.random()
            tt: dict = {"by": self.manager}
            if r < 0.45:
                decision = (ends + timedelta(days=rng.randint(4, 12))).date()
                tt["decision_by"] = decision.isoformat()
                timetable = datetime.combine(decision + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.zone))
            elif r < 0.8:
                n = rng.choice([3, 5, 5, 10])
                tt["within"] = f"{n}bd"
                timetable = ends + timedelta(days=n * 7 / 5 + 1)
            else:
                tt["within"] = "2w"
                timetable = ends + timedelta(days=14)
            self.emit("timetable", at=ends - timedelta(minutes=5), **tt)
            if len(self.events) >= budget:
                return False
        # thank-yous, one per interviewer, mostly the same evening
        self.now = ends
        bodies_this_round: list[str] = []
        for cid in panel:
            if self.slip(0.08):
                continue  # forgotten
            late = self.slip(0.12)
            delay = rng.uniform(24.5, 40) if late else rng.uniform(1, 10)
            when = ends + timedelta(hours=delay)
            if bodies_this_round and self.slip(0.12):
                text = bodies_this_round[-1]  # pasted word for word
            else:
                text = self.body(cid, long=self.slip(0.03))
            bodies_this_round.append(text)
            self.emit("thank_you", at=when, to=[cid], channel=self.channel_for(cid, 0.9), body=text)
            if len(self.events) >= budget:
                return False
        self.now = ends + timedelta(hours=20)
        if rng.random() < 0.1:
            who = rng.choice(panel)
            self.emit("preference", at=ends + timedelta(hours=2), contact=who,
                      channel=rng.choice(["email", "linkedin", "phone"]))
            if len(self.events) >= budget:
                return False
        if rng.random() < 0.3:
            # a confirmation to the recruiter, by text or phone, sometimes at an odd hour
            zone = self.zone_of(self.recruiter)
            day = (self.now + timedelta(days=rng.randint(1, 3))).astimezone(zone).date()
            hour = rng.choice([7, 21, 22]) if self.slip(0.2) else rng.randint(9, 18)
            when = datetime.combine(day, time(hour, rng.choice([0, 15, 30])), tzinfo=zone)
            channel = rng.choice(["text", "phone", "email"])
            fields = {"to": [self.recruiter], "channel": channel}
            if channel != "phone":
                fields["body"] = "Hi, confirming the next steps. Thanks!"
            self.emit("contact", at=max(when, self.now), **fields)
            if len(self.events) >= budget:
                return False
        # waiting for news: an inquiry, usually after the timetable
        if rng.random() < 0.55:
            opens = timetable or (ends + timedelta(days=8))
            if self.slip(0.2):
                when = ends + timedelta(days=rng.uniform(1.5, 4))  # premature
            else:
                when = opens + timedelta(days=rng.uniform(1.5, 4))  # after the buffer, mostly
            when = self.office_hours(max(when, self.now + timedelta(hours=1)))
            phrase = rng.choice(IMPATIENT) if self.slip(0.15) else rng.choice(POLITE)
            name = self.contacts[self.manager]["name"].split()[0]
            self.emit("status_inquiry", at=when, to=[self.manager], channel=self.channel_for(self.manager, 0.9),
                      body=f"Dear {name}, {phrase}. Best, Alex")
            self.now = when
            if len(self.events) >= budget:
                return False
            if self.slip(0.12):
                when = when + timedelta(days=rng.uniform(1, 4))
                self.emit("status_inquiry", at=when, to=[self.manager], channel=self.channel_for(self.manager),
                          body=f"Dear {name}, following up again on my note. Best, Alex")
                self.now = when
                if len(self.events) >= budget:
                    return False
        return True

    def invite(self) -> None:
        self.advance(self.rng.uniform(24, 96))
        self.to_business_hours()
        self.emit("employer_contact", **{"from": self.recruiter, "channel": "email"})
        self.advance(self.rng.uniform(24, 120))

    def decide(self, budget: int) -> None:
        """The outcome, and what the candidate does after it, up to ``budget`` events."""
        rng = self.rng
        self.advance(rng.uniform(24, 120))
        self.to_business_hours()
        r = rng.random()
        if r < 0.3:
            self.emit("offer", **{"from": self.manager})
            while len(self.events) < budget:  # negotiation: calls and emails both ways
                self.advance(rng.uniform(3, 30))
                self.to_business_hours()
                if rng.random() < 0.5:
                    self.emit("employer_contact", **{"from": self.recruiter, "channel": rng.choice(["email", "phone"])})
                else:
                    self.emit("contact", to=[self.recruiter], channel=self.channel_for(self.recruiter),
                              body="Thank you, I have a question about the start date.")
            return
        if r < 0.4:
            self.emit("withdrawal")
            while len(self.events) < budget:
                self.advance(rng.uniform(20, 60))
                self.to_business_hours()
                self.emit("employer_contact", **{"from": self.recruiter, "channel": "email"})
            return
        self.emit("rejection", **{"from": rng.choice([self.manager, self.recruiter])})
        asked = False
        while len(self.events) < budget:
            self.advance(rng.uniform(12, 72) if not asked else rng.uniform(48, 200))
            self.to_business_hours()
            x = rng.random()
            if not asked and x < 0.8:
                asked = True
                self.emit("feedback_request", to=[self.manager], channel=self.channel_for(self.manager),
                          body="Thank you for letting me know. I would value any feedback you can share.")
            elif x < 0.05:
                self.emit("do_not_contact", contact=self.manager, by=self.recruiter)
            elif not self.slip(0.3):
                self.emit("employer_contact", **{"from": self.recruiter, "channel": "email"})
            else:  # over-eager after a rejection
                self.emit("contact", to=[rng.choice([self.manager, self.recruiter])], channel="email",
                          body="I would like to ask you to reconsider; I could ramp up quickly.")

    def wait(self, budget: int) -> None:
        """Open-ended: still waiting for news (employer chatter, the odd contact)."""
        rng = self.rng
        while len(self.events) < budget:
            self.advance(rng.uniform(4, 30))
            self.to_business_hours()
            if rng.random() < 0.6:
                self.emit("employer_contact", **{"from": self.recruiter, "channel": "email"})
            else:
                self.emit("contact", to=[self.recruiter], channel=self.channel_for(self.recruiter),
                          body="Hi, thanks for the update; happy to provide anything else you need.")

    def write(self, budget: int, open_ended: bool) -> list[dict]:
        number = 1
        while budget - len(self.events) > (3 if open_ended else 4):
            if not self.round(number, budget):
                break
            if budget - len(self.events) <= (3 if open_ended else 4):
                break
            self.invite()
            number += 1
        if len(self.events) < budget:
            (self.wait if open_ended else self.decide)(budget)
        return self.events[:budget]


def generate_one(index: int, events: int = 20, seed: int = 20260301, open_ended: bool = False) -> tuple[dict, str]:
    """Timeline ``index`` of the sequence for ``seed``, and an ``as_of`` after its last event."""
    rng = random.Random(seed * 1_000_003 + index)
    used: set[str] = set()
    contacts: dict = {}
    two = events >= 12 and rng.random() < 0.3
    start = date(2025, 1, 6) + timedelta(days=rng.randint(0, 700))
    apps: list[_App] = []
    first = _App(rng, "a", "a", start, used, contacts, None)
    apps.append(first)
    if two:
        shared = first.recruiter if rng.random() < 0.3 else None
        second = _App(rng, "b", "b", start + timedelta(days=rng.randint(0, 10)), used, contacts, shared)
        apps.append(second)
        split = rng.randint(events // 2 - 2, events // 2 + 2)
        budgets = [split, events - split]
    else:
        budgets = [events]
    all_events: list[dict] = []
    for i, (app, budget) in enumerate(zip(apps, budgets)):
        all_events.extend(app.write(budget, open_ended and i == len(apps) - 1))
    assert len(all_events) == events, (index, len(all_events))
    data = {
        "candidate": "Alex Morgan",
        "timezone": rng.choice([a.zone for a in apps]),
        "contacts": contacts,
        "applications": {a.key: a.data for a in apps},
        "events": all_events,
    }
    last = max(datetime.fromisoformat(e["at"]) for e in all_events)
    as_of = (last + timedelta(days=rng.uniform(0.5, 12))).astimezone(UTC).replace(microsecond=0)
    return data, as_of.isoformat().replace("+00:00", "Z")


def generate(n: int, events: int = 20, seed: int = 20260301, open_ended: bool = False) -> list[tuple[dict, str]]:
    """``n`` (timeline dict, as_of ISO) pairs, deterministic in ``seed``."""
    return [generate_one(i, events, seed, open_ended) for i in range(n)]


def validate(pairs: list[tuple[dict, str]]):
    """Validated :class:`engine.timeline.Timeline` objects and aware ``as_of`` instants.

    Raises if any generated timeline is invalid, or if ``as_of`` would cut an event.
    """
    from engine.api import parse_instant
    from engine.timeline import timeline_from_data
    out = []
    for data, as_of in pairs:
        timeline = timeline_from_data(data)
        instant = parse_instant(as_of)
        cut, ignored = timeline.until(instant)
        if ignored or len(cut.events) != len(data["events"]):
            raise AssertionError(f"as_of {as_of} cuts events {ignored}")
        out.append((timeline, instant))
    return out


def main() -> None:
    import yaml
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--open-ended", action="store_true")
    args = parser.parse_args()
    data, as_of = generate_one(args.index, args.events, args.seed, args.open_ended)
    validate([(data, as_of)])
    print(f"# as_of: {as_of}")
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110))


if __name__ == "__main__":
    main()
