"""From backend matches to findings: one per (rule, event, contact), with a message.

Both backends return raw :class:`~engine.backends.base.Match` records; this module,
shared by both, keeps one match per (rule id, offending event, contact) — the one
citing the earliest facts — and renders the rule's message template.
"""

from __future__ import annotations

import string
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from .backends.base import Match
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


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return from_epoch(seconds).isoformat().replace("+00:00", "Z")


def _local(seconds: float, zone: str) -> str:
    return from_epoch(seconds).astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


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
            "due": _local(m.due, timeline.application_zone(app)) if m.due is not None else "",
            **dict(node.meta.values),
        }
        message = _Template().format(node.meta.message, **fields)
        findings.append(Finding(rule=node.meta.rule, severity=node.meta.severity, category=node.meta.category,
                                application=app, contact=party, events=cited, due=_iso(m.due),
                                message=message))
    return findings


def _order(m: Match, table: FactTable) -> tuple:
    offender = table.facts[m.offender]
    return (offender["app"], offender["seq"], m.node, offender["fid"])
