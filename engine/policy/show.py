"""Explaining policies: the effective policy with the origin of every value, and diffs in words.

Policies are untrusted: every line printed here goes through
:func:`~engine.report.escape.escape_text`, so a key, value, message or file name cannot
break a line or reach the terminal as a control or bidi character. In
``show --effective`` a string that needs escaping is written double-quoted, where the
escapes (YAML's own such as ``\\n`` and ``\\e``, then ``\\u202e`` for what YAML would
print raw) mean in YAML what they show. ``show`` without ``--effective`` prints the file
as written, line by line, with the same escaping (a tab in it shows as ``\\t``).
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from ..duration import Duration
from ..errors import Loc
from ..report.escape import escape_text
from .loader import Policy

__all__ = ["show_source", "show_effective", "diff_policies"]


def _where(loc: Loc | None) -> str:
    if loc is None:
        return "?"
    name = loc.file
    try:
        rel = os.path.relpath(name)
        if not rel.startswith(".."):
            name = rel
    except ValueError:
        pass
    return f"{name}:{loc.line}"


class _Dumper(yaml.SafeDumper):
    """Writes strings that need escaping double-quoted, on one line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if escape_text(value) != value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _scalar(value: Any) -> str:
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=10_000, allow_unicode=True).strip()
    return text[:-4].strip() if text.endswith("\n...") or text.endswith(" ...") else text.removesuffix("...").strip()


def show_effective(policy: Policy) -> str:
    """The effective policy as YAML, each value followed by ``# file:line`` of where it was set.

    A value written as ``$name`` shows the parameter's value and where that was set.
    """
    doc = policy.document
    data = doc.data
    params = data.get("parameters") or {}
    lines: list[str] = []
    width = 60

    def emit(text: str, origin: str) -> None:
        text = escape_text(text)  # before padding, so that the origins line up
        lines.append(f"{text:<{width}} # {origin}" if origin else text)

    def param_origin(name: str) -> str:
        entry = params.get(name)
        path = ("parameters", name, "value") if isinstance(entry, dict) else ("parameters", name)
        return _where(doc.loc_of(path))

    def param_value(name: str) -> Any:
        entry = params.get(name)
        return entry.get("value") if isinstance(entry, dict) else entry

    def resolve(value: Any, used: list[str]) -> Any:
        if isinstance(value, str) and value.startswith("$") and value[1:] in params:
            used.append(value[1:])
            return param_value(value[1:])
        if isinstance(value, dict):
            return {k: resolve(v, used) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, used) for v in value]
        return value

    def leaf(indent: str, key: str, value: Any, path: tuple) -> None:
        used: list[str] = []
        shown = resolve(value, used)
        origin = _where(doc.loc_of(path))
        if used:
            names = "; ".join(f"${n}, set at {param_origin(n)}" for n in dict.fromkeys(used))
            origin = f"{names} (used at {origin})"
        emit(f"{indent}{key}: {_scalar(shown)}", origin)

    for key in ("policy", "extends", "description", "version"):
        if key in data:
            leaf("", key, data[key], (key,))
    if params:
        lines.append("parameters:")
        for name, entry in params.items():
            emit(f"  {_scalar(name)}: {_scalar(param_value(name))}", param_origin(name))
    if data.get("calendar"):
        lines.append("calendar:")
        for key, value in data["calendar"].items():
            leaf("  ", key, value, ("calendar", key))
    lines.append("rules:")
    for i, rule in enumerate(data.get("rules") or []):
        first = True
        for key, value in rule.items():
            prefix = "  - " if first else "    "
            first = False
            leaf(prefix, key, value, ("rules", i, key))
    if policy.files and len(policy.files) > 1:
        lines.append("")
        lines.append("# made from: " + " <- ".join(_where(Loc(str(p), 1)).rsplit(":", 1)[0] for p in policy.files))
    return "\n".join(escape_text(line) for line in lines) + "\n"


def show_source(policy: Policy) -> str:
    """The policy's own file as written, each line escaped (a tab shows as ``\\t``)."""
    text = policy.files[-1].read_text(encoding="utf-8")
    return "\n".join(escape_text(line) for line in text.split("\n"))


def _plain(value: Any) -> Any:
    if isinstance(value, Duration):
        return value.describe()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _words(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_words(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_words(v) for v in value) + "]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _fields(rule) -> dict[str, Any]:
    out = {}
    for name, info in type(rule).model_fields.items():
        value = getattr(rule, name)
        if hasattr(value, "model_dump"):
            value = value.model_dump(by_alias=True, exclude_none=True)
        out[info.alias or name] = _plain(value)
    return out


def diff_policies(a: Policy, b: Policy) -> list[str]:
    """Rule-by-rule differences from ``a`` to ``b``, one sentence each."""
    out: list[str] = []
    rules_a = {r.id: r for r in a.rules}
    rules_b = {r.id: r for r in b.rules}
    for rule_id in rules_a:
        if rule_id not in rules_b:
            out.append(f"rule `{rule_id}` ({rules_a[rule_id].kind}) is only in {a.name}")
    for rule_id, rule in rules_b.items():
        if rule_id not in rules_a:
            state = "" if rule.enabled else ", disabled"
            out.append(f"rule `{rule_id}` ({rule.kind}, {rule.severity}{state}) is only in {b.name}: {rule.message}")
            continue
        old, new = _fields(rules_a[rule_id]), _fields(rule)
        if old.get("enabled") != new.get("enabled"):
            out.append(f"rule `{rule_id}` is {'enabled' if new.get('enabled') else 'disabled'} in {b.name}")
        for key in new:
            if key in ("enabled", "description") or old.get(key) == new.get(key):
                continue
            if key == "message":
                out.append(f"rule `{rule_id}`: the message differs")
                continue
            out.append(f"rule `{rule_id}`: {key} {_words(old.get(key, 'unset'))} in {a.name}, "
                       f"{_words(new.get(key, 'unset'))} in {b.name}")
    cal_a, cal_b = a.program.calendar, b.program.calendar
    if cal_a != cal_b:
        out.append(f"calendar: {_words(_calendar(cal_a))} in {a.name}, {_words(_calendar(cal_b))} in {b.name}")
    return [escape_text(line) for line in out]


def _calendar(spec) -> dict:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"weekend": [days[d] for d in sorted(spec.weekend)],
            "closures": sorted(str(d) for d in spec.closures), "public_holidays": spec.public_holidays}
