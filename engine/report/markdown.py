"""Markdown, for sharing with a candidate: a summary, then a table per application."""

from __future__ import annotations

from . import AuditItem
from ._common import application_title, by_application, counts, local

_ICON = {"violation": "**violation**", "warning": "warning", "info": "info"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(items: list[AuditItem]) -> str:
    out: list[str] = []
    for item in items:
        tl, report = item.timeline, item.report
        zone = tl.timezone or "UTC"
        out.append(f"## Follow-up review: {_cell(tl.candidate or item.label)}")
        out.append("")
        out.append(f"Policy `{report.policy}`, as of {local(report.as_of, zone)}: {counts(report.findings)}.")
        for app, findings in by_application(tl, report.findings):
            out.append("")
            out.append(f"### {_cell(application_title(tl, app))}")
            out.append("")
            if not findings:
                out.append("Nothing to flag.")
                continue
            out.append("| | rule | what happened | events |")
            out.append("|---|---|---|---|")
            for f in findings:
                out.append(f"| {_ICON[f.severity]} | `{f.rule}` | {_cell(f.message)} | {', '.join(f.events)} |")
        if report.ignored:
            out.append("")
            out.append(f"_Not evaluated (after the as-of time): {', '.join(report.ignored)}._")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
