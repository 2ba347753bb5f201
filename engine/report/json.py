"""JSON: design.md's Findings contract (one object per timeline; several under ``timelines``)."""

from __future__ import annotations

import json

from . import AuditItem


def render(items: list[AuditItem]) -> str:
    if len(items) == 1:
        return json.dumps(items[0].report.contract(), indent=2) + "\n"
    first = items[0].report
    doc = {"as_of": first.as_of, "policy": first.policy,
           "timelines": [{"timeline": i.label, "candidate": i.timeline.candidate, **i.report.contract()}
                         for i in items]}
    for t in doc["timelines"]:
        t.pop("as_of"), t.pop("policy")
    return json.dumps(doc, indent=2) + "\n"
