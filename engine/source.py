"""Reading YAML and JSON documents while remembering where every value was written.

``load_document`` composes the YAML node tree (JSON is read by the same parser, so
JSON files get locations too), builds plain Python data from it and an index from
each value's path (``("events", 3, "at")``) to its :class:`~engine.errors.Loc`.
Validation errors, which speak in paths, are turned back into ``file:line:col``
with :meth:`Document.loc_of`.

Scalars are built conservatively: timestamps stay strings (the timeline parser
decides what a zone-less time means, never YAML), and only ``true``/``false`` are
booleans, so a country code ``NO`` stays the string ``"NO"``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import InputError, Loc, Problem

__all__ = ["Document", "load_document", "parse_document", "MAX_BYTES"]

#: inputs larger than this are refused with a located error rather than read
MAX_BYTES = 16 * 1024 * 1024

Path = tuple[Any, ...]

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass
class Document:
    data: Any
    name: str
    values: dict[Path, Loc] = field(default_factory=dict)
    keys: dict[Path, Loc] = field(default_factory=dict)

    def loc_of(self, path: Path, *, key: bool = False) -> Loc:
        """The location of ``path``, or of its nearest recorded ancestor."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Loc(self.name, 1, 1))


def _loc(name: str, mark: yaml.Mark) -> Loc:
    return Loc(name, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, name: str):
        self.name = name
        self.values: dict[Path, Loc] = {}
        self.keys: dict[Path, Loc] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
        yaml.constructor.SafeConstructor.__init__(self._constructor)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.values[path] = _loc(self.name, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(Problem("yaml.merge-key", "merge keys (`<<`) are not supported",
                                                 _loc(self.name, key_node.start_mark)))
                    continue
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    self.problems.append(Problem("yaml.bad-key", "mapping keys must be plain strings",
                                                 _loc(self.name, key_node.start_mark)))
                    continue
                key = str(key)
                if key in out:
                    self.problems.append(Problem("yaml.duplicate-key", f"duplicate key `{key}`",
                                                 _loc(self.name, key_node.start_mark)))
                    continue
                self.keys[path + (key,)] = _loc(self.name, key_node.start_mark)
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _TIMESTAMP or node.tag == _STR:
            return node.value
        if node.tag == _BOOL:
            low = node.value.lower()
            return {"true": True, "false": False}.get(low, node.value)
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return node.value


def parse_document(text: str, name: str) -> Document:
    """Parse YAML or JSON text into a :class:`Document`; raise :class:`InputError`."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(name, mark) if mark else Loc(name)
        what = exc.problem or exc.context or "malformed document"
        raise InputError(Problem("yaml.syntax", f"malformed YAML/JSON: {what}", loc)) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem("yaml.syntax", f"malformed YAML/JSON: {exc}", Loc(name))) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise InputError(Problem("yaml.empty", "the document is empty", Loc(name, 1, 1)))
    if len(nodes) > 1:
        raise InputError(Problem("yaml.multiple-documents", "expected one document, found several",
                                 _loc(name, nodes[1].start_mark)))
    builder = _Builder(name)
    data = builder.build(nodes[0], ())
    if builder.problems:
        raise InputError(builder.problems)
    return Document(data, name, builder.values, builder.keys)


def load_document(path: str | os.PathLike[str]) -> Document:
    """Read a YAML or JSON file, refusing missing, unreadable and oversized files."""
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        if size > MAX_BYTES:
            raise InputError(Problem("input.too-large",
                                     f"file is {size} bytes; the limit is {MAX_BYTES} bytes", Loc(name)))
        with open(name, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InputError(Problem("input.not-found", "no such file", Loc(name))) from None
    except IsADirectoryError:
        raise InputError(Problem("input.not-a-file", "is a directory, not a file", Loc(name))) from None
    except UnicodeDecodeError as exc:
        raise InputError(Problem("input.encoding", f"not UTF-8 text (byte {exc.start})", Loc(name))) from None
    except OSError as exc:
        raise InputError(Problem("input.unreadable", exc.strerror or str(exc), Loc(name))) from None
    return parse_document(text, name)


def pydantic_problems(exc: Any, doc: Document, code_prefix: str, root: Path = ()) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into located problems."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = _data_path(doc.data, root, err["loc"], keep_last=err["type"] == "extra_forbidden")
        path = root + loc
        kind = err["type"]
        if kind == "extra_forbidden":
            field_name = loc[-1] if loc else "?"
            msg = f"unknown field `{field_name}`"
            where = doc.loc_of(path, key=True)
            code = f"{code_prefix}.unknown-field"
        elif kind == "missing":
            missing_name = err["loc"][-1] if err["loc"] else None
            msg = f"missing required field `{missing_name}`" if missing_name is not None else "missing required field"
            # the path points at the missing key when the data had it, else at its parent
            where = doc.loc_of(path[:-1] if loc and loc[-1] == missing_name else path)
            code = f"{code_prefix}.missing-field"
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            msg = (f"unknown {ctx.get('discriminator', 'tag').strip(chr(39))} `{ctx.get('tag')}`; "
                   f"expected one of: {ctx.get('expected_tags', '').replace(chr(39), '')}")
            where = doc.loc_of(path + (ctx.get("discriminator", "").strip("'"),))
            code = f"{code_prefix}.unknown-type"
        else:
            msg = _clean(err["msg"])
            if loc:
                msg = f"`{dotted_path(loc)}`: {msg}"
            where = doc.loc_of(path)
            code = f"{code_prefix}.invalid"
        problems.append(Problem(code, msg, where, path=dotted_path(path)))
    return problems


def _data_path(data: Any, root: Path, loc: tuple, keep_last: bool = True) -> Path:
    """Drop the parts of a pydantic error path that name a union member, not a key.

    pydantic inserts the chosen member of a tagged union (``interview``) into ``loc``;
    walking the real data tells such parts apart from keys. An unknown field is the last
    part and is kept even though the data has it (that is what the error is about).
    """
    node = data
    for part in root:
        node = node[part] if isinstance(node, (dict, list)) else None
    out: list[Any] = []
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict):
            if part in node:
                out.append(part)
                node = node[part]
            elif last and (keep_last or isinstance(part, int)):
                out.append(part)
        elif isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        elif node is None or last:
            out.append(part)
            node = None
    return tuple(out)


def _clean(msg: str) -> str:
    msg = msg.replace("\n", " ").strip()
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg[:1].lower() + msg[1:] if msg else msg


def dotted_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def draft07_schema(adapter_or_model: Any, title: str) -> dict:
    """A JSON Schema for a pydantic model or TypeAdapter that uses only draft-07 keywords
    (YAML language servers in common editors support no newer draft)."""
    make = getattr(adapter_or_model, "model_json_schema", None) or adapter_or_model.json_schema
    schema = make(ref_template="#/definitions/{model}", by_alias=True)
    if "$defs" in schema:
        schema["definitions"] = schema.pop("$defs")
    return {"$schema": "http://json-schema.org/draft-07/schema#", **schema, "title": title}
