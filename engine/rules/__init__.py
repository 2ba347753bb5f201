"""The rule kinds, registered in one place.

Each kind is one module with ``KIND``, ``Params`` (its pydantic model, which
includes the common rule fields) and ``lower(params, loc) -> list[ir.Node]``; its
docstring is its documentation and carries a YAML example that the tests load.
The policy schema, ``followup schema policy`` and the docs are generated from this
registry.
"""

from __future__ import annotations

from types import ModuleType

from . import (channel, deadline, forbidden_after, hours, identical_bodies, limit, not_before, phrases,
               word_limit)

__all__ = ["REGISTRY", "kinds"]

REGISTRY: dict[str, ModuleType] = {
    deadline.KIND: deadline,
    not_before.KIND: not_before,
    limit.KIND: limit,
    channel.KIND: channel,
    forbidden_after.KIND: forbidden_after,
    word_limit.KIND: word_limit,
    identical_bodies.KIND: identical_bodies,
    phrases.KIND: phrases,
    hours.KIND: hours,
}


def kinds() -> list[str]:
    return list(REGISTRY)
