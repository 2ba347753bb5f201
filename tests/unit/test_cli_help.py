"""The CLI's fit and finish (issue 10, item 4): --version, help for every option, exit codes and a
runnable example on every help page, shell completion, ``serve --policies`` checked before serving,
and audit reports that say plainly when events were not evaluated. Runs `followup` in-process."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import engine
from engine import cli
from engine.cli import EXIT_INTERNAL, main

ROOT = Path(__file__).resolve().parents[2]
PAGES = list(cli.subparsers(cli._parser()))
NAMES = [name for name, _ in PAGES]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- --version

def test_version_prints_the_installed_version_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0 and err == ""
    assert re.fullmatch(r"followup \d+\.\d+\.\d+\S*\n", out)
    assert out == f"followup {cli.version()}\n"


def test_version_falls_back_to_the_packages_own_without_metadata(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "version", missing)
    assert cli.version() == engine.__version__


def test_the_distribution_takes_its_version_from_the_package():
    """One version number: pyproject.toml reads it from ``engine.__version__``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "engine.__version__"}


def test_version_imports_no_heavy_module():
    code = ("import sys\nfrom engine.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.startswith("followup ")
    loaded = set(done.stdout.splitlines()[-1].split())
    assert loaded.isdisjoint({"pydantic", "holidays", "yaml", "shtab", "engine.api", "engine.timeline"})


# --------------------------------------------------------------------------- help pages

@pytest.mark.parametrize("name, parser", PAGES, ids=NAMES)
def test_every_option_and_subcommand_has_help(name, parser):
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            missing += [f"subcommand {c.dest}" for c in action._choices_actions if not c.help]
        elif not action.help or action.help == argparse.SUPPRESS:
            missing.append("/".join(action.option_strings) or action.dest)
    assert not missing, f"`followup {name}`: no help for {missing}"


def _epilog(parser) -> tuple[list[int], str]:
    """The exit codes and the example a help page lists."""
    text = parser.format_help()
    assert "exit codes:" in text and "example:" in text, text
    codes_part, example_part = text.split("exit codes:", 1)[1].split("example:", 1)
    codes = [int(m) for m in re.findall(r"^\s+(\d)\s", codes_part, re.M)]
    example = example_part.strip().splitlines()[0]
    return codes, example


@pytest.mark.parametrize("name, parser", PAGES, ids=NAMES)
def test_every_help_page_lists_exit_codes_and_an_example(name, parser):
    codes, example = _epilog(parser)
    assert 0 in codes and 2 in codes, codes
    assert shlex.split(example)[:1 + len(name.split())] == ["followup", *name.split()], example


def test_the_epilog_table_names_only_real_subcommands():
    assert set(cli._EPILOGS) == set(NAMES)


@pytest.mark.parametrize("name, parser", PAGES, ids=NAMES)
def test_every_help_pages_example_runs_and_exits_as_the_page_says(name, parser, capsys, monkeypatch):
    """Run from the repository root, each page's example exits with one of the page's exit codes
    (never the internal-error one). ``serve``'s and ``mcp``'s examples run up to the server, which is replaced."""
    import engine.mcp_server
    import engine.server
    served = []
    monkeypatch.setattr(engine.server, "serve", lambda *a, **k: served.append((a, k)))
    monkeypatch.setattr(engine.mcp_server, "serve_stdio", lambda *a, **k: served.append((a, k)))
    monkeypatch.chdir(ROOT)
    codes, example = _epilog(parser)
    argv = shlex.split(example)
    assert argv[0] == "followup"
    try:
        code = main(argv[1:])
    except SystemExit as exc:  # pragma: no cover - an example that argparse refuses
        code = exc.code
    out, err = capsys.readouterr()
    assert code in codes and code != EXIT_INTERNAL, (example, code, err)
    assert out or name in ("serve", "mcp"), example
    if name == "serve":
        assert served and served[0][0][2] == "policies/agencies"
    if name == "mcp":
        assert served and served[0][0][0] == "policies/agencies"


def test_help_pages_show_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "exit codes:\n  0  no violation in any timeline\n  1  at least one violation\n" in out
    flat = " ".join(out.split())  # argparse wraps the help text at the terminal's width
    assert "--format {text,json,jsonl,markdown,html}" in flat and "(default text)" in flat


# --------------------------------------------------------------------------- completion

def test_bash_completion_names_every_subcommand_and_is_valid_bash(capsys):
    code, out, err = run(capsys, "completion", "bash")
    assert code == 0 and err == "" and out.strip()
    for command in ("audit", "check", "agenda", "serve", "policy", "schema", "doctor", "completion"):
        assert command in out
    for option in ("--as-of", "--action", "--policies", "--fail-under"):
        assert option in out
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover
        pytest.skip("no bash")
    done = subprocess.run([bash, "-n"], input=out, text=True, capture_output=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("shell", ["zsh", "tcsh"])
def test_zsh_and_tcsh_completion_scripts_are_printed(capsys, shell):
    code, out, _ = run(capsys, "completion", shell)
    assert code == 0 and "audit" in out and "as-of" in out


def test_an_unknown_shell_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["completion", "fish"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "fish" in err


# --------------------------------------------------------------------------- serve --policies

@pytest.mark.parametrize("kind, code", [("missing", "input.not-found"), ("file", "input.not-a-directory")])
def test_serve_with_a_policies_path_that_is_not_a_directory_exits_2_before_serving(kind, code, capsys, tmp_path,
                                                                                   monkeypatch):
    import engine.server
    served = []
    monkeypatch.setattr(engine.server, "serve", lambda *a, **k: served.append(a))
    path = tmp_path / "agency-policies"
    if kind == "file":
        path.write_text("policy: x\n")
    status, out, err = run(capsys, "serve", "--policies", str(path))
    assert status == 2 and out == "" and not served
    assert err.splitlines() == [f"{path}: error[{code}]: " + ("no such directory" if kind == "missing"
                                                               else "is a file, not a directory of policies")]


def test_serve_with_a_policies_directory_serves_it(capsys, tmp_path, monkeypatch):
    import engine.server
    served = []
    monkeypatch.setattr(engine.server, "serve", lambda *a, **k: served.append(a))
    assert run(capsys, "serve", "--policies", str(tmp_path), "--port", "9999")[0] == 0
    assert served == [("127.0.0.1", 9999, str(tmp_path), "auto")]


# --------------------------------------------------------------------------- "nothing to flag"

AS_OF_README = "2026-06-05T00:00:00Z"  # the README's own --as-of


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_report_with_events_not_evaluated_says_so_first_and_never_nothing_to_flag(capsys, fmt):
    """Issue 10: examples/panel-rounds.yaml at the README's --as-of read "Nothing to flag" above a
    "Not evaluated" line; now the timeline's section opens with what was not evaluated."""
    code, out, err = run(capsys, "audit", "examples/panel-rounds.yaml", "--as-of", AS_OF_README, "--format", fmt,
                         "--engine", "reference")
    assert code == 0 and "12 event(s) after the as-of time were ignored" in err
    lines = [ln for ln in out.splitlines() if ln.strip()]
    opening = "12 events after the as-of time were not evaluated: i1, t1, y1, y2, y3, e1, c1, i2, t2, y4, y5, o1"
    assert lines[1].strip().replace("**", "").rstrip(".") == opening
    assert "nothing to flag" not in out.lower()
    assert "othing flagged up to the as-of time; 12 events after the as-of time were not evaluated" in out


def test_several_applications_each_say_how_many_of_their_events_were_not_evaluated(capsys):
    code, out, _ = run(capsys, "audit", "examples/two-applications.yaml", "--as-of", AS_OF_README,
                       "--engine", "reference")
    assert code == 0 and "nothing to flag" not in out
    assert out.splitlines()[1] == ("  9 events after the as-of time were not evaluated: "
                                   "s-i1, s-y1, r-i1, r-t1, r-y1, s-q1, s-c1, r-c1, r-q1")
    assert "[summit]\n    nothing flagged up to the as-of time; 4 events after the as-of time were not evaluated" in out
    assert "[redwood]\n    nothing flagged up to the as-of time; 5 events after the as-of time were not evaluated" in out


def test_one_event_not_evaluated_is_singular_and_other_applications_do_not_claim_nothing_to_flag(capsys, tmp_path):
    timeline = tmp_path / "t.yaml"
    timeline.write_text(
        "timezone: UTC\napplications: {a: {company: A}, b: {company: B}}\ncontacts: {x: {name: X}}\n"
        "events:\n  - {id: e1, type: contact, application: a, at: 2026-03-02T10:00:00Z, to: x, channel: email}\n"
        "  - {id: e2, type: contact, application: b, at: 2026-03-09T10:00:00Z, to: x, channel: email}\n")
    code, out, _ = run(capsys, "audit", str(timeline), "--as-of", "2026-03-05T00:00:00Z", "--format", "markdown",
                       "--engine", "reference")
    assert code == 0
    assert "**1 event after the as-of time was not evaluated:** e2." in out
    assert "Nothing flagged; other events of this timeline were not evaluated." in out  # application a
    assert "Nothing flagged up to the as-of time; 1 event after the as-of time was not evaluated." in out  # b
    assert "Nothing to flag" not in out


def test_a_fully_evaluated_timeline_still_has_nothing_to_flag(capsys):
    code, out, _ = run(capsys, "audit", "examples/model-candidate.yaml", "--as-of", AS_OF_README,
                       "--engine", "reference")
    assert code == 0 and "ok: nothing to flag" in out and "not evaluated" not in out
