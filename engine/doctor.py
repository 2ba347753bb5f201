"""``followup doctor``: which engine is active, why, and the versions involved."""

from __future__ import annotations

import platform
from importlib import metadata

from .backends import durable_status


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def report(engine: str = "auto") -> str:
    ok, why = durable_status()
    if engine == "reference":
        active, reason = "reference", "asked for with --engine reference"
    elif ok:
        active, reason = "durable", "durable-rules imports on this interpreter"
    elif engine == "durable":
        active, reason = "none", f"--engine durable was asked for but cannot load: {why}"
    else:
        active, reason = "reference", f"durable-rules cannot load here: {why}"
    lines = [
        f"engine: {active} ({reason})",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"followup: {_version('followup')}",
        f"durable-rules: {_version('durable-rules')}",
        f"pydantic: {_version('pydantic')}",
        f"holidays: {_version('holidays')}",
    ]
    return "\n".join(lines)
