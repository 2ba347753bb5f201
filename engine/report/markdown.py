"""Markdown, for sharing with a candidate: a summary, then a table per application.

User data (the candidate or file name, companies and titles, messages, event ids) goes
through :func:`~engine.report.escape.escape_markdown` wherever it appears, headings
included: control and invisible characters are shown escaped (``\\n``, ``\\x1b``,
``\\u202e``), and ``\\ ` * _ < [ | & ~ # $`` get a backslash, so a value can neither
end a table cell nor start markup, links or HTML. A message is user data as a whole:
the policy's template is as untrusted as the names it fills in. Rule ids and policy
names are shown as code spans and get only :func:`~engine.report.escape.escape_text`
(the policy schema allows only letters, digits and ``_ . / -`` in them).
"""

from __future__ import annotations

from . import AuditItem
from ._common import application_title, by_application, counts, local, not_evaluated, nothing_flagged
from .escape import escape_markdown, escape_text

_ICON = {"violation": "**violation**", "warning": "warning", "info": "info"}


def _ids(ids: list[str]) -> str:
    return ", ".join(escape_markdown(i) for i in ids)


def item_lines(item: AuditItem) -> list[str]:
    """The lines of one item, without the blank line that follows it in :func:`render`."""
    out: list[str] = []
    tl, report = item.timeline, item.report
    zone = tl.timezone or "UTC"
    out.append(f"## Follow-up review: {escape_markdown(tl.candidate or item.label)}")
    out.append("")
    if report.ignored:  # first, where nobody can miss it: the audit is of part of the timeline
        out.append(f"**{not_evaluated(len(report.ignored))}:** {_ids(report.ignored)}.")
        out.append("")
    out.append(f"Policy `{escape_text(report.policy)}`, as of {local(report.as_of, zone)}: "
               f"{counts(report.findings)}.")
    for app, findings in by_application(tl, report.findings):
        out.append("")
        out.append(f"### {escape_markdown(application_title(tl, app))}")
        out.append("")
        if not findings:  # "nothing to flag" only when every event was evaluated
            out.append(nothing_flagged(tl, report.ignored, app).capitalize() + ".")
            continue
        out.append("| | rule | what happened | events |")
        out.append("|---|---|---|---|")
        for f in findings:
            out.append(f"| {_ICON[f.severity]} | `{escape_text(f.rule)}` | {escape_markdown(f.message)} "
                       f"| {_ids(f.events)} |")
    return out


def render(items: list[AuditItem]) -> str:
    out: list[str] = []
    for item in items:
        out.extend(item_lines(item))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
