"""Hypothesis strategies for policies: random rules of every kind, valid by construction.

``policies()`` draws a policy document (a dict) with a random subset of rules, each
with random parameters, selectors and severities; sometimes it is the shipped
etiquette with its parameters redrawn. Used by the differential tests.
"""

from __future__ import annotations

from hypothesis import strategies as st

from engine.timeline import CANDIDATE_TYPES, CHANNELS, EVENT_TYPES

SEVERITIES = st.sampled_from(["violation", "warning", "info"])
CATEGORIES = st.sampled_from(["overdue", "harassing", "off-channel", "premature", "missed", "quality", "tone"])
TYPES = st.sampled_from(EVENT_TYPES + ("outreach", "employer", "any"))
OUTREACH = st.sampled_from(CANDIDATE_TYPES + ("outreach",))
ROLES = st.sampled_from(["interviewer", "hiring_manager", "recruiter", "coordinator", "agency_recruiter", "other"])
ELAPSED = st.builds(lambda n, u: f"{n}{u}", st.integers(0, 400), st.sampled_from(["m", "h", "d"])) | \
    st.builds(lambda n: f"{n}w", st.integers(1, 3))
ANY_DURATION = ELAPSED | st.builds(lambda n: f"{n}bd", st.integers(0, 12))
MESSAGE = st.sampled_from(["{type} {event} to {contact} ({events})", "{rule_note} due {due}",
                           "{company}: {first} then {event} ({count})"]).map(
    lambda m: m.replace("{rule_note}", "check"))


@st.composite
def selectors(draw, types=TYPES, narrow: bool = True) -> dict:
    sel: dict = {"type": draw(st.lists(types, min_size=1, max_size=3, unique=True))}
    if narrow and draw(st.integers(0, 4)) == 0:
        sel["channel"] = draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True))
    if narrow and draw(st.integers(0, 5)) == 0:
        sel["role"] = draw(st.lists(ROLES, min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 5)) == 0:
        sel["except"] = [draw(st.sampled_from(EVENT_TYPES))]
    return sel


def _common(draw, rule_id: str, kind: str) -> dict:
    return {"id": rule_id, "kind": kind, "severity": draw(SEVERITIES), "category": draw(CATEGORIES),
            "message": draw(MESSAGE)}


@st.composite
def deadline_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "deadline")
    rule.update(trigger=draw(selectors()), expect=draw(selectors()),
                within=draw(ANY_DURATION | st.just("end-of-day")),
                per_recipient=draw(st.booleans()))
    rule["from"] = draw(st.sampled_from(["at", "end"]))
    if draw(st.booleans()):
        rule["cancelled_by"] = draw(selectors())
    return rule


@st.composite
def not_before_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "not-before")
    anchors = [{"event": draw(selectors()), "from": draw(st.sampled_from(["at", "end", "decision"])),
                "wait": draw(ANY_DURATION)} for _ in range(draw(st.integers(1, 3)))]
    rule.update(subject=draw(selectors(OUTREACH)), anchors=anchors)
    return rule


@st.composite
def limit_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "limit")
    rule.update(subject=draw(selectors()), max=draw(st.integers(0, 4)), per_recipient=draw(st.booleans()))
    if draw(st.booleans()):
        rule["window"] = draw(ELAPSED)
    if draw(st.booleans()):
        rule["reset_on"] = draw(selectors())
    if draw(st.integers(0, 2)) == 0:
        rule["after"] = draw(selectors())
    return rule


@st.composite
def channel_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "channel")
    if draw(st.booleans()):
        rule["subject"] = draw(selectors(OUTREACH))
    return rule


@st.composite
def forbidden_after_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "forbidden-after")
    rule.update(subject=draw(selectors()), after=draw(selectors()),
                scope=draw(st.sampled_from(["company", "named-contact"])))
    if draw(st.booleans()):
        rule["except"] = {"type": draw(st.sampled_from(EVENT_TYPES)), "max": draw(st.integers(0, 3))}
    return rule


@st.composite
def word_limit_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "word-limit")
    rule.update(subject=draw(selectors(OUTREACH)), max_words=draw(st.integers(1, 300)))
    return rule


@st.composite
def identical_bodies_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "identical-bodies")
    rule.update(subject=draw(selectors(OUTREACH)))
    return rule


@st.composite
def phrases_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "phrases")
    rule.update(subject=draw(selectors(OUTREACH)),
                phrases=draw(st.lists(st.sampled_from(["still waiting", "haven't heard back", "thank you",
                                                       "per my last email", "the role"]), min_size=1, max_size=3)))
    return rule


@st.composite
def hours_rules(draw, rule_id: str) -> dict:
    rule = _common(draw, rule_id, "hours")
    start = draw(st.integers(0, 22))
    end = draw(st.integers(start + 1, 24))
    rule.update(subject=draw(selectors(OUTREACH)), start=f"{start:02d}:{draw(st.sampled_from([0, 30])):02d}",
                end="24:00" if end == 24 else f"{end:02d}:00", business_days=draw(st.booleans()))
    if rule["start"] >= rule["end"]:
        rule["start"] = f"{start:02d}:00"
    return rule


KIND_STRATEGIES = {
    "deadline": deadline_rules, "not-before": not_before_rules, "limit": limit_rules, "channel": channel_rules,
    "forbidden-after": forbidden_after_rules, "word-limit": word_limit_rules,
    "identical-bodies": identical_bodies_rules, "phrases": phrases_rules, "hours": hours_rules,
}


@st.composite
def etiquette_variants(draw) -> str:
    """The shipped etiquette with redrawn parameters and a random subset of rules disabled (YAML text)."""
    import yaml
    from engine.policy.loader import shipped_policies
    doc = yaml.safe_load(shipped_policies()["etiquette"].read_text())
    params = doc["parameters"]
    params["thank_you_within"]["value"] = draw(ANY_DURATION)
    params["thank_you_max_words"]["value"] = draw(st.integers(1, 300))
    params["timetable_buffer"]["value"] = draw(ANY_DURATION)
    params["inquiry_wait"]["value"] = draw(ANY_DURATION)
    params["inquiries_per_silence"]["value"] = draw(st.integers(0, 3))
    params["feedback_within"]["value"] = draw(ANY_DURATION)
    params["max_contacts"]["value"] = draw(st.integers(0, 4))
    params["contact_window"]["value"] = draw(ELAPSED)
    for rule in doc["rules"]:
        rule["enabled"] = draw(st.integers(0, 3)) != 0
        rule["severity"] = draw(SEVERITIES)
    return yaml.safe_dump(doc, sort_keys=False)


@st.composite
def random_policies(draw) -> str:
    """A policy of 1-6 random rules of random kinds (YAML text)."""
    import yaml
    kinds = draw(st.lists(st.sampled_from(sorted(KIND_STRATEGIES)), min_size=1, max_size=6))
    rules = [draw(KIND_STRATEGIES[kind](f"r{i}-{kind}")) for i, kind in enumerate(kinds)]
    return yaml.safe_dump({"policy": "random", "rules": rules}, sort_keys=False)


policies = st.one_of(random_policies(), etiquette_variants())
