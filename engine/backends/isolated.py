"""Evaluations behind a crash fence and a time budget: worker processes.

durable-rules is a C extension with known memory-safety defects; a crash inside it
would take the whole process down, and any evaluation (durable or reference) can take
long on a hostile timeline. Two things here run evaluations in worker processes
(:class:`engine.isolation.IsolatedRunner`, spawned, reused, recycled after
``max_calls`` calls or when their memory grows):

* :class:`WorkerPool`: ``size`` workers, one call at a time each, every call under a
  :class:`~engine.budget.Budget`. Waiting for a free worker and the call itself draw
  on the budget; a call still running when it runs out is stopped by killing its
  worker (:class:`~engine.budget.OverBudget`). A call whose worker dies with
  budget left is retried once on another (fresh) worker, a durable one as a
  *reference* run: it is never answered by code in the calling process, so nothing
  escapes the budget. Lost workers are replaced in the background. The HTTP server
  runs every request on such a pool.
* :class:`IsolatedBackend`: a :class:`~engine.backends.base.Backend` for the Python
  API (``audit(..., engine=IsolatedBackend())``): each ``run`` goes to a one-worker
  pool under ``timeout`` seconds.

Incidents (crash, timeout, broken pipe) are logged at WARNING on the
``followup.isolation`` logger.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import Any

from ..budget import Budget, OverBudget
from ..facts import FactTable
from ..ir import Program
from ..isolation import IsolatedRunner, WorkerUnavailable
from .base import Match

__all__ = ["IsolatedBackend", "WorkerPool", "PoolClosed", "run_in_worker", "default_pool_size"]

logger = logging.getLogger("followup.isolation")


def default_pool_size() -> int:
    """The number of cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


class PoolClosed(RuntimeError):
    """The pool was closed (the server is shutting down) while a call waited or ran."""


def run_in_worker(payload: tuple[str, tuple[Program, FactTable]]) -> list[Match]:
    """The worker side of :class:`IsolatedBackend`: one evaluation on this process's backend."""
    engine, (program, table) = payload
    from . import get_backend
    return get_backend(engine).run(program, table)


class WorkerPool:
    """``size`` isolated workers running ``target((engine, args))``, each call under a budget.

    :param target: import path of the worker function (``"package.module:function"``); it
        is called with ``(engine, args)`` and must honour ``engine`` (``"durable"`` or
        ``"reference"``).
    :param size: the number of workers (one call at a time each).
    :param max_calls, max_rss_mb, start_method, start_timeout, initializer, nice: as for
        :class:`~engine.isolation.IsolatedRunner`.
    """

    def __init__(self, target: str, size: int | None = None, *, max_calls: int | None = 5000,
                 max_rss_mb: float | None = 512.0, start_method: str = "spawn", start_timeout: float = 60.0,
                 initializer: str | None = None, name: str | None = None, nice: int = 0):
        size = default_pool_size() if size is None else size
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"the pool size must be a whole number >= 1, not `{size}`")
        self.target = target
        self.size = size
        self.name = name or target
        self._runners = [IsolatedRunner(target, fallback=None, timeout=None, max_calls=max_calls,
                                        max_rss_mb=max_rss_mb, start_method=start_method,
                                        start_timeout=start_timeout, initializer=initializer, name=self.name,
                                        nice=nice)
                         for _ in range(size)]
        self._idle: "queue.Queue[IsolatedRunner]" = queue.Queue()
        for runner in self._runners:
            self._idle.put(runner)
        self._lock = threading.Condition()
        self._busy: set[IsolatedRunner] = set()
        self._restarting: set[IsolatedRunner] = set()
        self._closed = False
        #: calls answered 503 because the budget ran out; retries after a lost worker
        self.over_budget = 0
        self.retries = 0

    # -- public -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def pids(self) -> list[int]:
        """The pids of the workers running now."""
        return [pid for pid in (r.pid for r in self._runners) if pid is not None]

    def stats(self) -> dict[str, int]:
        """Counters for monitoring: ``incidents`` (workers lost to a crash, a kill, a timeout or a
        broken pipe, and replaced), ``recycles``, ``starts``, ``over_budget``, ``retries``, and
        ``workers_up`` (running now) of ``size``."""
        runners = [r.stats for r in self._runners]
        return {"incidents": sum(s.restarts for s in runners), "recycles": sum(s.recycles for s in runners),
                "starts": sum(s.starts for s in runners), "over_budget": self.over_budget,
                "retries": self.retries, "workers_up": len(self.pids()), "size": self.size}

    def start(self) -> None:
        """Start every worker now (in parallel) instead of on first use; wait for them."""
        threads = [threading.Thread(target=self._start_one, args=(runner,), daemon=True,
                                    name="followup-worker-start") for runner in self._runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def call(self, engine: str, args: tuple, budget: Budget, answer=None) -> Any:
        """``target((engine, args))`` in a worker, within ``budget``; its result.

        ``answer(question)`` answers the target's :func:`engine.isolation.ask` calls (in
        this thread).

        Raises :class:`~engine.budget.OverBudget` when no worker is free in time or the
        call does not finish in time (its worker is then killed and replaced);
        :class:`PoolClosed` once the pool is closing; :class:`WorkerUnavailable` when the
        retry fails too (no worker can be started). Ordinary exceptions of ``target``
        are raised here (the worker is kept).
        """
        tries = 0
        while True:
            runner = self._acquire(budget)
            if runner.pid is None:  # not started yet (or its restart failed): start it, on the budget
                self._start_one(runner)
            remaining = budget.remaining()
            if remaining <= 0:
                self._release(runner, lost=False)
                self._over_budget(budget, "before a worker could start on it")
            try:
                result = runner.call((engine, args), timeout=remaining, answer=answer)
            except WorkerUnavailable as exc:
                failure = exc
            except BaseException as exc:
                self._release(runner, lost=runner.pid is None)
                if self._closed:
                    raise PoolClosed("the server is shutting down") from exc
                raise
            else:
                self._release(runner, lost=runner.pid is None)  # recycled after max_calls or its RSS
                return result
            self._release(runner, lost=True)
            if self._closed:
                raise PoolClosed("the server is shutting down") from None
            if budget.expired:
                self._over_budget(budget, "the evaluation was still running; its worker was stopped")
            tries += 1
            if tries > 1:
                raise failure
            self.retries += 1
            if engine == "durable":
                logger.warning("answering that request with the reference engine on a fresh worker "
                               "(%.1fs of its time budget left)", budget.remaining())
                engine = "reference"
            else:
                logger.warning("retrying that request on a fresh worker (%.1fs of its time budget left)",
                               budget.remaining())

    def close(self, grace: float = 5.0) -> None:
        """Stop every worker; calls under way end at once (with :class:`PoolClosed`). Idempotent."""
        with self._lock:
            self._closed = True
            busy = list(self._busy)
        for runner in busy:
            self._kill(runner)
        with self._lock:
            self._lock.wait_for(lambda: not self._busy, timeout=grace)
            idle = [r for r in self._runners if r not in self._busy and r not in self._restarting]
        for runner in idle:
            runner.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _acquire(self, budget: Budget) -> IsolatedRunner:
        while True:  # in short waits, to notice that the pool was closed meanwhile
            if self._closed:
                raise PoolClosed("the server is shutting down")
            remaining = budget.remaining()
            if remaining <= 0:
                self._over_budget(budget, f"all {self.size} workers were busy")
            try:
                runner = self._idle.get(timeout=min(remaining, 0.25))
                break
            except queue.Empty:
                continue
        with self._lock:
            if self._closed:
                self._idle.put(runner)
                raise PoolClosed("the server is shutting down")
            self._busy.add(runner)
        return runner

    def _release(self, runner: IsolatedRunner, *, lost: bool) -> None:
        with self._lock:
            self._busy.discard(runner)
            closed = self._closed
            if lost and not closed:
                self._restarting.add(runner)
            self._lock.notify_all()
        if closed:
            runner.close()
        elif lost:
            threading.Thread(target=self._restart, args=(runner,), daemon=True,
                             name="followup-worker-restart").start()
        else:
            self._idle.put(runner)

    def _restart(self, runner: IsolatedRunner) -> None:
        """Start a fresh worker for ``runner`` off the request path, then offer it again."""
        self._start_one(runner)
        with self._lock:
            self._restarting.discard(runner)
            closed = self._closed
        if closed:
            runner.close()
        else:
            self._idle.put(runner)  # even if the start failed: the next call tries again (with backoff)

    @staticmethod
    def _start_one(runner: IsolatedRunner) -> None:
        try:
            runner.start()
        except RuntimeError:  # closed meanwhile
            pass

    @staticmethod
    def _kill(runner: IsolatedRunner) -> None:
        """Stop the call of a runner that is in one: its worker is killed, the call returns
        at once and is not retried on a fresh worker (:meth:`IsolatedRunner.abort`)."""
        runner.abort()

    def _over_budget(self, budget: Budget, during: str):
        self.over_budget += 1
        logger.warning("request over its time budget of %gs: %s", budget.seconds, during)
        raise OverBudget(budget, during) from None


class IsolatedBackend:
    """Durable evaluations in a worker process, each within ``timeout`` seconds.

    When the worker dies, the evaluation is run again by the reference backend in a
    fresh worker, within what is left of ``timeout``; when the time runs out,
    :class:`~engine.budget.OverBudget` is raised. Nothing runs in the calling process.
    """

    name = "durable"

    def __init__(self, *, timeout: float = 10.0, max_calls: int = 5000, max_rss_mb: float = 512.0):
        self.timeout = timeout
        Budget(timeout)  # validates it
        self.pool = WorkerPool(f"{__name__}:run_in_worker", 1, max_calls=max_calls, max_rss_mb=max_rss_mb)

    @property
    def runner(self) -> IsolatedRunner:
        """The pool's one :class:`~engine.isolation.IsolatedRunner` (its ``stats`` and ``pid``)."""
        return self.pool._runners[0]

    def run(self, program: Program, table: FactTable, nodes: frozenset[int] | None = None) -> list[Match]:
        found = self.pool.call("durable", (program, table), Budget(self.timeout))
        return found if nodes is None else [m for m in found if m.node in nodes]

    def close(self) -> None:
        self.pool.close()

