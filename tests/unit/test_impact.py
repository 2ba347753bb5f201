"""`followup policy impact OLD NEW CASELOAD...` (engine/impact.py): how findings are matched, the
pinned impact of the shipped agency policies on examples/, identical policies, invalid input, the
four formats, and the same answer on the Dask executor (a LocalCluster the command starts)."""

from __future__ import annotations

import json
import sys
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.impact import diff_findings, expand_caseload

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-06-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def impact(capsys, old, new, *args):
    return run(capsys, "policy", "impact", old, new, *args, "--as-of", AS_OF, "--engine", "reference",
               "--jobs", "1")


def finding(rule="r", events=("e1",), severity="violation", message="m", due=None, app="a", contact="c"):
    return {"rule": rule, "severity": severity, "category": "harassing", "application": app, "contact": contact,
            "events": list(events), "due": due, "message": message}


# -- matching ---------------------------------------------------------------------------------------

def test_identical_findings_have_no_changes():
    fs = [finding(), finding(rule="s", events=("e0", "e2"))]
    assert diff_findings(fs, [dict(f) for f in fs]) == []


def test_the_same_rule_application_contact_and_offending_event_is_one_finding_changed():
    old = [finding(events=("e0", "e1", "e5"), message="3 messages", severity="warning")]
    new = [finding(events=("e1", "e5"), message="2 messages")]
    [change] = diff_findings(old, new)
    assert change["change"] == "changed" and change["event"] == "e5"
    assert change["fields"] == ["severity", "message", "events"]
    assert (change["old"], change["new"]) == (old[0], new[0])


@pytest.mark.parametrize("other", [{"rule": "s"}, {"app": "b"}, {"contact": None}, {"events": ("e2",)}])
def test_another_rule_application_contact_or_offending_event_is_another_finding(other):
    old, new = [finding()], [finding(**other)]
    assert [c["change"] for c in diff_findings(old, new)] == ["added", "removed"]


def test_findings_sharing_a_key_are_paired_in_report_order():
    old = [finding(message="one"), finding(message="two")]
    new = [finding(message="one"), finding(message="two"), finding(message="three")]
    assert [(c["change"], c["new"]["message"]) for c in diff_findings(old, new)] == [("added", "three")]


# -- the shipped agency policies on examples/, checked by hand once ---------------------------------

#: the hand-written example timelines (examples/ics/ holds those of the calendar importer)
HAND_WRITTEN = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))

STRICT = [  # (timeline, change, rule, application, contact, event, fields)
    ("examples/model-candidate.yaml", "added", "email-only", "northwind", "sam", "c1", []),
    ("examples/over-eager.yaml", "changed", "preferred-channel", "brightline", "nadia", "c1", ["severity"]),
    ("examples/over-eager.yaml", "added", "contact-frequency", "brightline", "nadia", "c1", []),
    ("examples/over-eager.yaml", "added", "no-linkedin-before-decision", "brightline", "nadia", "c1", []),
    ("examples/over-eager.yaml", "changed", "preferred-channel", "brightline", "nadia", "q2", ["severity"]),
    ("examples/over-eager.yaml", "changed", "contact-frequency", "brightline", "nadia", "q2", ["message", "events"]),
    ("examples/over-eager.yaml", "added", "email-only", "brightline", "nadia", "q2", []),
    ("examples/over-eager.yaml", "removed", "call-hours", "brightline", "nadia", "q2", []),
    ("examples/rejection.yaml", "added", "contact-frequency", "maple", "fiona", "c1", []),
    ("examples/rejection.yaml", "added", "contact-frequency", "maple", "fiona", "c2", []),
]
LENIENT = [
    ("examples/forgetful.yaml", "changed", "thank-you-within-24h", "cascadia", "ben", "i2", ["due", "message"]),
    ("examples/forgetful.yaml", "removed", "thank-you-within-24h", "cascadia", "raj", "i2", []),
    ("examples/over-eager.yaml", "changed", "call-hours", "brightline", "nadia", "q2", ["severity", "message"]),
    ("examples/over-eager.yaml", "added", "inquiry-spacing", "brightline", "nadia", "q2", []),
    ("examples/over-eager.yaml", "removed", "single-inquiry", "brightline", "nadia", "q2", []),
]


@pytest.mark.parametrize("new, expected, totals", [
    ("agencies/strict", STRICT, {"timelines": 6, "changed_timelines": 3, "old_findings": 14, "new_findings": 19,
                                 "added": 6, "removed": 1, "changed": 3}),
    ("agencies/lenient", LENIENT, {"timelines": 6, "changed_timelines": 2, "old_findings": 14,
                                   "new_findings": 13, "added": 1, "removed": 2, "changed": 2}),
])
def test_impact_of_the_shipped_agency_policies_on_the_examples_is_pinned(capsys, new, expected, totals):
    code, out, _ = impact(capsys, "etiquette", new, *HAND_WRITTEN, "--format", "json")
    doc = json.loads(out)
    got = [(cand["timeline"], c["change"], c["rule"], c["application"], c["contact"], c["event"], c["fields"])
           for cand in doc["candidates"] for c in cand["changes"]]
    assert code == 1
    assert got == expected
    assert doc["totals"] == totals
    for rule in doc["rules"]:  # the per-rule tallies add up to the candidates' changes
        for kind in ("added", "removed", "changed"):
            assert rule[kind] == sum(1 for g in got if g[2] == rule["rule"] and g[1] == kind)


def test_strict_impact_in_words(capsys):
    code, out, _ = impact(capsys, "etiquette", "agencies/strict", "examples/over-eager.yaml")
    assert code == 1
    assert out.splitlines()[:2] == [
        "policy impact: etiquette -> strict, as of 2026-06-01T00:00:00Z",
        "  1 timeline, 1 with changes; findings 8 -> 10: 3 added, 1 removed, 3 changed"]
    assert "  preferred-channel: 2 changed [severity 2 (violation -> warning 2)]" in out
    assert ("        events: q1, c1, q2 -> c1, q2" in out
            and "    - removed  call-hours  brightline, nadia, about q2  (warning)" in out)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_two_identical_policies_change_nothing_exit_0(capsys, fmt):
    code, out, _ = impact(capsys, "etiquette", "etiquette", "examples/", "--format", fmt)
    assert code == 0
    if fmt == "json":
        doc = json.loads(out)
        assert doc["candidates"] == [] and doc["totals"]["added"] == doc["totals"]["changed"] == 0
    else:
        assert "othing changes" in out


def test_a_copy_of_the_policy_file_changes_nothing(capsys, tmp_path):
    copy = tmp_path / "copy.yaml"
    shutil.copy(ROOT / "policies" / "etiquette.yaml", copy)
    code, out, _ = impact(capsys, "etiquette", str(copy), "examples/")
    assert code == 0 and out.endswith("  nothing changes\n")


# -- invalid input ----------------------------------------------------------------------------------

def test_an_invalid_timeline_is_exit_2_located_with_nothing_on_stdout(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("events: 3\n")
    code, out, err = impact(capsys, "etiquette", "agencies/strict", "examples/", str(bad))
    assert (code, out) == (2, "")
    assert err.startswith(str(bad)) and "error[" in err


def test_an_invalid_policy_is_exit_2_with_the_timelines_problems(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("candidate: [\n")
    code, out, err = impact(capsys, "etiquette", "nope.yaml", "examples/rejection.yaml", str(bad))
    assert (code, out) == (2, "")
    assert "nope.yaml" in err and str(bad) in err


def test_a_directory_contributes_its_timeline_files_recursively_sorted_and_nothing_else():
    """As ``followup audit`` reads it: every .yaml/.yml/.json/.jsonl file under it, in sorted path order."""
    assert [s.label for s in expand_caseload(["examples"])] == sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "examples").rglob("*")
        if p.suffix in (".yaml", ".yml", ".json", ".jsonl"))


# -- formats ----------------------------------------------------------------------------------------

def test_html_is_self_contained_and_escapes_user_data(capsys, tmp_path):
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text((ROOT / "examples" / "rejection.yaml").read_text()
                       .replace("candidate: Chris Dubois", 'candidate: "<script>alert(1)</script> & co"'))
    code, out, _ = impact(capsys, "etiquette", "agencies/strict", str(hostile), "--format", "html")
    assert code == 1 and out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in out
    assert "src=" not in out and "<link" not in out and "http" not in out.split("<body>")[1]


def test_markdown_escapes_user_data_and_tabulates_per_rule(capsys, tmp_path):
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text((ROOT / "examples" / "rejection.yaml").read_text()
                       .replace("candidate: Chris Dubois", 'candidate: "a|b *c*"'))
    code, out, _ = impact(capsys, "etiquette", "agencies/strict", str(hostile), "--format", "markdown")
    assert code == 1
    assert "### a\\|b \\*c\\*" in out
    assert "| `contact-frequency` | 2 | 0 | 0 |  |" in out


def test_dask_executor_gives_the_same_impact_as_local(capsys):
    """The command starts (and stops) its own LocalCluster; bounded by faulthandler, never timed."""
    import faulthandler
    faulthandler.dump_traceback_later(240, exit=True, file=sys.__stderr__)
    args = ("policy", "impact", "etiquette", "agencies/strict", "examples/", "--as-of", AS_OF,
            "--engine", "reference", "--format", "json")
    local = run(capsys, *args, "--jobs", "2")
    dask = run(capsys, *args, "--executor", "dask", "--jobs", "2")
    faulthandler.cancel_dump_traceback_later()
    assert local[0] == 1
    assert dask[:2] == local[:2]


def test_progress_goes_to_stderr_and_leaves_the_report_alone(tmp_path):
    import io
    from engine import api
    from engine.impact import ImpactJob, run_impact
    from engine.limits import DEFAULT_LIMITS
    job = ImpactJob("etiquette", "agencies/strict", api.parse_instant(AS_OF), "reference", DEFAULT_LIMITS)
    paths = ["examples"]
    policies = api.load_policy("etiquette"), api.load_policy("agencies/strict")
    outs = []
    for shown in (True, False):
        out, err = io.StringIO(), io.StringIO()
        assert run_impact(paths, job, *policies, out=out, err=err, show_progress=shown) == 1
        outs.append(out.getvalue())
        assert ("0 timelines [" in err.getvalue() and " timelines/s" in err.getvalue()) is shown
    assert outs[0] == outs[1]
