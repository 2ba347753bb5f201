"""Shared helpers for the human-facing renderers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from ..findings import Finding
from ..timeline import Timeline

SEVERITY_ORDER = {"violation": 0, "warning": 1, "info": 2}
SEVERITY_WORD = {"violation": "VIOLATION", "warning": "warning", "info": "info"}


def by_application(timeline: Timeline, findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        groups[f.application].append(f)
    return [(app, groups.get(app, [])) for app in timeline.applications]


def application_title(timeline: Timeline, app: str) -> str:
    a = timeline.applications[app]
    return f"{a.company} — {a.title}" if a.title else a.company


def local(iso: str, zone: str) -> str:
    instant = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return instant.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M %Z")


def counts(findings: list[Finding]) -> str:
    v = sum(f.severity == "violation" for f in findings)
    w = sum(f.severity == "warning" for f in findings)
    i = sum(f.severity == "info" for f in findings)
    parts = [f"{v} violation" + ("" if v == 1 else "s"), f"{w} warning" + ("" if w == 1 else "s")]
    if i:
        parts.append(f"{i} info")
    return ", ".join(parts)
