"""Policy composition: ``extends``, resolved into one document that remembers where each value came from.

An agency file says ``extends: etiquette`` (a shipped policy or one in the policies
directory, by name) or ``extends: base.yaml`` (a path relative to that file), and
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

Agency files are untrusted. ``extends`` never leaves its *root*: the ``--policies``
directory for a policy in it (the shipped policies' directory for a shipped one),
otherwise the directory of the policy file named; symlinks are followed before the
check (``extends.outside-root``), absolute paths are refused (``extends.absolute-path``),
and a file that is not a policy is reported without quoting it (``extends.not-a-policy``).
Every section of an agency file, and of a policy one extends, has its type checked
before merging (``extends.invalid-section``).
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

    params = data["parameters"] = data.get("parameters") or {}
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

    if cdata.get("calendar") is not None:  # a mapping: checked by _section_problems
        data["calendar"] = out.merge(data.get("calendar") or {}, child, ("calendar",), ("calendar",), cdata["calendar"])

    rules = data["rules"] = data.get("rules") or []
    index = {r["id"]: i for i, r in enumerate(rules) if isinstance(r, dict) and isinstance(r.get("id"), str)}
    for j, entry in enumerate(cdata.get("rules") or []):
        src = ("rules", j)
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            problems.append(Problem("extends.bad-rule", "each entry of `rules` is a mapping with an `id`",
                                    child.loc_of(src)))
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


# --------------------------------------------------------------------------- section types

_NoneType = type(None)

#: what each section of an agency file (or of a policy another one extends) must be
_SECTION_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "extends": ((str,), "a policy name or a relative path"),
    "policy": ((str,), "a string"),
    "description": ((str, _NoneType), "a string"),
    "version": ((int, str, _NoneType), "a number or a string"),
    "parameters": ((dict, _NoneType), "a mapping"),
    "calendar": ((dict, _NoneType), "a mapping"),
    "rules": ((list, _NoneType), "a list"),
}

#: a policy file has at least one of these
_POLICY_KEYS = {"policy", "rules", "extends"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "a mapping", list: "a list", str: "a string", _NoneType: "null"}.get(type(value), "a value")


def _section_problems(doc: Document) -> list[Problem]:
    """A located ``extends.invalid-section`` for each section of ``doc`` of the wrong type."""
    problems = []
    for key, (types, what) in _SECTION_TYPES.items():
        if key not in doc.data:
            continue
        value = doc.data[key]
        if not isinstance(value, types) or isinstance(value, bool) and bool not in types:
            problems.append(Problem("extends.invalid-section", f"`{key}` must be {what}, not {_kind(value)}",
                                    doc.loc_of((key,))))
    return problems


def _is_policy(data: Any) -> bool:
    """A mapping of policy sections only, with at least ``policy``, ``rules`` or ``extends``."""
    return isinstance(data, dict) and set(data) <= _SECTIONS and bool(_POLICY_KEYS & set(data))


# --------------------------------------------------------------------------- finding the base

def _shown(name: str) -> str:
    """``name`` as quoted in a message: one line, at most 80 characters."""
    text = name if name.isprintable() else name.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 80 else text[:77] + "..."


def _resolved(path: Path) -> Path | None:
    """``path`` with every symlink followed, or None if it cannot be resolved (a loop, a NUL byte...)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _is_file(path: Path) -> bool:
    """A regular file (not a directory, device or FIFO, which would block or never end)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _root_of(path: Path, search: list[Path]) -> Path:
    """The directory a policy named by the user may extend from: the first ``search`` directory
    it is in, the shipped policies' directory if it is one of them, else its own directory."""
    from .loader import shipped_dir
    absolute, real = Path(os.path.abspath(path)), _resolved(path)
    for directory in (*search, shipped_dir()):
        d_real = _resolved(directory)
        if d_real is None:
            continue
        if absolute.is_relative_to(Path(os.path.abspath(directory))) or real is not None and _inside(real, d_real):
            return d_real
    return _resolved(absolute.parent) or absolute.parent


def _is_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml", ".json")) or "/" in name and not name.startswith("agencies/") \
        or os.path.isabs(name)


def _locate_base(name: Any, child: Document, search: list[Path], root: Path) -> tuple[Path, Path]:
    """The file ``extends: name`` in ``child`` means, and the root that file may in turn extend from.

    A path is relative to ``child``'s file and must stay inside ``root`` once symlinks are
    followed; a name is looked up beside ``child`` (inside ``root``), in the ``search``
    directories (inside each), then among the shipped policies.
    """
    from .loader import shipped_dir, shipped_policies
    where = child.loc_of(("extends",))
    if not name:
        raise InputError(Problem("extends.invalid", "`extends` takes a policy name or a relative path", where))
    shown = _shown(name)
    if _is_path(name):
        if os.path.isabs(name):
            raise InputError(Problem("extends.absolute-path",
                                     f"`extends` takes a path relative to this file, not an absolute one: `{shown}`",
                                     where))
        candidate = Path(child.name).parent / name
        real = _resolved(candidate)
        if real is not None and not _inside(real, root):
            raise InputError(Problem("extends.outside-root", f"`{shown}` leads outside the directory this policy "
                                     "may extend from (its `--policies` directory, or its own)", where))
        if real is None or not _is_file(candidate):
            raise InputError(Problem("extends.not-found", f"no policy file `{shown}` next to this file", where))
        return candidate, root
    for directory, d_root in [(Path(child.name).parent, root), *((d, _resolved(d)) for d in search)]:
        if d_root is None:
            continue
        for suffix in (".yaml", ".yml"):  # a sibling file first
            candidate = directory / f"{name}{suffix}"
            real = _resolved(candidate)
            if real is None:
                continue
            if not _inside(real, d_root):
                raise InputError(Problem("extends.outside-root", f"`{shown}` leads outside the directory this "
                                         "policy may extend from (its `--policies` directory, or its own)", where))
            if _is_file(candidate):
                return candidate, d_root
    shipped = shipped_policies()
    if name in shipped:
        return shipped[name], _resolved(shipped_dir()) or shipped_dir()
    raise InputError(Problem("extends.not-found", f"no policy named `{shown}`{did_you_mean(name, shipped)}", where))


def resolve_document(path: str | os.PathLike[str], search: list[Path] | None = None, *,
                     read: list[Path] | None = None) -> tuple[Document, tuple[Path, ...]]:
    """The effective document of the policy file at ``path`` and the files it was made from.

    ``search`` lists directories where ``extends`` names are looked up before the
    shipped policies. ``extends`` never leaves the *root* of ``path``: the first
    ``search`` directory that holds it (or the shipped policies' directory), else the
    directory ``path`` is in. ``read``, if given, receives the resolved path of every
    file read, also when resolution fails (the policy store watches them).
    """
    dirs = [Path(d) for d in (search or [])]
    return _resolve(Path(path), dirs, (), _root_of(Path(path), dirs), read, None)


def _resolve(path: Path, search: list[Path], chain: tuple[Path, ...], root: Path, read: list[Path] | None,
             via: tuple[str, Any] | None) -> tuple[Document, tuple[Path, ...]]:
    here = _resolved(path) or Path(os.path.abspath(path))
    if read is not None:
        read.append(here)
    doc = load_document(path)
    if via is not None and not _is_policy(doc.data):
        # said without quoting the file: it may be anything (a key name or a value could be a secret)
        name, where = via
        raise InputError(Problem("extends.not-a-policy",
                                 f"`{_shown(name)}` is not a policy file: a mapping of policy sections "
                                 f"({', '.join(sorted(_SECTIONS))}) with `policy`, `rules` or `extends`", where))
    if here in chain:
        cycle = " -> ".join(p.name for p in (*chain, here))
        raise InputError(Problem("extends.cycle", f"`extends` makes a cycle: {cycle}", doc.loc_of(("extends",))))
    if len(chain) >= MAX_DEPTH:
        raise InputError(Problem("extends.too-deep", f"`extends` chain longer than {MAX_DEPTH}", doc.loc_of(("extends",))))
    if not isinstance(doc.data, dict) or via is None and "extends" not in doc.data:
        return doc, (here,)  # a plain policy: the loader validates it
    problems = _section_problems(doc)
    if problems:
        raise InputError(problems)
    if "extends" not in doc.data:
        return doc, (here,)
    name = doc.data["extends"]
    base_path, base_root = _locate_base(name, doc, search, root)
    base, files = _resolve(base_path, search, (*chain, here), base_root, read, (name, doc.loc_of(("extends",))))
    return _merge(base, doc), (*files, here)
