"""From backend matches to findings: one per (rule, event, contact), with a message.

Both backends return raw :class:`~engine.backends.base.Match` records; this module,
shared by both, keeps one match per (rule id, offending event, contact) — the one
citing the earliest facts — and renders the rule's message template.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict

from .backends.base import Match
from .calendar import iso_utc, local_time
from .facts import FactTable, from_epoch
from .ir import ChannelMismatch, Program
from .timeline import Timeline

__all__ = ["Finding", "build_findings", "MESSAGE_FIELDS", "human_type", "describe_event", "template_names",
           "template_errors", "render_template"]

Severity = Literal["violation", "warning", "info"]
Category = Literal["overdue", "harassing", "off-channel", "premature", "missed", "quality", "tone"]

#: placeholders every message template may use, besides the rule's own parameters
MESSAGE_FIELDS = {
    "contact": "the contact's name (the recipient, or the interviewer a thank-you is owed to)",
    "contact_id": "the contact's id",
    "company": "the application's company",
    "application": "the application's id",
    "event": "the id of the event the finding is about",
    "what": "the event in words: its type and id, e.g. `status inquiry q1`; in `check`, the planned message "
            "is `the planned status inquiry`",
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


def describe_event(event_type: str, event_id: str, planned: str | None = None) -> str:
    """The ``{what}`` of a finding: ``status inquiry q1``; the message ``check`` plans (id ``planned``)
    has no id a person knows, so it reads ``the planned status inquiry`` (``the planned message`` for
    a ``contact``)."""
    if planned is not None and event_id == planned:
        return "the planned message" if event_type == "contact" else f"the planned {human_type(event_type)}"
    return f"{human_type(event_type)} {event_id}"


# -- message templates ----------------------------------------------------------------------------
#
# A template is data, not a format string: ``{name}`` is replaced by a field's text and
# ``{{``/``}}`` are literal braces. Nothing else is allowed (no format specs, conversions,
# attributes or indexes), which the loader checks with :func:`template_errors`; rendering
# is one regular-expression substitution that cannot fail.

#: the tokens that mean something: a literal brace pair, or a placeholder
_RENDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: the same, plus what a template may not contain: other ``{...}``, a lone ``{`` or ``}``
_TOKENS = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|\{[^{}]*\}?|\}")


def template_names(template: str) -> list[str]:
    """The placeholder names ``template`` uses, in order (repeats included)."""
    return [m.group(1) for m in _RENDER.finditer(template) if m.group(1)]


def _why(token: str) -> str:
    if token == "}":
        return "a single `}`; write `}}` for a literal brace"
    if not token.endswith("}"):
        return f"`{_short(token)}` is not closed; write `{{{{` for a literal brace"
    inner = token[1:-1]
    if not inner.strip():
        return "`{}` names nothing; write `{name}` with a field or parameter name"
    for mark, what in (("!", "a conversion"), (":", "a format spec"), ("[", "an index"), (".", "an attribute")):
        if mark in inner:
            return f"`{_short(token)}` has {what}; placeholders are plain names such as `{{event}}`"
    return f"`{_short(token)}` is not a placeholder; write a plain name such as `{{event}}`, or `{{{{` for a brace"


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())  # one line, whatever the template holds
    return text if len(text) <= width else text[:width] + "..."


#: bad tokens reported per template; the rest add nothing
_MAX_TEMPLATE_ERRORS = 3


def template_errors(template: str) -> list[str]:
    """Why ``template`` is not a valid message template (a message per bad token, at most a few;
    none when it is valid)."""
    out = []
    for m in _TOKENS.finditer(template):
        if m.group(1) is None and m.group(0) not in ("{{", "}}"):
            out.append(_why(m.group(0)))
            if len(out) == _MAX_TEMPLATE_ERRORS:
                break
    return out


def render_template(template: str, fields: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``fields[name]`` and ``{{``/``}}`` by braces.

    A name without a value, or any text a valid template cannot hold, is kept as
    written: rendering never fails, and the result is the template plus the values put in.
    """
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        value = fields.get(name)
        return match.group(0) if value is None else str(value)

    return _RENDER.sub(substitute, template)


def build_findings(program: Program, table: FactTable, matches: list[Match], timeline: Timeline,
                   planned: str | None = None) -> list[Finding]:
    """One finding per (rule, offending event, contact), its message rendered; ``planned``: the id
    ``check`` gave the planned message, which ``{what}`` names in words."""
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
            "type": human_type(offender["type"]), "what": describe_event(offender["type"], offender["id"], planned),
            "channel": offender["channel"] or "an unstated channel",
            "preferred": preferred.replace("_", " "), "count": str(len(cited)),
            # the local time is the one costly field: only for a message that shows it
            "due": (local_time(from_epoch(m.due), timeline.application_zone(app))
                    if m.due is not None and "due" in _names(node.meta.message) else ""),
            **dict(node.meta.values),
        }
        message = render_template(node.meta.message, fields)
        # built from the validated policy and timeline: every value already has its field's type
        findings.append(Finding.model_construct(
            rule=node.meta.rule, severity=node.meta.severity, category=node.meta.category, application=app,
            contact=party, events=cited, due=iso_utc(from_epoch(m.due)) if m.due is not None else None,
            message=message))
    return findings


@lru_cache(maxsize=1024)
def _names(template: str) -> frozenset[str]:
    return frozenset(template_names(template))


def _order(m: Match, table: FactTable) -> tuple:
    offender = table.facts[m.offender]
    return (offender["app"], offender["seq"], m.node, offender["fid"])
