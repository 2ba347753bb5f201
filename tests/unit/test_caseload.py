"""`followup audit` on a caseload (engine/batch.py, engine/report/summary.py; issues 10 and 12):
directories, globs, stdin, JSON Lines with bad lines among good ones, located error rows, exit
codes, the --summary table and its order, --format jsonl, -o, and the progress bar."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import api
from engine.batch import Job, Source, audit_files, expand
from engine.cli import main
from engine.decide import Agenda, AgendaItem
from engine.limits import DEFAULT_LIMITS
from engine.report import AuditItem, render
from engine.report.summary import SummaryRow, render_markdown, render_text, sort_rows, summary_row
from engine.source import read_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
AS_OF = "2026-06-01T00:00:00Z"
REF = ("--as-of", AS_OF, "--engine", "reference")


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def contract(path: str, as_of: str = AS_OF) -> dict:
    """The single-timeline JSON report of ``path``, computed without the batch."""
    report = api.audit(api.load_timeline(path), api.load_policy("etiquette"), api.parse_instant(as_of),
                       engine="reference")
    return report.contract()


def as_json_line(path: str) -> str:
    return json.dumps(read_document(path).data)


def jsonl_rows(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def caseload(tmp_path) -> Path:
    """A JSON Lines file: two good timelines with bad lines (and a blank one) between and after."""
    lines = [as_json_line(EXAMPLES[0]),                 # 1 good
             '{"candidate": "x", "events": 3}',          # 2 wrong type: located at the value
             "",                                         # 3 blank: skipped
             '{"candidate": "x",, }',                    # 4 not JSON
             "   ",                                      # 5 blank
             as_json_line(EXAMPLES[2]),                  # 6 good
             "{candidate: yaml}",                        # 7 YAML, not JSON
             "[1, 2]"]                                   # 8 not a mapping
    path = tmp_path / "caseload.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- sources -------------------------------------------------------------------------------


def test_a_directory_is_read_recursively_in_sorted_path_order_only_timeline_suffixes(capsys, tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    copies = {"b/deep/z.yml": EXAMPLES[0], "b/a.json": EXAMPLES[1], "a.yaml": EXAMPLES[2], "c.YAML": EXAMPLES[3]}
    for name, example in copies.items():
        (tmp_path / name).write_text(Path(example).read_text())
    (tmp_path / "b" / "lines.jsonl").write_text(as_json_line(EXAMPLES[4]) + "\n")
    (tmp_path / "notes.txt").write_text("not a timeline")
    (tmp_path / ".hidden" / "x.yaml").write_text("not: [read")
    (tmp_path / ".dot.yaml").write_text("not: [read")
    code, out, err = run(capsys, "audit", str(tmp_path), "--format", "jsonl", *REF)
    assert code == 1 and err.count("error") == 0
    got = [(r["source"], r.get("line")) for r in jsonl_rows(out)]
    assert got == [(f"{tmp_path}/a.yaml", None), (f"{tmp_path}/b/a.json", None),
                   (f"{tmp_path}/b/deep/z.yml", None), (f"{tmp_path}/b/lines.jsonl", 1), (f"{tmp_path}/c.YAML", None)]


def test_a_quoted_glob_is_expanded_in_sorted_order_and_one_that_matches_nothing_is_an_error(capsys):
    code, out, _ = run(capsys, "audit", "examples/*.yaml", "--format", "jsonl", *REF)
    assert code == 1 and [r["source"] for r in jsonl_rows(out)] == EXAMPLES
    code, out, err = run(capsys, "audit", "examples/*.nothing", EXAMPLES[0], "--format", "jsonl", *REF)
    assert code == 2
    assert err == "examples/*.nothing: error[input.not-found]: no file matches this pattern\n"
    rows = jsonl_rows(out)
    assert rows[0] == {"source": "examples/*.nothing", "errors": [
        {"code": "input.not-found", "severity": "error", "message": "no file matches this pattern",
         "file": "examples/*.nothing", "line": 0, "col": 0}]}
    assert rows[1]["source"] == EXAMPLES[0]


def test_stdin_is_one_timeline_among_files(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(Path(EXAMPLES[1]).read_text()))
    code, out, _ = run(capsys, "audit", EXAMPLES[0], "-", "--format", "jsonl", "--jobs", "2", *REF)
    rows = jsonl_rows(out)
    assert code == 1 and [r["source"] for r in rows] == [EXAMPLES[0], "<stdin>"]
    assert {k: rows[1][k] for k in ("as_of", "policy", "findings")} == contract(EXAMPLES[1])


def test_an_empty_directory_is_a_warning_and_an_empty_json_document(capsys, tmp_path):
    code, out, err = run(capsys, "audit", str(tmp_path), "--format", "json", *REF)
    assert code == 0 and json.loads(out) == {"as_of": AS_OF, "policy": "etiquette", "timelines": []}
    assert err == f"warning: {tmp_path}: no timeline files (.yaml, .yml, .json, .jsonl) in this directory\n"


# --- JSON Lines ----------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_jsonl_bad_lines_are_located_error_rows_in_place_and_the_rest_audited(capsys, caseload, jobs):
    code, out, err = run(capsys, "audit", str(caseload), "--format", "jsonl", "--jobs", jobs, *REF)
    assert code == 2
    rows = jsonl_rows(out)
    assert [(r["line"], "errors" in r) for r in rows] == [(1, False), (2, True), (4, True), (6, False), (7, True),
                                                           (8, True)]
    assert all(r["source"] == str(caseload) for r in rows)
    for row, example in ((rows[0], EXAMPLES[0]), (rows[3], EXAMPLES[2])):
        assert row == {"source": str(caseload), "line": row["line"], "candidate": api.load_timeline(example).candidate,
                       **contract(example)}
    located = [(e["code"], e["line"], e["col"]) for r in rows if "errors" in r for e in r["errors"]]
    assert located == [("timeline.invalid", 2, 30), ("jsonl.syntax", 4, 19), ("jsonl.syntax", 7, 2),
                       ("timeline.not-a-mapping", 8, 1)]
    assert err.splitlines() == [f"{caseload}:2:30: error[timeline.invalid]: `events`: input should be a valid list",
                                f"{caseload}:4:19: error[jsonl.syntax]: the line is not JSON: expecting property "
                                "name enclosed in double quotes",
                                f"{caseload}:7:2: error[jsonl.syntax]: the line is not JSON: expecting property "
                                "name enclosed in double quotes",
                                f"{caseload}:8:1: error[timeline.not-a-mapping]: a timeline must be a mapping with "
                                "`events`"]


def test_jsonl_in_text_names_each_line_as_its_source(capsys, caseload):
    code, out, _ = run(capsys, "audit", str(caseload), *REF)
    assert code == 2
    expected = render("text", [AuditItem(f"{caseload}:{n}", tl, api.audit(tl, api.load_policy("etiquette"),
                                                                          api.parse_instant(AS_OF), engine="reference"))
                               for n, example in ((1, EXAMPLES[0]), (6, EXAMPLES[2]))
                               for tl in [api.load_timeline(example)]])
    assert out == expected


def test_a_jsonl_line_over_the_limit_is_refused_and_the_next_line_is_still_read(capsys, tmp_path):
    path = tmp_path / "big.jsonl"
    good = as_json_line(EXAMPLES[0])
    path.write_text('{"candidate": "' + "x" * 5000 + '"}\n' + good + "\r\n")
    code, out, err = run(capsys, "audit", str(path), "--format", "jsonl", "--max-bytes", str(len(good) + 10), *REF)
    assert code == 2
    assert err == f"{path}:1:1: error[input.too-large]: the line is larger than the limit of {len(good) + 10} bytes\n"
    rows = jsonl_rows(out)
    assert [r["line"] for r in rows] == [1, 2] and "errors" in rows[0] and rows[1]["findings"]


def test_a_jsonl_line_keeps_the_event_limit_and_its_location(capsys, tmp_path):
    data = read_document(EXAMPLES[0]).data
    path = tmp_path / "many.jsonl"
    path.write_text("\n\n" + json.dumps(data) + "\n")
    code, _, err = run(capsys, "audit", str(path), "--max-events", "2", *REF)
    assert code == 2 and err.startswith(f"{path}:3:") and "timeline.too-many-events" in err


def test_jsonl_sources_are_read_one_line_at_a_time(monkeypatch):
    """The reader takes one line from the file per source, when the source is asked for:
    nothing reads (or holds) the whole caseload."""
    import engine.batch
    data = b'{"a": 1}\n\n{"b": 2}\r\n{"c": 3}'
    stream = io.BytesIO(data)
    monkeypatch.setattr(engine.batch, "open", lambda path, mode: stream, raising=False)
    sources = expand(["c.jsonl"], DEFAULT_LIMITS)
    assert stream.tell() == 0
    first = next(sources)
    assert (first.label, first.text, first.index, stream.tell()) == ("c.jsonl:1", b'{"a": 1}', 1, 9)
    second = next(sources)
    assert (second.label, second.text, second.index, stream.tell()) == ("c.jsonl:3", b'{"b": 2}', 2, 20)
    assert [(s.line, s.text) for s in sources] == [(4, b'{"c": 3}')]


# --- exit codes and output -----------------------------------------------------------------


def test_exit_codes_0_clean_1_violation_2_invalid_source(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("events: 3\n")
    clean = "examples/model-candidate.yaml"
    assert run(capsys, "audit", clean, *REF)[0] == 0
    assert run(capsys, "audit", clean, "examples/over-eager.yaml", *REF)[0] == 1
    assert run(capsys, "audit", clean, str(bad), *REF)[0] == 2


def test_an_invalid_policy_is_exit_2_with_nothing_audited_or_written(capsys, tmp_path, caseload):
    target = tmp_path / "out.txt"
    code, out, err = run(capsys, "audit", str(caseload), "--policy", "nope.yaml", "-o", str(target), *REF)
    assert code == 2 and out == "" and not target.exists()
    assert "nope.yaml" in err and f"{caseload}:4:19" in err


def test_several_files_as_json_have_an_error_entry_in_place_of_an_invalid_one(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("candidate: [\n")
    code, out, _ = run(capsys, "audit", EXAMPLES[0], str(bad), EXAMPLES[1], "--format", "json", *REF)
    doc = json.loads(out)
    assert code == 2 and [t["timeline"] for t in doc["timelines"]] == [EXAMPLES[0], str(bad), EXAMPLES[1]]
    assert doc["timelines"][1] == {"timeline": str(bad), "errors": [
        {"code": "yaml.syntax", "severity": "error", "message": doc["timelines"][1]["errors"][0]["message"],
         "file": str(bad), "line": 2, "col": 1}]}
    assert doc["timelines"][2]["findings"] == contract(EXAMPLES[1])["findings"]


def test_one_file_as_json_is_the_bare_report_and_a_directory_of_one_is_a_document(capsys, tmp_path):
    (tmp_path / "only.yaml").write_text(Path(EXAMPLES[0]).read_text())
    code, out, _ = run(capsys, "audit", str(tmp_path / "only.yaml"), "--format", "json", *REF)
    assert json.loads(out) == contract(EXAMPLES[0])
    code, out, _ = run(capsys, "audit", str(tmp_path), "--format", "json", *REF)
    assert [t["timeline"] for t in json.loads(out)["timelines"]] == [str(tmp_path / "only.yaml")]


def test_output_file_gets_the_bytes_stdout_would_and_no_temporary_file_is_left(capsys, tmp_path):
    stdout = run(capsys, "audit", *EXAMPLES, "--format", "markdown", *REF)[1]
    target = tmp_path / "review.md"
    target.write_text("old")
    code, out, _ = run(capsys, "audit", *EXAMPLES, "--format", "markdown", "-o", str(target), *REF)
    assert code == 1 and out == "" and target.read_text() == stdout
    assert [p.name for p in tmp_path.iterdir()] == ["review.md"]


def test_an_output_file_in_a_missing_directory_is_a_located_error(capsys, tmp_path):
    target = tmp_path / "missing" / "out.txt"
    code, out, err = run(capsys, "audit", EXAMPLES[0], "-o", str(target), *REF)
    assert code == 2 and out == "" and err.startswith(f"{target}: error[output.unwritable]: ")


def test_summary_is_refused_for_json_and_jsonl(capsys):
    for fmt in ("json", "jsonl"):
        code, out, err = run(capsys, "audit", EXAMPLES[0], "--summary", "--format", fmt, *REF)
        assert code == 2 and out == "" and "error[input.bad-option]: --summary is for text" in err


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "markdown"])
def test_two_jobs_give_the_same_output_and_exit_code_as_one(capsys, tmp_path, fmt):
    spec = importlib.util.spec_from_file_location("bench_timelines", ROOT / "bench" / "timelines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = [json.dumps(data) for data, _ in module.generate(30, events=12, seed=11)]
    lines[7], lines[19] = '{"events": "no"}', "{"
    (tmp_path / "gen.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.yaml").write_text(Path(EXAMPLES[0]).read_text())
    argv = ["audit", str(tmp_path), "--as-of", "2027-06-01T00:00:00Z", "--engine", "reference", "--format", fmt]
    if fmt != "json" and fmt != "jsonl":
        argv.append("--summary")
    one, two = (run(capsys, *argv, "--jobs", jobs) for jobs in ("1", "2"))
    assert one == two and one[0] == 2
    assert "one.yaml" in one[1] and ("gen.jsonl:30" in one[1] or '"line":30,' in one[1])


# --- the summary ---------------------------------------------------------------------------


def _row(name: str, **kw) -> SummaryRow:
    return SummaryRow(candidate=name, file=f"{name}.yaml", anchor="", **kw)


def test_summary_rows_sort_overdue_first_then_soonest_due_then_violations_then_input_order():
    t = lambda day: datetime(2026, 6, day, tzinfo=timezone.utc)  # noqa: E731
    rows = [_row("quiet"), _row("bad", invalid=True, problems=["x"]), _row("due-late", next_due=t(9)),
            _row("violent", violations=3), _row("overdue-recent", next_due=t(2), overdue=True),
            _row("due-soon", next_due=t(5), violations=0), _row("overdue-old", next_due=t(1), overdue=True),
            _row("warned", violations=3, warnings=1), _row("due-soon-worse", next_due=t(5), violations=2),
            _row("quiet-too")]
    assert [r.candidate for r in sort_rows(rows)] == [
        "overdue-old", "overdue-recent", "due-soon-worse", "due-soon", "due-late", "warned", "violent",
        "quiet", "quiet-too", "bad"]


def _agenda(*items: tuple[str, str | None]) -> Agenda:
    return Agenda(as_of=AS_OF, policy="etiquette", items=[
        AgendaItem(kind=kind, application="a", rule="r", due=due, message=f"{kind} {due}") for kind, due in items])


def test_the_next_item_is_the_oldest_overdue_else_the_soonest_due_never_a_prohibition():
    item = AuditItem(EXAMPLES[0], api.load_timeline(EXAMPLES[0]),
                     api.audit(api.load_timeline(EXAMPLES[0]), api.load_policy("etiquette"),
                               api.parse_instant(AS_OF), engine="reference"))
    row = summary_row(item, _agenda(("prohibition", None), ("due", "2026-06-02T00:00:00Z"),
                                    ("overdue", "2026-05-20T00:00:00Z"), ("overdue", "2026-05-10T00:00:00Z")), "t3")
    assert (row.next_item, row.next_due, row.overdue) == ("overdue 2026-05-10T00:00:00Z",
                                                          datetime(2026, 5, 10, tzinfo=timezone.utc), True)
    assert (row.candidate, row.file, row.anchor, row.applications, row.violations, row.warnings) == (
        "Alex Moreno", EXAMPLES[0], "t3", 1, 2, 1)
    row = summary_row(item, _agenda(("inquiry-window", "2026-06-04T00:00:00Z"), ("due", "2026-06-03T00:00:00Z")), "t1")
    assert (row.next_item, row.overdue) == ("due 2026-06-03T00:00:00Z", False)
    row = summary_row(item, _agenda(("prohibition", None)), "t1")
    assert (row.next_item, row.next_due) == (None, None)


def test_summary_of_the_examples_in_text_is_after_the_reports_most_urgent_first(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("events: 3\n")
    code, out, _ = run(capsys, "audit", str(bad), *EXAMPLES, "--summary", *REF)
    reports, summary = out.split("\nCaseload summary: ")
    assert code == 2 and reports == run(capsys, "audit", *EXAMPLES, *REF)[1]
    lines = summary.splitlines()
    assert lines[0] == f"7 timelines, 1 invalid; policy etiquette, as of {AS_OF}"
    assert [line.split("  ")[1] for line in lines[2:]] == [
        "Alex Moreno", "Jordan Blake", "Chris Dubois", "Priya Natarajan", "Mei Tanaka", "Riley Chen", "?"]
    assert "overdue 2026-05-14 19:00 UTC  thank-you to Ben Foster was due" in lines[2]
    assert " invalid " in lines[-1] and lines[-1].endswith(f"  {bad}:1:9: error[timeline.invalid]: `events`: input should be a valid list")


def test_summary_in_markdown_escapes_user_data():
    row = SummaryRow(candidate="<b>|x", file="f|.yaml", anchor="t1", violations=1, next_item="**now**",
                     next_due=datetime(2026, 6, 1, tzinfo=timezone.utc), overdue=True)
    md = render_markdown([row, _row("bad", invalid=True, problems=["a|b"])], "etiquette", AS_OF)
    assert "| \\<b>\\|x | f\\|.yaml | 0 | 1 | 0 | **overdue 2026-06-01 00:00 UTC** | \\*\\*now\\*\\* |" in md
    assert "| ? | bad.yaml | | | | **invalid** | a\\|b |" in md
    text = render_text([SummaryRow(candidate="a\nVIOLATION", file="f", anchor="")], "etiquette", AS_OF)
    assert "a\\nVIOLATION" in text and len(text.splitlines()) == 3


# --- progress ------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _batch(err, paths):
    job = Job("etiquette", api.parse_instant(AS_OF), "reference", "jsonl", DEFAULT_LIMITS, len(paths))
    return audit_files(paths, job, api.load_policy("etiquette"), jobs=1, out=io.StringIO(), err=err)


def test_no_progress_output_when_stderr_is_not_a_terminal():
    err = io.StringIO()
    assert _batch(err, EXAMPLES * 2) == 1
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue() and "12/12" not in err.getvalue()
    assert lines and all(line.startswith("warning: ") and "event(s) after the as-of time" in line for line in lines)


def test_a_progress_bar_on_a_terminal_for_a_long_run_only():
    long, short = _Terminal(), _Terminal()
    _batch(long, EXAMPLES * 2)
    _batch(short, EXAMPLES[:3])
    assert "12/12" in long.getvalue() and "timeline" in long.getvalue()
    assert "\r" not in short.getvalue()


def test_a_source_carries_what_a_worker_needs_and_pickles():
    import pickle
    source = Source("c.jsonl", 3, b"{}", index=7)
    assert pickle.loads(pickle.dumps(source)) == source and source.label == "c.jsonl:3"


_GOOD = {n: as_json_line(EXAMPLES[n]) for n in (0, 3)}
_BAD = ['{"events": 3}', "{", "[]", "null", '{"a": 1, "a": 2}', "\xff", '{"events": [], "x": 1}']


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(sorted(_GOOD)), st.sampled_from(_BAD), st.sampled_from(["", " ", "\t"])),
                max_size=6))
def test_jsonl_rows_are_one_per_non_blank_line_in_order_good_ones_exact(capsys, tmp_path, lines):
    """Invariant: for any mix of good, bad and blank lines, --format jsonl writes one row per
    non-blank line, in line order, numbered by the file's lines; a good line's row is its
    report; a bad line's row has located errors on that line; exit 2 iff a line is bad."""
    path = tmp_path / "mix.jsonl"
    text = [(_GOOD[x] if isinstance(x, int) else x) for x in lines]
    path.write_bytes(b"".join((t.encode("utf-8") if t != "\xff" else b"\xff") + b"\n" for t in text))
    code, out, err = run(capsys, "audit", str(path), "--format", "jsonl", "--jobs", "1", *REF)
    rows = jsonl_rows(out)
    expected = [(n, x) for n, x in enumerate(lines, 1) if not (isinstance(x, str) and not x.strip())]
    assert [r["line"] for r in rows] == [n for n, _ in expected]
    for row, (n, x) in zip(rows, expected):
        if isinstance(x, int):
            assert {k: row[k] for k in ("as_of", "policy", "findings")} == contract(EXAMPLES[x])
        else:
            assert row["errors"] and all(e["line"] == n and e["file"] == str(path) for e in row["errors"])
    bad = any(isinstance(x, str) and x.strip() for x in lines)
    assert (code == 2) == bad and (err.count("error[") >= 1) == bad
