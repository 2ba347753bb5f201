"""``followup audit`` over 1,000 files of about 8 KB, with ``--jobs 1`` and ``--jobs 2``.

Usage (from the repository root)::

    PYTHONPATH=. python bench/cli_batch.py [--files N] [--events N] [--engine reference|durable|auto]

Writes N timelines from bench/timelines.py (YAML, default 1,000 of 34 events: ~8 KB each) to a
temporary directory, then runs the command over all of them, once per job count (and once
before, untimed, to warm the page cache), and prints for each: wall time, files/s, CPU
utilisation ((user + sys of the command and its workers) / wall), and the per-file cost (CPU
seconds, which other load on the machine does not inflate) against reading, validating, auditing
and rendering the same files in this process. Checks that both job
counts print the same bytes. Targets (docs/performance.md): <= 5 s wall using both cores,
per-file cost <= 1.5x in process. A measurement: exits 0 whether or not a target is met
(1 if the outputs differ or the command fails).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import yaml  # noqa: E402
from _common import print_machine  # noqa: E402
from timelines import generate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_WALL, TARGET_RATIO = 5.0, 1.5


def write_files(folder: Path, n: int, events: int) -> tuple[list[str], str, int]:
    """``n`` generated timelines as YAML files; the latest ``as_of`` of them; their total size."""
    paths, latest, size = [], "", 0
    for i, (data, as_of) in enumerate(generate(n, events=events)):
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        path = folder / f"timeline-{i:04}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
        latest, size = max(latest, as_of), size + len(text.encode())
    return paths, latest, size


def in_process(paths: list[str], as_of: str, engine: str, fmt: str) -> tuple[float, float]:
    """Wall and CPU seconds to read, validate, audit and render every file here, warm (the work
    the command does for each file)."""
    from engine import api
    from engine.report import AuditItem, render
    policy, instant = api.load_policy("etiquette"), api.parse_instant(as_of)
    for path in paths[:20]:  # warm: imports, holiday tables, compiled plans
        render(fmt, [AuditItem(path, tl := api.load_timeline(path), api.audit(tl, policy, instant, engine=engine))])
    start, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        timeline = api.load_timeline(path)
        render(fmt, [AuditItem(path, timeline, api.audit(timeline, policy, instant, engine=engine))])
    return time.perf_counter() - start, time.process_time() - cpu


def run_cli(paths: list[str], as_of: str, engine: str, fmt: str, jobs: int) -> tuple[float, float, str, int]:
    """Wall seconds, CPU seconds (user + sys of the command and its workers), output digest, exit code."""
    script = Path(sys.executable).with_name("followup")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]
    argv = head + ["audit", *paths, "--as-of", as_of, "--engine", engine, "--format", fmt, "--jobs", str(jobs)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"the command exited {done.returncode}: {done.stderr.decode()[:500]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, hashlib.sha256(done.stdout).hexdigest(), done.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--events", type=int, default=34)
    ap.add_argument("--engine", default="reference", choices=("reference", "durable", "auto"))
    ap.add_argument("--format", default="text", choices=("text", "json", "markdown"))
    args = ap.parse_args()
    n = max(2, min(args.files, 5000))
    print_machine()
    with tempfile.TemporaryDirectory(prefix="followup-batch-") as tmp:
        paths, as_of, size = write_files(Path(tmp), n, args.events)
        print(f"{n} files, {size / n / 1024:.1f} KB each on average, engine {args.engine}, format {args.format}")
        here_wall, here = in_process(paths, as_of, args.engine, args.format)
        print(f"in process (read + validate + audit + render, warm): {here:.2f} s CPU ({here_wall:.2f} s wall), "
              f"{here / n * 1000:.2f} ms CPU per file")
        run_cli(paths, as_of, args.engine, args.format, 1)  # warm the page cache
        digests = set()
        for jobs in (1, 2):
            wall, cpu, digest, code = run_cli(paths, as_of, args.engine, args.format, jobs)
            digests.add((digest, code))
            print(f"--jobs {jobs}: wall {wall:.2f} s, {n / wall:.0f} files/s, CPU {cpu:.2f} s "
                  f"(utilisation {cpu / wall:.2f} cores); per file {cpu / n * 1000:.2f} ms CPU = "
                  f"{cpu / here:.2f}x in process (target <= {TARGET_RATIO}x: "
                  f"{'met' if cpu / here <= TARGET_RATIO else 'NOT met'}); wall <= {TARGET_WALL:.0f} s: "
                  f"{'met' if wall <= TARGET_WALL else 'NOT met'}")
        if len(digests) != 1:
            print("the outputs of --jobs 1 and --jobs 2 differ")
            return 1
        print("--jobs 1 and --jobs 2 print the same bytes and exit code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
