"""From backend matches to findings: one per (rule, event, contact), with a message.

Both backends return raw :class:`~engine.backends.base.Match` records; this module,
shared by both, keeps one match per (rule id, offending event, contact) — the one
citing the earliest facts — and renders the rule's message template.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .backends.base import Match
from .calendar import iso_utc, local_time
from .facts import FactTable, from_epoch
from .ir import ChannelMismatch, Program
from .timeline import Timeline

__all__ = ["Finding", "build_findings", "MESSAGE_FIELDS", "human_type"]

Severity = Literal["violation", "warning", "info"]
Category = Literal["overdue", "harassing", "off-channel", "premature", "missed", "quality", "tone"]

#: placeholders every message template may use, besides the rule's own parameters
MESSAGE_FIELDS = {
    "contact": "the contact's name (the recipient, or the interviewer a thank-you is owed to)",
    "contact_id": "the contact's id",
    "company": "the application's company",
    "application": "the application's id",
    "event": "the id of the event the finding is about",
    "events": "the ids of the cited events, comma-separated",
    "first": "the id of the first cited event",
    "type": "the event's type in words, e.g. `status inquiry`",
    "channel": "the event's channel",
    "preferred": "the contact's preferred channel (channel rules)",
    "due": "the deadline or opening time, in the employer's zone",
    "count": "how many events the finding cites",
}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity
    category: Category
    application: str
    contact: str | None
    events: list[str]
    due: str | None
    message: str


def human_type(event_type: str) -> str:
    return "thank-you" if event_type == "thank_you" else event_type.replace("_", " ")


class _Template(string.Formatter):
    def get_value(self, key, args, kwargs):  # unknown names were rejected when the policy loaded
        return kwargs.get(key, "{" + str(key) + "}")


def build_findings(program: Program, table: FactTable, matches: list[Match], timeline: Timeline) -> list[Finding]:
    best: dict[tuple, Match] = {}
    for m in matches:
        offender = table.facts[m.offender]
        key = (program.nodes[m.node].meta.rule, offender["id"], offender["party"])
        if key not in best or (m.cites, m.node) < (best[key].cites, best[key].node):
            best[key] = m
    findings = []
    for key, m in sorted(best.items(), key=lambda kv: _order(kv[1], table)):
        node = program.nodes[m.node]
        offender = table.facts[m.offender]
        cited = []
        for fid in m.cites:
            if table.facts[fid]["id"] not in cited:
                cited.append(table.facts[fid]["id"])
        app = offender["app"]
        party = offender["party"] or None
        preferred = ""
        if isinstance(node, ChannelMismatch):
            first = table.facts[m.cites[0]]
            preferred = first["channel"] if first["type"] == "preference" else offender["pref"]
        fields = {
            "contact": timeline.contact_name(party) or "the company", "contact_id": party or "",
            "company": timeline.applications[app].company, "application": app,
            "event": offender["id"], "events": ", ".join(cited), "first": cited[0],
            "type": human_type(offender["type"]), "channel": offender["channel"] or "an unstated channel",
            "preferred": preferred.replace("_", " "), "count": str(len(cited)),
            "due": local_time(from_epoch(m.due), timeline.application_zone(app)) if m.due is not None else "",
            **dict(node.meta.values),
        }
        message = _Template().format(node.meta.message, **fields)
        findings.append(Finding(rule=node.meta.rule, severity=node.meta.severity, category=node.meta.category,
                                application=app, contact=party, events=cited, due=iso_utc(from_epoch(m.due)) if m.due is not None else None,
                                message=message))
    return findings


def _order(m: Match, table: FactTable) -> tuple:
    offender = table.facts[m.offender]
    return (offender["app"], offender["seq"], m.node, offender["fid"])
