"""JSON: design.md's Findings contract (one object per timeline; several under ``timelines``)."""

from __future__ import annotations

import json
from typing import Any

from . import AuditItem


def timeline_entry(item: AuditItem) -> dict[str, Any]:
    """One item of a several-timeline document's ``timelines`` list."""
    entry = {"timeline": item.label, "candidate": item.timeline.candidate, **item.report.contract()}
    entry.pop("as_of"), entry.pop("policy")
    return entry


def render(items: list[AuditItem]) -> str:
    if len(items) == 1:
        return json.dumps(items[0].report.contract(), indent=2) + "\n"
    first = items[0].report
    doc = {"as_of": first.as_of, "policy": first.policy, "timelines": [timeline_entry(i) for i in items]}
    return json.dumps(doc, indent=2) + "\n"
