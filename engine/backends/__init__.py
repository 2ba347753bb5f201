"""Engine backends and their selection.

``reference`` is always available. ``durable`` compiles the IR to durable-rules
(available where that package imports: CPython < 3.13). ``auto`` picks durable where
it loads and otherwise reference, with a one-line notice.
"""

from __future__ import annotations

from .base import Backend, Match
from .reference import ReferenceBackend

__all__ = ["Backend", "Match", "ReferenceBackend", "get_backend", "durable_status", "ENGINES"]

ENGINES = ("auto", "durable", "reference")

_cache: dict[str, Backend] = {}


def durable_status() -> tuple[bool, str]:
    """Whether the durable backend can load here, and why (or why not)."""
    try:
        from . import durable  # noqa: F401
    except ImportError as exc:
        return False, str(exc).splitlines()[0] if str(exc) else "durable-rules is not installed"
    return True, "durable-rules imports"


def get_backend(name: str = "auto", notices: list[str] | None = None) -> Backend:
    """The backend called ``name``; ``auto`` falls back to reference with a notice."""
    if name not in ENGINES:
        from ..errors import InputError, Problem
        raise InputError(Problem("engine.unknown", f"unknown engine `{name}`; expected one of: {', '.join(ENGINES)}"))
    if name == "auto":
        ok, why = durable_status()
        if not ok:
            if notices is not None:
                notices.append(f"notice: using the reference engine ({why})")
            name = "reference"
        else:
            name = "durable"
    if name not in _cache:
        if name == "durable":
            ok, why = durable_status()
            if not ok:
                from ..errors import InputError, Problem
                raise InputError(Problem("engine.unavailable",
                                         f"the durable engine cannot load here ({why}); use --engine auto or reference"))
            from .durable import DurableBackend
            _cache[name] = DurableBackend()
        else:
            _cache[name] = ReferenceBackend()
    return _cache[name]
