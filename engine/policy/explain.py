"""One rule of a policy, explained: what it is, its parameters, its message, and where
each value was set (after ``extends``, so an agency's override names the agency's file).

The data is the same as ``followup policy show --effective`` prints for the rule, as a
JSON object (:class:`RuleExplanation`): the ``explain_rule`` tool of ``followup mcp``
answers with it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable

from pydantic import BaseModel, Field

from ..errors import InputError, Loc, Problem, did_you_mean
from .loader import Policy

__all__ = ["RuleExplanation", "RuleField", "explain_rule"]


class RuleField(BaseModel):
    """One key of the rule as the policy sets it."""

    value: Any = Field(description="The effective value (a `$parameter` replaced by the parameter's value).")
    set_at: str = Field(description="`FILE:LINE` of the value.")
    parameter: str | None = Field(None, description="The parameter it is written as (`$name`), if any.")
    parameter_set_at: str | None = Field(None, description="`FILE:LINE` of that parameter's value.")


class RuleExplanation(BaseModel):
    """A rule of a policy, explained."""

    policy: str = Field(description="The policy's name.")
    rule: str = Field(description="The rule's id.")
    kind: str = Field(description="The rule's kind, e.g. `deadline` (see docs/policy-language.md).")
    severity: str
    category: str
    enabled: bool
    description: str | None = None
    message: str = Field(description="The finding text, with its `{placeholders}`.")
    set_at: str = Field(description="`FILE:LINE` where the rule starts.")
    fields: dict[str, RuleField] = Field(description="Every key of the rule, with its value and origin.")
    files: list[str] = Field(description="The files the policy is made from, base first.")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def explain_rule(policy: Policy, rule_id: str, shown: Callable[[str], str] = str) -> RuleExplanation:
    """Rule ``rule_id`` of ``policy``; ``shown`` names files (e.g. relative to the policies
    directory). An unknown id is ``policy.unknown-rule``, with the known ones."""
    doc = policy.document
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    params = data.get("parameters") or {}
    rules = data.get("rules") or []
    index = next((i for i, raw in enumerate(rules) if isinstance(raw, dict) and raw.get("id") == rule_id), None)
    ids = [r.id for r in policy.rules]
    if index is None or rule_id not in ids:
        text = rule_id if isinstance(rule_id, str) else repr(rule_id)
        raise InputError(Problem("policy.unknown-rule", f"policy `{policy.name}` has no rule `{text[:100]}` "
                                 f"(its rules: {', '.join(ids)}){did_you_mean(text, ids)}"))
    rule = policy.rule(rule_id)

    def where(loc: Loc | None) -> str:
        if loc is None or not loc.file:
            return "?"
        return f"{shown(loc.file)}:{loc.line}" if loc.line else shown(loc.file)

    def param_path(name: str) -> tuple:
        return ("parameters", name, "value") if isinstance(params.get(name), dict) else ("parameters", name)

    def param_value(name: str) -> Any:
        entry = params.get(name)
        return entry.get("value") if isinstance(entry, dict) else entry

    fields: dict[str, RuleField] = {}
    for key, value in rules[index].items():
        origin = where(doc.loc_of(("rules", index, key)))
        if isinstance(value, str) and value.startswith("$") and value[1:] in params:
            name = value[1:]
            fields[str(key)] = RuleField(value=_jsonable(param_value(name)), set_at=origin, parameter=name,
                                         parameter_set_at=where(doc.loc_of(param_path(name))))
        else:
            fields[str(key)] = RuleField(value=_jsonable(value), set_at=origin)
    return RuleExplanation(
        policy=policy.name, rule=rule.id, kind=rule.kind, severity=rule.severity, category=rule.category,
        enabled=rule.enabled, description=rule.description, message=rule.message,
        set_at=where(doc.loc_of(("rules", index))), fields=fields, files=[shown(str(p)) for p in policy.files])
