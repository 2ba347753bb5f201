"""Cold start of ``followup audit`` (issue 9): what one audit loads, counted, never timed.

Each test runs the command in a new interpreter (``main([...])`` in ``python -c``), so that
``sys.modules`` and the counters start empty, and asserts on what was imported or called.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import available_timezones

import pytest

from engine import cli
from engine.calendar import is_zone_key

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/model-candidate.yaml"  # one application, in the US (Illinois)
AUDIT = ["audit", EXAMPLE, "--as-of", "2026-06-01T00:00:00Z", "--engine", "reference"]

#: modules the text audit of one file with the reference engine has no use for
NOT_ON_THE_AUDIT_PATH = [
    "tqdm", "jinja2", "markupsafe", "durable", "durable_rules_engine", "engine.backends.durable",
    "engine.backends._durable_runtime", "engine.isolation", "fastapi", "uvicorn", "starlette", "httpx", "mcp",
    "dask", "distributed", "icalendar", "shtab", "prometheus_client", "engine.server", "engine.report.html",
    "engine.report.markdown", "engine.policy.explain", "engine.decide", "engine.impact", "engine.importers",
]


def _fresh(code: str, env: dict | None = None) -> dict:
    """Run ``code`` (which ends by setting ``out``, a JSON-able value) in a new interpreter."""
    script = ("import json, sys\nfrom engine.cli import main\n" + code +
              "\nsys.stdout.write('\\n' + json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **(env or {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _audit_then(expression: str, before: str = "", env: dict | None = None):
    """``expression`` evaluated after ``main(AUDIT)`` (which must exit 0) in a new interpreter."""
    return _fresh(f"{before}\ncode = main({AUDIT!r})\nassert code == 0, code\nout = {expression}", env)


def test_a_reference_audit_of_one_file_imports_none_of_the_modules_it_does_not_use():
    loaded = set(_audit_then("sorted(sys.modules)"))
    assert "engine.backends.reference" in loaded and "engine.report.text" in loaded  # the audit did run
    assert sorted(loaded & set(NOT_ON_THE_AUDIT_PATH)) == []
    assert not any(m.startswith(("durable", "jinja2", "tqdm", "fastapi")) for m in loaded)


def test_a_reference_audit_of_one_file_loads_only_the_holidays_of_its_own_country():
    loaded = _audit_then("sorted(m for m in sys.modules if m.startswith('holidays.countries.'))")
    assert loaded == ["holidays.countries.united_states"]


def test_a_reference_audit_builds_a_validator_only_for_the_timeline_not_for_its_parts():
    """Timeline models are ``defer_build``: contacts, applications and events are validated only
    inside a ``Timeline``, so after an audit only ``Timeline`` has its own validator built."""
    built = _audit_then("sorted(name for name, m in vars(timeline).items() if isinstance(m, type) "
                        "and issubclass(m, timeline.BaseModel) and m.__pydantic_complete__)",
                        "from engine import timeline")
    assert built == ["Timeline"]


def test_a_reference_audit_never_lists_every_time_zone():
    """``zoneinfo.available_timezones`` opens every file of the zone database (tens of ms cold);
    checking the example's five zones must not call it."""
    before = ("import zoneinfo\ncalls = []\n_all = zoneinfo.available_timezones\n"
              "zoneinfo.available_timezones = lambda: calls.append(1) or _all()")
    assert _audit_then("len(calls)", before) == 0


def test_an_unknown_zone_still_gets_its_did_you_mean_from_the_full_list():
    from engine.timeline import _zone
    with pytest.raises(ValueError, match=r"unknown time zone `america/chicago`; did you mean `America/Chicago`\?"):
        _zone("america/chicago")


def test_the_command_line_disables_pydantic_plugins_unless_the_user_chose():
    """The entry-point scan for pydantic plugins is skipped (``setdefault``): ``__all__`` unless
    the environment already says otherwise, which is kept as it is."""
    expression = "[os.environ.get('PYDANTIC_DISABLE_PLUGINS'), pydantic.plugin._loader._plugins is None]"
    before = "import os, pydantic.plugin._loader"
    assert _audit_then(expression, before) == ["__all__", True]
    assert _audit_then(expression, before, env={"PYDANTIC_DISABLE_PLUGINS": "some_plugin"})[0] == "some_plugin"


def test_importing_engine_leaves_pydantic_plugins_alone():
    """Only the ``followup`` command sets the variable, never a program that imports the engine."""
    out = _fresh("import os, engine.api\nout = os.environ.get('PYDANTIC_DISABLE_PLUGINS')")
    assert out is None


def _walk_keys(root: str) -> set[str]:
    """Every relative path under ``root``, files and directories, symbolic links followed."""
    keys = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        for name in dirs + files:
            keys.add(os.path.relpath(os.path.join(folder, name), root))
        if len(keys) > 20_000:  # bounded, whatever the machine's zone directory holds
            break
    return keys


def test_is_zone_key_agrees_with_available_timezones():
    """For every zone, every path under the zone directories (files that are no zone such as
    ``zone.tab``, directories such as ``America``, ``right/`` and ``posix/`` copies), their
    upper- and lower-case spellings, and malformed paths: ``is_zone_key`` says what
    ``name in available_timezones()`` says (``localtime``, the host's zone, not counted)."""
    zones = available_timezones() - {"localtime", "posixrules"}
    names = set(zones) | {"", "/", "UTC/", "/UTC", "./UTC", "America//Chicago", "America/../UTC", "localtime",
                          "posixrules", "nul\x00", "right", "posix", "Etc/../../etc/passwd"}
    for root in ("/usr/share/zoneinfo",):
        if os.path.isdir(root):
            names |= _walk_keys(root)
    names |= {n.lower() for n in list(names)} | {n.upper() for n in list(names)}
    wrong = sorted(n for n in names if is_zone_key(n) != (n in zones))
    assert wrong == []


# --------------------------------------------------------------------------- one subcommand's parser

def test_the_commands_are_the_full_parsers_subcommands():
    top = {name for name, _ in cli.subparsers(cli._parser()) if name and " " not in name}
    assert set(cli.COMMANDS) == top


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_a_commands_own_parser_prints_the_same_help_as_the_full_one(command):
    """``main`` builds only the named command's parser; every help page under it is unchanged."""
    full = dict(cli.subparsers(cli._parser()))
    own = dict(cli.subparsers(cli._parser(command)))
    assert set(own) == {""} | {name for name in full if name == command or name.startswith(command + " ")}
    for name in set(own) - {""}:
        assert own[name].format_help() == full[name].format_help(), name


@pytest.mark.parametrize("argv", [
    ["audit"], ["audit", "x.yaml", "--engine", "nope"], ["audit", "x.yaml", "--bogus"], ["audit", "x.yaml", "--jobs", "0"],
    ["check", "t.yaml"], ["policy"], ["policy", "nope"], ["import", "csv"], ["schema", "nope"],
    ["serve", "--port", "x"], ["completion"], ["tenant", "add-key", "f.yaml"],
    ["audit", "x.yaml", "--as-of", "2026-06-01T00:00:00Z"], ["policy", "lint", "p.yaml", "--format", "json"],
])
def test_a_commands_own_parser_parses_and_refuses_as_the_full_one(argv, capsys):
    """The same namespace, or the same exit code and message, with one subcommand's parser."""

    def parse(parser):
        try:
            return "ok", vars(parser.parse_args(argv))
        except SystemExit as exc:
            return exc.code, capsys.readouterr()

    assert parse(cli._parser(argv[0])) == parse(cli._parser())
