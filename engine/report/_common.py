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


def not_evaluated(n: int) -> str:
    """``3 events after the as-of time were not evaluated``: how a report opens a timeline's section,
    or closes an application's, when the audit left events out."""
    return f"{n} event{'' if n == 1 else 's'} after the as-of time {'was' if n == 1 else 'were'} not evaluated"


def nothing_flagged(timeline: Timeline, ignored: list[str], app: str) -> str:
    """What an application without findings says: "nothing to flag" only when every event was evaluated."""
    if not ignored:
        return "nothing to flag"
    later = sum(1 for i in ignored if i in timeline.by_id and timeline.by_id[i].application == app)
    return f"nothing flagged up to the as-of time; {not_evaluated(later)}" if later else \
        "nothing flagged; other events of this timeline were not evaluated"


def counts(findings: list[Finding]) -> str:
    v = sum(f.severity == "violation" for f in findings)
    w = sum(f.severity == "warning" for f in findings)
    i = sum(f.severity == "info" for f in findings)
    parts = [f"{v} violation" + ("" if v == 1 else "s"), f"{w} warning" + ("" if w == 1 else "s")]
    if i:
        parts.append(f"{i} info")
    return ", ".join(parts)
