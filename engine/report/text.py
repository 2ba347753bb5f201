"""Plain text for people: per timeline, per application, findings in time order.

Every line goes through :func:`~engine.report.escape.escape_text` as it is joined, so
no id, name or message can break a line or reach the terminal as a control character.
"""

from __future__ import annotations

from . import AuditItem
from ._common import SEVERITY_WORD, application_title, by_application, counts, local, not_evaluated, nothing_flagged
from .escape import escape_text


def item_lines(item: AuditItem) -> list[str]:
    """The lines of one item, without the blank line that follows it in :func:`render`."""
    out: list[str] = []
    tl, report = item.timeline, item.report
    who = tl.candidate or "the candidate"
    zone = tl.timezone or "UTC"
    out.append(f"Follow-up audit for {who} ({item.label})")
    if report.ignored:  # first, where nobody can miss it: the audit is of part of the timeline
        out.append(f"  {not_evaluated(len(report.ignored))}: {', '.join(report.ignored)}")
    out.append(f"  policy {report.policy}, as of {local(report.as_of, zone)}, engine {report.engine}")
    out.append(f"  {counts(report.findings)}")
    for app, findings in by_application(tl, report.findings):
        out.append("")
        out.append(f"  {application_title(tl, app)}  [{app}]")
        if not findings:  # "nothing to flag" only when every event was evaluated
            out.append(f"    {nothing_flagged(tl, report.ignored, app)}" if report.ignored else "    ok: nothing to flag")
        for f in findings:
            out.append(f"    {SEVERITY_WORD[f.severity]:<9} {f.rule}  ({f.category})")
            out.append(f"              {f.message}")
            cited = ", ".join(f.events)
            out.append(f"              events: {cited}")
    return out


def render(items: list[AuditItem]) -> str:
    out: list[str] = []
    for item in items:
        out.extend(item_lines(item))
        out.append("")
    return "\n".join(escape_text(line) for line in out).rstrip() + "\n"
