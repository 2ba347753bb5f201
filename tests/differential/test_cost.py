"""Evaluation cost is linear in the timeline, and preparation computes only what some node reads.

No test here is timed: cost is counted (fact attributes read, durable sessions opened, digests
computed), so the assertions are deterministic.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import ENGINES
from engine import audit
from engine.backends import get_backend
from engine.backends.reference import ReferenceBackend
from engine.facts import FactTable, prepare_facts
from engine.policy import load_policy, policy_from_text
from engine.timeline import timeline_from_data
from spec.allpairs import AllPairsBackend

UTC = timezone.utc
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _rounds(rounds: int, apps: int = 1) -> dict:
    """``apps`` applications of ``rounds`` interview rounds each (10 events a round), interleaved."""
    contacts = {"m": {"name": "Mia", "role": "hiring_manager", "preferred_channel": "email"},
                "i": {"name": "Ian"}, "r": {"name": "Rae", "role": "recruiter"}}
    events = []
    for a in range(apps):
        for k in range(rounds):
            at = START + timedelta(days=10 * k, minutes=a)

            def add(kind: str, hours: float, **fields) -> None:
                events.append({"id": f"a{a}-{k}-{len(events) % 10}", "type": kind, "application": f"a{a}",
                               "at": (at + timedelta(hours=hours)).isoformat(), **fields})
            add("interview", 0, **{"with": ["m", "i"], "ends_at": (at + timedelta(hours=1)).isoformat()})
            add("timetable", 0.9, by="m", within="5bd")
            add("thank_you", 5, to=["m"], channel="email", body=f"Thank you, Mia ({k}).")
            add("thank_you", 6, to=["i"], channel="email", body=f"Thank you, Mia ({k}).")  # pasted
            add("preference", 7, contact="i", channel="linkedin")
            add("contact", 30, to=["r"], channel="text", body="Confirming next steps.")
            add("status_inquiry", 50, to=["m"], channel="linkedin", body="I still haven't heard back")
            add("status_inquiry", 60, to=["m"], channel="email", body="Any news?")
            add("employer_contact", 70, **{"from": "r", "channel": "email"})
            add("contact", 80, to=["m", "r"], channel="email", body="Thanks for the update.")
    return {"contacts": contacts, "events": events,
            "applications": {f"a{a}": {"company": f"Co{a}", "country": "US", "timezone": "America/New_York"}
                             for a in range(apps)}}


class _Counting(dict):
    """A fact that counts how often its attributes are read (shared counter)."""

    reads = 0

    def __getitem__(self, key):
        _Counting.reads += 1
        return super().__getitem__(key)

    def get(self, key, default=None):
        _Counting.reads += 1
        return super().get(key, default)


def _reads(backend, rounds: int) -> int:
    policy = load_policy("etiquette")
    timeline = timeline_from_data(_rounds(rounds))
    as_of = START + timedelta(days=10 * rounds + 30)
    table = prepare_facts(timeline, policy.program, as_of)
    facts = [_Counting(f) for f in table.facts]
    apps = {app: [facts[f["fid"]] for f in group] for app, group in table.apps.items()}
    counted = FactTable(facts, table.clock, table.selector_index, table.timeref_index, table.flag_index, apps)
    _Counting.reads = 0
    assert backend.run(policy.program, counted)
    return _Counting.reads


def test_the_reference_backend_reads_each_fact_a_bounded_number_of_times():
    """Four times the events cost the indexed reference backend about four times the fact reads
    (the all-pairs statement, its old form, needs about sixteen times: checked too)."""
    small, large = _reads(ReferenceBackend(), 20), _reads(ReferenceBackend(), 80)
    assert large / small < 4.5
    spec_small, spec_large = _reads(AllPairsBackend(), 20), _reads(AllPairsBackend(), 80)
    assert spec_large / spec_small > 10


@pytest.mark.skipif("durable" not in ENGINES, reason="durable-rules cannot load here")
def test_the_durable_backend_opens_one_session_per_application(monkeypatch):
    """Three applications are three durable sessions, each given only its application's facts."""
    backend = get_backend("durable")
    sessions: list[set[str]] = []
    evaluate = backend._runtime.evaluate

    def spy(name, facts, clock):
        sessions.append({table.facts[f["id"]]["app"] for f in facts})
        return evaluate(name, facts, clock)

    policy = load_policy("etiquette")
    timeline = timeline_from_data(_rounds(2, apps=3))
    as_of = START + timedelta(days=60)
    table = prepare_facts(timeline, policy.program, as_of)
    monkeypatch.setattr(backend._runtime, "evaluate", spy)
    matches = backend.run(policy.program, table)
    assert sorted(sessions, key=sorted) == [{"a0"}, {"a1"}, {"a2"}]
    assert set(matches) == set(AllPairsBackend().run(policy.program, table))


NO_DUPLICATES = """policy: lean
rules:
- {id: brief, kind: word-limit, category: quality, message: m, subject: {type: thank_you}, max_words: 3}
"""


def test_bodies_are_fingerprinted_only_for_a_duplicate_node(monkeypatch):
    """Without an identical-bodies rule no SHA-256 digest is computed and facts carry no ``body``
    or ``round``; with one, every fact has both."""
    import engine.facts as facts_module

    # loading a policy hashes its document once (its revision): done before counting
    lean_program, full_program = policy_from_text(NO_DUPLICATES).program, load_policy("etiquette").program
    digests = []
    real = facts_module.hashlib.sha256
    monkeypatch.setattr(facts_module.hashlib, "sha256", lambda data: digests.append(data) or real(data))
    timeline = timeline_from_data(_rounds(3))
    lean = prepare_facts(timeline, lean_program, START + timedelta(days=40))
    assert digests == []
    assert not any("body" in f or "round" in f or "pref" in f for f in lean.facts)
    assert all("words" in f for f in lean.facts)
    full = prepare_facts(timeline, full_program, START + timedelta(days=40))
    assert digests and all("body" in f and "round" in f and "pref" in f for f in full.facts)


def test_a_lean_policy_still_gives_the_findings_of_the_all_pairs_statement(engine):
    """The word-limit rule alone, on prepared facts without fingerprints, finds the same as the oracle."""
    policy = policy_from_text(NO_DUPLICATES)
    timeline = timeline_from_data(_rounds(3))
    as_of = START + timedelta(days=40)
    found = audit(timeline, policy, as_of, engine=engine).findings
    assert found == audit(timeline, policy, as_of, engine=AllPairsBackend()).findings
    assert [f.events for f in found] == [[f"a0-{k}-{n}"] for k in range(3) for n in (2, 3)]
