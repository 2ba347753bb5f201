"""The ``dask`` executor of :func:`engine.executors.ordered_map` (imported only when it is used).

On the client: a :class:`distributed.Client` (to ``scheduler``, or to a ``LocalCluster`` started
for the run), a worker plugin carrying ``init`` and ``initargs``, then a sliding window of tasks,
one per batch, whose results are taken in submission order.

On a worker: the plugin stores ``(init, initargs)`` under the run's token and calls ``init``; each
task names its token, and a worker that last ran another run's tasks (two runs sharing a cluster)
calls that run's ``init`` again before it starts. Tasks of one worker process run one at a time
(a lock): ``init`` sets up process-wide state, and the work is pure Python (threads would not run
it faster).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from itertools import islice
from typing import Any, Callable, Iterable, Iterator

from distributed import Client, LocalCluster, WorkerPlugin
from distributed.scheduler import KilledWorker

from .errors import InputError, Problem
from .executors import CONNECT_TIMEOUT, TASKS_PER_WORKER, ExecutorError, chunks

__all__ = ["dask_map", "InitPlugin", "run_task"]

#: run token -> (init, initargs), on each worker
_registered: dict[str, tuple[Callable[..., Any] | None, tuple]] = {}
#: the token whose ``init`` ran last in this process
_current: list[str | None] = [None]
_lock = threading.Lock()


class InitPlugin(WorkerPlugin):
    """Sets a worker up for one run: ``init(*initargs)``, once per worker (and per restart)."""

    def __init__(self, token: str, init: Callable[..., Any] | None, initargs: tuple):
        self.token, self.init, self.initargs = token, init, initargs

    def setup(self, worker=None) -> None:
        with _lock:
            _registered[self.token] = (self.init, self.initargs)
            _activate(self.token)

    def teardown(self, worker=None) -> None:
        with _lock:
            _registered.pop(self.token, None)
            if _current[0] == self.token:
                _current[0] = None


def _activate(token: str) -> None:
    if _current[0] != token:
        init, initargs = _registered[token]
        if init is not None:
            init(*initargs)
        _current[0] = token


def run_task(token: str, fn: Callable, chunk: list) -> list:
    """One task: ``fn`` over a batch, in the state of run ``token``."""
    with _lock:
        if token not in _registered:  # cannot happen: the plugin is set up before a worker runs tasks
            raise ExecutorError(f"this worker has not been set up for run {token}")
        _activate(token)
        return [fn(item) for item in chunk]


def _check_address(scheduler: str) -> None:
    """Refuse what is not a scheduler address (``tcp://host:port``, ``tls://...``) before connecting."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port
    from distributed.comm.registry import backends
    try:
        scheme, location = parse_address(scheduler)
        ok = scheme in backends and bool(location.strip())
        if ok and scheme in ("tcp", "tls"):
            host, port = parse_host_port(location, 8786)
            ok = bool(host) and 0 < port < 65536
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise InputError(Problem("executor.bad-scheduler",
                                 f"`{scheduler[:200]}` is not a dask scheduler address; write e.g. "
                                 f"tcp://10.0.0.5:8786 (schemes: {', '.join(sorted(backends))})"))


def _connect(scheduler: str | None, jobs: int) -> tuple[Client, LocalCluster | None]:
    if scheduler is None:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        try:
            return Client(cluster, set_as_default=False), cluster
        except BaseException:
            cluster.close()
            raise
    _check_address(scheduler)
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False), None
    except (OSError, ValueError, TypeError) as exc:  # refused, timed out, not an address
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(Problem("executor.scheduler-unreachable",
                                 f"cannot reach the dask scheduler `{scheduler[:200]}`: {why}")) from None


def dask_map(fn: Callable, items: Iterable, init: Callable[..., Any] | None, initargs: tuple, jobs: int,
             scheduler: str | None, batch: int, window: int | None) -> Iterator:
    """See :func:`engine.executors.ordered_map`."""
    client, cluster = _connect(scheduler, jobs)
    token = uuid.uuid4().hex
    name = f"followup-{token}"
    try:
        client.register_plugin(InitPlugin(token, init, initargs), name=name)
        if window is None:
            window = max(2, TASKS_PER_WORKER * sum(client.nthreads().values()))
        work = chunks(items, batch)
        pending = deque(client.submit(run_task, token, fn, chunk, key=f"{name}-{i}", pure=False)
                        for i, chunk in enumerate(islice(work, window)))
        submitted = len(pending)
        while pending:
            future = pending.popleft()
            try:
                results = future.result()
            except KilledWorker as exc:
                raise ExecutorError(f"dask gave up on a task after losing its worker too often ({exc}); "
                                    "see distributed.scheduler.allowed-failures") from None
            future.release()
            for chunk in islice(work, 1):
                pending.append(client.submit(run_task, token, fn, chunk, key=f"{name}-{submitted}", pure=False))
                submitted += 1
            yield from results
    finally:
        try:
            if cluster is None:
                client.unregister_worker_plugin(name)
        except Exception:  # the scheduler is gone: nothing to clean up there
            pass
        client.close()
        if cluster is not None:
            cluster.close()
