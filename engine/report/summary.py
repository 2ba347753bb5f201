"""The caseload summary of ``followup audit --summary``: one row per timeline, most urgent first.

A row says who the candidate is, which file (or JSON Lines line) the timeline came from, how
many applications, violations and warnings it has, and its most urgent open item with when it
is due, taken from the agenda (:func:`engine.decide.agenda`) at the same as-of instant as the
audit. The most urgent item of a timeline is its oldest overdue obligation, else the soonest
due obligation or status-inquiry window; prohibitions (no contact after a rejection) have no
due time and are never the next item.

Rows are sorted (:func:`sort_rows`) by urgency: timelines with something overdue first (the
longest overdue first), then those with something due (the soonest first), then the rest; ties
go to the timeline with more violations, then more warnings, then to input order. Timelines
that could not be read or evaluated come last, in input order, with their problems.

:func:`render_text` and :func:`render_markdown` write the table; ``engine.report.html``'s
``summary_table`` writes it for HTML from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from .escape import escape_markdown, escape_text

if TYPE_CHECKING:
    from ..decide import Agenda
    from . import AuditItem

__all__ = ["SummaryRow", "summary_row", "invalid_row", "sort_rows", "render_text", "render_markdown"]

#: the agenda kinds that can be a timeline's next item
OPEN_KINDS = ("overdue", "due", "inquiry-window")


@dataclass(frozen=True)
class SummaryRow:
    """One timeline of a caseload, as the summary shows it."""

    #: the candidate's name ("" when the timeline has none or could not be read)
    candidate: str
    #: where the timeline came from: a path, ``<stdin>``, or ``file.jsonl:LINE``
    file: str
    #: the id of the timeline's section in the HTML report (``t1``, ``t2``...; "" when it has none)
    anchor: str
    applications: int = 0
    violations: int = 0
    warnings: int = 0
    #: the most urgent open item, in words (the agenda's message), or None
    next_item: str | None = None
    #: when it is due (UTC), or None
    next_due: datetime | None = None
    #: the timeline could not be read, validated or evaluated
    invalid: bool = False
    #: its problems, one located line each (invalid rows only)
    problems: list[str] = field(default_factory=list)
    #: the next item is overdue
    overdue: bool = False


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone.utc)


def summary_row(item: AuditItem, agenda: Agenda, anchor: str) -> SummaryRow:
    """The row of one audited timeline, its next item taken from ``agenda`` (same as-of)."""
    findings = item.report.findings
    open_items = [(i.kind != "overdue", _instant(i.due), n, i) for n, i in enumerate(agenda.items)
                  if i.kind in OPEN_KINDS and i.due]
    nxt = min(open_items, key=lambda t: t[:3])[3] if open_items else None
    return SummaryRow(candidate=item.timeline.candidate or "", file=item.label, anchor=anchor,
                      applications=len(item.timeline.applications),
                      violations=sum(f.severity == "violation" for f in findings),
                      warnings=sum(f.severity == "warning" for f in findings),
                      next_item=nxt.message if nxt else None, next_due=_instant(nxt.due) if nxt else None,
                      overdue=bool(nxt and nxt.kind == "overdue"))


def invalid_row(label: str, problems: Iterable[str]) -> SummaryRow:
    """The row of a timeline that could not be read or evaluated."""
    return SummaryRow(candidate="", file=label, anchor="", invalid=True, problems=list(problems))


_LATEST = datetime.max.replace(tzinfo=timezone.utc)


def urgency(row: SummaryRow) -> tuple:
    """The sort key: invalid last; overdue, then due, then nothing due; sooner first; more
    violations, then more warnings first. (Sorting is stable: ties keep input order.)"""
    if row.invalid:
        return (1, 0, _LATEST, 0, 0)
    rank = 0 if row.overdue else 1 if row.next_due is not None else 2
    return (0, rank, row.next_due or _LATEST, -row.violations, -row.warnings)


def sort_rows(rows: Iterable[SummaryRow]) -> list[SummaryRow]:
    """``rows`` most urgent first (see the module's docstring)."""
    return sorted(rows, key=urgency)


def _due(row: SummaryRow) -> str:
    if row.invalid:
        return "invalid"
    if row.next_due is None:
        return "-"
    when = row.next_due.strftime("%Y-%m-%d %H:%M UTC")
    return f"overdue {when}" if row.overdue else when


def _heading(rows: list[SummaryRow], policy: str, as_of: str) -> str:
    bad = sum(r.invalid for r in rows)
    return (f"{len(rows)} timeline" + ("" if len(rows) == 1 else "s") + (f", {bad} invalid" if bad else "")
            + f"; policy {policy}, as of {as_of}")


def render_text(rows: Iterable[SummaryRow], policy: str, as_of: str) -> str:
    """The summary as an aligned text table (user data escaped), most urgent first."""
    rows = sort_rows(rows)
    head = ("candidate", "file", "apps", "violations", "warnings", "due", "next")
    table = [head]
    for r in rows:
        if r.invalid:
            table.append(("?", r.file, "-", "-", "-", "invalid", "; ".join(r.problems[:1]) +
                          (f" (+{len(r.problems) - 1} more)" if len(r.problems) > 1 else "")))
        else:
            table.append((r.candidate or "?", r.file, str(r.applications), str(r.violations), str(r.warnings),
                          _due(r), r.next_item or "nothing open"))
    table = [tuple(escape_text(c) for c in line) for line in table]
    widths = [max(len(line[i]) for line in table) for i in range(len(head) - 1)]
    numeric = {2, 3, 4}
    out = [f"Caseload summary: {escape_text(_heading(rows, policy, as_of))}"]
    for line in table:
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))]
        out.append(("  " + "  ".join(cells) + "  " + line[-1]).rstrip())
    return "\n".join(out) + "\n"


def render_markdown(rows: Iterable[SummaryRow], policy: str, as_of: str) -> str:
    """The summary as a Markdown table (user data escaped), most urgent first."""
    rows = sort_rows(rows)
    out = ["## Caseload summary", "", f"{escape_markdown(_heading(rows, policy, as_of))}.", "",
           "| candidate | file | applications | violations | warnings | due | next item |",
           "|---|---|--:|--:|--:|---|---|"]
    for r in rows:
        if r.invalid:
            problems = "; ".join(escape_markdown(p) for p in r.problems)
            out.append(f"| ? | {escape_markdown(r.file)} | | | | **invalid** | {problems} |")
        else:
            due = escape_markdown(_due(r))
            out.append(f"| {escape_markdown(r.candidate or '?')} | {escape_markdown(r.file)} | {r.applications} "
                       f"| {r.violations} | {r.warnings} | {'**' + due + '**' if r.overdue else due} "
                       f"| {escape_markdown(r.next_item or 'nothing open')} |")
    return "\n".join(out) + "\n"
