"""Reading YAML and JSON documents, bounded, fast, and located when there is an error.

Every document (a file, stdin, a request body, an ``--action``) is untrusted. It is read
with :func:`read_document`, which

* reads at most ``limits.max_bytes + 1`` bytes from any file, pipe or device (``-`` is
  stdin), so ``/dev/zero`` or a never-ending pipe is refused with ``input.too-large``;
* parses JSON with :func:`json.loads` and everything else with libyaml's C parser
  (``yaml.CParser``), building plain data from the parser's event stream, which is
  iterative: nothing recurses, whatever the nesting;
* refuses, before anything grows, nesting deeper than ``limits.max_depth``
  (``input.too-deep``), a document larger than ``limits.max_nodes`` after alias expansion
  (``input.too-many-nodes``; the size is computed with one memoised count per anchor,
  aliases are never expanded), integers of more than :data:`~engine.limits.MAX_INT_DIGITS`
  digits (``input.number-too-large``), non-finite floats (``.inf``: ``input.number-too-large``,
  ``.nan``: ``input.not-a-number``) and any tag outside the core schema
  (``yaml.unsupported-tag``).

The index from each value's path (``("events", 3, "at")``) to its :class:`~engine.errors.Loc`
is built lazily, by a second, location-recording pass, only when :meth:`Document.loc_of`
is asked for a location (that is, when there is an error to report). A text that
``json.loads`` reads is JSON and has JSON's meaning (``1e5`` is a number, an escaped
surrogate pair is one character); for such a text the YAML pass only gives locations. A
YAML text is read by the YAML pass alone, so both passes give the same data.

Scalars are built conservatively: timestamps stay strings (the timeline parser decides
what a zone-less time means, never YAML), and only ``true``/``false`` are booleans, so a
country code ``NO`` stays the string ``"NO"``. Merge keys (``<<``), duplicate keys and
keys that are not strings or integers are errors.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from typing import Any

import yaml
from yaml.events import (AliasEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent)

from .duration import shown
from .errors import InputError, Loc, Problem
from .limits import DEFAULT_LIMITS, MAX_INT_DIGITS, Limits

__all__ = ["Document", "read_document", "load_document", "parse_document", "parse_located", "MAX_BYTES",
           "STDIN_NAME"]

#: inputs larger than this are refused with a located error rather than read
#: (the default of :attr:`Limits.max_bytes <engine.limits.Limits.max_bytes>`)
MAX_BYTES = DEFAULT_LIMITS.max_bytes

#: the name standard input (the path ``-``) has in locations
STDIN_NAME = "<stdin>"

Path = tuple[Any, ...]

try:  # libyaml's C parser, where PyYAML was built with it (its wheels are)
    from yaml.cyaml import CParser as _Parser
    _C_PARSER = True
except ImportError:  # pragma: no cover - PyYAML without libyaml: the same events, slower
    _C_PARSER = False

    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str):
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)

_Y = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _Y + "str", _Y + "int", _Y + "float", _Y + "bool", _Y + "null"
_TIMESTAMP, _MERGE, _SEQ, _MAP = _Y + "timestamp", _Y + "merge", _Y + "seq", _Y + "map"
#: the tags a scalar may carry: the core schema, and timestamps (kept as strings)
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP}
_CORE_TAGS = _SCALAR_TAGS | {_SEQ, _MAP}
#: PyYAML's implicit resolvers (YAML 1.1), copied so that no loader subclass can change them
_IMPLICIT = {first: list(resolvers) for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()}
_PATTERN = {tag: regexp for resolvers in _IMPLICIT.values() for tag, regexp in resolvers}
_TRUE_FALSE = {"true": True, "false": False}

#: at most this many location entries are copied for aliases; beyond, an aliased value
#: is located at its anchor as a whole
_MAX_COPIED_LOCATIONS = 100_000


class Document:
    """Parsed data, its name (a path, ``<stdin>``, ``request``...) and where each value was written.

    ``values`` and ``keys`` map a path to the location of the value, or of the key, at that
    path. For a document read by :func:`read_document` they are computed on first use.
    """

    def __init__(self, data: Any, name: str, values: dict[Path, Loc] | None = None,
                 keys: dict[Path, Loc] | None = None, *, text: str | None = None,
                 limits: Limits = DEFAULT_LIMITS, json_text: bool = False):
        self.data = data
        self.name = name
        self._values = values
        self._keys = keys
        self._text = text
        self._limits = limits
        self._focused = False
        #: read by json.loads; locations come from the YAML pass on ``_for_yaml(text)``
        self._json = json_text

    def __repr__(self) -> str:
        return f"Document({self.name!r})"

    @property
    def is_json(self) -> bool:
        """Whether the text was JSON (read by ``json.loads``, with JSON's meaning)."""
        return self._json

    def _yaml_path(self, path: Path) -> Path:
        """``path`` (into JSON data) as the location pass spells it: a key that held an
        escaped surrogate pair or a character YAML cannot read is written otherwise in the
        text that pass reads, so keys are matched by position instead."""
        try:
            other = _build(self._text, self.name, self._limits, record=False).data if self._text else None
        except InputError:
            return path
        node, mirror, out = self.data, other, []
        for part in path:
            if isinstance(node, dict) and isinstance(mirror, dict) and part in node and len(node) == len(mirror):
                i = list(node).index(part)
                key = list(mirror)[i]
                out.append(key)
                node, mirror = node[part], mirror[key]
            elif isinstance(node, list) and isinstance(mirror, list) and isinstance(part, int) and part < len(node):
                out.append(part)
                node, mirror = node[part], (mirror[part] if part < len(mirror) else None)
            else:
                out.append(part)
                node = mirror = None
        return tuple(out)

    def _index(self) -> None:
        values: dict[Path, Loc] = {}
        keys: dict[Path, Loc] = {}
        if self._text is not None:
            try:
                located = _build(self._text, self.name, self._limits, record=True)
                values, keys = located.values, located.keys
            except InputError:  # cannot happen for text the fast pass accepted; locate nothing
                pass
        self._values = values if self._values is None else self._values
        self._keys = keys if self._keys is None else self._keys
        self._text = None

    @property
    def values(self) -> dict[Path, Loc]:
        if self._values is None:
            self._index()
        return self._values  # type: ignore[return-value]

    @property
    def keys(self) -> dict[Path, Loc]:
        if self._keys is None:
            self._index()
        return self._keys  # type: ignore[return-value]

    def loc_of(self, path: Path, *, key: bool = False) -> Loc:
        """The location of ``path``, or of its nearest recorded ancestor.

        The first question is answered by a pass that stops at ``path``; the next ones
        by the whole index, built once.
        """
        path = tuple(path)
        if self._json and any(isinstance(p, str) and re.search(_KEY_MAY_DIFFER, p) for p in path):
            path = self._yaml_path(path)
        if self._values is None and self._text is not None and not self._focused:
            self._focused = True
            found = _locate(self._text, self.name, self._limits, path, key)
            if found is not None:
                return _lookup(found[0], found[1], path, key, self.name)
        return _lookup(self.values, self.keys, path, key, self.name)


def _lookup(values: dict[Path, Loc], keys: dict[Path, Loc], path: Path, key: bool, name: str) -> Loc:
    if key and path in keys:
        return keys[path]
    while path:
        if path in values:
            return values[path]
        path = path[:-1]
    return values.get((), Loc(name, 1, 1))


# ---------------------------------------------------------------------------------------
# reading


def read_document(source: str | bytes | os.PathLike[str], name: str | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> Document:
    """A :class:`Document` from a file, or from text; raise :class:`InputError`.

    Without ``name``, ``source`` is a path (``-`` is standard input, named ``<stdin>``):
    at most ``limits.max_bytes + 1`` bytes are read from it, whatever it is (a file, a
    pipe, a device). With ``name``, ``source`` is the document's text (``str``, or UTF-8
    ``bytes``) and ``name`` is what locations call it (e.g. ``request``).
    """
    if name is None:
        name, raw = _read_bytes(source, limits)
        text = _decode(raw, name)
    elif isinstance(source, (bytes, bytearray)):
        _check_size(len(source), name, limits)
        text = _decode(bytes(source), name)
    elif isinstance(source, str):
        text = source
        _check_size(_size(text), name, limits)
    else:
        raise TypeError(f"read_document: with a name, the source is text (str or bytes), not {type(source).__name__}")
    return _parse(text, name, limits)


def load_document(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read a YAML or JSON file (``-``: stdin), refusing missing, unreadable and oversized ones."""
    return read_document(path, limits=limits)


def parse_document(text: str, name: str, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse YAML or JSON text into a :class:`Document`; raise :class:`InputError`."""
    return read_document(text, name, limits)


def parse_located(text: str, name: str, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse ``text`` recording every value's location at once (the pass :meth:`Document.loc_of`
    runs lazily); the same data, or the same errors, as :func:`read_document`."""
    _check_size(_size(text), name, limits)
    if text.startswith("\ufeff"):
        text = text[1:]
    built = _build(text, name, limits, record=True)
    return Document(built.data, name, built.values, built.keys)


def _size(text: str) -> int:
    """The size of ``text`` in UTF-8 bytes."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _check_size(size: int, name: str, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise InputError(Problem("input.too-large", f"the input is {size} bytes; the limit is {limits.max_bytes} bytes",
                                 Loc(name)))


def _read_bytes(path: str | bytes | os.PathLike[str], limits: Limits) -> tuple[str, bytes]:
    """The name and at most ``max_bytes`` bytes of ``path``; more is ``input.too-large``."""
    if isinstance(path, (bytes, bytearray)):
        path = os.fsdecode(bytes(path))
    name = os.fspath(path)
    if name == "-":
        name = STDIN_NAME
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # stdin replaced by a text stream (tests, embedding)
            text = sys.stdin.read(limits.max_bytes + 1)
            raw = text.encode("utf-8", "surrogateescape")
        else:
            raw = _read_bounded(stream, name, limits)
        _check_read(raw, name, limits)
        return name, raw
    try:
        with open(name, "rb") as fh:
            st = os.fstat(fh.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size > limits.max_bytes:
                raise InputError(Problem("input.too-large", f"the file is {st.st_size} bytes; "
                                         f"the limit is {limits.max_bytes} bytes", Loc(name)))
            raw = _read_bounded(fh, name, limits)
    except FileNotFoundError:
        raise InputError(Problem("input.not-found", "no such file", Loc(name))) from None
    except IsADirectoryError:
        raise InputError(Problem("input.not-a-file", "is a directory, not a file", Loc(name))) from None
    except OSError as exc:
        raise InputError(Problem("input.unreadable", exc.strerror or str(exc), Loc(name))) from None
    _check_read(raw, name, limits)
    return name, raw


def _read_bounded(stream: Any, name: str, limits: Limits) -> bytes:
    try:
        return stream.read(limits.max_bytes + 1)
    except OSError as exc:
        raise InputError(Problem("input.unreadable", exc.strerror or str(exc), Loc(name))) from None


def _check_read(raw: bytes, name: str, limits: Limits) -> None:
    if len(raw) > limits.max_bytes:
        raise InputError(Problem("input.too-large", f"the input is larger than the limit of {limits.max_bytes} bytes",
                                 Loc(name)))


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(Problem("input.encoding", f"not UTF-8 text (byte {exc.start})", Loc(name))) from None


# ---------------------------------------------------------------------------------------
# parsing


def _parse(text: str, name: str, limits: Limits) -> Document:
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark; YAML skips it, json.loads refuses it
    data = _json_fast(text, limits)
    if data is _FALLBACK:
        data = _build(text, name, limits, record=False).data
        return Document(data, name, text=text, limits=limits)
    if isinstance(data, _Refused):
        # json.loads read it, but it breaks a rule (a duplicate key, a huge number, a limit):
        # the YAML pass, on the same text made readable to it, says where; where it cannot
        # read the text, the problem is reported without a position
        try:
            _build(_for_yaml(text), name, limits, record=False)
        except InputError as exc:
            if any(p.code == data.code for p in exc.problems):
                raise
        raise InputError(Problem(data.code, data.message, Loc(name))) from None
    return Document(data, name, text=_for_yaml(text), limits=limits, json_text=True)


class _Fallback(Exception):
    """The JSON fast path cannot read the text: parse it as YAML."""


class _Refused(Exception):
    """The text is JSON that breaks a rule: the YAML pass locates the problem."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


_FALLBACK: Any = _Fallback
#: a surrogate escape: json.loads joins pairs (``\ud83d\ude00`` is one emoji), libyaml refuses them
_JSON_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
#: a key with such a character, or one beyond the BMP (maybe written as a surrogate
#: pair), may read otherwise in the location pass (this and the next are pattern texts, compiled
#: by ``re`` on first use: large character classes take milliseconds to compile, and only JSON
#: text outside ASCII needs them)
_KEY_MAY_DIFFER = "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd]|[\u2028\u2029\ufeff]"
#: raw characters YAML refuses, or reads as a line break, that a JSON string may hold
_YAML_UNREADABLE = "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]"


def _for_yaml(text: str) -> str:
    """A JSON text that libyaml can read with every value at the same line and column.

    JSON is read with ``json.loads`` (its own semantics: ``1e5`` is a number, escaped
    surrogate pairs are one character); only the locations come from the YAML pass. Two
    things valid JSON may hold that libyaml refuses are replaced by text of the same
    length: surrogate escapes (by ``\\u0058``), tabs (always whitespace in JSON: JSON
    strings cannot hold a raw tab), and the raw characters YAML does not read or reads as
    line breaks (DEL, C1 controls, NEL, LS, PS, BOM, noncharacters; JSON allows them
    inside strings) by ``X``.
    """
    if "\t" in text:
        text = text.replace("\t", " ")
    if "\\u" in text:
        text = _JSON_SURROGATE.sub(r"\\u0058", text)
    if not text.isascii() or "\x7f" in text:
        text = re.sub(_YAML_UNREADABLE, "X", text)
    return text


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _Refused("yaml.duplicate-key", f"duplicate key `{shown(key, 60)}`")
    return out


def _json_int(literal: str) -> int:
    digits = len(literal) - literal.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _Refused("input.number-too-large",
                       f"an integer of {digits} digits is too large; the limit is {MAX_INT_DIGITS} digits")
    return int(literal)


def _json_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused("input.number-too-large", f"`{literal[:40]}` is beyond the range of a number")
    return value


def _json_constant(literal: str) -> Any:
    raise _Refused("input.not-a-number", f"`{literal}` is not a JSON number")


def _json_fast(text: str, limits: Limits) -> Any:
    """``text`` read by ``json.loads`` when it is JSON; ``_FALLBACK`` when it is not (then
    it is YAML, or malformed); a :class:`_Refused` when it is JSON that breaks a rule."""
    start = text.lstrip(" \t\r\n")[:1]
    if start not in ("{", "["):
        return _FALLBACK
    try:
        data = json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int,
                          parse_float=_json_float, parse_constant=_json_constant)
    except _Refused as exc:
        try:  # refused on the way: is the whole text JSON at all, or YAML that began like JSON?
            json.loads(text, parse_constant=float)
        except (ValueError, RecursionError):
            return _FALLBACK
        return exc
    except RecursionError:
        return _Refused("input.too-deep", f"mappings and sequences are nested deeper than {limits.max_depth} levels")
    except ValueError:
        return _FALLBACK
    # a JSON text nests at most as deep as it has brackets, and a text of n characters
    # has at most n // 2 + 1 nodes: only data that could break a limit is measured
    if text.count("[") + text.count("{") > limits.max_depth and not _shallow(data, limits.max_depth):
        return _Refused("input.too-deep", f"mappings and sequences are nested deeper than {limits.max_depth} levels")
    if len(text) // 2 + 1 > limits.max_nodes and _nodes(data) > limits.max_nodes:
        return _Refused("input.too-many-nodes", f"the document has more than {limits.max_nodes} nodes")
    return data


def _shallow(data: Any, max_depth: int) -> bool:
    """Whether parsed JSON nests mappings and sequences at most ``max_depth`` deep."""
    stack = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if depth > max_depth:
            return False
        for item in (value.values() if value.__class__ is dict else value):
            if item.__class__ is dict or item.__class__ is list:
                push((item, depth + 1))
    return True


def _nodes(data: Any) -> int:
    """The nodes of parsed JSON, counted as YAML does: collections, keys and scalars."""
    nodes = 0
    stack = [data]
    while stack:
        value = stack.pop()
        nodes += 1
        if value.__class__ is dict:
            nodes += len(value)
            stack.extend(value.values())
        elif value.__class__ is list:
            stack.extend(value)
    return nodes


_NEED_KEY: Any = object()  # a mapping waiting for its next key
_SKIP: Any = object()      # a key refused: its value is read and dropped
_INVALID: Any = object()   # a scalar refused with a problem


class _Anchor:
    __slots__ = ("value", "size", "height", "loc", "path", "vlog", "klog", "tag")

    def __init__(self, value: Any, size: int, height: int, loc: Loc, path: Path | None,
                 vlog: tuple[int, int], klog: tuple[int, int], tag: str | None):
        self.value, self.size, self.height, self.loc, self.path = value, size, height, loc, path
        #: the scalar's tag; ``None`` for a mapping or sequence
        self.vlog, self.klog, self.tag = vlog, klog, tag


class _Open:
    """A mapping or sequence being built."""

    __slots__ = ("value", "is_map", "path", "key", "depth", "deepest", "anchor", "nodes", "loc", "vlog", "klog")

    def __init__(self, value: Any, is_map: bool, path: Path | None, depth: int, anchor: str | None,
                 nodes: int, loc: Loc, vlog: int, klog: int):
        self.value, self.is_map, self.path, self.key = value, is_map, path, _NEED_KEY
        self.depth = self.deepest = depth
        self.anchor, self.nodes, self.loc, self.vlog, self.klog = anchor, nodes, loc, vlog, klog


class _Built:
    __slots__ = ("data", "values", "keys")

    def __init__(self, data: Any, values: dict[Path, Loc], keys: dict[Path, Loc]):
        self.data, self.values, self.keys = data, values, keys


def _build(text: str, name: str, limits: Limits, record: bool) -> _Built:
    """Plain data from ``text``'s YAML event stream; with ``record``, where each value was written."""
    try:
        return _Builder(text, name, limits, record).run()
    except _ParserTooDeep as exc:
        # libyaml refuses to nest deeper than 1,000 levels, and may say so while reading
        # ahead, before the builder has counted to the limit: the text up to there holds
        # the place where the limit is passed
        try:
            _Builder(text[:exc.index], name, limits, record).run()
        except InputError as again:
            deep = [p for p in again.problems if p.code == "input.too-deep"]
            if deep:
                raise InputError(deep) from None
        raise InputError(Problem("input.too-deep", "mappings and sequences are nested deeper than the "
                                 "parser's limit of 1000 levels", exc.loc)) from None


def _locate(text: str, name: str, limits: Limits, path: Path, key: bool) -> tuple[dict, dict] | None:
    """The locations of ``path`` and its ancestors, from a pass that stops once ``path`` is
    found (an error about ``events`` in a 16 MiB timeline is located in microseconds);
    ``None`` where only the whole index can tell (``path`` may be inside an alias)."""
    builder = _Builder(text, name, limits, record=True, target=path, want_key=key)
    try:
        builder.run()
    except _Found:
        pass
    except (_Unfocused, _ParserTooDeep, InputError):
        return None
    return dict(builder.vlog), dict(builder.klog)


class _Found(Exception):
    """The target of a focused pass is located."""


class _Unfocused(Exception):
    """The target of a focused pass may be inside an alias."""


class _ParserTooDeep(Exception):
    def __init__(self, index: int, loc: Loc):
        self.index, self.loc = index, loc


class _Builder:
    """One pass over the parser's events, with an explicit stack: nothing recurses.

    Nesting is counted as collections open, nodes as they appear; an alias adds the size
    (and the height) its anchor had when it was complete, so the document's expanded size
    is known at each alias without expanding anything.
    """

    def __init__(self, text: str, name: str, limits: Limits, record: bool,
                 target: Path | None = None, want_key: bool = False):
        self.text, self.name, self.limits, self.record = text, name, limits, record
        #: with a target, only the target and its ancestors are recorded, and the pass
        #: stops as soon as the target is located (see :func:`_locate`)
        self.target, self.want_key = target, want_key
        self.problems: list[Problem] = []
        self.nodes = 0
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Open] = []
        self.vlog: list[tuple[Path, Loc]] = []
        self.klog: list[tuple[Path, Loc]] = []
        self.copied = 0
        self.root: Any = _NEED_KEY
        self.root_loc: Loc | None = None

    # -- driving the parser

    def run(self) -> _Built:
        parser = _Parser(self.text)
        documents = 0
        try:
            while True:
                event = parser.get_event()
                cls = event.__class__
                if cls is ScalarEvent:
                    self.scalar(event)
                elif cls is MappingStartEvent or cls is SequenceStartEvent:
                    self.start(event, cls is MappingStartEvent)
                elif cls is MappingEndEvent or cls is SequenceEndEvent:
                    self.end()
                elif cls is AliasEvent:
                    self.alias(event)
                elif cls is DocumentStartEvent:
                    documents += 1
                    if documents > 1:  # located at the second document's first node
                        node = parser.get_event()
                        raise InputError(Problem("yaml.multiple-documents", "expected one document, found several",
                                                 self.loc(node.start_mark)))
                elif cls is StreamEndEvent:
                    break
        except yaml.MarkedYAMLError as exc:
            problem = self.syntax_problem(exc)
            if "nesting depth" in (exc.problem or "") and exc.problem_mark is not None:
                raise _ParserTooDeep(exc.problem_mark.index, problem.loc) from None  # type: ignore[arg-type]
            raise InputError(problem) from None
        except yaml.reader.ReaderError as exc:
            raise InputError(Problem("yaml.syntax", f"malformed YAML/JSON: {exc.reason} "
                                     f"(character #x{exc.character:04X})", self.byte_loc(exc.position))) from None
        except yaml.YAMLError as exc:
            raise InputError(Problem("yaml.syntax", f"malformed YAML/JSON: {_one_line(str(exc))}",
                                     Loc(self.name))) from None
        finally:
            dispose = getattr(parser, "dispose", None)
            if dispose is not None:
                dispose()
        if self.root is _NEED_KEY:
            raise InputError(Problem("yaml.empty", "the document is empty", Loc(self.name, 1, 1)))
        if self.problems:
            raise InputError(self.problems)
        return _Built(self.root, dict(self.vlog), dict(self.klog))

    def loc(self, mark: Any) -> Loc:
        return Loc(self.name, mark.line + 1, mark.column + 1)

    def syntax_problem(self, exc: yaml.MarkedYAMLError) -> Problem:
        mark = exc.problem_mark or exc.context_mark
        what = _one_line(exc.problem or exc.context or "malformed document")
        if mark is None:
            return Problem("yaml.syntax", f"malformed YAML/JSON: {what}", Loc(self.name))
        line, col = mark.line, mark.column
        # libyaml puts the end of a text without a final line break on a line of its own
        breaks = self.text.count("\n")
        if line == breaks + 1 and col == 0 and not self.text.endswith("\n"):
            line, col = breaks, len(self.text) - (self.text.rfind("\n") + 1)
        return Problem("yaml.syntax", f"malformed YAML/JSON: {what}", Loc(self.name, line + 1, col + 1))

    def byte_loc(self, offset: int) -> Loc:
        """The location of the character at UTF-8 byte ``offset`` (libyaml's reader errors)."""
        if _C_PARSER:
            before = self.text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore")
        else:  # pragma: no cover - the Python reader counts characters
            before = self.text[:offset]
        return Loc(self.name, before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)

    # -- nodes

    def here(self) -> Path | None:
        """The path of the node about to be placed; ``None`` for a mapping key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.path is None:  # inside a mapping key
            return None
        if top.is_map:
            return None if top.key is _NEED_KEY else top.path + (top.key,)
        return top.path + (len(top.value),)

    def count(self, n: int, alias_mark: Any = None) -> None:
        """Count ``n`` more nodes; past the limit, refuse the document (located at the alias that did it)."""
        self.nodes += n
        if self.nodes > self.limits.max_nodes:
            where = self.loc(alias_mark) if alias_mark is not None else (self.root_loc or Loc(self.name, 1, 1))
            raise InputError(Problem("input.too-many-nodes",
                                     f"the document has more than {self.limits.max_nodes} nodes "
                                     "(counting each alias as the node it stands for)", where))

    def check_anchor(self, anchor: str | None, mark: Any) -> None:
        if anchor is not None and (anchor in self.anchors or anchor in self.open_anchors):
            raise InputError(Problem("yaml.syntax", f"malformed YAML/JSON: duplicate anchor `&{_short(anchor)}`",
                                     self.loc(mark)))

    def scalar(self, event: ScalarEvent) -> None:
        mark = event.start_mark
        if self.root_loc is None:
            self.root_loc = self.loc(mark)
        self.count(1)
        self.check_anchor(event.anchor, mark)
        path = self.here()
        value, tag = self.construct(event)
        loc = self.loc(mark) if self.record or event.anchor is not None else None
        v0, k0 = len(self.vlog), len(self.klog)
        if self.record and path is not None:
            self.note(path, loc)  # type: ignore[arg-type]
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchor(value, 1, 0, loc, path, (v0, len(self.vlog)),  # type: ignore[arg-type]
                                                 (k0, k0), tag)
        self.place(value, tag, mark, loc, scalar=True)

    def start(self, event: Any, is_map: bool) -> None:
        mark = event.start_mark
        if self.root_loc is None:
            self.root_loc = self.loc(mark)
        depth = len(self.stack) + 1
        if depth > self.limits.max_depth:
            raise InputError(Problem("input.too-deep", f"mappings and sequences are nested deeper than "
                                     f"the limit of {self.limits.max_depth} levels", self.loc(mark)))
        self.check_anchor(event.anchor, mark)
        nodes = self.nodes
        self.count(1)
        tag = event.tag
        if tag is not None and tag != "!" and tag != (_MAP if is_map else _SEQ):
            self.tag_problem(tag, mark, "a mapping" if is_map else "a sequence")
        path = self.here()
        loc = self.loc(mark)
        v0 = len(self.vlog)
        if self.record and path is not None:
            self.note(path, loc)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Open({} if is_map else [], is_map, path, depth, event.anchor, nodes, loc,
                                v0, len(self.klog)))

    def end(self) -> None:
        frame = self.stack.pop()
        if frame.is_map and frame.key is not _NEED_KEY:  # pragma: no cover - the parser pairs keys and values
            raise InputError(Problem("yaml.syntax", "malformed YAML/JSON: a key without a value", frame.loc))
        if self.stack and frame.deepest > self.stack[-1].deepest:
            self.stack[-1].deepest = frame.deepest
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = _Anchor(frame.value, self.nodes - frame.nodes, frame.deepest - frame.depth + 1,
                                                 frame.loc, frame.path, (frame.vlog, len(self.vlog)),
                                                 (frame.klog, len(self.klog)), None)
        self.place(frame.value, None, None, frame.loc, scalar=False)

    def alias(self, event: AliasEvent) -> None:
        mark, name = event.start_mark, event.anchor
        if self.root_loc is None:
            self.root_loc = self.loc(mark)
        anchor = self.anchors.get(name)
        if anchor is None:
            if name in self.open_anchors:
                raise InputError(Problem("input.too-many-nodes", f"alias `*{_short(name)}` is inside the node it "
                                         "stands for, which would expand forever", self.loc(mark)))
            raise InputError(Problem("yaml.syntax", f"malformed YAML/JSON: undefined alias `*{_short(name)}`",
                                     self.loc(mark)))
        self.count(anchor.size, mark)
        height = len(self.stack) + anchor.height
        if height > self.limits.max_depth:
            raise InputError(Problem("input.too-deep", f"alias `*{_short(name)}` nests mappings and sequences deeper "
                                     f"than the limit of {self.limits.max_depth} levels", self.loc(mark)))
        if self.stack and height > self.stack[-1].deepest:
            self.stack[-1].deepest = height
        path = self.here()
        if self.record and path is not None:
            if self.target is not None:
                if path == self.target[:len(path)]:
                    raise _Unfocused  # the target may sit inside the alias: locate everything
            else:
                self.copy_locations(anchor, path)
        self.place(anchor.value, anchor.tag, mark, anchor.loc, scalar=anchor.tag is not None)

    def note(self, path: Path, loc: Loc, key: bool = False) -> None:
        """Record where the value (or the key) at ``path`` was written."""
        target = self.target
        if target is None:
            (self.klog if key else self.vlog).append((path, loc))
            return
        if path != target[:len(path)]:
            return
        (self.klog if key else self.vlog).append((path, loc))
        if path == target and key == self.want_key:
            raise _Found(self)

    def copy_locations(self, anchor: _Anchor, path: Path) -> None:
        """Locate the alias's values where its anchor wrote them (the index expands, bounded)."""
        v0, v1 = anchor.vlog
        k0, k1 = anchor.klog
        if anchor.path is None or self.copied + (v1 - v0) + (k1 - k0) > _MAX_COPIED_LOCATIONS:
            self.vlog.append((path, anchor.loc))
            return
        self.copied += (v1 - v0) + (k1 - k0)
        n = len(anchor.path)
        self.vlog.extend([(path + p[n:], loc) for p, loc in self.vlog[v0:v1]])
        self.klog.extend([(path + p[n:], loc) for p, loc in self.klog[k0:k1]])

    def place(self, value: Any, tag: str | None, mark: Any, loc: Loc | None, scalar: bool) -> None:
        """Put a complete node into the collection being built (or make it the document)."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if not top.is_map:
            top.value.append(value)
            return
        if top.key is not _NEED_KEY:
            if top.key is not _SKIP:
                top.value[top.key] = value
            top.key = _NEED_KEY
            return
        # a key
        top.key = _SKIP
        if tag == _MERGE:
            self.problems.append(Problem("yaml.merge-key", "merge keys (`<<`) are not supported",
                                         loc or self.loc(mark)))
        elif value is _INVALID:
            pass  # already a problem
        elif not scalar or not isinstance(value, (str, int)) or isinstance(value, bool):
            self.problems.append(Problem("yaml.bad-key", "mapping keys must be plain strings", loc or self.loc(mark)))
        else:
            key = value if isinstance(value, str) else str(value)
            if key in top.value:
                self.problems.append(Problem("yaml.duplicate-key", f"duplicate key `{_short(key)}`",
                                             loc or self.loc(mark)))
            else:
                if self.record and top.path is not None:
                    self.note(top.path + (key,), loc or self.loc(mark), key=True)
                top.key = key

    # -- scalars

    def construct(self, event: ScalarEvent) -> tuple[Any, str | None]:
        """The value of a scalar, conservatively (see the module's docstring), and its tag."""
        tag, value = event.tag, event.value
        explicit = tag is not None
        if tag is None:
            if not event.implicit[0]:
                return value, _STR  # quoted
            for candidate, regexp in _IMPLICIT.get(value[:1], ()):
                if regexp.match(value):
                    tag = candidate
                    break
            else:
                return value, _STR
        elif tag == "!":
            return value, _STR
        elif tag not in _SCALAR_TAGS:
            self.tag_problem(tag, event.start_mark, "a scalar")
            return _INVALID, tag
        if tag == _STR or tag == _TIMESTAMP:
            return value, tag
        if tag == _BOOL:
            low = value.lower()
            if low in _TRUE_FALSE:
                return _TRUE_FALSE[low], tag
            return (self.mismatch(value, tag, event) if explicit else value), tag
        if tag == _NULL:
            if explicit and not _PATTERN[_NULL].match(value):
                return self.mismatch(value, tag, event), tag
            return None, tag
        if tag == _INT:
            if explicit and not _PATTERN[_INT].match(value):
                return self.mismatch(value, tag, event), tag
            digits = value.replace("_", "").replace(":", "").lstrip("+-")
            if digits[:2] in ("0b", "0x"):
                digits = digits[2:]
            if len(digits) > MAX_INT_DIGITS:
                self.problems.append(Problem("input.number-too-large", f"an integer of {len(digits)} digits is "
                                             f"too large; the limit is {MAX_INT_DIGITS} digits",
                                             self.loc(event.start_mark)))
                return _INVALID, tag
            try:
                return _construct_int(value), tag
            except ValueError:  # e.g. `0b_`: matches the pattern, has no digits
                return (self.mismatch(value, tag, event) if explicit else value), tag
        if tag == _FLOAT:
            if explicit and not (_PATTERN[_FLOAT].match(value) or _PATTERN[_INT].match(value)):
                return self.mismatch(value, tag, event), tag
            try:
                number = _construct_float(value)
            except ValueError:
                return (self.mismatch(value, tag, event) if explicit else value), tag
            if math.isnan(number):
                self.problems.append(Problem("input.not-a-number", f"`{_short(value)}` is not a number; "
                                             "only finite numbers are accepted", self.loc(event.start_mark)))
                return _INVALID, tag
            if math.isinf(number):
                self.problems.append(Problem("input.number-too-large", f"`{_short(value)}` is infinite; "
                                             "only finite numbers are accepted", self.loc(event.start_mark)))
                return _INVALID, tag
            return number, tag
        return value, tag  # implicit `<<` (a value, not a key), `=`: strings, as they were written

    def mismatch(self, value: str, tag: str, event: ScalarEvent) -> Any:
        self.problems.append(Problem("yaml.tag-mismatch", f"`{_short(value)}` is not a valid `{_show_tag(tag)}`",
                                     self.loc(event.start_mark)))
        return _INVALID

    def tag_problem(self, tag: str, mark: Any, what: str) -> None:
        if tag in _CORE_TAGS:
            self.problems.append(Problem("yaml.tag-mismatch", f"`{_show_tag(tag)}` cannot tag {what}", self.loc(mark)))
        else:
            self.problems.append(Problem("yaml.unsupported-tag", f"unsupported tag `{_show_tag(tag)}`; only the core "
                                         "schema is accepted (str, int, float, bool, null, seq, map)", self.loc(mark)))


def _construct_int(text: str) -> int:
    """PyYAML's YAML 1.1 integers: ``0b``, ``0x``, octal ``0...``, sexagesimal ``1:30``, ``_``."""
    value = text.replace("_", "")
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    if value == "0":
        return 0
    if value.startswith("0b"):
        return sign * int(value[2:], 2)
    if value.startswith("0x"):
        return sign * int(value[2:], 16)
    if value[0] == "0":
        return sign * int(value, 8)
    if ":" in value:
        number = 0
        for part in value.split(":"):
            number = number * 60 + int(part)
        return sign * number
    return sign * int(value)


def _construct_float(text: str) -> float:
    """PyYAML's YAML 1.1 floats: ``.inf``, ``.nan``, sexagesimal ``1:30.5``, ``_``."""
    value = text.replace("_", "").lower()
    sign = -1.0 if value[0] == "-" else 1.0
    if value[0] in "+-":
        value = value[1:]
    if value == ".inf":
        return sign * math.inf
    if value == ".nan":
        return math.nan
    if ":" in value:  # PyYAML's order of operations, for the same rounding
        digits = [float(part) for part in value.split(":")]
        digits.reverse()
        base, number = 1.0, 0.0
        for digit in digits:
            number += digit * base
            base *= 60
        return sign * number
    return sign * float(value)


def _show_tag(tag: str) -> str:
    return _short("!!" + tag[len(_Y):] if tag.startswith(_Y) else tag)


def _short(text: str, limit: int = 40) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[:limit] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def pydantic_problems(exc: Any, doc: Document, code_prefix: str, root: Path = ()) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into located problems."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = _data_path(doc.data, root, err["loc"], keep_last=err["type"] == "extra_forbidden")
        path = root + loc
        kind = err["type"]
        if kind == "extra_forbidden":
            field_name = loc[-1] if loc else "?"
            msg = f"unknown field `{shown(str(field_name), _PATH_KEY)}`"
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
    """``path`` as users write it (``events[3].to``), fit for a one-line message: keys with
    control characters are escaped (``\\n``), long ones cut."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if not text.isprintable() or len(text) > _PATH_KEY:
                text = shown(text, _PATH_KEY)
            out += f".{text}" if out else text
    return out


#: how much of a key a path shows
_PATH_KEY = 200


def draft07_schema(adapter_or_model: Any, title: str) -> dict:
    """A JSON Schema for a pydantic model or TypeAdapter that uses only draft-07 keywords
    (YAML language servers in common editors support no newer draft)."""
    make = getattr(adapter_or_model, "model_json_schema", None) or adapter_or_model.json_schema
    schema = make(ref_template="#/definitions/{model}", by_alias=True)
    if "$defs" in schema:
        schema["definitions"] = schema.pop("$defs")
    return {"$schema": "http://json-schema.org/draft-07/schema#", **schema, "title": title}
