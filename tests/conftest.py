"""Shared test setup: import paths, hypothesis profiles and the ``engine`` fixture.

* The repository root goes on ``sys.path`` so ``import engine`` works without
  installing the package; ``tests/`` goes there too so test modules can
  ``import helpers``.
* Hypothesis profiles: ``dev`` (the default, ~100 examples), ``ci`` (300
  examples, no deadline), ``ci-light`` (100 examples, no deadline) and ``ci-smoke``
  (30 examples, no deadline; CI's other interpreters, see ``.ci/run``), chosen with
  ``HYPOTHESIS_PROFILE=<name>``. Tests that set their own example count keep it.
* ``engine``: every rule test runs on each available backend: ``reference``
  always, ``durable`` where :func:`engine.backends.durable_status` says it loads.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
for _path in (str(TESTS), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from hypothesis import HealthCheck, settings  # noqa: E402

# dev: quick local runs. ci: three times the examples (the differential test sets its
# own 2,000); sized so that .ci/run stays well inside CI's time (see its comments).
settings.register_profile("dev", max_examples=100)
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci-light", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci-smoke", max_examples=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def available_engines() -> list[str]:
    """``reference``, plus ``durable`` when that backend can load here."""
    names = ["reference"]
    try:
        from engine.backends import durable_status
        if durable_status()[0]:
            names.append("durable")
    except Exception:  # a broken or missing durable backend must not stop the suite
        pass
    return names


ENGINES = available_engines()


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """The name of a backend to run the audit on (parametrized over the available ones)."""
    return request.param
