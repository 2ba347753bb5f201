"""`followup audit` over many files (engine/batch.py): streamed, in input order, in a process pool
with --jobs; the output of the valid files is that of rendering every report at once, and an
invalid file is reported while the others are still audited (tests/unit/test_caseload.py has more). And the
cold start: `import engine.cli` imports no heavy module, a calendar imports only its country."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import api
from engine.backends import ENGINES
from engine.batch import Job, Output, Piece
from engine.cli import ENGINES as CLI_ENGINES
from engine.cli import main
from engine.limits import DEFAULT_LIMITS
from engine.report import AuditItem, render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
AS_OF = "2026-06-01T00:00:00Z"
FORMATS = ("text", "json", "markdown")


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def all_at_once(paths: list[str], fmt: str, as_of: str = AS_OF) -> tuple[int, str]:
    """The command as it was before streaming: load every file, audit each, render the list."""
    policy, instant = api.load_policy("etiquette"), api.parse_instant(as_of)
    items = [AuditItem(p, tl, api.audit(tl, policy, instant, engine="reference"))
             for p in paths for tl in [api.load_timeline(p)]]
    return (1 if any(i.report.violations for i in items) else 0), render(fmt, items)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[str]:
    """24 files from bench/timelines.py, some JSON and some YAML-as-JSON, written to disk."""
    spec = importlib.util.spec_from_file_location("bench_timelines", ROOT / "bench" / "timelines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("generated")
    paths = []
    for i, (data, _) in enumerate(module.generate(24, events=12, seed=7)):
        path = folder / f"t{i:02}.{'json' if i % 2 else 'yaml'}"
        path.write_text(json.dumps(data, indent=1))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("fmt", FORMATS)
def test_examples_give_the_same_bytes_and_exit_code_with_one_or_two_jobs_as_all_at_once(capsys, fmt):
    expected_code, expected = all_at_once(EXAMPLES, fmt)
    for jobs in ("1", "2"):
        code, out, _ = run(capsys, "audit", *EXAMPLES, "--as-of", AS_OF, "--format", fmt, "--jobs", jobs,
                           "--engine", "reference")
        assert (code, out) == (expected_code, expected), jobs


@pytest.mark.parametrize("fmt", FORMATS)
def test_generated_files_give_the_same_bytes_with_one_or_two_jobs_in_input_order(capsys, generated, fmt):
    paths = generated[::-1]  # not sorted: the output follows the command line
    expected_code, expected = all_at_once(paths, fmt, "2027-01-01T00:00:00Z")
    outs = {jobs: run(capsys, "audit", *paths, "--as-of", "2027-01-01T00:00:00Z", "--format", fmt,
                      "--jobs", jobs, "--engine", "reference")[:2] for jobs in ("1", "2")}
    assert outs["1"] == outs["2"] == (expected_code, expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_file_is_rendered_as_before(capsys, fmt):
    expected_code, expected = all_at_once(EXAMPLES[:1], fmt)
    assert run(capsys, "audit", EXAMPLES[0], "--as-of", AS_OF, "--format", fmt,
               "--engine", "reference")[:2] == (expected_code, expected)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_invalid_file_anywhere_is_reported_the_others_audited_and_the_exit_code_2(capsys, tmp_path, jobs):
    """Was: one invalid file stopped the batch with nothing on stdout (issue 10)."""
    bad1, bad2 = tmp_path / "bad1.yaml", tmp_path / "bad2.yaml"
    bad1.write_text("candidate: [\n")
    bad2.write_text("timezone: Mars/Base\nevents: []\n")
    code, out, err = run(capsys, "audit", EXAMPLES[0], str(bad1), *EXAMPLES[1:], str(bad2), "--as-of", AS_OF,
                         "--jobs", jobs, "--engine", "reference")
    assert code == 2
    assert out == all_at_once(EXAMPLES, "text")[1]
    assert f"{bad1}:2:1: error[yaml.syntax]" in err and f"{bad2}:1:11: error[timeline.invalid]" in err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_invalid_policy_and_invalid_file_are_reported_together(capsys, tmp_path, jobs):
    bad = tmp_path / "bad.yaml"
    bad.write_text("events: 3\n")
    code, out, err = run(capsys, "audit", *EXAMPLES, str(bad), "--policy", "nope.yaml", "--as-of", AS_OF,
                         "--jobs", jobs)
    assert code == 2 and out == ""
    assert "nope.yaml" in err and str(bad) in err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_calendar_without_business_days_is_exit_2_named_by_file_and_the_others_audited(capsys, jobs):
    closed = "tests/badinput/cases/timeline-closed-for-years.json"
    code, out, err = run(capsys, "audit", *EXAMPLES, closed, "--as-of", AS_OF, "--jobs", jobs, "--engine", "reference")
    assert code == 2 and out == all_at_once(EXAMPLES, "text")[1]
    assert err.splitlines()[-1].startswith(f"{closed}: error[calendar.no-business-day]")


def test_notices_are_deduplicated_in_input_order_with_either_job_count(capsys):
    errs = {jobs: run(capsys, "audit", *EXAMPLES, "--as-of", "2026-03-01T00:00:00Z", "--jobs", jobs)[2]
            for jobs in ("1", "2")}
    assert errs["1"] == errs["2"]
    warned = [line.split(":")[1].strip() for line in errs["1"].splitlines() if line.startswith("warning:")]
    assert warned == sorted(warned) and len(warned) == len(set(warned)) >= 2


def test_jobs_must_be_a_whole_number_of_at_least_one(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["audit", EXAMPLES[0], "--jobs", "0"])
    assert exc.value.code == 2


lines = st.lists(st.text(alphabet=" ab|\t", max_size=6), max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab", min_size=1, max_size=3), lines), min_size=1, max_size=5),
       st.sampled_from(["text", "markdown"]))
def test_output_joins_pieces_exactly_as_render_joins_the_list(items, fmt):
    """Invariant: for any items (a non-blank first line, then any lines, trailing blanks and spaces
    included), writing each item's piece with :class:`Output` gives the bytes of joining every
    item's lines with a blank line after each and right-stripping the whole (report/text.py)."""
    all_lines: list[str] = []
    for first, rest in items:
        all_lines += [first, *rest, ""]
    expected = "\n".join(all_lines).rstrip() + "\n"
    job = Job("etiquette", api.parse_instant(AS_OF), "reference", fmt, DEFAULT_LIMITS, len(items))
    out = io.StringIO()
    output = Output(job, out)
    for first, rest in items:
        output.add(Piece("x", "\n".join([first, *rest])))
    output.close()
    assert out.getvalue() == expected


def test_the_cli_spells_the_engines_as_the_backends_do():
    assert CLI_ENGINES == ENGINES


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout


def test_importing_the_cli_imports_no_heavy_module():
    loaded = _fresh("import sys, engine.cli; print(' '.join(sorted(sys.modules)))").split()
    heavy = {"pydantic", "holidays", "fastapi", "uvicorn", "durable", "yaml", "engine.api", "engine.timeline"}
    assert heavy.isdisjoint(loaded)


def test_a_calendar_imports_only_its_countrys_holiday_module():
    out = _fresh("import sys\nfrom engine.calendar import BusinessCalendar\nimport datetime\n"
                 "BusinessCalendar(country='US', subdivision='IL').is_business_day(datetime.date(2026, 7, 3))\n"
                 "print(sorted(m for m in sys.modules if m.startswith('holidays.countries.')))")
    assert out.strip() == "['holidays.countries.united_states']"


def test_holidays_from_one_country_module_equal_the_packages_own():
    import holidays

    from engine.calendar import _holiday_table
    for country, subdivision in [("US", "IL"), ("CA", "ON"), ("GB", None), ("UK", None), ("DE", "BE"),
                                 ("AU", "NSW"), ("USA", "NY")]:
        ours = _holiday_table(country, subdivision)
        theirs = holidays.country_holidays(country, subdiv=subdivision, years=range(2024, 2029))
        assert {d: ours.get(d) for d in theirs} == dict(theirs)
        assert sum(1 for y in range(2024, 2029) for d in ours if d.year == y) == len(theirs)


@pytest.mark.parametrize("country", ["JAN", "MON", "NYSE", "ZZ"])
def test_a_name_of_the_holidays_package_that_is_no_country_is_an_invalid_timeline(capsys, tmp_path, country):
    """`JAN` (a month constant of the package) was an internal error; `NYSE` (a market) is no country."""
    path = tmp_path / "t.yaml"
    path.write_text(f"applications:\n  a:\n    company: Acme\n    country: {country}\nevents: []\n")
    code, out, err = run(capsys, "audit", str(path), "--as-of", AS_OF)
    assert code == 2 and out == ""
    assert "timeline.invalid" in err and f"no public-holiday calendar for country `{country}`" in err
