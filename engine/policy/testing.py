"""``followup policy test``: YAML test cases kept beside a policy, run like a test suite.

A policy ``acme.yaml`` keeps its cases in ``acme.tests.yaml`` next to it::

    policy: acme.yaml              # optional: the policy under test (default: the file beside this one)
    timelines:                     # optional: timelines shared by several cases, by name
      panel: {contacts: ..., applications: ..., events: [...]}
    tests:
      - name: Bob is owed a thank-you by Tuesday
        timeline: panel            # a name above, an inline mapping, or a path relative to this file
        as_of: 2026-03-04T09:00:00-05:00
        expect:                    # findings that must occur; an omitted field matches anything
          - {rule: thank-you-within-24h, events: [i1], contact: bob}
        expect_none_of: [thank-you-customized]   # rules that must not fire
        exact: false               # true: no findings besides the expected ones
      - name: an inquiry before the timetable has passed is denied
        timeline: panel
        action: {type: status_inquiry, to: alice, channel: email}
        at: 2026-03-05T09:00:00-05:00
        decision: deny             # allow | deny
        earliest: 2026-03-10T00:00:00-04:00      # optional; null: never
        expect: [{rule: inquiry-after-timetable}] # optional: findings the action causes

``expect`` compares findings as a set of (rule, events, contact): every expectation
must match a finding (``events`` as a set of event ids, ``contact`` a contact id or
``null``, ``application`` an application id); ``expect_none_of`` lists rule ids of
which no finding may occur. A rule is *exercised* when a case expects it to fire or
one of its findings occurs; the coverage line lists the enabled rules that no case
exercised. Exit codes: 0 all cases pass, 1 a case fails (or coverage is below
``--fail-under``), 2 a tests file or its policy is invalid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError, Loc, Problem, did_you_mean
from ..report.escape import escape_text
from ..source import Document, load_document, pydantic_problems
from .lint import display_path, is_tests_file
from .loader import Policy, find_policy, load_policy

__all__ = ["TestsFile", "CaseResult", "FileResult", "TestRun", "run_tests", "run_tests_file", "discover",
           "tests_file_for", "render_text"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Expectation(_Strict):
    """A finding that must occur; omitted fields match anything."""

    rule: str = Field(description="The rule id.")
    events: list[str] | None = Field(None, description="The ids of the events it cites (in any order).")
    contact: str | None = Field(None, description="The contact id it concerns; `null`: none.")
    application: str | None = None

    _lists = field_validator("events", mode="before")(classmethod(lambda cls, v: _listify(v)))

    def matches(self, finding) -> bool:
        if finding.rule != self.rule:
            return False
        if self.events is not None and set(finding.events) != set(self.events):
            return False
        if "contact" in self.model_fields_set and finding.contact != self.contact:
            return False
        if self.application is not None and finding.application != self.application:
            return False
        return True

    def describe(self) -> str:
        out = f"`{self.rule}`"
        if self.events is not None:
            out += f" citing [{', '.join(self.events)}]"
        if "contact" in self.model_fields_set:
            out += f" for `{self.contact}`" if self.contact else " for nobody"
        if self.application is not None:
            out += f" in `{self.application}`"
        return out


class Case(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    timeline: str | dict[str, Any] = Field(
        description="A timeline of `timelines` by name, an inline timeline, or a path relative to the tests file.")
    as_of: str | None = Field(None, description="Audit as of this instant: the case checks findings.")
    action: dict[str, Any] | None = Field(None, description="A planned action: the case checks the decision.")
    at: str | None = Field(None, description="When the action would be sent (default: the action's `at`).")
    decision: Literal["allow", "deny"] | None = None
    earliest: str | None = Field(None, description="The earliest allowed time the check must give; null: never.")
    expect: list[Expectation] = Field(default_factory=list)
    expect_none_of: list[str] = Field(default_factory=list)
    exact: bool = Field(False, description="No findings besides those in `expect`.")

    _lists = field_validator("expect_none_of", mode="before")(classmethod(lambda cls, v: _listify(v)))

    @model_validator(mode="after")
    def _one_kind(self) -> "Case":
        if (self.as_of is None) == (self.action is None):
            raise ValueError("a case needs either `as_of` (an audit) or `action` with `decision` (a check)")
        if self.action is not None and self.decision is None:
            raise ValueError("a case with an `action` needs the expected `decision`: `allow` or `deny`")
        if self.action is None:
            extra = [k for k in ("at", "decision", "earliest") if k in self.model_fields_set]
            if extra:
                raise ValueError(f"`{extra[0]}` belongs to a case with an `action`")
        return self


class TestsFile(_Strict):
    """The top level of a ``*.tests.yaml`` file."""

    __test__ = False  # not a pytest test class

    policy: str | None = Field(None, description="The policy under test: a path relative to this file, or a name.")
    description: str | None = None
    timelines: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tests: list[Case] = Field(min_length=1)


@dataclass
class CaseResult:
    name: str
    loc: Loc
    status: Literal["pass", "fail", "error"]
    reasons: list[str] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)


@dataclass
class FileResult:
    tests_file: Path
    policy: Policy | None = None
    cases: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def coverage(self) -> tuple[list[str], list[str]]:
        """(enabled rule ids exercised, enabled rule ids never exercised), in policy order."""
        if self.policy is None:
            return [], []
        seen = set().union(*(c.exercised for c in self.cases)) if self.cases else set()
        enabled = [r.id for r in self.policy.rules if r.enabled]
        return [r for r in enabled if r in seen], [r for r in enabled if r not in seen]


@dataclass
class TestRun:
    __test__ = False  # not a pytest test class

    files: list[FileResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fail_under: float | None = None

    @property
    def all_problems(self) -> list[Problem]:
        out = list(self.problems)
        for f in self.files:
            out.extend(f.problems)
        return out

    def count(self, status: str) -> int:
        return sum(1 for f in self.files for c in f.cases if c.status == status)

    def below_threshold(self) -> list[FileResult]:
        if self.fail_under is None:
            return []
        out = []
        for f in self.files:
            done, todo = f.coverage()
            total = len(done) + len(todo)
            if f.policy is not None and total and 100.0 * len(done) / total < self.fail_under:
                out.append(f)
        return out

    @property
    def exit_code(self) -> int:
        if self.all_problems or self.count("error"):
            return 2
        if self.count("fail") or self.below_threshold():
            return 1
        return 0



def _show(loc: Loc | None) -> str:
    if loc is None:
        return ""
    return str(Loc(display_path(loc.file), loc.line, loc.col))


def _relocate(problems: list[Problem]) -> list[Problem]:
    return [Problem(p.code, p.message, Loc(display_path(p.loc.file), p.loc.line, p.loc.col) if p.loc else None,
                    p.severity, p.path) for p in problems]


# -- finding the files ----------------------------------------------------------------------------


def tests_file_for(policy_path: Path) -> Path | None:
    """The tests file kept beside ``policy_path``, if there is one."""
    stem = policy_path.name.rsplit(".", 1)[0]
    for suffix in (".tests.yaml", ".tests.yml"):
        candidate = policy_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def _policy_beside(tests_path: Path) -> Path | None:
    stem = tests_path.name
    for suffix in (".tests.yaml", ".tests.yml"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for suffix in (".yaml", ".yml", ".json"):
        candidate = tests_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def discover(paths: list[str | os.PathLike[str]]) -> tuple[list[tuple[Path, Path | None]], list[Problem], list[str]]:
    """(tests file, policy file given on the command line or None) pairs for ``paths``.

    A path is a tests file, a policy file (its tests file beside it), a directory
    (every tests file below it), or the name of a shipped policy.
    """
    found: dict[Path, Path | None] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            tests = sorted((p for p in path.rglob("*") if p.is_file() and is_tests_file(p)),
                           key=lambda p: (len(p.parts), p))
            for t in tests:
                found.setdefault(t, None)
            for policy in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml")
                                 and not is_tests_file(p)):
                if tests_file_for(policy) is None:
                    notes.append(f"note: {display_path(os.fspath(policy))} has no tests file")
            if not tests:
                problems.append(Problem("tests.not-found", "no tests files (`*.tests.yaml`) in this directory",
                                        Loc(os.fspath(path))))
            continue
        if not path.exists():
            try:
                path = find_policy(os.fspath(item))
            except InputError as exc:
                problems.extend(exc.problems)
                continue
        if is_tests_file(path):
            found.setdefault(path, None)
            continue
        tests = tests_file_for(path)
        if tests is None:
            stem = path.name.rsplit(".", 1)[0]
            problems.append(Problem("tests.not-found", f"no tests file `{stem}.tests.yaml` beside this policy",
                                    Loc(os.fspath(path))))
            continue
        found[tests] = path
    return list(found.items()), problems, notes


# -- running one file -----------------------------------------------------------------------------


def _instant(value: str, what: str, doc: Document, path: tuple) -> tuple[datetime | None, list[Problem]]:
    from ..api import parse_instant
    try:
        return parse_instant(str(value), what), []
    except InputError as exc:
        return None, [Problem(p.code, p.message, doc.loc_of(path)) for p in exc.problems]


class _Prepared:
    """A case with its timeline, instants and action resolved."""

    def __init__(self, index: int, case: Case):
        self.index = index
        self.case = case
        self.timeline = None
        self.as_of: datetime | None = None
        self.at: datetime | None = None
        self.earliest: datetime | None = None
        self.action = None


def _load_policy(top: TestsFile, doc: Document, tests_path: Path, given: Path | None,
                 policies_dir: str | os.PathLike[str] | None) -> tuple[Policy | None, list[Problem]]:
    search = policies_dir if policies_dir is not None else tests_path.parent
    if top.policy is not None:
        name = top.policy
        where = doc.loc_of(("policy",))
        if name.endswith((".yaml", ".yml", ".json")) or "/" in name and not name.startswith("agencies/"):
            target: Any = tests_path.parent / name
            if not target.is_file():
                return None, [Problem("tests.policy-not-found", f"no policy file `{name}` next to this tests file",
                                      where)]
        else:
            target = name
    elif given is not None:
        target = given
    else:
        target = _policy_beside(tests_path)
        if target is None:
            return None, [Problem("tests.policy-not-found",
                                  "no policy beside this tests file; name it with `policy:`", doc.loc_of(()))]
    try:
        return load_policy(target, search), []
    except InputError as exc:
        return None, list(exc.problems)


def _prepare(top: TestsFile, doc: Document, tests_path: Path, policy: Policy) -> tuple[list[_Prepared], list[Problem]]:
    from ..api import load_timeline
    from ..decide import planned_action_from_data
    from ..timeline import timeline_from_data

    problems: list[Problem] = []
    named: dict[str, Any] = {}
    rule_ids = [r.id for r in policy.rules]

    def named_timeline(name: str):
        if name not in named:
            try:
                named[name] = timeline_from_data(top.timelines[name], doc, root=("timelines", name))
            except InputError as exc:
                problems.extend(exc.problems)
                named[name] = None
        return named[name]

    prepared = []
    for i, case in enumerate(top.tests):
        root = ("tests", i)
        before = len(problems)
        p = _Prepared(i, case)
        if isinstance(case.timeline, dict):
            try:
                p.timeline = timeline_from_data(case.timeline, doc, root=root + ("timeline",))
            except InputError as exc:
                problems.extend(exc.problems)
        elif case.timeline in top.timelines:
            p.timeline = named_timeline(case.timeline)
        elif case.timeline.endswith((".yaml", ".yml", ".json")) or "/" in case.timeline:
            path = tests_path.parent / case.timeline
            if not path.is_file():
                problems.append(Problem("tests.timeline-not-found",
                                        f"no timeline file `{case.timeline}` next to this tests file",
                                        doc.loc_of(root + ("timeline",))))
            else:
                try:
                    p.timeline = load_timeline(path)
                except InputError as exc:
                    problems.extend(exc.problems)
        else:
            problems.append(Problem("tests.unknown-timeline",
                                    f"no timeline named `{case.timeline}` in `timelines`"
                                    f"{did_you_mean(case.timeline, top.timelines)}", doc.loc_of(root + ("timeline",))))
        if case.as_of is not None:
            p.as_of, found = _instant(case.as_of, "`as_of`", doc, root + ("as_of",))
            problems.extend(found)
        if case.action is not None:
            try:
                p.action = planned_action_from_data(case.action, doc, root=root + ("action",))
            except InputError as exc:
                problems.extend(exc.problems)
            if case.at is not None:
                p.at, found = _instant(case.at, "`at`", doc, root + ("at",))
                problems.extend(found)
            elif p.action is not None and p.action.at is None:
                problems.append(Problem("tests.missing-field", "say when the action would be sent: `at`",
                                        doc.loc_of(root + ("action",))))
            if case.earliest is not None:
                p.earliest, found = _instant(case.earliest, "`earliest`", doc, root + ("earliest",))
                problems.extend(found)
        for j, exp in enumerate(case.expect):
            if exp.rule not in rule_ids:
                problems.append(Problem("tests.unknown-rule", f"policy `{policy.name}` has no rule `{exp.rule}`"
                                        f"{did_you_mean(exp.rule, rule_ids)}",
                                        doc.loc_of(root + ("expect", j, "rule"))))
        for j, rule in enumerate(case.expect_none_of):
            if rule not in rule_ids:
                problems.append(Problem("tests.unknown-rule", f"policy `{policy.name}` has no rule `{rule}`"
                                        f"{did_you_mean(rule, rule_ids)}", doc.loc_of(root + ("expect_none_of", j))))
        if len(problems) == before:
            prepared.append(p)
    names: dict[str, int] = {}
    for i, case in enumerate(top.tests):
        if case.name in names:
            problems.append(Problem("tests.duplicate-name", f"another case is named `{case.name}` "
                                    f"(tests[{names[case.name]}])", doc.loc_of(("tests", i, "name"))))
        names.setdefault(case.name, i)
    return prepared, problems


def _finding(f) -> str:
    whom = f" for `{f.contact}`" if f.contact else ""
    return f"`{f.rule}` citing [{', '.join(f.events)}]{whom}"


def _compare(case: Case, findings: list, doc: Document, root: tuple) -> list[str]:
    reasons = []
    for j, exp in enumerate(case.expect):
        if any(exp.matches(f) for f in findings):
            continue
        same = [f for f in findings if f.rule == exp.rule]
        got = f"; found {', '.join(_finding(f) for f in same)}" if same else f"; `{exp.rule}` did not fire"
        reasons.append(f"{_show(doc.loc_of(root + ('expect', j)))}: expected a finding {exp.describe()}{got}")
    for j, rule in enumerate(case.expect_none_of):
        fired = [f for f in findings if f.rule == rule]
        if fired:
            reasons.append(f"{_show(doc.loc_of(root + ('expect_none_of', j)))}: expected no finding of `{rule}`; "
                           f"found {', '.join(_finding(f) for f in fired)}")
    if case.exact:
        for f in findings:
            if not any(exp.matches(f) for exp in case.expect):
                reasons.append(f"{_show(doc.loc_of(root + ('exact',)))}: unexpected finding {_finding(f)}: "
                               f"{f.message}")
    return reasons


def _iso(value: datetime | None) -> str:
    return "never" if value is None else value.isoformat().replace("+00:00", "Z")


def _run_case(p: _Prepared, policy: Policy, doc: Document, engine: str) -> CaseResult:
    from ..api import audit
    from ..decide import check

    case, root = p.case, ("tests", p.index)
    loc = doc.loc_of(root)
    expected = {e.rule for e in case.expect}
    try:
        if case.action is None:
            findings = audit(p.timeline, policy, p.as_of, engine=engine).findings
            reasons = _compare(case, findings, doc, root)
        else:
            result = check(p.timeline, p.action, policy, p.at, engine=engine)
            findings = result.findings
            reasons = []
            if result.decision != case.decision:
                why = [f for f in findings if f.severity == "violation"]
                detail = f": denied by {', '.join(_finding(f) for f in why)}" if why else ""
                reasons.append(f"{_show(doc.loc_of(root + ('decision',)))}: expected `{case.decision}`, "
                               f"got `{result.decision}`{detail}")
            if "earliest" in case.model_fields_set:
                got = datetime.fromisoformat(result.earliest.replace("Z", "+00:00")) if result.earliest else None
                if got != p.earliest:
                    reasons.append(f"{_show(doc.loc_of(root + ('earliest',)))}: expected the earliest allowed time "
                                   f"{_iso(p.earliest)}, got {_iso(got)}")
            reasons.extend(_compare(case, findings, doc, root))
    except InputError as exc:
        where = _show(doc.loc_of(root + (("action",) if case.action is not None else ("timeline",))))
        return CaseResult(case.name, loc, "error", [f"{where}: error[{q.code}]: {q.message}" for q in exc.problems],
                          expected)
    exercised = expected | {f.rule for f in findings}
    return CaseResult(case.name, loc, "fail" if reasons else "pass", reasons, exercised)


def run_tests_file(tests_path: str | os.PathLike[str], policy_path: str | os.PathLike[str] | None = None,
                   policies_dir: str | os.PathLike[str] | None = None, engine: str = "reference") -> FileResult:
    """Run the cases of one tests file against its policy."""
    tests_path = Path(tests_path)
    result = FileResult(tests_path)
    try:
        doc = load_document(tests_path)
    except InputError as exc:
        result.problems = _relocate(list(exc.problems))
        return result
    if not isinstance(doc.data, dict):
        result.problems = _relocate([Problem("tests.not-a-mapping", "a tests file is a mapping with `tests`",
                                             doc.loc_of(()))])
        return result
    try:
        top = TestsFile.model_validate(doc.data)
    except ValidationError as exc:
        result.problems = _relocate(pydantic_problems(exc, doc, "tests"))
        return result
    policy, problems = _load_policy(top, doc, tests_path, Path(policy_path) if policy_path else None, policies_dir)
    result.policy = policy
    if policy is None:
        result.problems = _relocate(problems)
        return result
    prepared, problems = _prepare(top, doc, tests_path, policy)
    if problems:
        result.problems = _relocate(problems)
        return result
    result.cases = [_run_case(p, policy, doc, engine) for p in prepared]
    return result


def run_tests(paths: list[str | os.PathLike[str]], policies_dir: str | os.PathLike[str] | None = None,
              engine: str = "reference", fail_under: float | None = None) -> TestRun:
    """Discover and run the tests files named by ``paths`` (see :func:`discover`)."""
    pairs, problems, notes = discover(paths)
    run = TestRun(problems=_relocate(problems), notes=notes, fail_under=fail_under)
    if engine == "auto":
        from ..api import resolve_engine
        engine = resolve_engine(engine, run.notes)
    for tests_path, policy_path in pairs:
        run.files.append(run_tests_file(tests_path, policy_path, policies_dir, engine))
    return run


# -- output ---------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(run: TestRun) -> str:
    """The results as a test runner prints them: a line per case, coverage, a summary."""
    lines: list[str] = [str(p) for p in run.problems]
    for f in run.files:
        head = display_path(os.fspath(f.tests_file))
        if f.policy is not None:
            head += f"  (policy {f.policy.name}: {display_path(os.fspath(f.policy.files[-1]))})" \
                if f.policy.files else f"  (policy {f.policy.name})"
        lines.append(head)
        if f.problems:
            lines.append(f"  ERROR not run: {_plural(len(f.problems), 'problem')} with the tests file or its policy")
            lines.extend(f"        {p}" for p in f.problems)
            continue
        for c in f.cases:
            if c.status == "pass":
                lines.append(f"  PASS  {c.name}")
            else:
                label = "FAIL " if c.status == "fail" else "ERROR"
                lines.append(f"  {label} {c.name}  ({display_path(c.loc.file)}:{c.loc.line})")
                lines.extend(f"        {r}" for r in c.reasons)
        done, todo = f.coverage()
        total = len(done) + len(todo)
        percent = 100 * len(done) // total if total else 100
        cover = f"  coverage: {len(done)}/{total} rules exercised ({percent}%)"
        if todo:
            cover += "; never exercised:"
        lines.append(cover)
        for rule_id in todo:
            index = next(i for i, r in enumerate(f.policy.rules) if r.id == rule_id)
            lines.append(f"    {rule_id}  {_show(f.policy.document.loc_of(('rules', index)))}")
    passed, failed, errors = run.count("pass"), run.count("fail"), run.count("error")
    summary = f"{passed} passed, {failed} failed"
    if errors:
        summary += f", {_plural(errors, 'error')}"
    invalid = sum(1 for f in run.files if f.problems) + len(run.problems)
    if invalid:
        summary += f", {invalid} not run (invalid)"
    for f in run.below_threshold():
        done, todo = f.coverage()
        lines.append(summary)
        summary = (f"coverage of {f.policy.name} is below {run.fail_under:g}%: "
                   f"{len(done)}/{len(done) + len(todo)} rules exercised")
    lines.append(summary)
    # case names, reasons and paths come from the user's files: one output line each, escaped
    return "\n".join(escape_text(line) for line in lines) + "\n"
