"""Loading a policy: parse with locations, substitute parameters, validate, lower to the IR.

Stages, each collecting located problems before the next runs:

1. ``parse``       YAML/JSON with a location for every value (:mod:`engine.source`);
2. ``shape``       the top level: ``policy``, ``parameters``, ``calendar``, ``rules``;
3. ``parameters``  every ``$name`` value in a rule is replaced by the parameter's value;
4. ``rules``       each rule validated by its kind's model from the registry; ids unique;
                   message placeholders known;
5. ``lower``       enabled rules become IR nodes (:mod:`engine.ir`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, TypeAdapter,
                      ValidationError)

from ..calendar import MAX_DAYS_OFF
from ..errors import InputError, Problem, did_you_mean
from ..findings import MESSAGE_FIELDS, template_errors, template_names
from ..ir import CalendarSpec, Program
from ..limits import MAX_YEAR, MIN_YEAR
from ..rules import REGISTRY
from ..rules._common import RuleBase, human_values
from ..source import Document, dotted_path, draft07_schema, parse_document, pydantic_problems
from .extends import resolve_document

__all__ = ["Policy", "policy_revision", "load_policy", "find_policy", "policy_from_text", "shipped_policies", "policy_json_schema"]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

RuleModel = Annotated[Union[tuple(m.Params for m in REGISTRY.values())], Field(discriminator="kind")]
_RULE = TypeAdapter(RuleModel)


class _Strict(BaseModel):
    # defer_build: a model's validator is built when it is first used (a parameter is
    # only ever validated inside a policy file)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Parameter(_Strict):
    value: Any
    description: str | None = None


def _date_text(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and len(value) <= 32):
        return value
    raise ValueError(f"a closure is a date such as `2026-12-24`, not {type(value).__name__} `{str(value)[:40]}`")


def _in_range(day: date) -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"`{day.isoformat()}` is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return day


Closure = Annotated[date, BeforeValidator(_date_text), AfterValidator(_in_range)]


class CalendarModel(_Strict):
    weekend: list[Literal[WEEKDAY_NAMES]] = Field(default_factory=lambda: ["sat", "sun"])  # type: ignore[valid-type]
    closures: list[Closure] = Field(default_factory=list, description="Days off for every employer.")
    public_holidays: StrictBool = Field(True, description="Count the employer country's public holidays as days off.")


class PolicyFile(_Strict):
    """The top level of a policy file."""

    policy: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]*$", description="The policy's name.")
    extends: str | None = Field(None, description="A policy this one builds on: a name, or a path relative to this file.")
    description: str | None = None
    version: int | str | None = None
    parameters: dict[str, Parameter | str | int | float | bool] = Field(default_factory=dict)
    calendar: CalendarModel = CalendarModel()
    rules: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    """A loaded policy: the validated rules (all of them) and the compiled program (enabled ones)."""

    name: str
    source: str
    rules: tuple[RuleBase, ...]
    program: Program
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    #: the effective document (after ``extends``), with the location of every value
    document: Document | None = field(default=None, compare=False, repr=False)
    #: the files it was made from, base first
    files: tuple[Path, ...] = ()
    #: a content hash of the effective document (:func:`policy_revision`): the same text, the same revision
    revision: str = field(default="", compare=False)

    def rule(self, rule_id: str) -> RuleBase:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)



def _substitute(value: Any, params: dict[str, Any], path: tuple, doc: Document, problems: list[Problem],
                used: dict[tuple, str]) -> Any:
    """``value`` with every ``$name`` replaced; ``used`` records where each parameter went."""
    if isinstance(value, str) and value.startswith("$") and len(value) > 1 and not value.startswith("$$"):
        name = value[1:]
        if name not in params:
            problems.append(Problem("policy.unknown-parameter",
                                    f"unknown parameter `{name}`{did_you_mean(name, params)}", doc.loc_of(path)))
            return value
        used[path] = name
        return params[name]
    if isinstance(value, dict):
        return {k: _substitute(v, params, path + (k,), doc, problems, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params, path + (i,), doc, problems, used) for i, v in enumerate(value)]
    return value


def _at_parameters(doc: Document, used: dict[tuple, str]) -> Document:
    """``doc`` with each substituted value located where its parameter's value was written,
    so that a bad parameter value is reported in the file and line that set it."""
    values = dict(doc.values)
    for path, name in used.items():
        nested = ("parameters", name, "value")
        where = doc.values.get(nested) or doc.loc_of(("parameters", name))
        for p in [p for p in values if p[:len(path)] == path]:
            values[p] = where
        values[path] = where
    return Document(doc.data, doc.name, values, doc.keys)


def _render(value: Any) -> str:
    from ..duration import parse_duration
    if isinstance(value, str):
        try:
            return parse_duration(value).describe()
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _closed_runs(weekend: set[int], closures: list[date]):
    """(first day, length, index of the closure in it) of every run of days off that has a closure in it.

    Days off are the weekend days and the closures; each day is visited once.
    """
    closed = set(closures)
    index = {}
    for i, day in enumerate(closures):
        index.setdefault(day, i)
    one = timedelta(days=1)

    def off(day: date) -> bool:
        return day.weekday() in weekend or day in closed

    covered: date | None = None
    for day in sorted(closed):
        if covered is not None and day <= covered:
            continue
        start = end = day
        while off(start - one):  # only weekend days: an earlier closure would have reached this one
            start -= one
        while off(end + one):
            end += one
        covered = end
        yield start, (end - start).days + 1, index[day]


def _calendar_problems(calendar: CalendarModel, doc: Document) -> list[Problem]:
    weekend = {WEEKDAY_NAMES.index(d) for d in calendar.weekend}
    if len(weekend) == len(WEEKDAY_NAMES):
        return [Problem("policy.no-business-day", "every day of the week is in `weekend`, so no day is a business "
                        "day; leave at least one out", doc.loc_of(("calendar", "weekend")))]
    for start, length, i in _closed_runs(weekend, calendar.closures):
        if length > MAX_DAYS_OFF:
            return [Problem("policy.no-business-day",
                            f"closures and weekend leave no business day for {length} days from "
                            f"`{start.isoformat()}`; at most {MAX_DAYS_OFF} days in a row may be off",
                            doc.loc_of(("calendar", "closures", i)))]
    return []


def policy_from_document(doc: Document) -> Policy:
    problems: list[Problem] = []
    if not isinstance(doc.data, dict):
        raise InputError(Problem("policy.not-a-mapping", "a policy must be a mapping with `policy` and `rules`",
                                 doc.loc_of(())))
    try:
        top = PolicyFile.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, doc, "policy")) from None
    params = {k: (v.value if isinstance(v, Parameter) else v) for k, v in top.parameters.items()}
    problems.extend(_calendar_problems(top.calendar, doc))
    for name in params:
        if name in MESSAGE_FIELDS:
            problems.append(Problem("policy.reserved-parameter",
                                    f"parameter `{name}` has the name of a finding field; rename it",
                                    doc.loc_of(("parameters", name), key=True)))

    rules: list[RuleBase] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(top.rules):
        path = ("rules", i)
        before = len(problems)
        used: dict[tuple, str] = {}
        data = _substitute(raw, params, path, doc, problems, used)
        if len(problems) > before:
            continue  # an unknown parameter: validating the `$name` text would only repeat it
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in REGISTRY:
            where = doc.loc_of(path + ("kind",)) if "kind" in data else doc.loc_of(path)
            if kind is None:
                problems.append(Problem("policy.unknown-kind", f"rule needs a `kind`; kinds: {', '.join(REGISTRY)}",
                                        where))
            elif not isinstance(kind, str):
                problems.append(Problem("policy.invalid", f"`kind` must be text, one of: {', '.join(REGISTRY)}",
                                        where))
            else:
                hint = did_you_mean(kind, REGISTRY) or f"; kinds: {', '.join(REGISTRY)}"
                problems.append(Problem("policy.unknown-kind", f"unknown rule kind `{kind}`{hint}", where))
            continue
        try:
            rule = _RULE.validate_python(data)
        except ValidationError as exc:
            found = pydantic_problems(exc, _at_parameters(doc, used) if used else doc, "policy", root=path)
            for problem in found:
                name = next((n for p, n in used.items() if problem.path.startswith(dotted_path(p))), None)
                if name:
                    problem = Problem(problem.code, f"{problem.message} (parameter `{name}`)", problem.loc,
                                      path=problem.path)
                problems.append(problem)
            continue
        if rule.id in seen:
            problems.append(Problem("policy.duplicate-id", f"duplicate rule id `{rule.id}` (also rules[{seen[rule.id]}])",
                                    doc.loc_of(path + ("id",))))
            continue
        seen[rule.id] = i
        allowed = set(MESSAGE_FIELDS) | set(params) | {name for name, _ in human_values(rule)}
        found = [("policy.bad-template", f"message template: {why}") for why in template_errors(rule.message)]
        found += [("policy.unknown-placeholder", f"message names `{{{name}}}`, which is neither a finding field "
                   f"nor a parameter{did_you_mean(name, allowed)}")
                  for name in dict.fromkeys(template_names(rule.message)) if name not in allowed]
        if found:  # located at the message, or at the parameter that gave it
            at_message = (_at_parameters(doc, used) if used else doc).loc_of(path + ("message",))
            problems.extend(Problem(code, message, at_message) for code, message in found)
        rules.append(rule)
    if problems:
        raise InputError(problems)

    param_values = tuple((k, _render(v)) for k, v in params.items())
    nodes = []
    for i, rule in enumerate(rules):
        if not rule.enabled:
            continue
        loc = doc.loc_of(("rules", seen[rule.id]))
        for node in REGISTRY[rule.kind].lower(rule, loc):
            meta = node.meta
            merged = param_values + tuple(v for v in meta.values if v[0] not in params)
            nodes.append(type(node)(**{**node.__dict__, "meta": type(meta)(
                meta.rule, meta.severity, meta.category, meta.message, merged, meta.loc)}))
    calendar = CalendarSpec(frozenset(WEEKDAY_NAMES.index(d) for d in top.calendar.weekend),
                            frozenset(top.calendar.closures), top.calendar.public_holidays)
    program = Program(top.policy, tuple(nodes), calendar, doc.name)
    return Policy(top.policy, doc.name, tuple(rules), program, params, top.description, doc,
                  revision=policy_revision(doc.data))


def policy_revision(data: Any) -> str:
    """``sha256:`` and the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of a
    policy's effective document (after ``extends``): what decision logs call its revision."""
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    except TypeError:  # keys of several types (YAML allows them): sort them by their text
        text = json.dumps(_string_keys(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {f"{type(k).__name__}:{k}": _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def policy_from_text(text: str, name: str = "<policy>") -> Policy:
    return policy_from_document(parse_document(text, name))


def shipped_dir() -> Path:
    """Where the policies shipped with the package live (installed or in a checkout)."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "policies"  # a wheel maps the checkout's policies/ here
    if (installed / "etiquette.yaml").is_file():
        return installed
    return package.parent / "policies"


def is_policy_file(path: Path) -> bool:
    """Policy files are ``*.yaml``/``*.yml``; ``*.tests.yaml`` beside them hold policy tests."""
    return path.suffix in (".yaml", ".yml") and not path.stem.endswith(".tests")


def shipped_policies() -> dict[str, Path]:
    root = shipped_dir()
    out = {p.stem: p for p in sorted(root.glob("*.yaml")) if is_policy_file(p)}
    out.update({f"agencies/{p.stem}": p for p in sorted((root / "agencies").glob("*.yaml")) if is_policy_file(p)})
    return out


def find_policy(name_or_path: str | os.PathLike[str], search: list[Path] | None = None) -> Path:
    """A policy by name (in ``search`` directories, then shipped) or by path."""
    text = os.fspath(name_or_path)
    for directory in search or []:
        for suffix in (".yaml", ".yml"):
            if (directory / f"{text}{suffix}").is_file() and os.sep not in text:
                return directory / f"{text}{suffix}"
    shipped = shipped_policies()
    if text in shipped:
        return shipped[text]
    if os.path.sep in text or text.endswith((".yaml", ".yml", ".json")) or os.path.exists(text):
        return Path(text)
    raise InputError(Problem("policy.not-found", f"no shipped policy named `{text}`{did_you_mean(text, shipped)}; "
                             f"shipped: {', '.join(shipped) or 'none'} (or give a path)"))


def load_policy(name_or_path: str | os.PathLike[str] = "etiquette",
                policies_dir: str | os.PathLike[str] | None = None) -> Policy:
    """Load and compile a policy by name or path, following ``extends``; raise :class:`InputError`.

    ``policies_dir`` is searched for names (``extends: acme`` or ``--policy acme``)
    before the shipped policies.
    """
    search = [Path(policies_dir)] if policies_dir else []
    doc, files = resolve_document(find_policy(name_or_path, search), search)
    policy = policy_from_document(doc)
    return dataclasses.replace(policy, files=files)


_PARAM_REF = {"type": "string", "pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$",
              "description": "a parameter of this policy, e.g. `$thank_you_within`"}


def _allow_param_refs(node: Any) -> Any:
    """Let every non-string value in rule definitions also be written as `$parameter`."""
    if isinstance(node, dict):
        node = {k: _allow_param_refs(v) for k, v in node.items()}
        if node.get("type") in ("integer", "number", "boolean") or ("enum" in node and "type" not in node):
            return {"anyOf": [node, _PARAM_REF]}
        return node
    if isinstance(node, list):
        return [_allow_param_refs(v) for v in node]
    return node


def policy_json_schema() -> dict:
    """JSON Schema (draft-07 keywords only) of policy files, agency files with ``extends`` included."""
    schema = draft07_schema(PolicyFile, "followup policy")
    rules = draft07_schema(_RULE, "rule")
    definitions = schema.setdefault("definitions", {})
    definitions.update(_allow_param_refs(rules.pop("definitions", {})))
    rules.pop("$schema"), rules.pop("title")
    override = {"type": "object", "required": ["id"], "not": {"required": ["kind"]},
                "properties": {"id": {"type": "string"}},
                "description": "in a file with `extends`: fields that replace those of an inherited rule"}
    schema["properties"]["rules"] = {"type": "array", "items": {"anyOf": [rules, override]}}
    schema.pop("required", None)
    schema["anyOf"] = [{"required": ["policy"]}, {"required": ["extends"]}]
    return schema
