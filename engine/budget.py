"""Time budgets: how long one request may take from the moment it is accepted.

The server gives every request a :class:`Budget` (``limits.TIME_BUDGET_SECONDS`` by
default, ``followup serve --time-budget S``). Waiting for a free worker, the
evaluation in the worker and any retry on the reference engine all draw on the same
budget; when it runs out the request is answered 503 ``request.over-budget`` and the
worker that was busy with it is killed and replaced. Budgets use the monotonic clock
(never the wall clock) and say nothing about what an evaluation computes.
"""

from __future__ import annotations

import math
import time

from .errors import FollowupError, Problem
from .limits import TIME_BUDGET_SECONDS

__all__ = ["Budget", "OverBudget", "check_budget_seconds"]


def check_budget_seconds(seconds: float, what: str = "the time budget") -> float:
    """``seconds`` as a float if it is a usable budget (finite, > 0); else ``ValueError``."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, not `{seconds}`") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number of seconds, not `{seconds}`")
    return value


class Budget:
    """A deadline ``seconds`` from now on the monotonic clock."""

    __slots__ = ("seconds", "deadline", "_clock")

    def __init__(self, seconds: float = TIME_BUDGET_SECONDS, *, clock=time.monotonic):
        self.seconds = check_budget_seconds(seconds)
        self._clock = clock
        self.deadline = clock() + self.seconds

    def remaining(self) -> float:
        """Seconds left (0.0 once the deadline has passed)."""
        return max(0.0, self.deadline - self._clock())

    @property
    def expired(self) -> bool:
        return self._clock() >= self.deadline

    def __repr__(self) -> str:
        return f"<Budget {self.remaining():.3f}s of {self.seconds:g}s left>"


class OverBudget(FollowupError):
    """The request ran out of its time budget (HTTP 503 ``request.over-budget``)."""

    def __init__(self, budget: Budget, during: str = "the evaluation"):
        self.budget = budget
        self.during = during
        super().__init__(f"the request took longer than its time budget of {budget.seconds:g}s ({during})")

    @property
    def problem(self) -> Problem:
        return Problem("request.over-budget",
                       f"the request took longer than its time budget of {self.budget.seconds:g}s "
                       f"({self.during}) and was stopped; send a smaller timeline, or ask the operator "
                       "to raise `--time-budget`")
