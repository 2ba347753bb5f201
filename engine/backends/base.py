"""What a backend is: something that runs a compiled :class:`~engine.ir.Program` on facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..facts import FactTable
from ..ir import Program

__all__ = ["Match", "Backend"]


@dataclass(frozen=True, order=True)
class Match:
    """A node's finding in fact terms: which node, about which fact, citing which facts."""

    node: int
    offender: int
    cites: tuple[int, ...]
    due: float | None = None


@runtime_checkable
class Backend(Protocol):
    name: str

    def run(self, program: Program, table: FactTable, nodes: frozenset[int] | None = None) -> list[Match]:
        """Every match of every node of ``program`` on ``table`` (of the nodes whose indexes
        are in ``nodes``, when given); order does not matter."""
        ...
