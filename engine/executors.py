"""Running one function over a stream of items, results in input order: here, in a local process
pool, or on a Dask cluster.

:func:`ordered_map` is the one interface. ``fn(item)`` must be a module-level function (it is sent
to other processes by reference) that reads what ``init(*initargs)`` set up in its process (for
``followup audit``: :func:`engine.batch.init` and :func:`engine.batch.audit_one`). The items are
read from an iterator as the work goes: at most ``window`` tasks of ``batch`` items each are out at
any time, so neither the items nor the results of a caseload are ever held whole.

``local`` (the default)
    In this process when ``jobs`` is 1, else a pool of ``jobs`` worker processes (``fork`` where
    the system has it: the workers start with the modules and the policy this process has
    loaded). ``init`` runs once in each worker. A worker that dies (killed, out of memory) ends the
    run with :class:`ExecutorError`; its work is not recomputed.

``dask``
    On the ``dask.distributed`` cluster whose scheduler is at ``scheduler`` (``tcp://host:8786``),
    else on a :class:`distributed.LocalCluster` of ``jobs`` single-threaded worker processes started
    for the run. ``init`` and ``initargs`` travel once to each worker as a worker plugin (the
    scheduler gives it to workers that join later, a restarted one too), so the policy is loaded
    once per worker, not per item. Each task is one batch; a task whose worker is lost is
    recomputed by Dask (up to ``distributed.scheduler.allowed-failures`` times), and the results
    are taken once per task, in submission order: every item appears exactly once in the output,
    in input order. Items must make sense on the workers (a file path must be readable there).
"""

from __future__ import annotations

import os
from collections import deque
from itertools import chain, islice
from typing import Any, Callable, Iterable, Iterator, TypeVar

from .errors import FollowupError, InputError, Problem

__all__ = ["EXECUTORS", "DEFAULT_BATCH", "ExecutorError", "check_executor", "default_jobs", "ordered_map", "progress"]

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "dask")
#: items per task at most
DEFAULT_BATCH = 16
#: tasks out at once, per worker
TASKS_PER_WORKER = 4
#: how long connecting to a ``--scheduler`` may take
CONNECT_TIMEOUT = "10s"

DASK_HINT = "pip install 'followup[dask]'"


class ExecutorError(FollowupError):
    """The workers failed the run (a local worker died, a Dask task lost its worker too often)."""


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_executor(executor: str) -> None:
    """Raise :class:`InputError` if ``executor`` is unknown or cannot run here (dask not installed)."""
    if executor not in EXECUTORS:
        raise InputError(Problem("executor.unknown", f"unknown executor `{executor}`; expected one of: "
                                                     f"{', '.join(EXECUTORS)}"))
    if executor == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise InputError(Problem("executor.missing-dependency",
                                     f"the dask executor needs dask.distributed: {DASK_HINT} ({exc})")) from None


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, init: Callable[..., Any] | None = None,
                initargs: tuple = (), executor: str = "local", jobs: int | None = None,
                scheduler: str | None = None, batch: int | None = None,
                window: int | None = None) -> Iterator[R]:
    """``fn(item)`` for each of ``items``, in input order, after ``init(*initargs)`` in each worker.

    ``jobs``: worker processes (local pool, or the workers of the Dask ``LocalCluster``; default:
    the cores here; ignored with ``scheduler``). ``batch``: items per task (default
    :data:`DEFAULT_BATCH`; fewer for a short input on the local pool, so both workers get some).
    ``window``: tasks out at once (default :data:`TASKS_PER_WORKER` per worker thread).

    Checks ``executor`` at once (:func:`check_executor`); the workers start at the first
    ``next()``, and stop when the iterator is exhausted or closed. Raises :class:`InputError`
    (``executor.scheduler-unreachable``) when ``scheduler`` cannot be reached, and
    :class:`ExecutorError` when the workers fail the run.
    """
    check_executor(executor)
    batch = DEFAULT_BATCH if batch is None else batch
    if batch < 1 or (window is not None and window < 1) or (jobs is not None and jobs < 1):
        raise ValueError("batch, window and jobs must be at least 1")
    if executor == "dask":
        from ._dask import dask_map
        return dask_map(fn, items, init, initargs, jobs or default_jobs(), scheduler, batch, window)
    if scheduler is not None:
        raise InputError(Problem("executor.no-scheduler", "a scheduler address needs the dask executor "
                                                          "(--executor dask)"))
    return _local(fn, items, init, initargs, jobs or default_jobs(), batch, window)


def progress(results: Iterable[R], total: int | None, file, what: str = "timelines",
             enabled: bool | None = None) -> Iterable[R]:
    """``results``, with a progress bar on ``file`` (tqdm) when it is a terminal (or ``enabled``)."""
    if enabled is None:
        isatty = getattr(file, "isatty", None)
        enabled = bool(isatty and isatty())
    if not enabled:
        return results
    try:
        from tqdm import tqdm
    except ImportError:
        return results

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: the local pool forks after the bar exists

    return Bar(results, total=total, file=file, unit=f" {what}", leave=False, dynamic_ncols=True, mininterval=0.5)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def run_chunk(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    """One task of the local pool: ``fn`` over a batch."""
    return [fn(item) for item in chunk]


def _local(fn, items, init, initargs, jobs, batch, window) -> Iterator:
    it = iter(items)
    # read a little ahead: a short input is shared in smaller batches (as Pool.imap's chunksize was)
    ahead = jobs * 8 * batch
    head = list(islice(it, ahead)) if jobs > 1 else []
    if jobs <= 1 or len(head) < 2:
        if init is not None:
            init(*initargs)
        for item in head:
            yield fn(item)
        for item in it:
            yield fn(item)
        return
    if len(head) < ahead:
        jobs = min(jobs, len(head))
        batch = max(1, min(batch, len(head) // (jobs * 8)))
    window = window or jobs * TASKS_PER_WORKER
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    # fork: the workers start with the modules this process has imported (no second cold start)
    # and what initargs hold as loaded here; another start method pickles initargs
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    work = chunks(chain(head, it), batch)
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=init, initargs=initargs)
    try:
        pending = deque(pool.submit(run_chunk, fn, chunk) for chunk in islice(work, window))
        while pending:
            results = pending.popleft().result()
            for chunk in islice(work, 1):
                pending.append(pool.submit(run_chunk, fn, chunk))
            yield from results
    except BrokenProcessPool:
        raise ExecutorError("a worker process of the local executor died (killed, or out of memory); its work "
                            "is lost: run again, or with --executor dask, which recomputes the work of a lost "
                            "worker") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
