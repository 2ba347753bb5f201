"""``followup policy lint``: every problem of a policy at once, each with a stable code.

A policy that does not load gets its load errors (``policy.*``, ``extends.*``,
``yaml.*``, ``input.*``: the loader's codes). Loading checks everything an audit
relies on (message templates, calendars, durations, value types), so a policy
without lint errors cannot crash an audit. A policy that loads is checked for
things it says but cannot do; each is a *warning* located at the value that causes
it (through ``extends``: an inherited value points into the file that set it, a
value written as ``$name`` points at the parameter's value):

==============================  ================================================================
code                            what it finds
==============================  ================================================================
``lint.empty-selector``         a selector that matches no event type (``type`` minus ``except``
                                is empty, or an empty ``channel``/``role`` list)
``lint.no-channel``             a ``channel`` filter on event types that have no channel
``lint.no-party``               a ``role`` filter on event types that name nobody
``lint.shadowed-anchor``        a ``not-before`` anchor that never decides: every event it
                                matches is matched by an earlier anchor, which is tried first
``lint.never-precedes``         an ``after`` selector that can never precede the subject
                                (``scope: named-contact`` with roles that rule out the same person)
``lint.dead-except``            a ``forbidden-after`` ``except`` naming types that are not forbidden
``lint.always-inside-hours``    an ``hours`` rule whose hours cover the whole day, every day
``lint.deadline-conflict``      a ``not-before`` wait later than a ``deadline`` for the same event
                                after the same anchor type: it can never be on time and not premature
``lint.unused-parameter``       a parameter no rule uses as ``$name`` and no message as ``{name}``
==============================  ================================================================

Only enabled rules are checked (a disabled rule cannot fire anyway); parameters
count as used when any rule, enabled or not, refers to them.

The text output (:meth:`LintReport.lines`) escapes every line with
:func:`~engine.report.escape.escape_text`: messages quote user values (parameter
names, ids, file names), which must not break a line or drive the terminal. The JSON
output (:meth:`LintReport.as_dict`) is left to the JSON encoder.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..duration import parse_duration
from ..errors import InputError, Loc, Problem
from ..findings import template_names
from ..report.escape import escape_text
from ..rules._common import SelectorSpec
from ..timeline import CANDIDATE_TYPES, EVENT_TYPES
from .loader import Policy, find_policy, load_policy

__all__ = ["LINT_CODES", "LintReport", "lint_policy", "lint_file", "lint_paths", "policy_files"]

LINT_CODES = {
    "lint.empty-selector": "a selector that matches no event type",
    "lint.no-channel": "a `channel` filter on event types that have no channel",
    "lint.no-party": "a `role` filter on event types that name nobody",
    "lint.shadowed-anchor": "a `not-before` anchor that an earlier anchor always takes over from",
    "lint.never-precedes": "an `after` selector that can never precede the subject",
    "lint.dead-except": "a `forbidden-after` exception for types that are not forbidden",
    "lint.always-inside-hours": "an `hours` rule whose hours are the whole day, every day",
    "lint.deadline-conflict": "a `not-before` that opens later than a `deadline` for the same event closes",
    "lint.unused-parameter": "a parameter that no rule and no message uses",
}

#: event types that carry a channel (candidate messages, preferences, employer contact)
CHANNEL_TYPES = frozenset(CANDIDATE_TYPES) | {"preference", "employer_contact"}
#: event types that can name a person (every type but a withdrawal)
PARTY_TYPES = frozenset(EVENT_TYPES) - {"withdrawal"}

_SELECTOR_FIELDS = ("subject", "trigger", "expect", "cancelled_by", "after", "reset_on")


def _warn(code: str, message: str, loc: Loc | None) -> Problem:
    return Problem(code, message, loc, severity="warning")


def _is_ref(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 1 and value.startswith("$") and not value.startswith("$$")


def _param_path(doc_data: dict, name: str) -> tuple:
    entry = (doc_data.get("parameters") or {}).get(name)
    return ("parameters", name, "value") if isinstance(entry, dict) else ("parameters", name)


def value_loc(policy: Policy, path: tuple) -> Loc | None:
    """Where the value at ``path`` of the effective document was set.

    A value written as ``$name`` (at ``path`` or above it) is located at the
    parameter's value, which is what sets it.
    """
    doc = policy.document
    if doc is None:
        return None
    node: Any = doc.data
    for i, part in enumerate(path):
        if _is_ref(node):
            return value_loc(policy, _param_path(doc.data, node[1:]) + tuple(path[i:]))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return doc.loc_of(path)
    if _is_ref(node) and path[:1] == ("rules",):
        return value_loc(policy, _param_path(doc.data, node[1:]))
    return doc.loc_of(path)


# -- selectors ------------------------------------------------------------------------------------


def _words(items: Iterable[str]) -> str:
    return ", ".join(f"`{i}`" for i in sorted(items))


def _consequence(field_name: str, rule, anchors: int) -> str:
    if field_name == "expect":
        return "no event can meet the deadline, so every trigger is flagged"
    if field_name == "cancelled_by":
        return "it never lifts an obligation"
    if field_name == "reset_on":
        return "a silence period never ends"
    if field_name == "anchor" and anchors > 1:
        return "this anchor never applies"
    return "the rule can never fire"


def _selector_problems(policy: Policy, rule, sel: SelectorSpec, path: tuple, what: str, field_name: str,
                       anchors: int = 1) -> list[Problem]:
    """Warnings for a selector that can never match an event."""
    types = sel.types()
    where = f"rule `{rule.id}`: {what}"
    consequence = _consequence(field_name, rule, anchors)
    if not types:
        key = "except" if sel.except_ else "type"
        written = f"`{', '.join(sel.type)}` except `{', '.join(sel.except_)}`" if sel.except_ else "`type: []`"
        return [_warn("lint.empty-selector", f"{where} matches no event type ({written}); {consequence}",
                      value_loc(policy, path + (key,)))]
    for key, values in (("channel", sel.channel), ("role", sel.role)):
        if values is not None and not values:
            return [_warn("lint.empty-selector", f"{where} has an empty `{key}` list, which matches nothing; "
                          f"{consequence}", value_loc(policy, path + (key,)))]
    possible = set(types)
    if sel.channel is not None:
        possible &= CHANNEL_TYPES
        if not possible:
            return [_warn("lint.no-channel", f"{where} filters on `channel`, but {_words(types)} "
                          f"{'has' if len(types) == 1 else 'have'} no channel; {consequence}",
                          value_loc(policy, path + ("channel",)))]
    if sel.role is not None:
        possible &= PARTY_TYPES
        if not possible:
            return [_warn("lint.no-party", f"{where} filters on `role`, but {_words(types)} "
                          f"{'names' if len(types) == 1 else 'name'} nobody; {consequence}",
                          value_loc(policy, path + ("role",)))]
    return []


def _covers(wide: SelectorSpec, narrow: SelectorSpec) -> bool:
    """Every event ``narrow`` matches, ``wide`` matches too."""
    if not narrow.types() <= wide.types():
        return False
    for key in ("channel", "role"):
        w, n = getattr(wide, key), getattr(narrow, key)
        if w is not None and (n is None or not set(n) <= set(w)):
            return False
    return True


def _selectors(rule) -> Iterator[tuple[str, SelectorSpec, tuple, str]]:
    """(field name, selector, path inside the rule, words) for every selector of ``rule``."""
    for name in _SELECTOR_FIELDS:
        sel = getattr(rule, name, None)
        if isinstance(sel, SelectorSpec):
            yield name, sel, (name,), f"`{name}`"
    for k, anchor in enumerate(getattr(rule, "anchors", None) or ()):
        yield "anchor", anchor.event, ("anchors", k, "event"), f"`anchors[{k}].event`"


# -- durations ------------------------------------------------------------------------------------

_DAY = 86400
_DST = 3600


def _bounds(text: str) -> tuple[float, float, int | None]:
    """(least seconds, most seconds, business days or None) a duration can span."""
    if text == "end-of-day":
        return 0, _DAY + _DST, None
    d = parse_duration(text)
    if d.is_business:
        return d.business_days * _DAY - _DST, math.inf, d.business_days
    return d.seconds, d.seconds, None


def _later(wait: str, within: str) -> bool:
    """``wait`` certainly ends later than ``within`` from the same instant."""
    w_min, _, w_bd = _bounds(wait)
    _, d_max, d_bd = _bounds(within)
    if w_bd is not None and d_bd is not None:
        return w_bd > d_bd
    return w_min > d_max


def _describe(text: str) -> str:
    return "the end of that day" if text == "end-of-day" else parse_duration(text).describe()


# -- the checks -----------------------------------------------------------------------------------


def _rule_checks(policy: Policy) -> list[Problem]:
    out: list[Problem] = []
    for i, rule in enumerate(policy.rules):
        if not rule.enabled:
            continue
        base = ("rules", i)
        anchors = len(getattr(rule, "anchors", None) or ())
        for name, sel, path, what in _selectors(rule):
            out.extend(_selector_problems(policy, rule, sel, base + path, what, name, anchors))
        if rule.kind == "not-before":
            for k, anchor in enumerate(rule.anchors):
                for j in range(k):
                    if anchor.event.types() and _covers(rule.anchors[j].event, anchor.event):
                        out.append(_warn(
                            "lint.shadowed-anchor",
                            f"rule `{rule.id}`: `anchors[{k}]` never applies: every event it matches also matches "
                            f"`anchors[{j}]`, which is tried first", value_loc(policy, base + ("anchors", k, "event"))))
                        break
        if rule.kind == "forbidden-after":
            if rule.scope == "named-contact" and rule.after.role is not None and rule.subject.role is not None \
                    and not set(rule.after.role) & set(rule.subject.role):
                out.append(_warn(
                    "lint.never-precedes",
                    f"rule `{rule.id}`: with `scope: named-contact` an `after` event naming a "
                    f"{' or '.join(rule.after.role)} can only precede messages to that same person, but the "
                    f"subject is messages to a {' or '.join(rule.subject.role)}; the rule can never fire",
                    value_loc(policy, base + ("after", "role"))))
            if rule.except_ is not None and rule.subject.types():
                dead = rule.except_.types() - rule.subject.types()
                if dead == rule.except_.types() and dead:
                    out.append(_warn(
                        "lint.dead-except",
                        f"rule `{rule.id}`: `except` allows {_words(dead)}, which the subject does not forbid; "
                        f"it changes nothing", value_loc(policy, base + ("except", "type"))))
        if rule.kind == "hours" and not rule.business_days and rule.start == "00:00" and rule.end == "24:00":
            out.append(_warn("lint.always-inside-hours",
                             f"rule `{rule.id}`: hours {rule.start}-{rule.end} on every day leave nothing outside "
                             f"them; the rule can never fire", value_loc(policy, base + ("end",))))
    out.extend(_deadline_conflicts(policy))
    return out


def _deadline_conflicts(policy: Policy) -> list[Problem]:
    out: list[Problem] = []
    rules = list(enumerate(policy.rules))
    for i, deadline in rules:
        if not deadline.enabled or deadline.kind != "deadline":
            continue
        expected = deadline.expect.types()
        triggers = deadline.trigger.types()
        for j, rule in rules:
            if not rule.enabled or rule.kind != "not-before" or not expected:
                continue
            subject = rule.subject
            if not expected <= subject.types():
                continue  # some expected events are not held back by this rule
            if (subject.channel is not None or subject.role is not None) and not _covers(subject, deadline.expect):
                continue
            for k, anchor in enumerate(rule.anchors):
                # an event type both start: the anchor's clock must not start before the deadline's
                # (a deadline `from: end` of an interview starts at its end, later than its `at`)
                starts = [t for t in sorted(triggers & anchor.event.types())
                          if not (t == "interview" and deadline.from_ == "end" and anchor.from_ != "end")]
                if not starts or not _later(str(anchor.wait), deadline.within):
                    continue
                first = starts[0]
                unless = " (when no earlier anchor applies)" if k else ""
                dloc = value_loc(policy, ("rules", i, "within"))
                out.append(_warn(
                    "lint.deadline-conflict",
                    f"rule `{rule.id}`{unless} holds back {_words(expected)} until {anchor.wait.describe()} after "
                    f"`{first}`, but rule `{deadline.id}` expects it within {_describe(deadline.within)} of "
                    f"`{first}` ({_short(dloc)}); it can never be both on time and not premature",
                    value_loc(policy, ("rules", j, "anchors", k, "wait"))))
    return out


def _short(loc: Loc | None) -> str:
    if loc is None:
        return "?"
    return f"{display_path(loc.file)}:{loc.line}"


def _unused_parameters(policy: Policy) -> list[Problem]:
    doc = policy.document
    if doc is None:
        return []
    used: set[str] = set()

    def walk(node: Any) -> None:
        if _is_ref(node):
            used.add(node[1:])
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    raw_rules = doc.data.get("rules") or []
    walk(raw_rules)
    for raw in raw_rules:
        if isinstance(raw, dict) and isinstance(raw.get("message"), str):
            used.update(template_names(raw["message"]))
    out = []
    for name in policy.parameters:
        if name not in used:
            out.append(_warn("lint.unused-parameter",
                             f"parameter `{name}` is declared but no rule uses `${name}` and no message `{{{name}}}`",
                             doc.loc_of(("parameters", name), key=True)))
    return out


def lint_policy(policy: Policy) -> list[Problem]:
    """The warnings for a policy that loaded, sorted by location."""
    problems = _rule_checks(policy) + _unused_parameters(policy)
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.loc or Loc(""), p.code, p.message))


# -- files ----------------------------------------------------------------------------------------


def display_path(name: str) -> str:
    """``name`` relative to the working directory when it is below it."""
    try:
        rel = os.path.relpath(name)
    except ValueError:
        return name
    return name if rel.startswith("..") else rel


def _relocate(problem: Problem) -> Problem:
    if problem.loc is None:
        return problem
    loc = Loc(display_path(problem.loc.file), problem.loc.line, problem.loc.col)
    return Problem(problem.code, problem.message, loc, problem.severity, problem.path)


def is_tests_file(path: Path) -> bool:
    return path.name.endswith((".tests.yaml", ".tests.yml"))


def policy_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Problem]]:
    """The policy files named by ``paths``: files as given, directories searched (tests files left out),
    and names of shipped policies."""
    files: list[Path] = []
    problems: list[Problem] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                           and not is_tests_file(p))
            if not found:
                problems.append(Problem("lint.no-policies", "no policy files (`*.yaml`) in this directory",
                                        Loc(os.fspath(path))))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            try:
                files.append(find_policy(os.fspath(item)))
            except InputError as exc:
                problems.extend(exc.problems)
    return list(dict.fromkeys(files)), problems


def lint_file(path: str | os.PathLike[str], policies_dir: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Load errors, or else lint warnings, for one policy file.

    ``extends`` names are looked up in ``policies_dir`` (default: the file's own
    directory, as ``followup serve --policies`` does), then among the shipped policies.
    """
    search = policies_dir if policies_dir is not None else Path(path).parent
    try:
        policy = load_policy(Path(path), search)
    except InputError as exc:
        return list(exc.problems)
    return lint_policy(policy)


@dataclass
class LintReport:
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def exit_code(self) -> int:
        return 2 if self.errors else 1 if self.warnings else 0

    def summary(self) -> str:
        n = len(self.files)
        files = f"{n} polic{'y' if n == 1 else 'ies'}"
        if not self.problems:
            return f"no problems in {files}"
        e, w = len(self.errors), len(self.warnings)
        return f"{e} error{'' if e == 1 else 's'}, {w} warning{'' if w == 1 else 's'} in {files}"

    def lines(self) -> list[str]:
        """The text output: one line per problem (``file:line:col: severity[code]: message``), then the summary."""
        return [escape_text(str(p)) for p in self.problems] + [self.summary()]

    def as_dict(self) -> dict:
        return {"files": [display_path(os.fspath(f)) for f in self.files],
                "problems": [p.as_dict() for p in self.problems],
                "errors": len(self.errors), "warnings": len(self.warnings)}


def lint_paths(paths: Iterable[str | os.PathLike[str]],
               policies_dir: str | os.PathLike[str] | None = None) -> LintReport:
    """Lint every policy named by ``paths`` (files, directories, shipped names)."""
    files, problems = policy_files(paths)
    report = LintReport(files)
    report.problems.extend(_relocate(p) for p in problems)
    for path in files:
        report.problems.extend(_relocate(p) for p in lint_file(path, policies_dir))
    report.problems = list(dict.fromkeys(report.problems))
    return report
