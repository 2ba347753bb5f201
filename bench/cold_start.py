"""Cold start of the command line: ``followup audit examples/model-candidate.yaml``, a new process
each run, against a bare interpreter (``python -c pass``); and ``-X importtime`` of ``engine.cli``.

Usage (from the repository root)::

    PYTHONPATH=. python bench/cold_start.py [--runs N] [--engine auto|reference|durable] [--baseline DIR]

Prints the median wall time and CPU time (user + sys) of each over N runs (default 15, at
most 100), the ratio, and the targets (docs/performance.md: <= 0.35 s, <= 6x a bare interpreter). A measurement, not a
test: exits 0 whether or not a target is met (1 if the audit itself fails). ``--baseline DIR``
(another checkout, e.g. ``git worktree add /tmp/old <commit>``) times the same command from
there too, run for run alternately, so that both see the same load on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import median, print_machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/model-candidate.yaml"
AS_OF = "2026-06-01T00:00:00Z"
TARGET_SECONDS, TARGET_RATIO = 0.35, 6.0


def _command(engine: str) -> list[str]:
    """The installed ``followup`` script beside this interpreter if there is one, else ``-m engine.cli``."""
    script = Path(sys.executable).with_name("followup")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]
    return head + ["audit", EXAMPLE, "--as-of", AS_OF, "--engine", engine]


def _time(argv: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[:300]}")
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _env(root: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def import_times(env: dict, top: int = 12, cwd: Path = ROOT) -> tuple[float, list[tuple[int, str]]]:
    """``-X importtime`` of ``import engine.cli``: total seconds, and the slowest modules (self time, us)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import engine.cli"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    rows = []
    total = 0
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), m.group(4)))
            if m.group(4) == "engine.cli":
                total = int(m.group(2))
    return total / 1e6, sorted(rows, reverse=True)[:top]


def _line(label: str, runs: list[tuple[float, float]], bare: float) -> float:
    wall, cpu = median([w for w, _ in runs]), median([c for _, c in runs])
    print(f"{label:<18} median {wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU  ({len(runs)} runs)"
          + (f"  = {wall / bare:.1f}x bare" if bare else ""))
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--engine", default="auto", choices=("auto", "reference", "durable"))
    ap.add_argument("--baseline", type=Path, metavar="DIR", help="another checkout to time the same way")
    args = ap.parse_args()
    runs = max(1, min(args.runs, 100))
    env = _env(ROOT)
    print_machine()
    command = _command(args.engine)
    roots = [("followup audit", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    for _, root in roots:  # a first run each: page cache and bytecode caches warm for every timed run
        _time(command, _env(root), root)
    bare_runs, timed = [], {label: [] for label, _ in roots}
    for _ in range(runs):
        bare_runs.append(_time([sys.executable, "-c", "pass"], env))
        for label, root in roots:
            timed[label].append(_time(command, _env(root), root))
    print(f"command: {' '.join(command)}")
    bare = _line("bare interpreter", bare_runs, 0.0)
    audit = _line("followup audit", timed["followup audit"], bare)
    if args.baseline:
        _line("baseline", timed["baseline"], bare)
    print(f"target <= {TARGET_SECONDS:.2f} s: {'met' if audit <= TARGET_SECONDS else 'NOT met'}; "
          f"<= {TARGET_RATIO:.0f}x bare: {'met' if audit / bare <= TARGET_RATIO else 'NOT met'}")
    for label, root in roots:
        total, slowest = import_times(_env(root), cwd=root)
        print(f"{label}: import engine.cli (-X importtime) {total * 1000:.1f} ms; slowest modules (self):")
        for us, name in slowest[:8]:
            print(f"  {us / 1000:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
