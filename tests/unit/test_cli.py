"""The CLI: exit codes, located one-line errors, formats, schemas. Runs `followup` in-process."""

from __future__ import annotations

import json

import pytest

from engine.cli import main

AS_OF = "--as-of=2026-04-01T00:00:00Z"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_malformed_timeline_gives_located_lines_and_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("applications: {a: {company: A}}\nevents:\n  - {id: e1, type: thank_you, at: 2026-03-02T10:00:00}\n")
    code, out, err = run(capsys, "audit", str(bad), AS_OF, "--engine=reference")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert all(line.startswith(f"{bad}:3:") for line in lines), lines
    assert any("has no UTC offset" in line for line in lines)
    assert "Traceback" not in err


def test_timeline_and_policy_problems_are_reported_together(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("events: 3\n")
    code, _, err = run(capsys, "audit", str(bad), "--policy", "nope.yaml", AS_OF)
    assert code == 2 and f"{bad}:1:9:" in err and "nope.yaml: error[input.not-found]" in err


def test_malformed_policy_gives_located_lines_and_exit_2(capsys, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("policy: p\nrules:\n  - {id: x, kind: limit, category: harassing, message: m, max: -1,"
                      " subject: {type: status_inquiry}}\n")
    code, out, err = run(capsys, "audit", "examples/model-candidate.yaml", "--policy", str(policy), AS_OF)
    assert code == 2
    assert err.startswith(f"{policy}:3:") and "max" in err and len(err.strip().splitlines()) == 1


def test_missing_file_and_unknown_policy_name_exit_2(capsys):
    code, _, err = run(capsys, "audit", "nope.yaml", AS_OF)
    assert code == 2 and err.strip() == "nope.yaml: error[input.not-found]: no such file"
    code, _, err = run(capsys, "audit", "examples/model-candidate.yaml", "--policy", "etiquete", AS_OF)
    assert code == 2 and "did you mean `etiquette`?" in err


def test_naive_as_of_is_refused(capsys):
    code, _, err = run(capsys, "audit", "examples/model-candidate.yaml", "--as-of", "2026-04-01T00:00:00")
    assert code == 2 and "has no UTC offset" in err


def test_bad_option_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["audit", "x.yaml", "--format", "pdf"])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_json_output_follows_the_findings_contract(capsys):
    code, out, _ = run(capsys, "audit", "examples/over-eager.yaml", "--as-of=2026-04-14T00:00:00-04:00",
                       "--format=json", "--engine=reference")
    doc = json.loads(out)
    assert set(doc) == {"as_of", "policy", "findings"} and doc["policy"] == "etiquette"
    assert doc["as_of"] == "2026-04-14T04:00:00Z" and doc["findings"]
    assert code == (1 if any(f["severity"] == "violation" for f in doc["findings"]) else 0)
    for f in doc["findings"]:
        assert set(f) == {"rule", "severity", "category", "application", "contact", "events", "due", "message"}


def test_model_candidate_exits_0_and_over_eager_exits_1(capsys):
    assert run(capsys, "audit", "examples/model-candidate.yaml", "--as-of=2026-04-10T00:00:00Z",
               "--engine=reference")[0] == 0
    assert run(capsys, "audit", "examples/over-eager.yaml", "--as-of=2026-04-14T00:00:00Z",
               "--engine=reference")[0] == 1


def test_events_after_as_of_are_ignored_with_a_warning(capsys):
    code, out, err = run(capsys, "audit", "examples/over-eager.yaml", "--as-of=2026-01-01T00:00:00Z",
                         "--engine=reference")
    assert code == 0 and "after the as-of time were ignored" in err


def test_markdown_and_several_timelines(capsys):
    code, out, _ = run(capsys, "audit", "examples/model-candidate.yaml", "examples/over-eager.yaml",
                       "--as-of=2026-04-14T00:00:00Z",
                       "--format=markdown", "--engine=reference")
    assert out.count("## Follow-up review") == 2 and "| rule |" in out
    code, out, _ = run(capsys, "audit", "examples/model-candidate.yaml", "examples/over-eager.yaml", AS_OF,
                       "--format=json", "--engine=reference")
    assert [t["timeline"] for t in json.loads(out)["timelines"]] == ["examples/model-candidate.yaml",
                                                                      "examples/over-eager.yaml"]


@pytest.mark.parametrize("what", ["timeline", "policy"])
def test_schema_is_draft_07_json(capsys, what):
    code, out, _ = run(capsys, "schema", what)
    schema = json.loads(out)
    assert code == 0 and schema["$schema"].startswith("http") and "draft-07" in schema["$schema"]
    assert "$defs" not in json.dumps(schema), "draft-07 editors do not understand $defs"


@pytest.mark.parametrize("what", ["timeline", "policy"])
def test_published_schema_files_are_current(capsys, what):
    """docs/schemas/*.schema.json (what editors load) equal `followup schema` output."""
    from pathlib import Path
    code, out, _ = run(capsys, "schema", what)
    published = Path(__file__).resolve().parents[2] / "docs" / "schemas" / f"{what}.schema.json"
    assert json.loads(published.read_text()) == json.loads(out), \
        f"regenerate: followup schema {what} > docs/schemas/{what}.schema.json"
