"""`followup policy lint`: every problem at once, stable codes, located at the value that causes it.

Each lint code fires on a minimal policy written for it, at the line and column of
the value that causes it, and fires on none of the shipped policies. Through
``extends`` a warning about an inherited value points into the base file, one about
an overridden value into the agency file. Load errors come out with the loader's
codes. Exit codes: 0 clean, 1 warnings only, 2 errors.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.cli import main
from engine.policy import load_policy, shipped_policies
from engine.policy.lint import LINT_CODES, is_tests_file, lint_file, lint_paths, lint_policy

RULE = "category: harassing\n    message: m"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


#: code -> (policy text, the `line:col` the warning must point at)
CASES = {
    "lint.empty-selector": ("""
        policy: p
        rules:
          - id: quiet
            kind: limit
            category: harassing
            subject: {type: outreach, except: outreach}
            max: 0
            message: m
        """, "6:39"),
    "lint.no-channel": ("""
        policy: p
        rules:
          - id: phoned-interview
            kind: limit
            category: harassing
            subject: {type: [interview, rejection], channel: phone}
            max: 0
            message: m
        """, "6:54"),
    "lint.no-party": ("""
        policy: p
        rules:
          - id: after-withdrawal
            kind: forbidden-after
            category: harassing
            subject: {type: outreach}
            after: {type: withdrawal, role: recruiter}
            message: m
        """, "7:37"),
    "lint.shadowed-anchor": ("""
        policy: p
        rules:
          - id: wait
            kind: not-before
            category: premature
            subject: {type: status_inquiry}
            anchors:
              - {event: {type: employer}, wait: 1d}
              - {event: {type: interview}, wait: 5bd}
            message: m
        """, "9:17"),
    "lint.never-precedes": ("""
        policy: p
        rules:
          - id: scoped
            kind: forbidden-after
            category: harassing
            subject: {type: outreach, role: recruiter}
            after: {type: do_not_contact, role: hiring_manager}
            scope: named-contact
            message: m
        """, "7:41"),
    "lint.dead-except": ("""
        policy: p
        rules:
          - id: after-rejection
            kind: forbidden-after
            category: harassing
            subject: {type: outreach, except: feedback_request}
            after: {type: rejection}
            except: {type: feedback_request, max: 1}
            message: m
        """, "8:20"),
    "lint.always-inside-hours": ("""
        policy: p
        rules:
          - id: hours
            kind: hours
            category: harassing
            subject: {type: outreach}
            start: "00:00"
            end: "24:00"
            business_days: false
            message: m
        """, "8:10"),
    "lint.deadline-conflict": ("""
        policy: p
        parameters:
          wait: {value: 5bd}
        rules:
          - id: inquire-soon
            kind: deadline
            category: missed
            trigger: {type: interview}
            expect: {type: status_inquiry}
            within: 3bd
            message: m
          - id: inquire-late
            kind: not-before
            category: premature
            subject: {type: status_inquiry}
            anchors:
              - {event: {type: interview}, from: end, wait: $wait}
            message: m
        """, "3:17"),
    "lint.unused-parameter": ("""
        policy: p
        parameters:
          used: {value: 3}
          in_message: {value: 5}
          spare: {value: 7}
        rules:
          - id: x
            kind: limit
            category: harassing
            subject: {type: status_inquiry}
            max: $used
            message: "at most {in_message}"
        """, "5:3"),
}


def test_every_lint_code_has_a_case():
    assert set(CASES) == set(LINT_CODES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_lint_code_fires_on_a_minimal_policy_at_the_value_that_causes_it(code, tmp_path):
    text, where = CASES[code]
    path = write(tmp_path, "p.yaml", text)
    problems = lint_file(path)
    assert [(p.code, p.severity) for p in problems] == [(code, "warning")], [str(p) for p in problems]
    assert str(problems[0]).startswith(f"{path}:{where}: warning[{code}]: "), str(problems[0])
    message = problems[0].message
    assert message == message.strip() and "\n" not in message and message[0].islower()


SHIPPED = sorted(name for name, path in shipped_policies().items() if not is_tests_file(path))


def test_the_shipped_policies_include_the_agency_policies():
    assert SHIPPED == ["agencies/lenient", "agencies/strict", "etiquette"]


@pytest.mark.parametrize("name", SHIPPED)
def test_no_lint_code_fires_on_a_shipped_policy(name):
    assert lint_policy(load_policy(name)) == []


def test_the_shipped_policies_lint_clean_from_the_command_line(capsys):
    root = Path(__file__).resolve().parents[2]
    code, out, _ = run(capsys, "policy", "lint", str(root / "policies"))
    assert (code, out) == (0, "no problems in 3 policies\n")


def test_the_empty_selector_message_names_what_was_written(tmp_path):
    [p] = lint_file(write(tmp_path, "p.yaml", CASES["lint.empty-selector"][0]))
    assert p.message == ("rule `quiet`: `subject` matches no event type (`outreach` except `outreach`); "
                         "the rule can never fire")


def test_the_deadline_conflict_names_both_rules_and_where_the_deadline_is(tmp_path):
    [p] = lint_file(write(tmp_path, "p.yaml", CASES["lint.deadline-conflict"][0]))
    assert "rule `inquire-late` holds back `status_inquiry` until 5 business days after `interview`" in p.message
    assert f"rule `inquire-soon` expects it within 3 business days of `interview` ({tmp_path / 'p.yaml'}:10)" \
        in p.message


def test_a_deadline_that_leaves_time_after_the_wait_is_no_conflict(tmp_path):
    text = CASES["lint.deadline-conflict"][0].replace("within: 3bd", "within: 10bd")
    assert lint_file(write(tmp_path, "p.yaml", text)) == []


def test_a_wait_from_the_start_of_an_interview_is_not_compared_with_a_deadline_from_its_end(tmp_path):
    """The interview's length lies between the two clocks, so no conflict is certain."""
    text = CASES["lint.deadline-conflict"][0].replace("from: end, ", "")
    assert lint_file(write(tmp_path, "p.yaml", text)) == []
    both_at = text.replace("within: 3bd", "within: 3bd\n            from: at")
    assert [p.code for p in lint_file(write(tmp_path, "q.yaml", both_at))] == ["lint.deadline-conflict"]


def test_disabled_rules_are_not_linted_but_their_parameters_count_as_used(tmp_path):
    text = CASES["lint.empty-selector"][0].replace("message: m", "message: m\n            enabled: false")
    assert lint_file(write(tmp_path, "p.yaml", text)) == []
    text = CASES["lint.deadline-conflict"][0].replace("id: inquire-late", "id: inquire-late\n            enabled: false")
    assert lint_file(write(tmp_path, "q.yaml", text)) == []  # `$wait` is still used, by a disabled rule


def test_all_problems_of_all_files_are_reported_at_once_sorted_by_place(tmp_path):
    a = write(tmp_path, "a.yaml", CASES["lint.unused-parameter"][0])
    b = write(tmp_path, "b.yaml", """
        policy: b
        rules:
          - {id: x, kind: limit, category: harassing, subject: {type: status_inquiry, except: status_inquiry},
             max: 0, message: m}
          - {id: y, kind: limit, category: harassing, subject: {type: withdrawal, channel: email}, max: 0,
             message: m}
        """)
    report = lint_paths([a, b])
    assert [(Path(p.loc.file).name, p.loc.line, p.code) for p in report.problems] == [
        ("a.yaml", 5, "lint.unused-parameter"),
        ("b.yaml", 3, "lint.empty-selector"),
        ("b.yaml", 5, "lint.no-channel"),
    ]
    assert report.exit_code == 1


def test_a_directory_is_linted_without_its_tests_files(tmp_path):
    write(tmp_path, "a.yaml", CASES["lint.unused-parameter"][0])
    write(tmp_path, "a.tests.yaml", "tests: []\n")
    report = lint_paths([tmp_path])
    assert [f.name for f in report.files] == ["a.yaml"]
    assert [p.code for p in report.problems] == ["lint.unused-parameter"]


# -- through extends ---------------------------------------------------------------------------------


BASE = """
policy: base
parameters:
  wait: {value: 5bd, description: how long to wait}
  cap: {value: 2}
rules:
  - id: inquire-soon
    kind: deadline
    category: missed
    trigger: {type: interview}
    expect: {type: status_inquiry}
    within: 10bd
    message: m
  - id: inquire-late
    kind: not-before
    category: premature
    subject: {type: status_inquiry}
    anchors:
      - {event: {type: interview}, from: end, wait: $wait}
    message: m
  - id: calls
    kind: limit
    category: harassing
    subject: {type: outreach, channel: phone}
    max: $cap
    window: 7d
    message: m
"""


def test_a_warning_about_an_inherited_value_points_into_the_base_file(tmp_path):
    base = write(tmp_path, "base.yaml", BASE)
    agency = write(tmp_path, "agency.yaml", """
        extends: base
        rules:
          - id: inquire-soon
            within: 3bd
        """)
    [p] = lint_file(agency)
    assert p.code == "lint.deadline-conflict"
    assert p.loc.file == str(base) and (p.loc.line, p.loc.col) == (3, 17)  # the inherited `wait` value
    assert f"({agency}:4)" in p.message  # the deadline the agency tightened


def test_a_warning_about_an_overridden_value_points_into_the_agency_file(tmp_path):
    base = write(tmp_path, "base.yaml", BASE)
    agency = write(tmp_path, "agency.yaml", """
        extends: base
        parameters:
          wait: 15bd
        rules:
          - id: calls
            subject: {type: [interview, withdrawal]}
        """)
    problems = lint_file(agency)
    assert [(p.code, p.loc.file, p.loc.line, p.loc.col) for p in problems] == [
        ("lint.deadline-conflict", str(agency), 3, 9),  # the overriding parameter value
        ("lint.no-channel", str(base), 23, 40),         # `channel: phone` is inherited
    ]


def test_an_unused_parameter_declared_by_an_agency_points_at_its_declaration(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    agency = write(tmp_path, "agency.yaml", """
        extends: base
        parameters:
          spare: {value: 1, description: not used yet}
        """)
    [p] = lint_file(agency)
    assert (p.code, p.loc.file, p.loc.line, p.loc.col) == ("lint.unused-parameter", str(agency), 3, 3)


# -- load errors and exit codes ----------------------------------------------------------------------


def test_load_errors_are_reported_with_their_codes_and_exit_2(capsys, tmp_path):
    path = write(tmp_path, "p.yaml", """
        policy: p
        parameters: {limit: 200}
        rules:
          - id: x
            kind: word-limit
            category: quality
            subject: {type: thank_you}
            max_words: $limit
            message: "over {limits} words"
          - {id: y, kind: phrase, category: tone, subject: {type: thank_you}, message: m}
        """)
    code, out, err = run(capsys, "policy", "lint", str(path))
    assert code == 2
    assert out.splitlines() == [
        f"{path}:9:14: error[policy.unknown-placeholder]: message names `{{limits}}`, which is neither a finding "
        "field nor a parameter; did you mean `limit`?",
        f"{path}:10:19: error[policy.unknown-kind]: unknown rule kind `phrase`; did you mean `phrases`?",
        "2 errors, 0 warnings in 1 policy",
    ]


def test_exit_codes_are_0_clean_1_warnings_2_errors(capsys, tmp_path):
    clean = write(tmp_path, "clean.yaml", "policy: clean\nrules: []\n")
    warned = write(tmp_path, "warned.yaml", CASES["lint.unused-parameter"][0])
    broken = write(tmp_path, "broken.yaml", "policy: broken\nrules: [{id: x}]\n")
    assert run(capsys, "policy", "lint", str(clean))[0] == 0
    assert run(capsys, "policy", "lint", str(warned))[0] == 1
    assert run(capsys, "policy", "lint", str(broken))[0] == 2
    code, out, _ = run(capsys, "policy", "lint", str(clean), str(warned), str(broken))
    assert code == 2 and "warning[lint.unused-parameter]" in out and "error[policy." in out


def test_json_output_lists_every_problem_with_its_place(capsys, tmp_path):
    warned = write(tmp_path, "warned.yaml", CASES["lint.unused-parameter"][0])
    code, out, _ = run(capsys, "policy", "lint", str(warned), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["warnings"] == 1 and data["errors"] == 0
    [problem] = data["problems"]
    assert problem == {"code": "lint.unused-parameter", "severity": "warning", "file": str(warned), "line": 5,
                       "col": 3, "message": problem["message"]}


def test_shipped_policies_can_be_linted_by_name(capsys):
    code, out, _ = run(capsys, "policy", "lint", "etiquette", "agencies/strict")
    assert (code, out) == (0, "no problems in 2 policies\n")
    code, out, _ = run(capsys, "policy", "lint", "etiquete")
    assert code == 2 and "error[policy.not-found]" in out and "did you mean `etiquette`?" in out
