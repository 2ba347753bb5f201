"""Auditing many timeline files: one at a time, in input order, optionally in a process pool.

``followup audit a.yaml b.yaml ...`` reads, audits and renders each file on its own
(:func:`audit_one`), so memory does not grow with the number of files; with ``--jobs N``
(N > 1) the files are shared among N worker processes, each of which loads the policy once
(:func:`init`), and the pieces come back in input order; ``--executor dask`` shares them among
the workers of a Dask cluster instead (both: :func:`engine.executors.ordered_map`).

The output is the same as rendering every report at once (``engine.report.render``), byte
for byte: the text and Markdown of several timelines are the pieces separated by a blank
line, and the JSON document's ``timelines`` list is written one entry at a time
(:class:`Output`). As before, one invalid file (or an invalid policy) means exit 2 with every
problem listed and nothing on stdout, so the pieces are kept in a temporary file (in memory
up to :data:`SPOOL_BYTES`, on disk beyond) and written out once the last file is audited.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Iterable, Iterator

from .errors import InputError, Loc, Problem
from .limits import Limits

__all__ = ["Job", "Output", "Piece", "audit_files", "audit_one", "default_jobs", "init"]

#: rendered output kept in memory before the spool moves to a temporary file
SPOOL_BYTES = 1 << 20
#: stdin has one reader: a batch that names it (``-``) runs in this process
STDIN_PATH = "-"


@dataclass(frozen=True)
class Job:
    """What every file of a batch is audited with."""

    policy: str
    as_of: datetime
    engine: str
    fmt: str
    limits: Limits
    #: how many files the batch has (JSON with one file is a bare object, not a list)
    total: int


@dataclass(frozen=True)
class Piece:
    """One file's share of the command's result."""

    label: str
    #: the rendered piece (``None`` when the file was invalid or not audited)
    text: str | None = None
    violations: bool = False
    notices: tuple[str, ...] = ()
    #: problems reading or validating the file
    problems: tuple[Problem, ...] = ()
    #: problems found while evaluating it (located in the file at least)
    audit_problems: tuple[Problem, ...] = ()
    as_of: str = ""
    policy: str = ""


_state: dict = {}


def init(job: Job, policy=None) -> None:
    """Set up this process for :func:`audit_one`: the job, and its policy, loaded here unless
    given. An invalid policy leaves none: files are then only read and validated."""
    if policy is None:
        from . import api
        try:
            policy = api.load_policy(job.policy)
        except InputError:
            policy = None
    _state.update(job=job, policy=policy)


def _render(job: Job, item) -> str:
    if job.fmt == "json":
        from .report.json import timeline_entry
        if job.total == 1:
            return json.dumps(item.report.contract(), indent=2)
        return json.dumps(timeline_entry(item), indent=2).replace("\n", "\n    ")
    if job.fmt == "markdown":
        from .report.markdown import item_lines
        return "\n".join(item_lines(item))
    from .report.escape import escape_text
    from .report.text import item_lines
    return "\n".join(escape_text(line) for line in item_lines(item))


def audit_one(path: str) -> Piece:
    """Read, validate, audit and render one timeline file (``-``: stdin), as :func:`init` set up."""
    from . import api
    from .report import AuditItem
    from .source import STDIN_NAME, read_document
    from .timeline import timeline_from_data
    job: Job = _state["job"]
    label = STDIN_NAME if path == STDIN_PATH else path
    try:
        doc = read_document(path, limits=job.limits)
        timeline = timeline_from_data(doc.data, doc, max_events=job.limits.max_events)
    except InputError as exc:
        return Piece(label, problems=tuple(exc.problems))
    policy = _state["policy"]
    if policy is None:
        return Piece(label)
    notices: list[str] = []
    try:
        report = api.audit(timeline, policy, job.as_of, engine=job.engine, notices=notices)
    except InputError as exc:  # no position in the file: name the file at least
        return Piece(label, audit_problems=tuple(p if p.loc else Problem(p.code, p.message, Loc(label), path=p.path)
                                                 for p in exc.problems))
    if report.ignored:
        notices.append(f"warning: {label}: {len(report.ignored)} event(s) after the as-of time were ignored: "
                       f"{', '.join(report.ignored)}")
    return Piece(label, _render(job, AuditItem(label, timeline, report)), bool(report.violations),
                 tuple(notices), as_of=report.as_of, policy=report.policy)


class Output:
    """Joins the pieces of a batch as ``engine.report.render`` would join the whole list."""

    def __init__(self, job: Job, out: IO[str]):
        self.job, self.out, self.written = job, out, 0

    def add(self, piece: Piece) -> None:
        job, first, last = self.job, self.written == 0, self.written == self.job.total - 1
        text = piece.text or ""
        if job.fmt == "json":
            if job.total == 1:
                self.out.write(text + "\n")
            else:
                if first:
                    self.out.write(f'{{\n  "as_of": {json.dumps(piece.as_of)},\n  "policy": {json.dumps(piece.policy)},'
                                   f'\n  "timelines": [\n')
                self.out.write("    " + text + ("\n  ]\n}\n" if last else ",\n"))
        else:  # the items' lines, a blank line after each, the whole right-stripped
            self.out.write(text.rstrip() + "\n" if last else text + "\n\n")
        self.written += 1


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _pieces(paths: list[str], job: Job, policy, jobs: int, executor: str = "local",
            scheduler: str | None = None) -> Iterator[Piece]:
    if (executor == "local" and (jobs <= 1 or len(paths) < 2)) or STDIN_PATH in paths:
        init(job, policy)
        for path in paths:
            yield audit_one(path)
        return
    from .executors import ordered_map  # engine/executors.py: the local process pool, or Dask
    yield from ordered_map(audit_one, paths, init=init, initargs=(job, policy), executor=executor, jobs=jobs,
                           scheduler=scheduler)


def audit_files(paths: list[str], job: Job, policy, policy_problems: Iterable[Problem] = (),
                jobs: int = 1, out: IO[str] | None = None, err: IO[str] | None = None,
                executor: str = "local", scheduler: str | None = None) -> int:
    """Audit ``paths`` with ``job`` and write the result to ``out`` (stdout) and notices to ``err``.

    Returns 0 or 1 (a violation somewhere); raises :class:`InputError` as the command did
    when it loaded every file first: all files' problems (and ``policy_problems``; then
    nothing is audited) if any file is invalid, else the first evaluation problem.
    """
    from .report.escape import escape_text
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    problems = list(policy_problems)
    audit_problems: tuple[Problem, ...] = ()
    notices: dict[str, None] = {}
    violations = False
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8", errors="surrogatepass",
                                       newline="") as spool:
        output = Output(job, spool)
        for piece in _pieces(paths, job, policy, jobs, executor, scheduler):
            problems.extend(piece.problems)
            if problems or audit_problems:
                continue  # the command fails: no more output, but every file's problems
            if piece.audit_problems:
                audit_problems = piece.audit_problems
                continue
            notices.update(dict.fromkeys(piece.notices))
            violations = violations or piece.violations
            output.add(piece)
        if problems:
            raise InputError(problems)
        if audit_problems:
            raise InputError(list(audit_problems))
        for line in notices:
            print(escape_text(line), file=err)
        spool.seek(0)
        while block := spool.read(1 << 16):
            out.write(block)
    return 1 if violations else 0
