"""`followup policy test`: YAML cases beside a policy, run like a test suite.

A case passes when every expected finding occurs (omitted fields match anything),
no rule of ``expect_none_of`` fires, with ``exact`` no other finding occurs, and for
a planned action the decision (and ``earliest``) agree. Coverage lists the rules no
case exercised. Exit codes: 0 all pass, 1 a failure, 2 invalid tests or policy.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.cli import main
from engine.policy.testing import discover, run_tests, run_tests_file

POLICY = """
policy: tiny
parameters:
  thank_you_within: {value: 24h}
rules:
  - id: thank-you-within-24h
    kind: deadline
    category: overdue
    trigger: {type: interview}
    expect: {type: thank_you}
    within: $thank_you_within
    per_recipient: true
    message: "{contact} got no thank-you"
  - id: single-inquiry
    kind: limit
    category: harassing
    subject: {type: status_inquiry}
    max: 1
    reset_on: {type: employer}
    message: "second inquiry {event}"
  - id: inquiry-wait
    kind: not-before
    category: premature
    subject: {type: status_inquiry}
    anchors:
      - {event: {type: interview}, from: end, wait: 5bd}
    message: "inquiry {event} too early; fine from {due}"
  - id: brief
    kind: word-limit
    severity: warning
    category: quality
    subject: {type: thank_you}
    max_words: 5
    message: "long"
  - id: off
    kind: channel
    category: off-channel
    enabled: false
    message: "off"
"""

TIMELINE = """
  panel:
    timezone: America/New_York
    contacts:
      alice: {name: Alice Park, role: hiring_manager}
      bob: {name: Bob Lee}
    applications:
      acme: {company: Acme, country: US, timezone: America/New_York}
    events:
      - {id: i1, type: interview, at: "2026-03-02T10:00", ends_at: "2026-03-02T11:00", with: [alice, bob]}
      - {id: y1, type: thank_you, at: "2026-03-02T18:00", to: alice, channel: email}
      - {id: q1, type: status_inquiry, at: "2026-03-10T09:00", to: alice, channel: email}
      - {id: q2, type: status_inquiry, at: "2026-03-12T09:00", to: alice, channel: email}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def suite(directory: Path, tests: str, policy: str = POLICY, name: str = "tiny") -> Path:
    write(directory, f"{name}.yaml", policy)
    return write(directory, f"{name}.tests.yaml", "timelines:\n" + textwrap.dedent(TIMELINE).strip("\n")
                 .replace("\n", "\n  ").join(["  ", "\n"]) + textwrap.dedent(tests).lstrip("\n"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


PASSING = """
tests:
  - name: Bob is owed a thank-you
    timeline: panel
    as_of: 2026-03-04T00:00:00Z
    expect:
      - {rule: thank-you-within-24h, events: [i1], contact: bob}
    expect_none_of: [single-inquiry]
    exact: true
  - name: the second inquiry of one silence
    timeline: panel
    as_of: 2026-03-20T00:00:00Z
    expect:
      - {rule: single-inquiry}                    # any events, any contact
      - {rule: single-inquiry, events: [q2, q1]}  # events compare as a set
  - name: an inquiry before five business days is denied until then
    timeline: panel
    action: {type: status_inquiry, to: alice, channel: email}
    at: 2026-03-05T09:00:00-05:00
    decision: deny
    earliest: 2026-03-09T11:00:00-04:00
    expect: [{rule: inquiry-wait, events: [i1, planned], contact: alice}]
"""


def test_a_passing_suite_prints_a_line_per_case_coverage_and_a_summary(capsys, tmp_path):
    tests = suite(tmp_path, PASSING)
    code, out, err = run(capsys, "policy", "test", str(tests))
    assert code == 0, out
    assert out.splitlines() == [
        f"{tests}  (policy tiny: {tmp_path / 'tiny.yaml'})",
        "  PASS  Bob is owed a thank-you",
        "  PASS  the second inquiry of one silence",
        "  PASS  an inquiry before five business days is denied until then",
        "  coverage: 3/4 rules exercised (75%); never exercised:",
        f"    brief  {tmp_path / 'tiny.yaml'}:27:5",
        "3 passed, 0 failed",
    ]


def test_a_failing_case_is_located_at_the_case_and_at_each_expectation(capsys, tmp_path):
    tests = suite(tmp_path, """
        tests:
          - name: wrong contact and a forbidden rule
            timeline: panel
            as_of: 2026-03-20T00:00:00Z
            expect:
              - {rule: thank-you-within-24h, contact: alice}
            expect_none_of: [single-inquiry]
          - name: nothing else may fire
            timeline: panel
            as_of: 2026-03-04T00:00:00Z
            expect: []
            exact: true
          - name: the decision and the earliest time
            timeline: panel
            action: {type: status_inquiry, to: alice, channel: email}
            at: 2026-03-05T09:00:00-05:00
            decision: allow
            earliest: 2026-03-10T00:00:00Z
        """)
    code, out, _ = run(capsys, "policy", "test", str(tests))
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == f"  FAIL  wrong contact and a forbidden rule  ({tests}:15)"
    assert lines[2] == (f"        {tests}:19:9: expected a finding `thank-you-within-24h` for `alice`; "
                        "found `thank-you-within-24h` citing [i1] for `bob`")
    assert lines[3] == (f"        {tests}:20:22: expected no finding of `single-inquiry`; "
                        "found `single-inquiry` citing [q1, q2] for `alice`")
    assert lines[4] == f"  FAIL  nothing else may fire  ({tests}:21)"
    assert lines[5].startswith(f"        {tests}:25:12: unexpected finding `thank-you-within-24h` citing [i1] for "
                               "`bob`: Bob Lee got no thank-you")
    assert lines[6] == f"  FAIL  the decision and the earliest time  ({tests}:26)"
    assert lines[7] == (f"        {tests}:30:15: expected `allow`, got `deny`: denied by `inquiry-wait` citing "
                        "[i1, planned] for `alice`")
    assert lines[8] == (f"        {tests}:31:15: expected the earliest allowed time 2026-03-10T00:00:00Z, "
                        "got 2026-03-09T15:00:00Z")
    assert lines[-1] == "0 passed, 3 failed"


def test_a_rule_is_exercised_by_an_expectation_even_when_the_case_fails(tmp_path):
    tests = suite(tmp_path, """
        tests:
          - name: expects a long thank-you that is not there
            timeline: panel
            as_of: 2026-03-04T00:00:00Z
            expect: [{rule: brief}]
        """)
    result = run_tests_file(tests)
    assert [c.status for c in result.cases] == ["fail"]
    done, todo = result.coverage()
    assert done == ["thank-you-within-24h", "brief"]  # expected, and found
    assert todo == ["single-inquiry", "inquiry-wait"]  # the disabled rule `off` is not counted


def test_contact_null_matches_only_a_finding_about_nobody(tmp_path):
    tests = suite(tmp_path, """
        tests:
          - name: contact null
            timeline: panel
            as_of: 2026-03-04T00:00:00Z
            expect: [{rule: thank-you-within-24h, contact: null}]
        """)
    [case] = run_tests_file(tests).cases
    assert case.status == "fail" and "for nobody" in case.reasons[0]


def test_the_tests_file_the_policy_or_a_directory_may_be_given(tmp_path):
    tests = suite(tmp_path, PASSING)
    assert [t for t, _ in discover([tests])[0]] == [tests]
    assert discover([tmp_path / "tiny.yaml"])[0] == [(tests, tmp_path / "tiny.yaml")]
    nested = suite(tmp_path / "agencies", PASSING, name="other")
    write(tmp_path / "agencies", "untested.yaml", "policy: untested\n")
    pairs, problems, notes = discover([tmp_path])
    assert [t for t, _ in pairs] == [tests, nested] and problems == []
    assert notes == [f"note: {tmp_path / 'agencies' / 'untested.yaml'} has no tests file"]
    assert run_tests([tmp_path]).exit_code == 0


def test_a_policy_without_a_tests_file_is_an_error(capsys, tmp_path):
    policy = write(tmp_path, "alone.yaml", POLICY)
    code, out, _ = run(capsys, "policy", "test", str(policy))
    assert code == 2
    assert out.splitlines()[0] == f"{policy}: error[tests.not-found]: no tests file `alone.tests.yaml` beside this policy"


def test_a_timeline_may_be_a_file_relative_to_the_tests_file(tmp_path):
    write(tmp_path, "timelines/panel.yaml", textwrap.dedent(TIMELINE).split("panel:\n", 1)[1])
    tests = suite(tmp_path, """
        tests:
          - name: from a file
            timeline: timelines/panel.yaml
            as_of: 2026-03-04T00:00:00Z
            expect: [{rule: thank-you-within-24h, contact: bob}]
        """)
    assert [c.status for c in run_tests_file(tests).cases] == ["pass"]


def test_the_policy_may_be_named_in_the_tests_file(tmp_path):
    write(tmp_path, "policies/tiny.yaml", POLICY)
    tests = write(tmp_path, "cases.tests.yaml", """
        policy: policies/tiny.yaml
        tests:
          - name: inline timeline
            timeline:
              contacts: {alice: {name: Alice}}
              applications: {acme: {company: Acme}}
              events:
                - {id: i1, type: interview, at: "2026-03-02T10:00:00Z", with: [alice]}
            as_of: 2026-03-10T00:00:00Z
            expect: [{rule: thank-you-within-24h, events: [i1], contact: alice}]
            exact: true
        """)
    result = run_tests_file(tests)
    assert result.policy.name == "tiny" and [c.status for c in result.cases] == ["pass"]


@pytest.mark.parametrize("body, expected", [
    ("""
     tests:
       - name: typo
         timeline: panel
         as_of: 2026-03-04T00:00:00Z
         expect: [{rule: thank-you-within-42h}]
     """, "{t}:18:21: error[tests.unknown-rule]: policy `tiny` has no rule `thank-you-within-42h`; "
          "did you mean `thank-you-within-24h`?"),
    ("""
     tests:
       - name: unknown timeline
         timeline: panell
         as_of: 2026-03-04T00:00:00Z
     """, "{t}:16:15: error[tests.unknown-timeline]: no timeline named `panell` in `timelines`; did you mean `panel`?"),
    ("""
     tests:
       - name: naive instant
         timeline: panel
         as_of: 2026-03-04T00:00:00
     """, "{t}:17:12: error[input.naive-instant]: `as_of` `2026-03-04T00:00:00` has no UTC offset; add one, e.g. `Z`"),
    ("""
     tests:
       - name: neither kind
         timeline: panel
     """, "{t}:15:5: error[tests.invalid]: `tests[0]`: a case needs either `as_of` (an audit) or `action` with "
          "`decision` (a check)"),
    ("""
     tests:
       - name: unknown field
         timeline: panel
         as_of: 2026-03-04T00:00:00Z
         expected: []
     """, "{t}:18:5: error[tests.unknown-field]: unknown field `expected`"),
    ("""
     tests:
       - name: bad action
         timeline: panel
         action: {type: status_inquiry, to: alice, channel: pigeon}
         at: 2026-03-04T00:00:00Z
         decision: deny
     """, "{t}:17:56: error[action.invalid]: `channel`: input should be 'email', 'phone', 'voicemail', 'text', "
          "'linkedin', 'letter', 'in_person' or 'other'"),
])
def test_invalid_tests_are_located_errors_and_exit_2(capsys, tmp_path, body, expected):
    tests = suite(tmp_path, body)
    code, out, _ = run(capsys, "policy", "test", str(tests))
    assert code == 2, out
    assert expected.format(t=tests) in out.splitlines()[2], out
    assert out.splitlines()[-1] == "0 passed, 0 failed, 1 not run (invalid)"


def test_an_invalid_timeline_is_located_inside_the_tests_file(tmp_path):
    tests = suite(tmp_path, """
        tests:
          - name: bad timeline
            timeline:
              applications: {acme: {company: Acme}}
              events:
                - {id: e1, type: thank_you, at: "2026-03-02T10:00:00Z", to: zed, channel: email}
            as_of: 2026-03-04T00:00:00Z
        """)
    [problem] = run_tests_file(tests).problems
    assert (problem.code, problem.loc.line) == ("timeline.unknown-contact", 19)


def test_an_invalid_policy_is_reported_and_exit_2(capsys, tmp_path):
    tests = suite(tmp_path, PASSING, policy=POLICY.replace("max_words: 5", "max_words: five"))
    code, out, _ = run(capsys, "policy", "test", str(tests))
    assert code == 2
    assert f"{tmp_path / 'tiny.yaml'}:32:16: error[policy.invalid]" in out


def test_fail_under_turns_low_coverage_into_a_failure(capsys, tmp_path):
    tests = suite(tmp_path, PASSING)
    code, out, _ = run(capsys, "policy", "test", str(tests), "--fail-under", "100")
    assert code == 1
    assert out.splitlines()[-2:] == ["3 passed, 0 failed",
                                     "coverage of tiny is below 100%: 3/4 rules exercised"]
    assert run(capsys, "policy", "test", str(tests), "--fail-under", "75")[0] == 0


def test_both_engines_give_the_same_results(tmp_path):
    from conftest import ENGINES
    tests = suite(tmp_path, PASSING)
    for engine in ENGINES:
        assert run_tests([tests], engine=engine).exit_code == 0, engine
