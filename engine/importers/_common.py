"""What the importers share: bounded reading, time-zone handling, the written timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import yaml

from ..limits import DEFAULT_LIMITS, Limits
from ..source import _decode, _read_bytes, read_document
from ..timeline import Timeline, _localize, _zone, timeline_from_data

__all__ = ["Imported", "read_text", "zone_name", "localize", "iso", "dump_timeline"]


@dataclass
class Imported:
    """An imported timeline: plain data in the v1 format, and notices for the user (stderr)."""

    data: dict[str, Any]
    timeline: Timeline
    notices: list[str] = field(default_factory=list)


def read_text(path: str, limits: Limits = DEFAULT_LIMITS) -> tuple[str, str]:
    """``(name, text)`` of a UTF-8 file (``-``: stdin) of at most ``limits.max_bytes`` bytes.

    Missing, unreadable, oversized and non-UTF-8 files are located :class:`InputError` s
    (``input.not-found``, ``input.unreadable``, ``input.too-large``, ``input.encoding``),
    as for timelines. A byte-order mark is dropped.
    """
    name, raw = _read_bytes(path, limits)
    text = _decode(raw, name)
    return name, text[1:] if text.startswith("\ufeff") else text


def zone_name(value: str) -> str:
    """``value`` if it is an IANA zone name; else ``ValueError`` with the timeline's message."""
    return _zone(value)  # type: ignore[return-value]


def localize(naive: datetime, zone: str) -> datetime:
    """``naive`` as local time in ``zone``; ``ValueError`` if it is skipped or repeated there."""
    return _localize(naive, zone)


def iso(instant: datetime) -> str:
    """RFC 3339 text of an aware instant, in its own offset (``Z`` for UTC), seconds kept."""
    text = instant.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def dump_timeline(data: dict[str, Any], fmt: str = "yaml") -> str:
    """``data`` as a v1 timeline document: YAML (block style, keys in the written order) or JSON.

    The text is read back with the timeline loader before it is returned, so what is
    written is exactly what was validated (an :class:`InputError` here is a bug).
    """
    if fmt == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    size = len(text.encode("utf-8"))
    limits = replace(DEFAULT_LIMITS, max_bytes=max(DEFAULT_LIMITS.max_bytes, size),
                     max_events=max(DEFAULT_LIMITS.max_events, len(data.get("events", []))))
    doc = read_document(text, "<imported>", limits)
    timeline_from_data(doc.data, doc, max_events=limits.max_events)
    return text
