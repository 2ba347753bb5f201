"""Located, one-line errors.

Every problem the user can cause (a malformed file, an unknown field, a naive
timestamp, an unknown contact id, a bad duration, a policy that names a parameter
that does not exist) is a :class:`Problem`: a stable dotted code, a one-line
lowercase message and, where there is a file, a :class:`Loc`. Loading stages
collect problems instead of stopping at the first one and raise them together as
an :class:`InputError`, which the CLI prints one per line and maps to exit code 2.

Exception tree::

    FollowupError
     +-- InputError        bad timeline, policy or action; carries problems
     +-- EngineError       a backend failed (e.g. durable-rules raised in an action)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

__all__ = ["Loc", "Problem", "FollowupError", "InputError", "EngineError", "did_you_mean"]

#: at most this many problems are kept per error, like OPA's error limit
MAX_PROBLEMS = 50


@dataclass(frozen=True, order=True)
class Loc:
    """A 1-based position in a file."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    loc: Loc | None = None
    severity: str = "error"
    #: where in the document (e.g. ``events[3].at``), for messages without a file
    path: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        return f"{where}{self.severity}[{self.code}]: {self.message}"

    def as_dict(self) -> dict:
        d: dict = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.loc:
            d.update(file=self.loc.file, line=self.loc.line, col=self.loc.col)
        if self.path:
            d["path"] = self.path
        return d


class FollowupError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(FollowupError):
    """One or more problems with user input (timeline, policy, planned action)."""

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        ordered = sorted(problems, key=lambda p: (p.loc or Loc(""), p.code, p.message))
        self.problems: list[Problem] = ordered[:MAX_PROBLEMS]
        self.truncated = max(0, len(ordered) - MAX_PROBLEMS)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        if self.truncated:
            out.append(f"... and {self.truncated} more problems")
        return out


class EngineError(FollowupError):
    """A rules backend failed while evaluating; the caller may retry on another backend."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``; did you mean `x`?`` for the closest of ``known`` to ``name``, or ``""``."""
    import difflib  # only when there is a name to correct
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f"; did you mean `{close[0]}`?" if close else ""
