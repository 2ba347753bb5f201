"""``followup``: the command line. A thin adapter over :mod:`engine.api`; no logic of its own.

Exit codes: 0 no violation, 1 at least one violation, 2 invalid input or policy
(one located line per problem on stderr), 3 an internal error (a bug: please report).
"""

from __future__ import annotations

import argparse
import json
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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="followup", description="Check a job candidate's follow-up timeline against an etiquette policy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    a = sub.add_parser("audit", help="audit timelines: what was overdue, harassing, off-channel or premature")
    a.add_argument("timelines", nargs="+", metavar="TIMELINE", help="timeline files (YAML or JSON; - for stdin)")
    a.add_argument("--policy", default="etiquette", help="shipped policy name or path (default etiquette)")
    a.add_argument("--as-of", help="evaluate as of this ISO 8601 instant (default: now)")
    a.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    a.add_argument("--jobs", type=_positive, default=None, metavar="N",
                   help="audit the files in N processes (default: the number of cores; 1: in this process)")
    _add_engine(a)
    _add_limits(a)

    c = sub.add_parser("check", help="may the candidate send this now? if not, when, and how?")
    c.add_argument("timeline", metavar="TIMELINE", help="timeline file (YAML or JSON; - for stdin)")
    c.add_argument("--action", required=True, metavar="JSON|@FILE",
                   help='the planned message as JSON, e.g. \'{"type": "status_inquiry", "to": "alice", '
                        '"channel": "email"}\', or @file.json / @file.yaml')
    c.add_argument("--at", help="when it would be sent, ISO 8601 (default: the action's `at`, else now)")
    c.add_argument("--policy", default="etiquette")
    c.add_argument("--format", choices=("text", "json"), default="text")
    _add_engine(c)
    _add_limits(c)

    g = sub.add_parser("agenda", help="what is due next: thank-yous, inquiry windows, prohibitions")
    g.add_argument("timeline", metavar="TIMELINE", help="timeline file (YAML or JSON; - for stdin)")
    g.add_argument("--as-of", help="ISO 8601 instant (default: now)")
    g.add_argument("--policy", default="etiquette")
    g.add_argument("--format", choices=("text", "json", "html"), default="text",
                   help="text for people, json for programs, html: a self-contained page (default text)")
    _add_engine(g)
    _add_limits(g)

    v = sub.add_parser("serve", help="run the HTTP JSON API (FastAPI + uvicorn)")
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8080)
    v.add_argument("--policies", metavar="DIR", help="a directory of agency policies, served by file name")
    v.add_argument("--time-budget", type=_seconds, default=None, metavar="S",
                   help="seconds a request may take before it is answered 503 (default 10)")
    v.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help="worker processes that evaluate requests (default: the number of cores)")
    v.add_argument("--max-events", type=_positive, default=DEFAULT_LIMITS.max_events, metavar="N",
                   help=f"refuse timelines with more than N events (default {DEFAULT_LIMITS.max_events})")
    _add_engine(v)

    pol = sub.add_parser("policy", help="inspect, compare, lint and test policies")
    psub = pol.add_subparsers(dest="policy_command", required=True, parser_class=_Parser)
    ps = psub.add_parser("show", help="print a policy; --effective: after extends, with where each value was set")
    ps.add_argument("policy", metavar="NAME|PATH")
    ps.add_argument("--effective", action="store_true", help="annotate every value with the file and line that set it")
    pd = psub.add_parser("diff", help="rule-by-rule differences between two policies")
    pd.add_argument("a", metavar="A")
    pd.add_argument("b", metavar="B")
    pl = psub.add_parser("lint", help="every problem of policies at once, with codes: errors, and warnings for "
                                      "rules that cannot do what they say (exit 0 clean, 1 warnings, 2 errors)")
    pl.add_argument("paths", nargs="+", metavar="PATH", help="policy files, directories of them, or shipped names")
    pl.add_argument("--format", choices=("text", "json"), default="text")
    pt = psub.add_parser("test", help="run the test cases kept beside policies (<policy>.tests.yaml) and report "
                                      "rule coverage (exit 0 pass, 1 a failure, 2 invalid tests or policy)")
    pt.add_argument("paths", nargs="+", metavar="PATH",
                    help="tests files, policy files (their tests file beside them), directories, or shipped names")
    pt.add_argument("--engine", choices=ENGINES, default="reference", help="rules engine (default reference)")
    pt.add_argument("--fail-under", type=float, metavar="PERCENT",
                    help="also fail (exit 1) when a policy's rule coverage is below PERCENT")
    for p in (ps, pd, pl, pt):
        p.add_argument("--policies", metavar="DIR", help="a directory of policies to find names in")

    s = sub.add_parser("schema", help="print a JSON Schema")
    s.add_argument("what", choices=("timeline", "policy"))

    d = sub.add_parser("doctor", help="say which engine is active and why, with versions")
    _add_engine(d)
    return parser


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _audit(args: argparse.Namespace) -> int:
    from . import api
    from .batch import Job, audit_files, default_jobs
    as_of = api.parse_instant(args.as_of, "--as-of") if args.as_of else _now()
    policy, policy_problems = None, []
    try:
        policy = api.load_policy(args.policy)
    except InputError as exc:
        policy_problems = exc.problems
    job = Job(args.policy, as_of, args.engine, args.format, _limits(args), len(args.timelines))
    return audit_files(args.timelines, job, policy, policy_problems, jobs=args.jobs or default_jobs())


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


def _serve(args: argparse.Namespace) -> int:
    try:
        from .server import serve
    except ImportError as exc:
        raise InputError(Problem("serve.missing-dependency",
                                 f"the server needs FastAPI and uvicorn: pip install 'followup[server]' ({exc})"))
    from .limits import TIME_BUDGET_SECONDS
    budget = TIME_BUDGET_SECONDS if args.time_budget is None else args.time_budget
    serve(args.host, args.port, args.policies, args.engine, time_budget=budget, workers=args.workers,
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"audit": _audit, "check": _check, "agenda": _agenda, "serve": _serve, "policy": _policy,
                "schema": _schema, "doctor": _doctor}[args.command](args)
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
