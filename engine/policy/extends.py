"""Policy composition: ``extends``, resolved into one document that remembers where each value came from.

An agency file says ``extends: etiquette`` (a shipped policy or one in the policies
directory, by name) or ``extends: ../base.yaml`` (a path relative to that file), and
then only what differs:

* ``parameters:`` a bare value overrides an inherited parameter; a new parameter is
  declared as ``{value: ..., description: ...}``;
* ``rules:`` an entry whose ``id`` is inherited overrides fields of that rule
  (mappings merge key by key, other values replace, ``null`` removes a field,
  ``enabled: false`` turns it off); an entry with a new ``id`` and a ``kind`` adds a rule;
* ``calendar:`` keys replace the inherited ones; ``policy``, ``description``,
  ``version`` replace theirs.

The merge is pure: the result is a new :class:`~engine.source.Document` whose
location index points, for every value, into the file that set it. So every later
error, ``followup policy show --effective`` and lint messages name the right file
and line. Chains are followed; a cycle is an error.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem, did_you_mean
from ..source import Document, load_document

__all__ = ["resolve_document", "MAX_DEPTH"]

#: the longest ``extends`` chain followed
MAX_DEPTH = 16

_REPLACED = ("policy", "description", "version")
_SECTIONS = {"extends", "parameters", "rules", "calendar", *_REPLACED}



class _Merged:
    """Data under construction with its two location indexes."""

    def __init__(self, base: Document):
        self.data = copy.deepcopy(base.data)
        self.values = dict(base.values)
        self.keys = dict(base.keys)

    def drop(self, path: tuple) -> None:
        n = len(path)
        for index in (self.values, self.keys):
            for p in [p for p in index if p[:n] == path]:
                del index[p]

    def graft(self, src: Document, src_path: tuple, dst_path: tuple) -> None:
        """Copy the locations of ``src`` under ``src_path`` to ``dst_path``."""
        n = len(src_path)
        for index, source in ((self.values, src.values), (self.keys, src.keys)):
            for p, loc in source.items():
                if p[:n] == src_path:
                    index[dst_path + p[n:]] = loc

    def merge(self, base_value: Any, src: Document, src_path: tuple, dst_path: tuple, value: Any) -> Any:
        """``value`` (from ``src`` at ``src_path``) laid over ``base_value`` at ``dst_path``."""
        if isinstance(value, dict) and isinstance(base_value, dict):
            out = dict(base_value)
            if src_path in src.values:
                self.values[dst_path] = src.values[src_path]
            for key, item in value.items():
                if item is None:
                    out.pop(key, None)
                    self.drop(dst_path + (key,))
                    continue
                out[key] = self.merge(base_value.get(key), src, src_path + (key,), dst_path + (key,), item)
                if src_path + (key,) in src.keys:
                    self.keys[dst_path + (key,)] = src.keys[src_path + (key,)]
            return out
        self.drop(dst_path)
        self.graft(src, src_path, dst_path)
        return copy.deepcopy(value)


def _merge(base: Document, child: Document) -> Document:
    problems: list[Problem] = []
    out = _Merged(base)
    data, cdata = out.data, child.data
    for key in _REPLACED:
        if key in cdata:
            data[key] = out.merge(None, child, (key,), (key,), cdata[key])
            out.keys[(key,)] = child.keys.get((key,), child.loc_of((key,)))
    if "policy" not in cdata:  # an agency file is named after itself, not after what it extends
        data["policy"] = Path(child.name).stem
        out.values[("policy",)] = child.loc_of(())

    params = data.setdefault("parameters", {})
    for name, value in (cdata.get("parameters") or {}).items():
        path = ("parameters", name)
        if name in params:
            inherited = params[name]
            if isinstance(inherited, dict) and "value" in inherited and not isinstance(value, dict):
                params[name] = out.merge(inherited, child, path, path, {"value": value})
                out.values[path + ("value",)] = child.loc_of(path)
            else:
                params[name] = out.merge(inherited, child, path, path, value)
        elif isinstance(value, dict) and "value" in value:
            params[name] = out.merge(None, child, path, path, value)
            out.keys[path] = child.keys.get(path, child.loc_of(path))
        else:
            hint = did_you_mean(name, params) or "; declare a new one as `{value: ..., description: ...}`"
            problems.append(Problem("extends.unknown-parameter",
                                    f"unknown parameter `{name}` (the policy this one extends has none){hint}",
                                    child.loc_of(path, key=True)))

    if isinstance(cdata.get("calendar"), dict):
        data["calendar"] = out.merge(data.get("calendar") or {}, child, ("calendar",), ("calendar",), cdata["calendar"])

    rules = data.setdefault("rules", [])
    index = {r.get("id"): i for i, r in enumerate(rules) if isinstance(r, dict)}
    for j, entry in enumerate(cdata.get("rules") or []):
        src = ("rules", j)
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            problems.append(Problem("extends.bad-rule", "each entry of `rules` needs an `id`", child.loc_of(src)))
            continue
        rule_id = entry["id"]
        if rule_id in index:
            i = index[rule_id]
            rules[i] = out.merge(rules[i], child, src, ("rules", i), entry)
        elif "kind" in entry:
            i = index[rule_id] = len(rules)
            rules.append(out.merge(None, child, src, ("rules", i), entry))
        else:
            hint = did_you_mean(rule_id, index) or "; to add a rule, give it a `kind`"
            problems.append(Problem("extends.unknown-rule", f"unknown rule id `{rule_id}`{hint}",
                                    child.loc_of(src + ("id",))))
    for key in cdata:
        if key not in _SECTIONS:
            out.values.setdefault((key,), child.loc_of((key,)))
            data[key] = copy.deepcopy(cdata[key])  # validation reports it as an unknown field, located
            out.keys[(key,)] = child.keys.get((key,), child.loc_of((key,)))
    if problems:
        raise InputError(problems)
    out.values[()] = child.loc_of(())
    return Document(data, child.name, out.values, out.keys)


def _locate_base(name: Any, child: Document, search: list[Path]) -> Path:
    from .loader import shipped_policies
    where = child.loc_of(("extends",))
    if not isinstance(name, str) or not name:
        raise InputError(Problem("extends.invalid", "`extends` takes a policy name or a relative path", where))
    if name.endswith((".yaml", ".yml", ".json")) or "/" in name and not name.startswith("agencies/"):
        path = (Path(child.name).parent / name)
        if not path.is_file():
            raise InputError(Problem("extends.not-found", f"no policy file `{name}` next to `{child.name}`", where))
        return path
    for directory in [Path(child.name).parent, *search]:  # a sibling file first
        for suffix in (".yaml", ".yml"):
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    shipped = shipped_policies()
    if name in shipped:
        return shipped[name]
    raise InputError(Problem("extends.not-found", f"no policy named `{name}`{did_you_mean(name, shipped)}", where))


def resolve_document(path: str | os.PathLike[str], search: list[Path] | None = None,
                     _chain: tuple[Path, ...] = ()) -> tuple[Document, tuple[Path, ...]]:
    """The effective document of the policy file at ``path`` and the files it was made from.

    ``search`` lists directories where ``extends`` names are looked up before the
    shipped policies.
    """
    here = Path(path).resolve()
    doc = load_document(path)
    if here in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, here))
        raise InputError(Problem("extends.cycle", f"`extends` makes a cycle: {cycle}", doc.loc_of(("extends",))))
    if len(_chain) >= MAX_DEPTH:
        raise InputError(Problem("extends.too-deep", f"`extends` chain longer than {MAX_DEPTH}", doc.loc_of(("extends",))))
    if not isinstance(doc.data, dict) or "extends" not in doc.data:
        return doc, (here,)
    base_path = _locate_base(doc.data["extends"], doc, list(search or []))
    base, files = resolve_document(base_path, search, (*_chain, here))
    return _merge(base, doc), (*files, here)
