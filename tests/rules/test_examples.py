"""The example timelines in examples/: each loads, and each tells the story it says it tells.

Every example names the instant it is meant to be audited at in a top comment
(``# audit with --as-of ...``); the expected rule ids below come from each story.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.api import load_timeline
from helpers import findings, instant, rule_ids

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = re.compile(r"^#\s*audit with --as-of (\S+)", re.MULTILINE)

EXPECTED: dict[str, set[str]] = {
    "model-candidate.yaml": set(),
    "over-eager.yaml": {"inquiry-after-timetable", "single-inquiry", "preferred-channel", "contact-frequency",
                        "call-hours", "inquiry-tone"},
    "forgetful.yaml": {"timetable-asked", "thank-you-within-24h", "feedback-after-rejection"},
    "panel-rounds.yaml": {"thank-you-customized", "thank-you-within-24h"},
    "rejection.yaml": {"no-contact-after-rejection", "do-not-contact"},
    "two-applications.yaml": {"timetable-asked", "inquiry-after-timetable"},
}


def as_of_of(path: Path) -> str:
    match = AS_OF.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no `# audit with --as-of ...` comment"
    return match.group(1)


def audit_example(name: str, engine: str) -> list:
    path = EXAMPLES / name
    return findings(load_timeline(path), as_of_of(path), engine=engine)


def by(found, rule):
    return [(f.contact, f.events, f.due) for f in found if f.rule == rule]


def test_the_expected_examples_exist():
    assert set(EXPECTED) <= {p.name for p in EXAMPLES.glob("*.yaml")}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_loads_and_is_complete_at_its_as_of(path):
    timeline = load_timeline(path)
    assert timeline.candidate and timeline.events
    cut, ignored = timeline.until(instant(as_of_of(path)))
    assert ignored == [], "the intended as-of should come after every event"
    assert path.name in EXPECTED, "a new example needs its expected rule ids here"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_fires_exactly_its_story(engine, name):
    assert rule_ids(audit_example(name, engine)) == EXPECTED[name]


def test_model_candidate_has_no_findings_at_all(engine):
    assert audit_example("model-candidate.yaml", engine) == []


def test_model_candidate_stays_clean_along_the_way(engine):
    # audited at any point of the story it never has a violation (only not-yet-due items)
    timeline = load_timeline(EXAMPLES / "model-candidate.yaml")
    for event in timeline.events:
        assert [f for f in findings(timeline, event.at, engine=engine) if f.severity == "violation"] == []


def test_over_eager_details(engine):
    found = audit_example("over-eager.yaml", engine)
    # decision by Fri 17 April, then Monday 20 as the grace business day: fine from Tue 21 April 00:00 EDT
    assert by(found, "inquiry-after-timetable") == [("nadia", ["t1", "q1"], "2026-04-21T04:00:00Z"),
                                                    ("nadia", ["t1", "q2"], "2026-04-21T04:00:00Z")]
    assert by(found, "single-inquiry") == [("nadia", ["q1", "q2"], None)]
    assert by(found, "preferred-channel") == [("nadia", ["c1"], None), ("nadia", ["q2"], None)]
    assert by(found, "contact-frequency") == [("nadia", ["q1", "c1", "q2"], None)]
    assert by(found, "call-hours") == [("nadia", ["q2"], None)]
    assert by(found, "inquiry-tone") == [("nadia", ["q2"], None)]


def test_forgetful_details(engine):
    found = audit_example("forgetful.yaml", engine)
    assert by(found, "timetable-asked") == [("linda", ["i2"], "2026-05-14T07:00:00Z")]
    # the on-site ended Wed 13 May 12:00 PDT: thank-yous were due Thu 14 May 12:00 PDT = 19:00Z
    assert by(found, "thank-you-within-24h") == [("raj", ["i2"], "2026-05-14T19:00:00Z"),
                                                 ("ben", ["i2"], "2026-05-14T19:00:00Z")]
    assert by(found, "feedback-after-rejection") == [("linda", ["r1"], "2026-06-02T23:00:00Z")]


def test_panel_rounds_details(engine):
    found = audit_example("panel-rounds.yaml", engine)
    assert by(found, "thank-you-customized") == [("sofia", ["y2", "y3"], None)]
    # round 2 ended Thu 17 Sept 18:00 BST = 17:00Z; Wei's note came at 18:30 BST the next day
    assert by(found, "thank-you-within-24h") == [("wei", ["i2"], "2026-09-18T17:00:00Z")]


def test_rejection_details(engine):
    found = audit_example("rejection.yaml", engine)
    assert by(found, "no-contact-after-rejection") == [("fiona", ["r1", "c1"], None), ("fiona", ["r1", "c2"], None)]
    assert by(found, "do-not-contact") == [("fiona", ["d1", "c2"], None)]
    assert all("f1" not in f.events for f in found)  # the one feedback request is fine


def test_two_applications_details(engine):
    found = audit_example("two-applications.yaml", engine)
    assert {f.application for f in found} == {"summit"}
    # Mon 15 June 11:00 MDT + 5 business days, skipping Juneteenth = Tue 23 June 11:00 MDT
    assert by(found, "inquiry-after-timetable") == [("jake", ["s-i1", "s-q1"], "2026-06-23T17:00:00Z")]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_exit_code(name, capsys):
    from engine.cli import main
    path = EXAMPLES / name
    code = main(["audit", str(path), "--as-of", as_of_of(path), "--engine", "reference"])
    violations = name not in {"model-candidate.yaml"}
    assert code == (1 if violations else 0), capsys.readouterr().err
