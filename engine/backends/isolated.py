"""The durable backend behind a crash fence: evaluations run in a worker process.

durable-rules is a C extension with known memory-safety defects; a crash inside it
would take the whole process down. :class:`IsolatedBackend` sends each evaluation
(the compiled program and the prepared facts) to a worker process that runs the
durable backend, via :class:`engine.isolation.IsolatedRunner`: the worker is
started once and reused, recycled after ``max_calls`` evaluations or when its memory
grows, and given a ``timeout``. When a worker dies or hangs, it is replaced, the
incident is logged (logger ``followup.isolation``), and *that* request is answered
by the reference backend in this process — never with a partial result.
"""

from __future__ import annotations

from ..facts import FactTable
from ..ir import Program
from ..isolation import IsolatedRunner
from .base import Match
from .reference import ReferenceBackend

__all__ = ["IsolatedBackend", "run_in_worker"]

_worker_backend = None


def run_in_worker(payload: tuple[Program, FactTable]) -> list[Match]:
    """The worker side: run one evaluation on this process's durable backend."""
    global _worker_backend
    if _worker_backend is None:
        from .durable import DurableBackend
        _worker_backend = DurableBackend()
    program, table = payload
    return _worker_backend.run(program, table)


def _fallback(payload: tuple[Program, FactTable]) -> list[Match]:
    program, table = payload
    return ReferenceBackend().run(program, table)


class IsolatedBackend:
    """Durable evaluations in a worker process, with the reference backend as the fallback."""

    name = "durable"

    def __init__(self, *, timeout: float = 10.0, max_calls: int = 5000, max_rss_mb: float = 512.0):
        self.runner = IsolatedRunner(f"{__name__}:run_in_worker", fallback=_fallback, timeout=timeout,
                                     max_calls=max_calls, max_rss_mb=max_rss_mb)

    def run(self, program: Program, table: FactTable) -> list[Match]:
        return self.runner.call((program, table))

    def close(self) -> None:
        self.runner.close()
