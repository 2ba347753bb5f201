"""Worker functions for tests/test_isolation_ask.py (imported by path in spawned workers)."""

from __future__ import annotations

import os

from engine.isolation import AskFailed, ask


def ask_twice(payload):
    """Ask the caller two questions; return both answers and this worker's nice value."""
    first = ask(("first", payload))
    second = ask(("second", first))
    return first, second, os.nice(0)


def ask_and_report(payload):
    """Ask once; return what the failure said instead of raising, or the answer."""
    try:
        return "answer", ask(payload)
    except AskFailed as exc:
        return "failed", str(exc)


def ask_then_raise(payload):
    """Ask once and let any AskFailed propagate."""
    return ask(payload)
