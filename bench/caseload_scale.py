"""A caseload on each executor: timelines/s in process, on the local pool, and on Dask with 1 and 2
workers, and the overhead per timeline of the Dask path.

Usage (from the repository root)::

    PYTHONPATH=. python bench/caseload_scale.py [--timelines 100000] [--events 20] [--batch 16]
                                                [--engine reference|durable|auto] [--scheduler ADDRESS]

Writes N timelines from bench/timelines.py as JSON Lines (one timeline per line, what a tracker's
export produces) to a temporary directory, then audits every line as of the latest generated
``as_of`` with :func:`engine.executors.ordered_map`, reading the file as it goes (the lines are the
items: they travel to the workers, so no shared file system is needed):

* ``in process``: ``--executor local --jobs 1``;
* ``local pool``: ``--executor local --jobs 2`` (``fork``);
* ``dask 1 worker`` and ``dask 2 workers``: a ``LocalCluster`` of single-threaded worker
  processes, started once per size (the start is reported apart; the rate is from the first
  submission to the last result). With ``--scheduler`` the runs use that cluster instead, once.

The per-timeline work is what ``followup audit`` does per timeline minus rendering: parse the
line, validate the timeline, audit it; each result is reduced to (findings, violations) and the
results are compared across executors (exit 1 if they differ). The Dask overhead per timeline is
``1 / rate(dask, 1 worker) - 1 / rate(in process)`` in wall time, and the difference of the CPU
seconds a timeline costs (this process, plus the pool's or the Dask workers' processes, over the
same span; other load on the machine does not inflate it): scheduling, serialising the line and
the result, and the client's bookkeeping. A measurement: exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_state: dict = {}


def init_worker(policy_name: str, as_of: str, engine: str) -> None:
    """Once per worker: the policy, loaded here."""
    from engine import api
    _state.update(policy=api.load_policy(policy_name), as_of=api.parse_instant(as_of), engine=engine)


def audit_line(line: str) -> tuple[int, int]:
    """One JSON Lines timeline: (findings, violations)."""
    from engine import api
    from engine.timeline import timeline_from_data
    timeline = timeline_from_data(json.loads(line))
    report = api.audit(timeline, _state["policy"], _state["as_of"], engine=_state["engine"])
    return len(report.findings), len(report.violations)


def write_caseload(path: Path, n: int, events: int) -> tuple[str, int]:
    """``n`` generated timelines as JSON Lines at ``path``; the latest ``as_of``; the file's size."""
    from timelines import generate_one
    latest = ""
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            data, as_of = generate_one(i, events=events)
            f.write(json.dumps(data, separators=(",", ":")) + "\n")
            latest = max(latest, as_of)
    return latest, path.stat().st_size


def _cpu_self() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(path: Path, as_of: str, engine: str, batch: int, **executor) -> tuple[float, float, int, str]:
    """Wall seconds from the first item to the last result, CPU seconds of this process and its
    workers over the same span, timelines, digest of the results."""
    from caseload_scale import audit_line, init_worker  # by module name: the workers import it so
    from engine.executors import ordered_map
    client = None
    if executor.get("scheduler"):
        from distributed import Client
        client = Client(executor["scheduler"], set_as_default=False)
    workers_cpu = (lambda: sum(client.run(_cpu_self).values())) if client else (lambda: 0.0)
    digest, n = hashlib.sha256(), 0
    try:
        with path.open(encoding="utf-8") as lines:
            cpu0 = _cpu_self() + _cpu_children() + workers_cpu()
            start = time.perf_counter()
            for result in ordered_map(audit_line, lines, init=init_worker, initargs=("etiquette", as_of, engine),
                                      batch=batch, **executor):
                digest.update(repr(result).encode())
                n += 1
            wall = time.perf_counter() - start
            cpu = _cpu_self() + _cpu_children() + workers_cpu() - cpu0  # the local pool's workers are reaped
    finally:
        if client is not None:
            client.close()
    return wall, cpu, n, digest.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timelines", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16, help="timelines per task (default 16)")
    ap.add_argument("--engine", default="reference", choices=("reference", "durable", "auto"))
    ap.add_argument("--scheduler", metavar="ADDRESS", help="measure on this Dask cluster instead of local ones")
    args = ap.parse_args()
    from _common import print_machine
    info = print_machine()
    try:
        import distributed
        print(f"  {'distributed':14} {distributed.__version__}")
    except ImportError:
        print("dask.distributed is not installed: pip install 'followup[dask]'")
        return 1
    n = max(1, args.timelines)
    rates: dict[str, float] = {}
    cpus: dict[str, float] = {}
    digests: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="followup-caseload-") as tmp:
        path = Path(tmp) / "caseload.jsonl"
        start = time.perf_counter()
        as_of, size = write_caseload(path, n, args.events)
        print(f"{n} timelines of {args.events} events, {size / n / 1024:.1f} KB a line, written in "
              f"{time.perf_counter() - start:.1f} s; as of {as_of}, engine {args.engine}, batch {args.batch}")

        def report(label: str, wall: float, cpu: float, count: int, digest: str, extra: str = "") -> None:
            rates[label], cpus[label] = count / wall, cpu / count
            digests.add(digest)
            print(f"{label:>15}: {wall:8.2f} s wall  {count / wall:8.0f} timelines/s  "
                  f"{cpu / count * 1e3:6.2f} ms CPU a timeline{extra}")

        report("in process", *measure(path, as_of, args.engine, args.batch, executor="local", jobs=1))
        jobs = min(2, info["usable_cpus"] or 2)
        report("local pool", *measure(path, as_of, args.engine, args.batch, executor="local", jobs=jobs),
               f"  ({jobs} processes)")
        if args.scheduler:
            report("dask cluster", *measure(path, as_of, args.engine, args.batch, executor="dask",
                                            scheduler=args.scheduler))
        else:
            from distributed import LocalCluster
            for workers in (1, 2):
                started = time.perf_counter()
                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
                    startup = time.perf_counter() - started
                    report(f"dask {workers} worker" + ("s" if workers > 1 else ""),
                           *measure(path, as_of, args.engine, args.batch, executor="dask",
                                    scheduler=cluster.scheduler_address),
                           f"  (cluster start {startup:.1f} s, not counted)")
    label = "dask 1 worker" if "dask 1 worker" in rates else "dask cluster"
    if label in rates:
        wall = (1 / rates[label] - 1 / rates["in process"]) * 1e3
        cpu = (cpus[label] - cpus["in process"]) * 1e3
        print(f"dask overhead per timeline ({label} against in process): {wall:.3f} ms wall, {cpu:.3f} ms CPU "
              f"(CPU is what other load on the machine does not inflate)")
    if len(digests) != 1:
        print("the executors' results differ")
        return 1
    print("every executor gave the same results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
