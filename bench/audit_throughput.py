"""Audit throughput, in timeline events per second, for each backend, with the raw durable ceiling.

Workload: 10,000 generated 20-event timelines (``bench/timelines.py``, seeded,
validated with ``engine.timeline.timeline_from_data``), audited under the shipped
``etiquette`` policy, each as of an instant after its last event (nothing is cut).
Rates count timeline *events* (20 per timeline); the number of prepared facts (one
per event and party) and of ``assert_fact`` calls is printed as well.

What is timed, each over the whole workload (timelines already validated):

``prepare``            ``prepare_facts(timeline, program, as_of)`` alone (shared by both backends)
``reference backend``  ``ReferenceBackend.run(program, table)`` on the prepared tables
``durable backend``    ``DurableBackend.run(program, table)`` on the prepared tables (interning,
                       documents, ``Runtime.evaluate``, reading the firings back)
``raw evaluate``       ``Runtime.evaluate(name, facts, clock)`` with the interned facts
                       ``DurableBackend.run`` would pass (no interning, no match decoding)
``raw assert_fact``    the ceiling: for each timeline, exactly the documents the runtime would
                       send (interned, pool ids, ``sid``, ``one``; built beforehand), each sent
                       with the host's ``assert_fact(ruleset, doc)`` (durable's own Python API:
                       ``json.dumps`` + the C call + running the fired actions, which are the
                       runtime's own collectors), facts then the clock fact, a fact matching no
                       pattern ignored as the runtime does, then ``delete_state``. Same compiled
                       ruleset, same facts, same actions, same session lifecycle; nothing of
                       this project's Python around it.
``reference e2e``      ``engine.api.audit(timeline, policy, as_of)``
``durable e2e``        ``engine.api.audit(timeline, policy, as_of, engine="durable")``

Each timed phase runs ``--runs`` times (default 3, interleaved) and the median is
reported. Before timing, both backends are checked to give the same findings on every
timeline, and the raw loop to fire the same rules as ``Runtime.evaluate``.

Targets (the issue): durable e2e >= 70% of the raw assert_fact rate; reference >= 10x
durable. Both are printed end to end and backend only.

Usage (from the repository root)::

    PYTHONPATH=. python bench/audit_throughput.py            # full: 10,000 timelines, 3 runs
    PYTHONPATH=. python bench/audit_throughput.py --quick    # 300 timelines, 1 run
    PYTHONPATH=. python bench/audit_throughput.py --profile  # + cProfile of each phase
    PYTHONPATH=. python bench/audit_throughput.py --json out.json

Exits 0 whether or not the targets are met (it is a measurement, not a test); exits 1
only if the backends disagree or the benchmark itself fails.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import median, print_machine, profile_call  # noqa: E402
from timelines import generate, validate  # noqa: E402

from engine.api import audit, load_policy  # noqa: E402
from engine.backends import get_backend  # noqa: E402
from engine.backends import _durable_runtime as rt  # noqa: E402
from engine.facts import prepare_facts  # noqa: E402

DURABLE_TARGET = 0.70  # durable e2e rate / raw assert_fact rate
REFERENCE_TARGET = 10.0  # reference rate / durable rate


def _interned(table) -> list[dict]:
    """The facts DurableBackend.run hands to Runtime.evaluate (same code, kept in step by a check)."""
    codes: dict[str, dict[str, int]] = {attr: {"": 0} for attr in ("app", "party", "channel")}
    facts = []
    for fact in table.facts:
        doc = {k: v for k, v in fact.items() if k not in ("id", "pref", "app", "party", "channel")}
        for attr in ("app", "party", "channel"):
            values = codes[attr]
            doc[attr] = values.setdefault(fact[attr], len(values))
        doc["id"] = fact["fid"]
        facts.append(doc)
    return facts


class RawCeiling:
    """The host's assert_fact loop over pre-built documents, with the runtime's own actions."""

    def __init__(self, backend, program):
        self.runtime = backend._runtime
        _plan, self.name = backend._prepared(program)
        self.host = self.runtime._host
        self.sid = self.runtime._sessions[0]
        self.prebuilt: list[tuple[list[dict], dict, str]] = []

    def build(self, tables) -> None:
        self.prebuilt = []
        for table in tables:
            docs, ev = self.runtime._documents(_interned(table), {"id": "clock", "ts": table.clock})
            self.prebuilt.append(([{**d, "sid": self.sid} for d in docs], ev.id_map, ev.rescue_id))

    def run_one(self, docs, id_map, rescue_id):
        runtime, host, name = self.runtime, self.host, self.name
        ev = rt._Evaluation(id_map, rescue_id=rescue_id)
        runtime._active = ev
        try:
            last = len(docs) - 1
            for i, doc in enumerate(docs):
                try:
                    host.assert_fact(name, doc)
                except rt._durable.MessageNotHandledException:
                    if i == last:
                        raise
            host.delete_state(name, self.sid)
        finally:
            runtime._active = None
        return ev

    def run_all(self) -> None:
        for docs, id_map, rescue_id in self.prebuilt:
            self.run_one(docs, id_map, rescue_id)


def _time(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call of ``fn``."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 timelines, 1 run (a smoke run)")
    parser.add_argument("--timelines", type=int, default=None, help="how many timelines (default 10,000)")
    parser.add_argument("--events", type=int, default=20, help="events per timeline (default 20)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per phase; the median is kept (default 3)")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of each phase")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    n = args.timelines or (300 if args.quick else 10_000)
    runs = args.runs or (1 if args.quick else 3)

    info = print_machine()
    print(f"  {_load()} (other processes on this machine share its {info['usable_cpus']} CPUs)")
    print(f"\nworkload: {n:,} timelines x {args.events} events (seed {args.seed}), policy etiquette, "
          f"{runs} run(s) per phase, median reported")

    t0 = time.perf_counter()
    pairs = generate(n, events=args.events, seed=args.seed)
    t1 = time.perf_counter()
    workload = validate(pairs)
    t2 = time.perf_counter()
    print(f"generated in {t1 - t0:.1f} s, validated (timeline_from_data) in {t2 - t1:.1f} s "
          f"({n / (t2 - t1):,.0f} timelines/s; not part of any figure below)")

    policy = load_policy("etiquette")
    program = policy.program
    reference = get_backend("reference")
    durable = get_backend("durable")
    events = n * args.events
    tables = [prepare_facts(tl, program, as_of) for tl, as_of in workload]
    facts = sum(len(t.facts) for t in tables)
    raw = RawCeiling(durable, program)
    raw.build(tables)
    asserts = sum(len(docs) for docs, _, _ in raw.prebuilt)
    plan, _ = durable._prepared(program)
    print(f"{events:,} events -> {facts:,} prepared facts ({facts / n:.1f} per timeline); "
          f"{asserts:,} assert_fact calls (facts + 1 clock per timeline); "
          f"{len(program.nodes)} IR nodes -> {len(plan.rules)} durable rules (+ the clock rule)")

    # -- correctness first: both backends agree, and the raw loop fires what evaluate fires
    disagree = 0
    findings = 0
    for (tl, as_of) in workload:
        a = audit(tl, policy, as_of, engine="reference")
        b = audit(tl, policy, as_of, engine="durable")
        findings += len(a.findings)
        if a.findings != b.findings:
            disagree += 1
    raw_mismatch = 0
    name = raw.name
    for table, (docs, id_map, rescue_id) in zip(tables, raw.prebuilt):
        expected = durable._runtime.evaluate(name, _interned(table), {"id": "clock", "ts": table.clock})
        ev = raw.run_one(docs, id_map, rescue_id)
        if sorted(map(repr, ev.fired)) != sorted(map(repr, expected)) or not ev.clock_fired:
            raw_mismatch += 1
    print(f"check: reference and durable findings differ on {disagree} of {n:,} timelines "
          f"({findings:,} findings, {findings / n:.2f} per timeline); raw loop differs from "
          f"Runtime.evaluate on {raw_mismatch}")

    # -- timed phases, interleaved runs (interning for "raw evaluate" is done beforehand)
    interned = [(_interned(t), {"id": "clock", "ts": t.clock}) for t in tables]
    phases = {
        "prepare": lambda: [prepare_facts(tl, program, as_of) for tl, as_of in workload],
        "reference backend": lambda: [reference.run(program, t) for t in tables],
        "durable backend": lambda: [durable.run(program, t) for t in tables],
        "raw evaluate": lambda: [durable._runtime.evaluate(name, f, c) for f, c in interned],
        "raw assert_fact": raw.run_all,
        "reference e2e": lambda: [audit(tl, policy, as_of) for tl, as_of in workload],
        "durable e2e": lambda: [audit(tl, policy, as_of, engine="durable") for tl, as_of in workload],
    }

    times: dict[str, list[float]] = {k: [] for k in phases}
    cpu_times: dict[str, list[float]] = {k: [] for k in phases}
    for r in range(runs):
        for label, fn in phases.items():
            wall, cpu = _time(fn)
            times[label].append(wall)
            cpu_times[label].append(cpu)
        print(f"run {r + 1}/{runs}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()))
    print(f"after the runs: {_load()}")
    med = {k: median(v) for k, v in times.items()}
    med_cpu = {k: median(v) for k, v in cpu_times.items()}
    rate = {k: events / v for k, v in med.items()}
    rate_cpu = {k: events / v for k, v in med_cpu.items()}

    print("\nthroughput (median of runs; events/s = timeline events per second of wall clock;")
    print("  'cpu events/s' divides by this process's CPU time instead, which other load on the machine disturbs less)")
    print(f"  {'phase':20} {'seconds':>9} {'events/s':>11} {'timelines/s':>12} {'us/timeline':>12} "
          f"{'cpu s':>8} {'cpu events/s':>13}")
    for label in phases:
        print(f"  {label:20} {med[label]:9.2f} {rate[label]:11,.0f} {n / med[label]:12,.0f} "
              f"{med[label] / n * 1e6:12.1f} {med_cpu[label]:8.2f} {rate_cpu[label]:13,.0f}")
    print(f"  raw assert_fact: {asserts / med['raw assert_fact']:,.0f} assert_fact calls/s "
          f"({facts / med['raw assert_fact']:,.0f} facts/s excluding the clock facts)")

    # e2e minus (prepare + backend): the rest of audit (cut, findings, report models); from CPU
    # time, which is far steadier than wall clock on a shared machine
    print("\nwhere an audit's time goes (CPU us per timeline, from the CPU-time medians above)")
    print(f"  {'':20} {'prepare':>9} {'backend':>9} {'rest':>9} {'total':>9}")
    for label, backend_key in (("reference", "reference backend"), ("durable", "durable backend")):
        total = med_cpu[label + " e2e"]
        rest = total - med_cpu["prepare"] - med_cpu[backend_key]
        print(f"  {label:20} {med_cpu['prepare'] / n * 1e6:9.1f} {med_cpu[backend_key] / n * 1e6:9.1f} "
              f"{rest / n * 1e6:9.1f} {total / n * 1e6:9.1f}")
    print("  (rest = audit() minus prepare_facts minus backend.run: building findings and the report)")

    pairs_ = {
        "durable e2e / raw assert_fact": ("durable e2e", "raw assert_fact"),
        "durable backend / raw assert_fact": ("durable backend", "raw assert_fact"),
        "raw evaluate / raw assert_fact": ("raw evaluate", "raw assert_fact"),
        "reference e2e / durable e2e": ("reference e2e", "durable e2e"),
        "reference backend / durable backend": ("reference backend", "durable backend"),
    }
    ratios = {k: rate[a] / rate[b] for k, (a, b) in pairs_.items()}
    ratios_cpu = {k: rate_cpu[a] / rate_cpu[b] for k, (a, b) in pairs_.items()}
    targets = {
        "durable e2e / raw assert_fact": DURABLE_TARGET,
        "durable backend / raw assert_fact": DURABLE_TARGET,
        "reference e2e / durable e2e": REFERENCE_TARGET,
        "reference backend / durable backend": REFERENCE_TARGET,
    }
    print("\nratios (of rates) against the targets: wall clock, and CPU time in brackets")
    for label, value in ratios.items():
        target = targets.get(label)
        verdict = "" if target is None else (f"target >= {target:g}: " + ("MET" if value >= target else "NOT MET"))
        fmt = (lambda v: f"{v:.0%}") if "raw" in label.split("/")[-1] else (lambda v: f"{v:.2f}x")
        print(f"  {label:38} {fmt(value):>8} ({fmt(ratios_cpu[label]):>6})   {verdict}")

    if args.profile:
        subset = max(1, min(n, 2000))
        w, tb, pre = workload[:subset], tables[:subset], raw.prebuilt[:subset]
        profile_call(f"prepare_facts x {subset}", lambda: [prepare_facts(tl, program, a) for tl, a in w])
        profile_call(f"reference backend x {subset}", lambda: [reference.run(program, t) for t in tb])
        profile_call(f"durable backend x {subset}", lambda: [durable.run(program, t) for t in tb])
        profile_call(f"raw assert_fact x {subset}", lambda: [raw.run_one(*p) for p in pre])
        profile_call(f"reference e2e x {subset}", lambda: [audit(tl, policy, a) for tl, a in w], sort="cumtime",
                     top=30)

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": info, "timelines": n, "events_per_timeline": args.events, "runs": runs,
                       "events": events, "facts": facts, "asserts": asserts, "seconds": times, "median": med,
                       "cpu_seconds": cpu_times, "median_cpu": med_cpu, "events_per_s": rate,
                       "cpu_events_per_s": rate_cpu, "ratios": ratios, "ratios_cpu": ratios_cpu, "disagreements": disagree,
                       "raw_mismatches": raw_mismatch}, f, indent=2)
        print(f"\nwrote {args.json}")
    return 1 if disagree or raw_mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
