"""The public API is exactly ``engine.__all__``, and each name is importable from ``engine``."""

from __future__ import annotations

import engine


def test_all_lists_exactly_the_public_names_sorted():
    # dir(), not vars(): the names load on first use (engine/__init__.py's __getattr__)
    public = sorted((name for name in dir(engine) if not name.startswith("_")
                     and not isinstance(getattr(engine, name), type(engine))), key=str.casefold)
    assert engine.__all__ == public


def test_the_tracker_calls_are_public():
    for name in ("load_timeline", "load_policy", "audit", "check", "agenda", "PlannedAction", "CheckResult",
                 "Agenda", "AuditReport", "Finding"):
        assert name in engine.__all__
