"""``followup``: the command line. A thin adapter over :mod:`engine.api`; no logic of its own.

Exit codes: 0 no violation, 1 at least one violation, 2 invalid input or policy
(one located line per problem on stderr), 3 an internal error (a bug: please report).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Sequence

from .errors import FollowupError, InputError, Loc, Problem
from .limits import DEFAULT_LIMITS, Limits
from .report.escape import escape_text

EXIT_OK, EXIT_VIOLATION, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

#: ``engine.backends.ENGINES``, spelt out: importing the backends builds the timeline models, which
#: only the commands that read timelines need (tests/unit/test_batch.py checks that the two agree)
ENGINES = ("auto", "durable", "reference")
AUDIT_FORMATS = ("text", "json", "jsonl", "markdown", "html")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other input error
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text[:40]}` is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"`{text[:40]}` must be at least 1")
    return value


def _add_limits(p: argparse.ArgumentParser) -> None:
    """``--max-bytes`` and ``--max-events``: the limits on the documents read (docs/limits.md)."""
    p.add_argument("--max-bytes", type=_positive, default=DEFAULT_LIMITS.max_bytes, metavar="N",
                   help=f"read at most N bytes of each timeline or action file, stdin included "
                        f"(default {DEFAULT_LIMITS.max_bytes})")
    p.add_argument("--max-events", type=_positive, default=DEFAULT_LIMITS.max_events, metavar="N",
                   help=f"refuse timelines with more than N events (default {DEFAULT_LIMITS.max_events})")


def _limits(args: argparse.Namespace) -> Limits:
    return replace(DEFAULT_LIMITS, max_bytes=args.max_bytes, max_events=args.max_events)


def _load_timeline(path: str, limits: Limits):
    """A timeline file (``-``: stdin), read within ``limits``."""
    from .source import read_document
    from .timeline import timeline_from_data
    doc = read_document(path, limits=limits)
    return timeline_from_data(doc.data, doc, max_events=limits.max_events)


def _seconds(text: str) -> float:
    from .budget import check_budget_seconds
    try:
        return check_budget_seconds(text, "--time-budget")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _workers(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--workers must be a whole number >= 1, not `{text}`")
    return int(text)


def _add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="rules engine: durable-rules where it loads, else the reference evaluator (default auto)")


class _Version(argparse.Action):
    """``--version``: the version is looked up only when asked for (importlib.metadata reads files)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"followup {version()}\n")  # on stdout, like argparse's own version action
        parser.exit(EXIT_OK)


def version() -> str:
    """The installed distribution's version, else the package's own ``__version__`` (a source checkout)."""
    from importlib import metadata
    try:
        return metadata.version("followup")
    except metadata.PackageNotFoundError:
        from . import __version__
        return __version__


_INPUT = "invalid input or policy: one `file:line:col: error[code]: message` line per problem"
_BUG = "internal error (a bug: please report it)"

#: Each help page's epilog: its exit codes and one example that runs from the repository root
#: (tests/unit/test_cli_help.py runs every example and fails on a (sub)command missing here).
#: A new subcommand needs one entry here, keyed by its name after ``followup`` ("" for the top).
_EPILOGS: dict[str, tuple[dict[int, str], str]] = {
    "": ({EXIT_OK: "no violation, or an allowed action", EXIT_VIOLATION: "at least one violation, or a denied action",
          EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
         "followup audit examples/over-eager.yaml --as-of 2026-04-14T13:00:00Z"),
    "audit": ({EXIT_OK: "no violation in any timeline", EXIT_VIOLATION: "at least one violation",
               EXIT_INPUT: "an invalid policy (nothing audited), or a timeline that could not be read (the "
                           "others are still audited): one `file:line:col: error[code]: message` line per problem",
               EXIT_INTERNAL: _BUG},
              "followup audit examples/forgetful.yaml --as-of 2026-06-05T00:00:00Z"),
    "check": ({EXIT_OK: "allowed: the message may be sent at that time", EXIT_VIOLATION: "denied",
               EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
              "followup check examples/over-eager.yaml --at 2026-04-08T09:00:00-04:00 "
              "--action '{\"type\": \"status_inquiry\", \"to\": \"nadia\", \"channel\": \"phone\"}'"),
    "agenda": ({EXIT_OK: "the agenda was printed (whatever is on it)", EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
               "followup agenda examples/panel-rounds.yaml --as-of 2026-09-14T12:00:00Z"),
    "import": ({EXIT_OK: "the timeline was written", EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
               "followup import csv examples/csv/forgetful-events.csv --contacts examples/csv/forgetful-contacts.csv "
               "--applications examples/csv/forgetful-applications.csv --timezone America/Los_Angeles"),
    "import csv": ({EXIT_OK: "the timeline was written", EXIT_INPUT: _INPUT + " (`file:ROW:COL`)", EXIT_INTERNAL: _BUG},
                   "followup import csv examples/csv/forgetful-events.csv --contacts examples/csv/forgetful-contacts.csv "
                   "--applications examples/csv/forgetful-applications.csv --timezone America/Los_Angeles "
                   "--candidate 'Alex Moreno'"),
    "import ics": ({EXIT_OK: "the timeline was written", EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
                   "followup import ics examples/ics/northwind.ics --into examples/ics/northwind-base.yaml "
                   "--me priya.raman@mail.example"),
    "serve": ({EXIT_OK: "the server was stopped (Ctrl-C)",
               EXIT_INPUT: "a bad option, a --policies DIR that is not a directory, or FastAPI/uvicorn not installed",
               EXIT_INTERNAL: _BUG},
              "followup serve --port 8080 --policies policies/agencies"),
    "mcp": ({EXIT_OK: "the client closed the connection (end of standard input)",
             EXIT_INPUT: "a bad option, or the mcp SDK not installed", EXIT_INTERNAL: _BUG},
            "followup mcp --policies policies/agencies"),
    "tenant": ({EXIT_OK: "done", EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
               "followup tenant add-key /tmp/followup-tenants.yaml acme --policies acme"),
    "tenant add-key": ({EXIT_OK: "the key was printed (once) and its hash stored", EXIT_INPUT: _INPUT,
                        EXIT_INTERNAL: _BUG},
                       "followup tenant add-key /tmp/followup-tenants.yaml acme --policies acme"),
    "policy": ({EXIT_OK: "done (lint: clean; test: all passed)", EXIT_VIOLATION: "lint: warnings; test: a failure",
                EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
               "followup policy lint policies/etiquette.yaml"),
    "policy show": ({EXIT_OK: "the policy was printed", EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
                    "followup policy show policies/agencies/lenient.yaml --effective"),
    "policy diff": ({EXIT_OK: "the differences (or none) were printed", EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
                    "followup policy diff etiquette policies/agencies/strict.yaml"),
    "policy lint": ({EXIT_OK: "no problem", EXIT_VIOLATION: "warnings only", EXIT_INPUT: "errors", EXIT_INTERNAL: _BUG},
                    "followup policy lint policies/"),
    "policy test": ({EXIT_OK: "every test passed", EXIT_VIOLATION: "a test failed, or coverage is under --fail-under",
                     EXIT_INPUT: "invalid tests or policy", EXIT_INTERNAL: _BUG},
                    "followup policy test policies/etiquette.yaml"),
    "schema": ({EXIT_OK: "the schema was printed", EXIT_INPUT: "an unknown format name", EXIT_INTERNAL: _BUG},
               "followup schema timeline"),
    "doctor": ({EXIT_OK: "the report was printed", EXIT_INPUT: "an unknown engine name", EXIT_INTERNAL: _BUG},
               "followup doctor"),
    "policy impact": ({EXIT_OK: "nothing would change", EXIT_VIOLATION: "some findings would be added, removed or changed",
                       EXIT_INPUT: _INPUT, EXIT_INTERNAL: _BUG},
                      "followup policy impact etiquette policies/agencies/strict.yaml examples/ --as-of 2026-06-05T00:00:00Z"),
    "completion": ({EXIT_OK: "the script was printed", EXIT_INPUT: "an unknown shell", EXIT_INTERNAL: _BUG},
                   "followup completion bash"),
}


#: the subcommands (``followup COMMAND ...``), as :func:`_parser` adds them
COMMANDS = tuple(name for name in _EPILOGS if name and " " not in name)


def epilog(exits: dict[int, str], example: str) -> str:
    """A help page's epilog: ``exit codes:`` one per line, then ``example:`` and the command line."""
    return "\n".join(["exit codes:", *(f"  {code}  {what}" for code, what in exits.items()), "",
                      "example:", f"  {example}"])


def subparsers(parser: argparse.ArgumentParser, name: str = ""):
    """``(name, parser)`` for ``parser`` and every subcommand under it, ``name`` as in :data:`_EPILOGS`."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from subparsers(sub, f"{name} {sub_name}".strip())


_COMPLETION_HELP = """print a shell completion script for followup, to install once:
  bash: followup completion bash > ~/.local/share/bash-completion/completions/followup
  zsh:  followup completion zsh > "${fpath[1]}/_followup"   (a directory on your $fpath)
  tcsh: followup completion tcsh > ~/.followup.tcsh; then add `source ~/.followup.tcsh` to ~/.tcshrc"""


def _add_executor(p: argparse.ArgumentParser) -> None:
    """``--executor`` and ``--scheduler`` (engine/executors.py, docs/scale.md)."""
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local: a process pool here (default); dask: a dask.distributed cluster "
                        "(pip install 'followup[dask]')")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --executor dask: the scheduler of an existing cluster, e.g. tcp://10.0.0.5:8786 "
                        "(default: a local cluster of --jobs worker processes)")


def _executor(args: argparse.Namespace) -> None:
    """Refuse ``--scheduler`` without ``--executor dask``, and dask where it is not installed."""
    from .executors import check_executor
    if args.scheduler is not None and args.executor != "dask":
        raise InputError(Problem("executor.no-scheduler", "--scheduler needs --executor dask"))
    check_executor(args.executor)


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``followup``; with ``command`` (one of :data:`COMMANDS`), only that
    subcommand is added: a command line that names its command parses, and prints its help and
    its errors, the same with either, and building the other twenty-odd parsers is a good part
    of a cold start's argument parsing."""

    def wanted(name: str) -> bool:
        return command is None or command == name

    parser = _Parser(prog="followup", description="Check a job candidate's follow-up timeline against an etiquette policy.")
    parser.add_argument("--version", action=_Version, help="print the version (followup X.Y.Z) and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    if wanted("audit"):
        a = sub.add_parser("audit", help="audit timelines: what was overdue, harassing, off-channel or premature")
        a.add_argument("timelines", nargs="+", metavar="TIMELINE",
                       help="timeline files (YAML or JSON; - for stdin), directories (their .yaml, .yml, .json and "
                            ".jsonl files, recursively), glob patterns, or JSON Lines files (.jsonl: one timeline a line)")
        a.add_argument("--policy", default="etiquette", help="shipped policy name or path (default etiquette)")
        a.add_argument("--as-of", help="evaluate as of this ISO 8601 instant (default: now)")
        a.add_argument("--format", choices=AUDIT_FORMATS, default="text",
                       help="text, markdown or html for people; json (one document) or jsonl (one report a line) "
                            "for programs (default text)")
        a.add_argument("--summary", action="store_true",
                       help="after the reports (text, markdown; in html: above them), a table of every timeline, "
                            "most urgent first: violations, warnings and the next item due")
        a.add_argument("-o", "--output", metavar="FILE",
                       help="write the result to FILE (replaced once complete) instead of standard output")
        a.add_argument("--jobs", type=_positive, default=None, metavar="N",
                       help="audit the timelines in N processes (default: the number of cores; 1: in this process)")
        _add_executor(a)
        _add_engine(a)
        _add_limits(a)

    if wanted("check"):
        c = sub.add_parser("check", help="may the candidate send this now? if not, when, and how?")
        c.add_argument("timeline", metavar="TIMELINE", help="timeline file (YAML or JSON; - for stdin)")
        c.add_argument("--action", required=True, metavar="JSON|@FILE",
                       help='the planned message as JSON, e.g. \'{"type": "status_inquiry", "to": "alice", '
                            '"channel": "email"}\', or @file.json / @file.yaml')
        c.add_argument("--at", help="when it would be sent, ISO 8601 (default: the action's `at`, else now)")
        c.add_argument("--policy", default="etiquette", help="shipped policy name or path (default etiquette)")
        c.add_argument("--format", choices=("text", "json"), default="text", help="answer format (default text)")
        _add_engine(c)
        _add_limits(c)

    if wanted("agenda"):
        g = sub.add_parser("agenda", help="what is due next: thank-yous, inquiry windows, prohibitions")
        g.add_argument("timeline", metavar="TIMELINE", help="timeline file (YAML or JSON; - for stdin)")
        g.add_argument("--as-of", help="ISO 8601 instant (default: now)")
        g.add_argument("--policy", default="etiquette", help="shipped policy name or path (default etiquette)")
        g.add_argument("--format", choices=("text", "json", "html", "ics"), default="text",
                       help="text for people, json for programs, html: a self-contained page, ics: an iCalendar "
                            "file with one event and a reminder per item due (default text)")
        _add_engine(g)
        _add_limits(g)

    if wanted("serve"):
        v = sub.add_parser("serve", help="run the HTTP JSON API (FastAPI + uvicorn)")
        v.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1); without --tenants only a loopback "
                            "address, unless --insecure-no-auth")
        v.add_argument("--port", type=int, default=8080, help="TCP port to listen on (default 8080)")
        v.add_argument("--policies", metavar="DIR", help="a directory of agency policies, served by file name")
        v.add_argument("--time-budget", type=_seconds, default=None, metavar="S",
                       help="seconds a request may take before it is answered 503 (default 10)")
        v.add_argument("--workers", type=_workers, default=None, metavar="N",
                       help="worker processes that evaluate requests (default: the number of cores)")
        v.add_argument("--max-events", type=_positive, default=DEFAULT_LIMITS.max_events, metavar="N",
                       help=f"refuse timelines with more than N events (default {DEFAULT_LIMITS.max_events})")
        v.add_argument("--tenants", metavar="FILE",
                       help="a tenants file: every /v1/ request needs a tenant's API key and uses that tenant's "
                            "policies (see docs/operations.md)")
        v.add_argument("--insecure-no-auth", action="store_true",
                       help="serve without --tenants on a non-loopback --host: anyone who reaches it may use it")
        v.add_argument("--decision-log", metavar="FILE|-",
                       help="append one JSON line per audit/check/agenda answer to FILE (-: standard output)")
        v.add_argument("--log-inputs", action="store_true",
                       help="log request bodies unmasked in the decision log (default: message bodies and names "
                            "are `***`)")
        _add_engine(v)

    if wanted("mcp"):
        m = sub.add_parser("mcp", help="serve the checks as Model Context Protocol tools over stdio (for AI assistants)")
        m.add_argument("--policies", metavar="DIR", help="a directory of agency policies, served by file name")
        m.add_argument("--time-budget", type=_seconds, default=None, metavar="S",
                       help="seconds a tool call may take before it is answered with an error (default 10)")
        m.add_argument("--max-events", type=_positive, default=DEFAULT_LIMITS.max_events, metavar="N",
                       help=f"refuse timelines with more than N events (default {DEFAULT_LIMITS.max_events})")
        _add_engine(m)

    if wanted("tenant"):
        t = sub.add_parser("tenant", help="manage the tenants file of `followup serve --tenants`")
        tsub = t.add_subparsers(dest="tenant_command", required=True, parser_class=_Parser)
        ta = tsub.add_parser("add-key", help="create an API key for a tenant: print it once, store only its hash "
                                             "(creating the file and the tenant if needed)")
        ta.add_argument("tenants", metavar="TENANTS.yaml", help="the tenants file (created if it does not exist)")
        ta.add_argument("name", metavar="NAME", help="the tenant's name")
        ta.add_argument("--policies", metavar="DIR",
                        help="for a new tenant: its policies directory, relative to the file (default: NAME)")

    if wanted("policy"):
        pol = sub.add_parser("policy", help="inspect, compare, lint and test policies")
        psub = pol.add_subparsers(dest="policy_command", required=True, parser_class=_Parser)
        ps = psub.add_parser("show", help="print a policy; --effective: after extends, with where each value was set")
        ps.add_argument("policy", metavar="NAME|PATH", help="shipped policy name or policy file")
        ps.add_argument("--effective", action="store_true", help="annotate every value with the file and line that set it")
        pd = psub.add_parser("diff", help="rule-by-rule differences between two policies")
        pd.add_argument("a", metavar="A", help="the policy compared from (name or path)")
        pd.add_argument("b", metavar="B", help="the policy compared to (name or path)")
        pl = psub.add_parser("lint", help="every problem of policies at once, with codes: errors, and warnings for "
                                          "rules that cannot do what they say (exit 0 clean, 1 warnings, 2 errors)")
        pl.add_argument("paths", nargs="+", metavar="PATH", help="policy files, directories of them, or shipped names")
        pl.add_argument("--format", choices=("text", "json"), default="text", help="report format (default text)")
        pt = psub.add_parser("test", help="run the test cases kept beside policies (<policy>.tests.yaml) and report "
                                          "rule coverage (exit 0 pass, 1 a failure, 2 invalid tests or policy)")
        pt.add_argument("paths", nargs="+", metavar="PATH",
                        help="tests files, policy files (their tests file beside them), directories, or shipped names")
        pt.add_argument("--engine", choices=ENGINES, default="reference", help="rules engine (default reference)")
        pt.add_argument("--fail-under", type=float, metavar="PERCENT",
                        help="also fail (exit 1) when a policy's rule coverage is below PERCENT")
        pi = psub.add_parser("impact", help="what changing policy OLD to NEW would change over a caseload: findings "
                                            "added, removed and changed, per rule and per candidate (exit 0 nothing, "
                                            "1 something changes, 2 invalid input)")
        pi.add_argument("old", metavar="OLD", help="the policy in force (shipped name or path)")
        pi.add_argument("new", metavar="NEW", help="the policy proposed")
        pi.add_argument("caseload", nargs="+", metavar="CASELOAD",
                        help="timeline files, or directories of them (*.yaml, *.yml, *.json; - for stdin)")
        pi.add_argument("--as-of", help="evaluate as of this ISO 8601 instant (default: now)")
        pi.add_argument("--format", choices=("text", "markdown", "html", "json"), default="text",
                        help="text, markdown or html (one self-contained page) for people, json for programs (default text)")
        pi.add_argument("--jobs", type=_positive, default=None, metavar="N",
                        help="worker processes (default: the number of cores; 1: in this process)")
        _add_executor(pi)
        _add_engine(pi)
        _add_limits(pi)
        for p in (ps, pd, pl, pt, pi):
            p.add_argument("--policies", metavar="DIR", help="a directory of policies to find names in")

    if wanted("import"):
        imp = sub.add_parser("import", help="write a timeline from a spreadsheet (CSV) or a calendar (ICS)",
                             description="Turn the records coaches and candidates keep into a v1 timeline "
                                         "(docs/importing.md).")
        isub = imp.add_subparsers(dest="import_command", required=True, parser_class=_Parser, metavar="{csv,ics}")
        ic = isub.add_parser("csv", help="events sheet, one row per event, with contacts and applications sheets")
        ic.add_argument("events", metavar="EVENTS.csv", help="the events sheet (- for stdin); columns in docs/importing.md")
        ic.add_argument("--contacts", metavar="CONTACTS.csv", help="the contacts sheet: id, name, role, timezone, ...")
        ic.add_argument("--applications", metavar="APPLICATIONS.csv",
                        help="the applications sheet: id, company, title, country, ...")
        ic.add_argument("--timezone", metavar="ZONE",
                        help="IANA zone of local times in rows without a `timezone` cell; also the timeline's timezone")
        ic.add_argument("--candidate", metavar="NAME", help="the candidate's name, for report headings")
        ic.add_argument("--delimiter", default=",", type=_delimiter, metavar="CHAR",
                        help="the character between cells (default `,`; `;` for many European spreadsheets)")
        ii = isub.add_parser("ics", help="interviews from a calendar export (RFC 5545)")
        ii.add_argument("calendar", metavar="CALENDAR.ics", help="the calendar file (- for stdin)")
        ii.add_argument("--into", metavar="TIMELINE", help="a timeline to add the interviews to (contacts matched by email)")
        ii.add_argument("--match", default=r"(?i)interview", metavar="REGEX",
                        help="events whose SUMMARY or CATEGORIES match this Python regular expression become "
                             "interviews (default `(?i)interview`)")
        ii.add_argument("--timezone", metavar="ZONE",
                        help="IANA zone of floating times (no TZID); also the timezone of a new timeline")
        ii.add_argument("--application", metavar="ID",
                        help="the application the interviews are for (default: from --into, else the organizer's domain)")
        ii.add_argument("--company", metavar="NAME", help="the company of an application the import creates")
        ii.add_argument("--me", action="append", default=[], metavar="EMAIL",
                        help="the candidate's own address, left out of the attendees (repeatable)")
        ii.add_argument("--candidate", metavar="NAME", help="the candidate's name, for a new timeline")
        for p in (ic, ii):
            p.add_argument("-o", "--output", metavar="FILE",
                           help="write the timeline here (JSON if FILE ends in .json, else YAML; default: stdout)")
            _add_limits(p)

    if wanted("schema"):
        s = sub.add_parser("schema", help="print a JSON Schema")
        s.add_argument("what", choices=("timeline", "policy"), help="which format: timeline files or policy files")

    if wanted("doctor"):
        d = sub.add_parser("doctor", help="say which engine is active and why, with versions")
        _add_engine(d)

    if wanted("completion"):
        cm = sub.add_parser("completion", help="print a shell completion script (bash, zsh or tcsh)",
                            description=_COMPLETION_HELP)
        cm.add_argument("shell", choices=("bash", "zsh", "tcsh"), help="the shell the script is for")

    for name, p in subparsers(parser):  # exit codes and an example on every help page (see _EPILOGS)
        if name in _EPILOGS:
            p.epilog = epilog(*_EPILOGS[name])
            p.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _audit(args: argparse.Namespace) -> int:
    from . import api
    from .batch import Job, atomic_output, audit_files, default_jobs, one_timeline
    if args.summary and args.format in ("json", "jsonl"):
        raise InputError(Problem("input.bad-option", f"--summary is for text, markdown and html output, not "
                                                     f"`{args.format}` (each report has its counts)"))
    _executor(args)
    as_of = api.parse_instant(args.as_of, "--as-of") if args.as_of else _now()
    policy, policy_problems = None, []
    try:
        policy = api.load_policy(args.policy)
    except InputError as exc:
        policy_problems = exc.problems
    plain = all(p == "-" or one_timeline([p]) for p in args.timelines)
    total = 1 if one_timeline(args.timelines) else len(args.timelines) if plain else 0
    job = Job(args.policy, as_of, args.engine, args.format, _limits(args), total, summary=args.summary)
    jobs = args.jobs or default_jobs()
    run = dict(executor=args.executor, scheduler=args.scheduler)
    if args.output is None or policy_problems:
        return audit_files(args.timelines, job, policy, policy_problems, jobs=jobs, **run)
    with atomic_output(args.output) as out:
        return audit_files(args.timelines, job, policy, policy_problems, jobs=jobs, out=out, **run)


@contextmanager
def _located_in(path: str):
    """Problems found while evaluating a timeline (e.g. a calendar with no business day)
    have no position in the file; name the file at least."""
    try:
        yield
    except InputError as exc:
        raise InputError([p if p.loc else Problem(p.code, p.message, Loc(path), path=p.path)
                          for p in exc.problems]) from None


def _action(text: str, timeline, limits: Limits = DEFAULT_LIMITS):
    from .decide import check_action_refs, planned_action_from_data
    from .source import read_document
    if text.startswith("@"):
        doc = read_document(text[1:], limits=limits)
    else:
        doc = read_document(text, "--action", limits)
    action = planned_action_from_data(doc.data, doc)
    check_action_refs(timeline, action, doc)
    return action


def _check(args: argparse.Namespace) -> int:
    from . import api
    from .source import STDIN_NAME
    from .decide import check
    from .report import decisions
    limits = _limits(args)
    timeline = _load_timeline(args.timeline, limits)
    action = _action(args.action, timeline, limits)
    policy = api.load_policy(args.policy)
    at = api.parse_instant(args.at, "--at") if args.at else (action.at or _now())
    notices: list[str] = []
    with _located_in(STDIN_NAME if args.timeline == "-" else args.timeline):
        result = check(timeline, action, policy, at, engine=api.resolve_engine(args.engine, notices))
    for line in notices:
        print(line, file=sys.stderr)
    sys.stdout.write(decisions.render_check(result, timeline, args.format))
    return EXIT_VIOLATION if result.decision == "deny" else EXIT_OK


def _agenda(args: argparse.Namespace) -> int:
    from . import api
    from .source import STDIN_NAME
    from .decide import agenda
    from .report import decisions
    timeline = _load_timeline(args.timeline, _limits(args))
    policy = api.load_policy(args.policy)
    as_of = api.parse_instant(args.as_of, "--as-of") if args.as_of else _now()
    notices: list[str] = []
    with _located_in(STDIN_NAME if args.timeline == "-" else args.timeline):
        result = agenda(timeline, policy, as_of, engine=api.resolve_engine(args.engine, notices))
    for line in notices:
        print(line, file=sys.stderr)
    sys.stdout.write(decisions.render_agenda(result, timeline, args.format))
    return EXIT_OK


def _directory(path: str) -> None:
    """Raise a located :class:`InputError` unless ``path`` is a directory that can be listed."""
    if not os.path.exists(path):
        raise InputError(Problem("input.not-found", "no such directory", Loc(path)))
    if not os.path.isdir(path):
        raise InputError(Problem("input.not-a-directory", "is a file, not a directory of policies", Loc(path)))
    try:
        os.listdir(path)
    except OSError as exc:
        raise InputError(Problem("input.unreadable", exc.strerror or str(exc), Loc(path))) from None


def _delimiter(text: str) -> str:
    if len(text) != 1 or text in "\"\r\n":
        raise argparse.ArgumentTypeError(f"`{text[:10]}` must be one character, not a quote or a line break")
    return text


def _import(args: argparse.Namespace) -> int:
    from .importers import dump_timeline
    limits = _limits(args)
    if args.import_command == "csv":
        from .importers.csv import import_csv
        result = import_csv(args.events, args.contacts, args.applications, timezone=args.timezone,
                            candidate=args.candidate, delimiter=args.delimiter, limits=limits)
    else:
        from .importers.ics import import_ics
        result = import_ics(args.calendar, into=args.into, match=args.match, timezone=args.timezone,
                            application=args.application, company=args.company, me=tuple(args.me),
                            candidate=args.candidate, limits=limits)
    for line in result.notices:
        print(escape_text(line), file=sys.stderr)
    out = args.output
    text = dump_timeline(result.data, "json" if out and out.lower().endswith(".json") else "yaml")
    if out and out != "-":
        try:
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise InputError(Problem("output.unwritable", exc.strerror or str(exc), Loc(out))) from None
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    if args.policies is not None:  # before serving: a typo must not start a server with no agency policies
        _directory(args.policies)
    try:
        from .server import serve
    except ImportError as exc:
        raise InputError(Problem("serve.missing-dependency",
                                 f"the server needs FastAPI and uvicorn: pip install 'followup[server]' ({exc})"))
    from .limits import TIME_BUDGET_SECONDS
    budget = TIME_BUDGET_SECONDS if args.time_budget is None else args.time_budget
    tenants, decision_log = _serve_options(args)
    serve(args.host, args.port, args.policies, args.engine, time_budget=budget, workers=args.workers,
          limits=replace(DEFAULT_LIMITS, max_events=args.max_events), tenants=tenants, decision_log=decision_log)
    return EXIT_OK


def _loopback(host: str) -> bool:
    import ipaddress
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _serve_options(args: argparse.Namespace):
    """The tenants and the decision log of ``followup serve``, after checking the options together."""
    code = "serve.invalid-options"
    if args.tenants and args.policies:
        raise InputError(Problem(code, "--policies and --tenants do not go together: with --tenants, each "
                                       "tenant's `policies` directory is given in the tenants file"))
    if args.log_inputs and not args.decision_log:
        raise InputError(Problem(code, "--log-inputs needs --decision-log"))
    if not args.tenants and not args.insecure_no_auth and not _loopback(args.host):
        raise InputError(Problem("serve.insecure-host", f"refusing to serve `{args.host[:100]}` without API keys: "
                                 "give --tenants (see docs/operations.md), a loopback --host, or --insecure-no-auth"))
    tenants = None
    if args.tenants:
        from .tenants import load_tenants
        tenants = load_tenants(args.tenants)
    decision_log = None
    if args.decision_log:
        from .decisionlog import DecisionLog
        try:
            decision_log = DecisionLog(args.decision_log, log_inputs=args.log_inputs)
        except OSError as exc:
            raise InputError(Problem("serve.decision-log", f"cannot append to the decision log "
                                     f"`{args.decision_log[:200]}`: {(exc.strerror or 'not writable').lower()}"))
    return tenants, decision_log


def _tenant(args: argparse.Namespace) -> int:
    from .tenants import add_key
    try:
        key, notes = add_key(args.tenants, args.name, args.policies)
    except OSError as exc:
        raise InputError(Problem("input.unreadable", (exc.strerror or "cannot be written").lower(),
                                 Loc(str(exc.filename or args.tenants)))) from None
    for note in notes:
        print(note, file=sys.stderr)
    print(f"added a key for tenant `{args.name}` to {args.tenants} (only its hash is stored: keep the key now, "
          "it is not shown again; a running server accepts it within a second)", file=sys.stderr)
    print(key)
    return EXIT_OK


def _mcp(args: argparse.Namespace) -> int:
    try:
        from .mcp_server import serve_stdio
    except ImportError as exc:
        raise InputError(Problem("mcp.missing-dependency",
                                 f"the MCP server needs the mcp SDK: pip install 'followup[mcp]' ({exc})"))
    from .limits import TIME_BUDGET_SECONDS
    budget = TIME_BUDGET_SECONDS if args.time_budget is None else args.time_budget
    serve_stdio(args.policies, args.engine, time_budget=budget,
                limits=replace(DEFAULT_LIMITS, max_events=args.max_events))
    return EXIT_OK


def _policy(args: argparse.Namespace) -> int:
    from . import api
    from .policy.show import diff_policies, show_effective, show_source
    if args.policy_command == "show":
        policy = api.load_policy(args.policy, args.policies)
        sys.stdout.write(show_effective(policy) if args.effective else show_source(policy))
        return EXIT_OK
    if args.policy_command == "diff":
        a, b = api.load_policy(args.a, args.policies), api.load_policy(args.b, args.policies)
        lines = diff_policies(a, b)
        print("\n".join(lines) if lines else f"{a.name} and {b.name} have the same rules")
        return EXIT_OK
    if args.policy_command == "impact":
        return _impact(args)
    if args.policy_command == "lint":
        from .policy.lint import lint_paths
        report = lint_paths(args.paths, args.policies)
        if args.format == "json":
            print(json.dumps(report.as_dict(), indent=2))
        else:
            print("\n".join(report.lines()))
        return report.exit_code
    if args.policy_command == "test":
        from .policy.testing import render_text, run_tests
        run = run_tests(args.paths, args.policies, args.engine, args.fail_under)
        for line in run.notes:
            print(line, file=sys.stderr)
        sys.stdout.write(render_text(run))
        return run.exit_code
    raise AssertionError(args.policy_command)


def _impact(args: argparse.Namespace) -> int:
    from . import api
    from .executors import default_jobs
    from .impact import ImpactJob, run_impact
    _executor(args)
    as_of = api.parse_instant(args.as_of, "--as-of") if args.as_of else _now()
    policies, problems = [], []
    for name in (args.old, args.new):
        try:
            policies.append(api.load_policy(name, args.policies))
        except InputError as exc:
            policies.append(None)
            problems.extend(exc.problems)
    job = ImpactJob(args.old, args.new, as_of, args.engine, _limits(args))
    return run_impact(args.caseload, job, *policies, problems, fmt=args.format,
                      jobs=args.jobs or default_jobs(), executor=args.executor, scheduler=args.scheduler)


def _schema(args: argparse.Namespace) -> int:
    from .policy import policy_json_schema
    from .timeline import timeline_json_schema
    schema = timeline_json_schema() if args.what == "timeline" else policy_json_schema()
    print(json.dumps(schema, indent=2))
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import report
    print(report(args.engine))
    return EXIT_OK


#: completion hints by argument metavar (shtab's FILE or DIRECTORY); options not listed complete as words
_FILE_METAVARS = {"TIMELINE": "file", "PATH": "file", "NAME|PATH": "file", "A": "file", "B": "file", "DIR": "directory"}


def _completion(args: argparse.Namespace) -> int:
    import shtab
    parser = _parser()
    hints = {"file": shtab.FILE, "directory": shtab.DIRECTORY}
    for _, p in subparsers(parser):
        for action in p._actions:
            kind = _FILE_METAVARS.get(action.metavar) or ("file" if action.dest == "policy" else None)
            if kind:
                action.complete = hints[kind]  # type: ignore[attr-defined]
    sys.stdout.write(shtab.complete(parser, args.shell))
    return EXIT_OK


#: pydantic looks for plugins (entry points of every installed distribution) when it builds its
#: first model, a scan that costs a cold start tens of milliseconds; the command line uses none.
#: Set only here, for the ``followup`` command (and the processes it starts), never for programs
#: that import :mod:`engine`; a value the user set (e.g. a list of plugin names to skip) wins.
PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault(PYDANTIC_PLUGINS_ENV, "__all__")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
    try:
        return {"audit": _audit, "check": _check, "agenda": _agenda, "import": _import, "serve": _serve, "mcp": _mcp,
                "tenant": _tenant, "policy": _policy, "schema": _schema, "doctor": _doctor,
                "completion": _completion}[args.command](args)
    except InputError as exc:
        for line in exc.lines():  # messages quote user input: escaped, one line each
            print(escape_text(line), file=sys.stderr)
        return EXIT_INPUT
    except FollowupError as exc:
        print(f"followup: error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: one line, not a traceback
        print(f"followup: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
