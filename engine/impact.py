"""``followup policy impact OLD NEW CASELOAD...``: what a policy change would change.

Each timeline is read once and audited under both policies in the same task
(:func:`impact_one`, on either executor of :mod:`engine.executors`); the two lists of findings are
compared (:func:`diff_findings`) and only the differences come back. The command then reports,
per rule and per candidate, the findings **added** (only under NEW), **removed** (only under OLD)
and **changed**, with totals; exit 0 when nothing changes, 1 when something does, 2 on invalid
input (as ``followup audit``: every problem listed, nothing on stdout).

How findings are matched
    The engine keeps one finding per rule, offending event and contact, and cites the offending
    event last. Two findings are the same finding when they have the same **rule id, application,
    contact and offending event** (the last cited event). A matched pair whose severity,
    category, due time, message or cited events differ is *changed* (the fields that differ are
    listed); a finding without a partner is *added* or *removed*. So a rule whose threshold moves
    (``max_contacts: 2`` to ``1``) shows the same offence with another message and other cited
    events as changed, and an offence that only the stricter policy sees as added. (Should two
    findings ever share a key, they are paired in report order.)

The differences are kept in a temporary file (in memory up to :data:`SPOOL_BYTES`), not in
memory, so a large caseload with many changes runs in bounded memory; the per-rule tallies are
bounded by the policies' rules.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Iterable, Iterator

from .errors import InputError, Loc, Problem
from .limits import Limits

__all__ = ["ImpactJob", "Row", "FORMATS", "diff_findings", "expand_caseload", "impact_one", "init", "run_impact"]

FORMATS = ("text", "markdown", "html", "json")
#: the differences kept in memory before the spool moves to a temporary file
SPOOL_BYTES = 1 << 20
#: the finding fields compared between a matched pair, in the order they are reported
COMPARED = ("severity", "category", "due", "message", "events")
STDIN_PATH = "-"


@dataclass(frozen=True)
class ImpactJob:
    """What every timeline of an impact run is audited with."""

    old: str
    new: str
    as_of: datetime
    engine: str
    limits: Limits


@dataclass(frozen=True)
class Row:
    """One timeline's share of the result."""

    label: str
    candidate: str | None = None
    #: ``{"change": "added"|"removed"|"changed", "rule", "application", "contact", "event",
    #: "old": finding|None, "new": finding|None, "fields": [...]}``
    changes: tuple[dict, ...] = ()
    old_findings: int = 0
    new_findings: int = 0
    notices: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    audit_problems: tuple[Problem, ...] = ()
    audited: bool = False


_state: dict = {}


def init(job: ImpactJob, old=None, new=None) -> None:
    """Set up this process for :func:`impact_one`: the job and both policies (``None``: invalid,
    the timelines are then only read and validated)."""
    _state.update(job=job, old=old, new=new)


def _key(finding: dict) -> tuple:
    return (finding["rule"], finding["application"], finding["contact"], finding["events"][-1])


def diff_findings(old: list[dict], new: list[dict]) -> list[dict]:
    """The changes from findings ``old`` to ``new`` (``Finding.model_dump()`` dicts), matched as the
    module says: changed and added ones in ``new``'s order, then the removed ones in ``old``'s."""
    unmatched: dict[tuple, list[int]] = defaultdict(list)
    for i, f in enumerate(old):
        unmatched[_key(f)].append(i)
    paired: set[int] = set()
    changes = []
    for f in new:
        key = _key(f)
        rule, app, contact, event = key
        base = {"rule": rule, "application": app, "contact": contact, "event": event}
        if unmatched.get(key):
            i = unmatched[key].pop(0)
            paired.add(i)
            before = old[i]
            fields = [name for name in COMPARED if before[name] != f[name]]
            if fields:
                changes.append({"change": "changed", **base, "old": before, "new": f, "fields": fields})
        else:
            changes.append({"change": "added", **base, "old": None, "new": f, "fields": []})
    for i, f in enumerate(old):
        if i not in paired:
            rule, app, contact, event = _key(f)
            changes.append({"change": "removed", "rule": rule, "application": app, "contact": contact,
                            "event": event, "old": f, "new": None, "fields": []})
    return changes


def impact_one(source) -> Row:
    """Read and validate one timeline (an :class:`engine.batch.Source`, or a file name; ``-``:
    stdin), audit it under both policies and compare."""
    from . import api
    from .batch import Source, load_source
    job: ImpactJob = _state["job"]
    if isinstance(source, str):
        source = Source(source)
    label = source.label
    try:
        timeline = load_source(source, job.limits)
    except InputError as exc:
        return Row(label, problems=tuple(exc.problems))
    old, new = _state["old"], _state["new"]
    if old is None or new is None:
        return Row(label, timeline.candidate)
    notices: list[str] = []
    try:
        before = api.audit(timeline, old, job.as_of, engine=job.engine, notices=notices)
        after = api.audit(timeline, new, job.as_of, engine=job.engine, notices=notices)
    except InputError as exc:  # no position in the file: name the file at least
        return Row(label, timeline.candidate, audit_problems=tuple(
            p if p.loc else Problem(p.code, p.message, Loc(label), path=p.path) for p in exc.problems))
    if after.ignored:
        notices.append(f"warning: {label}: {len(after.ignored)} event(s) after the as-of time were ignored: "
                       f"{', '.join(after.ignored)}")
    changes = diff_findings([f.model_dump() for f in before.findings], [f.model_dump() for f in after.findings])
    return Row(label, timeline.candidate, tuple(changes), len(before.findings), len(after.findings),
               tuple(dict.fromkeys(notices)), audited=True)


def expand_caseload(paths: Iterable[str], limits: Limits | None = None):
    """The timelines ``paths`` name, as ``followup audit`` reads them (:func:`engine.batch.expand`:
    files, ``-``, directories recursively, patterns, JSON Lines files, one timeline a line)."""
    from .batch import expand
    from .limits import DEFAULT_LIMITS
    return expand(paths, limits or DEFAULT_LIMITS)


# -- the result -------------------------------------------------------------------------------------

@dataclass
class Totals:
    timelines: int = 0
    changed_timelines: int = 0
    old_findings: int = 0
    new_findings: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    #: rule -> {"added": n, "removed": n, "changed": n, "fields": Counter, "severity": Counter}
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.timelines += 1
        self.old_findings += row.old_findings
        self.new_findings += row.new_findings
        self.changed_timelines += bool(row.changes)
        for c in row.changes:
            kind = c["change"]
            setattr(self, kind, getattr(self, kind) + 1)
            tally = self.rules.setdefault(c["rule"], {"added": 0, "removed": 0, "changed": 0,
                                                      "fields": Counter(), "severity": Counter()})
            tally[kind] += 1
            if kind == "changed":
                tally["fields"].update(c["fields"])
                if "severity" in c["fields"]:
                    tally["severity"][f"{c['old']['severity']} -> {c['new']['severity']}"] += 1

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def rule_rows(self) -> list[dict[str, Any]]:
        return [{"rule": rule, "added": t["added"], "removed": t["removed"], "changed": t["changed"],
                 "fields": dict(sorted(t["fields"].items(), key=lambda kv: COMPARED.index(kv[0]))),
                 "severity": dict(sorted(t["severity"].items()))}
                for rule, t in sorted(self.rules.items())]

    def as_dict(self) -> dict[str, int]:
        return {"timelines": self.timelines, "changed_timelines": self.changed_timelines,
                "old_findings": self.old_findings, "new_findings": self.new_findings,
                "added": self.added, "removed": self.removed, "changed": self.changed}


def _rows(paths: list[str], job: ImpactJob, old, new, jobs: int, executor: str,
          scheduler: str | None) -> Iterator[Row]:
    sources = expand_caseload(paths, job.limits)
    if (executor == "local" and jobs <= 1) or STDIN_PATH in paths:
        init(job, old, new)
        for source in sources:
            yield impact_one(source)
        return
    from .executors import ordered_map
    yield from ordered_map(impact_one, sources, init=init, initargs=(job, old, new), executor=executor,
                           jobs=jobs, scheduler=scheduler)


def run_impact(paths: list[str], job: ImpactJob, old, new, policy_problems: Iterable[Problem] = (),
               fmt: str = "text", jobs: int = 1, executor: str = "local", scheduler: str | None = None,
               out: IO[str] | None = None, err: IO[str] | None = None, show_progress: bool | None = None) -> int:
    """Compare ``old`` and ``new`` (loaded policies; ``None`` with ``policy_problems``) over the
    timelines at ``paths`` and write the report in ``fmt`` to ``out``, notices to ``err`` (and a
    progress bar, when ``err`` is a terminal or ``show_progress``).

    Returns 0 (nothing changes) or 1; raises :class:`InputError` with every file's problems (and
    ``policy_problems``) if any is invalid, else with the first evaluation problem.
    """
    from .report.escape import escape_text
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    problems = list(policy_problems)
    audit_problems: tuple[Problem, ...] = ()
    notices: dict[str, None] = {}
    totals = Totals()
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8", errors="surrogatepass",
                                       newline="") as spool:
        from .executors import progress
        rows = _rows(paths, job, old, new, jobs, executor, scheduler)
        for row in progress(rows, None, err, enabled=show_progress):
            problems.extend(row.problems)
            if problems or audit_problems:
                continue
            if row.audit_problems:
                audit_problems = row.audit_problems
                continue
            notices.update(dict.fromkeys(row.notices))
            totals.add(row)
            if row.changes:
                spool.write(json.dumps({"timeline": row.label, "candidate": row.candidate,
                                        "changes": row.changes}) + "\n")
        if problems:
            raise InputError(problems)
        if audit_problems:
            raise InputError(list(audit_problems))
        for line in notices:
            print(escape_text(line), file=err)
        spool.seek(0)
        candidates = (json.loads(line) for line in spool)
        head = {"old": old.name, "new": new.name, "as_of": _iso(job.as_of)}
        for chunk in RENDERERS[fmt](head, totals, candidates):
            out.write(chunk)
    return 1 if totals.any else 0


def _iso(instant: datetime) -> str:
    from .calendar import iso_utc
    return iso_utc(instant)


# -- renderers: each yields the output in pieces, reading the candidates as it goes ------------------

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _tally(t: dict) -> str:
    return ", ".join(f"{t[k]} {k}" for k in ("added", "removed", "changed") if t[k])


def _changed_fields(t: dict) -> str:
    fields = ", ".join(f"{name} {n}" for name, n in t["fields"].items())
    sev = ", ".join(f"{k} {n}" for k, n in t["severity"].items())
    return fields + (f" ({sev})" if sev else "")


def _summary(head: dict, totals: Totals) -> str:
    return (f"{_plural(totals.timelines, 'timeline')}, {totals.changed_timelines} with changes; findings "
            f"{totals.old_findings} -> {totals.new_findings}: {totals.added} added, {totals.removed} removed, "
            f"{totals.changed} changed")


def _where(c: dict) -> str:
    return f"{c['application']}, {c['contact'] or 'the company'}, about {c['event']}"


def _value(name: str, value: Any) -> str:
    if name == "events":
        return ", ".join(value)
    return "none" if value is None else str(value)


def _text(head: dict, totals: Totals, candidates: Iterator[dict]) -> Iterator[str]:
    from .report.escape import escape_text as e
    yield f"policy impact: {e(head['old'])} -> {e(head['new'])}, as of {head['as_of']}\n"
    yield f"  {_summary(head, totals)}\n"
    if not totals.any:
        yield "  nothing changes\n"
        return
    yield "\nby rule:\n"
    for r in totals.rule_rows():
        line = f"  {e(r['rule'])}: {_tally(r)}"
        if r["changed"]:
            line += f" [{_changed_fields(r)}]"
        yield line + "\n"
    yield "\nby candidate:\n"
    for cand in candidates:
        who = f"{e(cand['candidate'])} ({e(cand['timeline'])})" if cand["candidate"] else e(cand["timeline"])
        yield f"  {who}\n"
        for c in cand["changes"]:
            mark = {"added": "+", "removed": "-", "changed": "~"}[c["change"]]
            f = c["new"] or c["old"]
            if c["change"] == "changed":
                yield f"    {mark} changed  {e(c['rule'])}  {e(_where(c))}\n"
                for name in c["fields"]:
                    yield (f"        {name}: {e(_value(name, c['old'][name]))} -> "
                           f"{e(_value(name, c['new'][name]))}\n")
            else:
                yield f"    {mark} {c['change']:<8} {e(c['rule'])}  {e(_where(c))}  ({f['severity']})\n"
                yield f"        {e(f['message'])}\n"


def _markdown(head: dict, totals: Totals, candidates: Iterator[dict]) -> Iterator[str]:
    from .report.escape import escape_markdown as m
    from .report.escape import escape_text as e
    yield f"# Policy impact: `{e(head['old'])}` -> `{e(head['new'])}`\n\n"
    yield f"As of {head['as_of']}: {_summary(head, totals)}.\n"
    if not totals.any:
        yield "\nNothing changes.\n"
        return
    yield "\n## By rule\n\n| rule | added | removed | changed | what changed |\n|---|---|---|---|---|\n"
    for r in totals.rule_rows():
        yield (f"| `{e(r['rule'])}` | {r['added']} | {r['removed']} | {r['changed']} "
               f"| {m(_changed_fields(r)) if r['changed'] else ''} |\n")
    yield "\n## By candidate\n"
    for cand in candidates:
        who = f"{m(cand['candidate'])} ({m(cand['timeline'])})" if cand["candidate"] else m(cand["timeline"])
        yield f"\n### {who}\n\n| change | rule | where | what |\n|---|---|---|---|\n"
        for c in cand["changes"]:
            f = c["new"] or c["old"]
            if c["change"] == "changed":
                what = "<br>".join(f"{name}: {m(_value(name, c['old'][name]))} → {m(_value(name, c['new'][name]))}"
                                   for name in c["fields"])
            else:
                what = f"{f['severity']}: {m(f['message'])}"
            yield f"| {c['change']} | `{e(c['rule'])}` | {m(_where(c))} | {what} |\n"


_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Policy impact: {{ head.old }} -> {{ head.new }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.added { color: #0a6b2d; } .removed { color: #a4161a; } .changed { color: #8a5a00; }
code { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1>Policy impact: <code>{{ head.old }}</code> &rarr; <code>{{ head.new }}</code></h1>
<p>As of {{ head.as_of }}: {{ summary }}.</p>
{% if not totals.any %}<p>Nothing changes.</p>{% else %}
<h2>By rule</h2>
<table>
<tr><th>rule</th><th>added</th><th>removed</th><th>changed</th><th>what changed</th></tr>
{% for r in rules %}<tr><td><code>{{ r.rule }}</code></td><td>{{ r.added }}</td><td>{{ r.removed }}</td>
<td>{{ r.changed }}</td><td>{{ r.what }}</td></tr>
{% endfor %}</table>
<h2>By candidate</h2>
{% for cand in candidates %}<h3>{% if cand.candidate %}{{ cand.candidate }} ({{ cand.timeline }}){% else %}{{ cand.timeline }}{% endif %}</h3>
<table>
<tr><th>change</th><th>rule</th><th>where</th><th>what</th></tr>
{% for c in cand.changes %}<tr class="{{ c.change }}"><td>{{ c.change }}</td><td><code>{{ c.rule }}</code></td><td>{{ where(c) }}</td>
<td>{% if c.change == "changed" %}{% for name in c.fields %}{{ name }}: {{ value(name, c.old[name]) }} &rarr; {{ value(name, c.new[name]) }}{% if not loop.last %}<br>{% endif %}{% endfor %}{% else %}{% set f = c.new or c.old %}{{ f.severity }}: {{ f.message }}{% endif %}</td></tr>
{% endfor %}</table>
{% endfor %}{% endif %}
</body>
</html>
"""


def _html(head: dict, totals: Totals, candidates: Iterator[dict]) -> Iterator[str]:
    import jinja2
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_HTML)
    rules = [dict(r, what=_changed_fields(r) if r["changed"] else "") for r in totals.rule_rows()]
    yield from template.generate(head=head, totals=totals, summary=_summary(head, totals), rules=rules,
                                 candidates=candidates, where=_where, value=_value)


def _json(head: dict, totals: Totals, candidates: Iterator[dict]) -> Iterator[str]:
    doc = json.dumps({**head, "totals": totals.as_dict(), "rules": totals.rule_rows()}, indent=2)
    yield doc[:-2] + ',\n  "candidates": ['
    first = True
    for cand in candidates:
        yield ("\n    " if first else ",\n    ") + json.dumps(cand, indent=2).replace("\n", "\n    ")
        first = False
    yield ("\n  ]\n}\n" if not first else "]\n}\n")


RENDERERS = {"text": _text, "markdown": _markdown, "html": _html, "json": _json}
