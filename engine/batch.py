"""Auditing a caseload: many timelines, one at a time, in input order, optionally in a process pool.

``followup audit ARG...`` reads its arguments as :class:`Source` values (:func:`expand`):

* a file is one timeline (YAML or JSON, whatever its name), except ``*.jsonl``;
* ``-`` is one timeline read from standard input;
* a directory is every ``.yaml``, ``.yml``, ``.json`` and ``.jsonl`` file under it, recursively,
  in sorted path order (names starting with ``.`` are skipped, symbolic links to directories
  are not followed; ``*.tests.yaml`` files are read like any other: point it at timelines);
* an argument that does not exist and has glob characters (``*``, ``?``, ``[``) is expanded
  here, as a shell would have (``**`` included), in sorted order;
* a JSON Lines file (``*.jsonl``) is one timeline per line, each its own source
  ``file.jsonl:LINE``, located ``file.jsonl:LINE:COL`` in errors; blank lines are skipped; the
  file is read line by line (never whole) and each line is bounded by the limits
  (``--max-bytes`` per line).

Each source is read, validated, audited and rendered on its own (:func:`audit_one`, one
picklable :class:`Source` in, one :class:`Piece` out), so memory does not grow with the
caseload; with ``--jobs N`` (N > 1) the sources are shared among N worker processes, each of
which loads the policy once (:func:`init`), submitted a bounded window at a time, and the
pieces come back in input order.

A source that cannot be read, validated or evaluated is reported on stderr (located), the
others are still audited and written, and the exit code is 2 (else 1 for a violation
somewhere, else 0). In JSON and JSON Lines output an invalid source is an error entry in its
place. An invalid policy means exit 2 with every problem (the policy's and the sources') and
nothing written.

The output of valid sources is that of rendering every report at once
(``engine.report.render``), byte for byte: text and Markdown pieces are separated by a blank
line, the JSON document's ``timelines`` list is written one entry at a time (:class:`Output`).
"""

from __future__ import annotations

import glob
import json
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import IO, Callable, Iterable, Iterator

from .errors import InputError, Loc, Problem
from .executors import default_jobs  # noqa: F401  (re-exported: the CLI and tests take it from here)
from .limits import Limits

__all__ = ["Job", "Output", "Piece", "Source", "audit_files", "audit_many", "audit_one", "atomic_output",
           "default_jobs", "expand", "init", "load_source", "one_timeline", "TIMELINE_SUFFIXES"]

#: rendered HTML sections kept in memory before the spool moves to a temporary file
SPOOL_BYTES = 1 << 20
#: stdin has one reader: a batch that names it (``-``) runs in this process
STDIN_PATH = "-"
#: the files a directory contributes
TIMELINE_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
JSONL_SUFFIX = ".jsonl"
#: sources per task sent to a worker process (engine/executors.py keeps 4 tasks per worker in flight)
CHUNK = 4
#: a progress bar is shown only for runs with more sources than this
FEW = 5
#: the formats whose pieces are reports for people (an invalid source writes nothing there)
HUMAN = ("text", "markdown", "html")


@dataclass(frozen=True)
class Job:
    """What every source of a batch is audited with."""

    policy: str
    as_of: datetime
    engine: str
    fmt: str
    limits: Limits
    #: how many sources the batch has when that is known in advance, else 0; JSON output for
    #: exactly one is a bare object, not a list (see :func:`one_timeline`)
    total: int
    #: compute each timeline's summary row (``--summary``)
    summary: bool = False


@dataclass(frozen=True)
class Source:
    """One timeline to audit: a file (``-``: stdin), or one line of a JSON Lines file."""

    path: str
    #: JSON Lines: the 1-based line number; 0 for a whole file
    line: int = 0
    #: JSON Lines: the line's bytes, without its end of line
    text: bytes | None = None
    #: problems found while finding or reading it (no such file, a line over the limit...)
    problems: tuple[Problem, ...] = ()
    #: its 1-based position in the run (the HTML report's anchor ``t<index>``)
    index: int = 0

    @property
    def name(self) -> str:
        """The file as locations name it."""
        from .source import STDIN_NAME
        return STDIN_NAME if self.path == STDIN_PATH else self.path

    @property
    def label(self) -> str:
        """What the reports call it: the file, or ``file.jsonl:LINE``."""
        return f"{self.name}:{self.line}" if self.line else self.name


@dataclass(frozen=True)
class Piece:
    """One source's share of the command's result."""

    label: str
    #: the rendered piece (``None`` when nothing is written for it)
    text: str | None = None
    violations: bool = False
    #: notices of the engine (deduplicated over the run)
    notices: tuple[str, ...] = ()
    #: problems reading or validating the source
    problems: tuple[Problem, ...] = ()
    #: problems found while evaluating it (located in the source at least)
    audit_problems: tuple[Problem, ...] = ()
    as_of: str = ""
    policy: str = ""
    #: the warning about events after the as-of time, if any
    ignored: str = ""
    #: the summary row (``Job.summary``)
    row: object = None

    @property
    def invalid(self) -> bool:
        return bool(self.problems or self.audit_problems)


# ---------------------------------------------------------------------------------------
# sources


def _problem_source(path: str, problem: Problem, index: int) -> Source:
    return Source(path, problems=(problem,), index=index)


def _walk(folder: str) -> Iterator[str | Problem]:
    """The timeline files under ``folder``, in sorted path order, depth first (a problem for a
    directory that cannot be listed)."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        yield Problem("input.unreadable", exc.strerror or str(exc), Loc(folder))
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            yield from _walk(entry.path)
        elif entry.name.lower().endswith(TIMELINE_SUFFIXES):
            yield entry.path


def _lines(path: str, limits: Limits, index: int) -> Iterator[Source]:
    """The timelines of a JSON Lines file, one line at a time (each line at most ``limits.max_bytes``)."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        yield _problem_source(path, _open_problem(path, exc), index)
        return
    number = 0
    with fh:
        while True:
            try:
                raw = fh.readline(limits.max_bytes + 1)
                number += 1
                if len(raw) > limits.max_bytes and not raw.endswith(b"\n"):
                    while raw and not raw.endswith(b"\n"):  # the rest of the line, a block at a time
                        raw = fh.readline(1 << 16)
                    yield Source(path, number, problems=(Problem(
                        "input.too-large", f"the line is larger than the limit of {limits.max_bytes} bytes",
                        Loc(path, number, 1)),), index=index)
                    index += 1
                    continue
            except OSError as exc:
                yield Source(path, number, problems=(Problem("input.unreadable", exc.strerror or str(exc),
                                                             Loc(path, number, 1)),), index=index)
                return
            if not raw:
                return
            body = raw[:-1] if raw.endswith(b"\n") else raw
            body = body[:-1] if body.endswith(b"\r") else body
            if not body.strip():
                continue
            yield Source(path, number, body, index=index)
            index += 1


def _open_problem(path: str, exc: OSError) -> Problem:
    if isinstance(exc, FileNotFoundError):
        return Problem("input.not-found", "no such file", Loc(path))
    if isinstance(exc, IsADirectoryError):
        return Problem("input.not-a-file", "is a directory, not a file", Loc(path))
    return Problem("input.unreadable", exc.strerror or str(exc), Loc(path))


def _is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def expand(arguments: Iterable[str], limits: Limits, warn: Callable[[str], None] | None = None) -> Iterator[Source]:
    """The sources named by the command's arguments, in order (see the module's docstring).

    A name that matches nothing is a source with an ``input.not-found`` problem; ``warn`` is
    told about a directory with no timeline file in it.
    """
    index = 1
    for arg in arguments:
        if arg == STDIN_PATH:
            yield Source(arg, index=index)
            index += 1
            continue
        if not os.path.lexists(arg) and glob.has_magic(arg):
            matches = sorted(glob.iglob(arg, recursive=True))
            if not matches:
                yield _problem_source(arg, Problem("input.not-found", "no file matches this pattern", Loc(arg)), index)
                index += 1
                continue
        else:
            matches = [arg]
        for path in matches:
            if _is_dir(path):
                files = _walk(path)
                found = False
            else:
                files, found = iter([path]), True
            for file in files:
                found = True
                if isinstance(file, Problem):
                    yield _problem_source(file.loc.file, file, index)
                    index += 1
                elif file.lower().endswith(JSONL_SUFFIX):
                    for source in _lines(file, limits, index):
                        yield source
                        index = source.index + 1
                else:
                    yield Source(file, index=index)
                    index += 1
            if not found and warn is not None:
                warn(f"warning: {path}: no timeline files ({', '.join(TIMELINE_SUFFIXES)}) in this directory")


def one_timeline(arguments: list[str]) -> bool:
    """Whether the arguments name exactly one timeline: one file (not JSON Lines) or ``-``.
    JSON output is then the bare report; for anything else it is the several-timeline document,
    whatever a directory or pattern turns out to hold."""
    if len(arguments) != 1:
        return False
    arg = arguments[0]
    if arg == STDIN_PATH:
        return True
    if not os.path.lexists(arg) and glob.has_magic(arg):
        return False
    return not _is_dir(arg) and not arg.lower().endswith(JSONL_SUFFIX)


def _on_line(problem: Problem, path: str, line: int) -> Problem:
    """A problem of a JSON Lines line's document, located in the file."""
    loc = problem.loc
    if loc is None or (loc.file == path and not loc.line):
        return replace(problem, loc=Loc(path, line, 1))
    if loc.file != path:
        return problem
    return replace(problem, loc=Loc(path, line + loc.line - 1, loc.col))


def _line_document(source: Source, limits: Limits):
    """The document of a JSON Lines line; which must be JSON (JSON Lines is JSON, not YAML)."""
    from .source import read_document
    path, line, text = source.path, source.line, source.text
    try:
        doc = read_document(text, path, limits)
        problems = None
    except InputError as exc:
        doc, problems = None, exc.problems
    if doc is None or not doc.is_json:
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(Problem("jsonl.syntax", f"the line is not JSON: {exc.msg[:1].lower() + exc.msg[1:]}",
                                     Loc(path, line, exc.colno))) from None
        except (ValueError, RecursionError):
            pass
        if problems is not None:
            raise InputError([_on_line(p, path, line) for p in problems])
    return doc


def load_source(source: Source, limits: Limits):
    """The validated timeline of ``source``; raise :class:`InputError`, located in the file
    (``file.jsonl:LINE:COL`` for a JSON Lines line)."""
    from .source import read_document
    from .timeline import timeline_from_data
    if isinstance(source, str):
        source = Source(source)
    if source.problems:
        raise InputError(list(source.problems))
    if source.text is None:
        doc = read_document(source.path, limits=limits)
        return timeline_from_data(doc.data, doc, max_events=limits.max_events)
    doc = _line_document(source, limits)
    try:
        return timeline_from_data(doc.data, doc, max_events=limits.max_events)
    except InputError as exc:
        raise InputError([_on_line(p, source.path, source.line) for p in exc.problems]) from None


# ---------------------------------------------------------------------------------------
# one source


_state: dict = {}


def init(job: Job, policy=None) -> None:
    """Set up this process for :func:`audit_one`: the job, and its policy, loaded here unless
    given. An invalid policy leaves none: sources are then only read and validated."""
    if policy is None:
        from . import api
        try:
            policy = api.load_policy(job.policy)
        except InputError:
            policy = None
    _state.update(job=job, policy=policy)


def _render(job: Job, item, source: Source) -> str:
    if job.fmt == "json":
        from .report.json import timeline_entry
        if job.total == 1:
            return json.dumps(item.report.contract(), indent=2)
        return json.dumps(timeline_entry(item), indent=2).replace("\n", "\n    ")
    if job.fmt == "jsonl":
        return json.dumps({**_where(source), "candidate": item.timeline.candidate, **item.report.contract()},
                          separators=(",", ":"))
    if job.fmt == "html":
        from .report import html
        return html.section(item, f"t{source.index}")
    if job.fmt == "markdown":
        from .report.markdown import item_lines
        return "\n".join(item_lines(item))
    from .report.escape import escape_text
    from .report.text import item_lines
    return "\n".join(escape_text(line) for line in item_lines(item))


def _where(source: Source) -> dict:
    return {"source": source.name, **({"line": source.line} if source.line else {})}


def _invalid(job: Job, source: Source, problems: tuple[Problem, ...], audit: bool = False) -> Piece:
    """The piece of a source that could not be read (or evaluated): an error entry in JSON."""
    text = None
    if job.fmt == "jsonl":
        text = json.dumps({**_where(source), "errors": [p.as_dict() for p in problems]},
                          separators=(",", ":"))
    elif job.fmt == "json" and job.total != 1:
        text = json.dumps({"timeline": source.label, "errors": [p.as_dict() for p in problems]},
                          indent=2).replace("\n", "\n    ")
    row = None
    if job.summary:
        from .report.summary import invalid_row
        row = invalid_row(source.label, [str(p) for p in InputError(list(problems)).problems])
    if audit:
        return Piece(source.label, text, audit_problems=problems, row=row)
    return Piece(source.label, text, problems=problems, row=row)


def audit_one(source: Source | str) -> Piece:
    """Read, validate, audit and render one source (a path: that file), as :func:`init` set up."""
    from . import api
    from .report import AuditItem
    if isinstance(source, str):
        source = Source(source)
    job: Job = _state["job"]
    label = source.label
    try:
        timeline = load_source(source, job.limits)
    except InputError as exc:
        return _invalid(job, source, tuple(exc.problems))
    policy = _state["policy"]
    if policy is None:
        return Piece(label)
    notices: list[str] = []
    row = None
    try:
        report = api.audit(timeline, policy, job.as_of, engine=job.engine, notices=notices)
        item = AuditItem(label, timeline, report, policy)
        if job.summary:
            from .decide import agenda
            from .report.summary import summary_row
            row = summary_row(item, agenda(timeline, policy, job.as_of, engine=report.engine), f"t{source.index}")
    except InputError as exc:  # no position in the file: name the source at least
        here = Loc(source.path, source.line, 1) if source.line else Loc(source.name)
        return _invalid(job, source, tuple(p if p.loc else Problem(p.code, p.message, here, path=p.path)
                                           for p in exc.problems), audit=True)
    ignored = ""
    if report.ignored:
        ignored = (f"warning: {label}: {len(report.ignored)} event(s) after the as-of time were ignored: "
                   f"{', '.join(report.ignored)}")
    return Piece(label, _render(job, item, source), bool(report.violations), tuple(notices),
                 as_of=report.as_of, policy=report.policy, ignored=ignored, row=row)


def audit_many(sources: list[Source]) -> list[Piece]:
    """:func:`audit_one` of each source (one task of a worker process)."""
    return [audit_one(s) for s in sources]


# ---------------------------------------------------------------------------------------
# the output


class Output:
    """Joins the pieces of a batch as ``engine.report.render`` would join the whole list.

    Pieces are written as they come, but one: the last piece of a text or Markdown report is
    right-stripped, so each is written once the next one (or :meth:`close`) shows whether it
    was the last. With ``summary`` rows (``--summary``), :meth:`close` adds the summary
    table: after the reports in text and Markdown, before them (under the page's head) in
    HTML, whose sections are then kept in a spool until the end.
    """

    def __init__(self, job: Job, out: IO[str], policy: str = "", summary: bool = False):
        self.job, self.out, self.policy, self.summary = job, out, policy, summary
        self.written = 0
        self.rows: list = []
        self._pending: str | None = None
        self._spool = None
        if job.fmt == "html" and summary:
            self._spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8",
                                                        errors="surrogatepass", newline="")

    def _as_of(self) -> str:
        from .calendar import iso_utc
        return iso_utc(self.job.as_of)

    def _start(self) -> None:
        job = self.job
        if job.fmt == "json" and job.total != 1:
            self.out.write(f'{{\n  "as_of": {json.dumps(self._as_of())},\n  "policy": {json.dumps(self.policy)},'
                           f'\n  "timelines": [')
        elif job.fmt == "html":
            from .report import html
            self.out.write(html.page_head(f"Follow-up audit: policy {self.policy}, as of {self._as_of()}"))

    def add(self, piece: Piece) -> None:
        if piece.row is not None:
            self.rows.append(piece.row)
        if piece.text is None:
            return
        job, text = self.job, piece.text
        if self.written == 0:
            self._start()
        if job.fmt == "json":
            if job.total == 1:
                self.out.write(text + "\n")
            else:
                self.out.write(("\n    " if self.written == 0 else ",\n    ") + text)
        elif job.fmt == "jsonl":
            self.out.write(text + "\n")
        elif job.fmt == "html":
            (self._spool or self.out).write(text)
        else:  # the items' lines, a blank line after each, the whole right-stripped
            if self._pending is not None:
                self.out.write(self._pending + "\n\n")
            self._pending = text
        self.written += 1

    def close(self) -> None:
        job = self.job
        if self.written == 0 and job.fmt in ("json", "html") and (job.fmt == "html" or job.total != 1):
            self._start()
        if job.fmt == "json" and job.total != 1:
            self.out.write("\n  ]\n}\n" if self.written else "]\n}\n")
        elif job.fmt == "html":
            from .report import html
            if self.summary:
                from .report.summary import sort_rows
                self.out.write(html.summary_table(sort_rows(self.rows)))
            if self._spool is not None:
                self._spool.seek(0)
                while block := self._spool.read(1 << 16):
                    self.out.write(block)
                self._spool.close()
            self.out.write(html.page_tail())
        elif job.fmt in ("text", "markdown"):
            if self._pending is not None:
                self.out.write(self._pending.rstrip() + "\n")
            if self.summary:
                from .report import summary
                render = summary.render_text if job.fmt == "text" else summary.render_markdown
                self.out.write(("\n" if self._pending is not None else "") + render(self.rows, self.policy,
                                                                                    self._as_of()))
            self._pending = None


@contextmanager
def atomic_output(path: str):
    """A text file written at ``path`` only if the block succeeds: a temporary file beside it,
    renamed over ``path`` at the end (readers never see half a report); removed on failure."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(Problem("output.unwritable", exc.strerror or str(exc), Loc(path))) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass", newline="") as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise InputError(Problem("output.unwritable", exc.strerror or str(exc), Loc(path))) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------
# the run


def _pieces(sources: Iterable[Source], job: Job, policy, jobs: int, in_process: bool = False,
            executor: str = "local", scheduler: str | None = None) -> Iterator[Piece]:
    """The pieces of ``sources``, in order: here, or on ``executor`` (``jobs`` local processes, or
    a Dask cluster; :func:`engine.executors.ordered_map`), :data:`CHUNK` sources a task, a bounded
    window of tasks in flight at a time. Standard input (``in_process``) is read here."""
    if in_process or (executor == "local" and jobs <= 1):
        init(job, policy)
        for source in sources:
            yield audit_one(source)
        return
    from .executors import ordered_map  # engine/executors.py: the local process pool, or Dask
    yield from ordered_map(audit_one, sources, init=init, initargs=(job, policy), executor=executor, jobs=jobs,
                           scheduler=scheduler, batch=CHUNK)


class _Progress:
    """A progress bar (tqdm) on ``err`` when it is a terminal and the run has more than
    :data:`FEW` sources; lines for ``err`` are written past it."""

    def __init__(self, err: IO[str], total: int, enabled: bool | None = None):
        self.err, self.total, self.count, self.bar = err, total or None, 0, None
        if enabled is None:
            isatty = getattr(err, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled and (self.total is None or self.total > FEW)

    def tick(self) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled and self.count > FEW:
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, initial=self.count, file=self.err, unit="timeline",
                            dynamic_ncols=True, leave=False)

    def line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.err)
        else:
            print(text, file=self.err)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def audit_files(paths: list[str], job: Job, policy, policy_problems: Iterable[Problem] = (),
                jobs: int = 1, out: IO[str] | None = None, err: IO[str] | None = None,
                progress: bool | None = None, executor: str = "local", scheduler: str | None = None) -> int:
    """Audit the sources ``paths`` name (:func:`expand`) with ``job`` on ``executor``; write the
    result to ``out`` (stdout) and problems and notices to ``err`` (stderr), as each source is done.

    Returns 2 if any source was invalid, else 1 if any has a violation, else 0. With
    ``policy_problems`` (an invalid policy) nothing is audited: every source is still read
    and validated, and :class:`InputError` is raised with all the problems. ``progress``:
    show a progress bar (default: when ``err`` is a terminal).
    """
    from .report.escape import escape_text
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    problems = list(policy_problems)
    bar = _Progress(err, job.total, progress)
    if problems:
        for piece in _pieces(expand(paths, job.limits), job, None, jobs, STDIN_PATH in paths, executor, scheduler):
            problems.extend(piece.problems)
        raise InputError(problems)
    seen: set[str] = set()
    invalid = violations = False
    output = Output(job, out, policy.name, job.summary)
    try:
        sources = expand(paths, job.limits, lambda line: bar.line(escape_text(line)))
        for piece in _pieces(sources, job, policy, jobs, STDIN_PATH in paths, executor, scheduler):
            bar.tick()
            if piece.invalid:
                invalid = True
                for line in InputError(list(piece.problems or piece.audit_problems)).lines():
                    bar.line(escape_text(line))
            else:
                for notice in piece.notices:
                    if notice not in seen:
                        seen.add(notice)
                        bar.line(escape_text(notice))
                if piece.ignored:
                    bar.line(escape_text(piece.ignored))
                violations = violations or piece.violations
            output.add(piece)
        output.close()
    finally:
        bar.close()
    return 2 if invalid else 1 if violations else 0
