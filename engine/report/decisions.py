"""Rendering check decisions and agendas: text for people, JSON for programs, iCalendar for
calendars (and an agenda as an HTML page, :func:`engine.report.html.render_agenda`).

Text lines go through :func:`~engine.report.escape.escape_text` as they are joined (user
data cannot break a line or drive a terminal); JSON is left to the JSON encoder.
"""

from __future__ import annotations

from ..decide import Agenda, CheckResult
from ..timeline import Timeline
from ._common import local
from .escape import escape_text


def _local(iso: str | None, zone: str) -> str:
    return local(iso, zone) if iso else "-"


def render_check(result: CheckResult, timeline: Timeline, fmt: str) -> str:
    if fmt == "json":
        return result.model_dump_json(indent=2) + "\n"
    zone = timeline.timezone or "UTC"
    lines = [f"{result.decision.upper()} at {_local(result.at, zone)} (policy {result.policy})"]
    for f in result.findings:
        lines.append(f"  {f.severity:<9} {f.rule}: {f.message}")
    if result.decision == "deny":
        if result.earliest:
            lines.append(f"  earliest allowed: {_local(result.earliest, zone)}")
        else:
            lines.append("  earliest allowed: none; waiting alone will not make this message allowed")
    for alt in result.alternatives:
        lines.append(f"  instead: {alt.reason}")
    return "\n".join(escape_text(line) for line in lines) + "\n"


def render_agenda(result: Agenda, timeline: Timeline, fmt: str) -> str:
    if fmt == "json":
        return result.model_dump_json(indent=2) + "\n"
    if fmt == "ics":
        from .ics import render_agenda_ics
        return render_agenda_ics(result, timeline)
    if fmt == "html":
        from .html import render_agenda as html_agenda
        return html_agenda(result, timeline)
    zone = timeline.timezone or "UTC"
    lines = [f"Agenda for {timeline.candidate or 'the candidate'} as of {_local(result.as_of, zone)} "
             f"(policy {result.policy})"]
    current = None
    for item in result.items:
        if item.application != current:
            current = item.application
            lines.append("")
            lines.append(f"  {timeline.applications[current].company}  [{current}]")
        lines.append(f"    {item.kind:<15} {item.message}")
    if not result.items:
        lines.append("  nothing due")
    return "\n".join(escape_text(line) for line in lines) + "\n"
