"""Shared helpers for the benchmark scripts: machine description, statistics, profiles."""

from __future__ import annotations

import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
from importlib import metadata

__all__ = ["machine", "print_machine", "median", "percentile", "profile_call"]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict:
    """CPU model, cores, Python and the versions that matter for these figures."""
    model, logical = "unknown", 0
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("processor"):
                    logical += 1
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu": model,
        "logical_cpus": logical or os.cpu_count(),
        "usable_cpus": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "durable-rules": _version("durable-rules"),
        "pydantic": _version("pydantic"),
        "holidays": _version("holidays"),
        "fastapi": _version("fastapi"),
        "uvicorn": _version("uvicorn"),
        "httpx": _version("httpx"),
    }


def print_machine(info: dict | None = None) -> dict:
    info = info or machine()
    print("machine:")
    for key, value in info.items():
        print(f"  {key:14} {value}")
    return info


def median(values):
    return statistics.median(values)


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted values, nearest-rank."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def profile_call(label: str, fn, *, top: int = 18, sort: str = "tottime", out=sys.stdout) -> None:
    """Run ``fn()`` under cProfile and print the ``top`` functions by ``sort``."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    text = buf.getvalue()
    # keep the table, drop pstats' preamble noise
    start = text.find("   ncalls")
    total = next((line for line in text.splitlines() if "function calls" in line), "").strip()
    print(f"\n--- profile: {label} ({total}; sorted by {sort}) ---", file=out)
    print(text[start:].rstrip() if start >= 0 else text.rstrip(), file=out)
