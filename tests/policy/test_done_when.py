"""The issue's done-when checks for agency policies.

* A policy with a typo in a rule id gets a located error with a suggestion, exit 2,
  from `followup policy lint` and from `followup audit --policy` alike.
* `followup policy show --effective` on an agency policy shows, for an overridden
  value, the agency file and line; for an inherited one, the default's.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

from engine.cli import main
from engine.policy import shipped_policies

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_typo_in_an_overridden_rule_id_is_a_located_error_with_a_suggestion(capsys, tmp_path):
    agency = tmp_path / "agency.yaml"
    agency.write_text(textwrap.dedent("""\
        # yaml-language-server: $schema=../docs/schemas/policy.schema.json
        extends: etiquette
        rules:
          - id: thank-you-within-24
            within: 48h
        """))
    expected = (f"{agency}:4:9: error[extends.unknown-rule]: unknown rule id `thank-you-within-24`; "
                "did you mean `thank-you-within-24h`?")
    code, out, _ = run(capsys, "policy", "lint", str(agency))
    assert (code, out.splitlines()) == (2, [expected, "1 error, 0 warnings in 1 policy"])
    code, out, err = run(capsys, "audit", str(ROOT / "examples" / "model-candidate.yaml"), "--policy", str(agency),
                         "--as-of", "2026-04-10T00:00:00Z", "--engine", "reference")
    assert (code, out, err.splitlines()) == (2, "", [expected])


def _origin(out: str, text: str) -> str:
    """The `# file:line` annotation of the first line of ``out`` that starts with ``text``."""
    for line in out.splitlines():
        if line.strip().startswith(text):
            return line.rsplit("# ", 1)[1]
    raise AssertionError(f"no line `{text}` in:\n{out}")


def _line_of(path: Path, pattern: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if re.search(pattern, line):
            return n
    raise AssertionError(pattern)


def test_show_effective_names_the_agency_file_for_overrides_and_the_default_for_the_rest(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    lenient, default = shipped_policies()["agencies/lenient"], shipped_policies()["etiquette"]
    rel_lenient, rel_default = os.path.relpath(lenient), os.path.relpath(default)
    code, out, _ = run(capsys, "policy", "show", "--effective", "agencies/lenient")
    assert code == 0
    # an overridden parameter and rule fields: the agency file and line
    assert _origin(out, "thank_you_within: 48h") == f"{rel_lenient}:{_line_of(lenient, r'^  thank_you_within: 48h')}"
    assert _origin(out, 'start: 09:00') == f"{rel_lenient}:{_line_of(lenient, r'start: .09:00')}"
    # an inherited parameter and rule: the default's file and line
    assert _origin(out, "feedback_within: 7d") == f"{rel_default}:{_line_of(default, r'^  feedback_within:')}"
    assert _origin(out, "- id: single-inquiry") == f"{rel_default}:{_line_of(default, r'- id: single-inquiry')}"
    # a value written as `$name` names the parameter and where it was set
    assert _origin(out, "max: 2").startswith(
        f"$inquiries_per_silence, set at {rel_lenient}:{_line_of(lenient, r'inquiries_per_silence: 2')}")
    # a rule the agency added
    assert _origin(out, "- id: inquiry-spacing") == f"{rel_lenient}:{_line_of(lenient, r'- id: inquiry-spacing')}"
    assert out.rstrip().splitlines()[-1] == f"# made from: {rel_default} <- {rel_lenient}"
