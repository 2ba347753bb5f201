"""Hostile load: can bad requests slow down good ones, stall ``/healthz`` or grow the server?

Two phases against one ``followup serve`` on 127.0.0.1 (a subprocess, stopped at the end):

``clean``    ``--clients`` concurrent clients (default 50) for ``--duration`` s (default 30),
             each sending the normal mix in a loop: allowed and denied checks (the
             30-event scenario of ``bench/check_scenario.py``), audits and agendas;
``hostile``  the same clients and mix, but every ``--hostile-every``-th request of each
             client (default 4th) is a hostile one, round-robin: a YAML "billion laughs"
             body, a 20,000-event timeline (1.7 MB), 10,000-level nesting, a body that is
             not JSON, and a slow check (a denied inquiry whose earliest-time search
             tries 4,000 boundary instants, and runs into the server's time budget).

Throughout, a prober in its own process (so that the load generator's own event loop,
busy with 50 clients, does not delay its requests or its clock) asks ``GET /healthz``
every 100 ms, and the server's
resident memory (its own and its worker processes', from ``/proc``) is sampled every
second. Printed per phase: good-request throughput and p50/p99, ``/healthz`` p50/p99,
the answers the hostile requests got (status and error codes), and RSS over time.

Targets (issue 8): ``/healthz`` p99 <= 100 ms in the hostile phase; good-request p99 in
the hostile phase <= 2x the clean phase; RSS flat (no growth beyond the worker
recycling limit).

Every request has a 20 s timeout; each phase lasts its duration (requests in flight
are then awaited, at most 20 s more); loopback only.

Usage (from the repository root)::

    PYTHONPATH=. python bench/hostile_load.py                 # 50 clients, 30 s a phase
    PYTHONPATH=. python bench/hostile_load.py --quick         # 10 clients, 5 s a phase
    PYTHONPATH=. python bench/hostile_load.py --engine durable

Exits 0 whether or not the targets are met; 1 if a good request got a wrong answer or
any request got a 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import percentile, print_machine  # noqa: E402
from check_latency import Server  # noqa: E402
from check_scenario import ACTIONS, EXPECTED, scenario  # noqa: E402
from timelines import generate_one  # noqa: E402

REQUEST_TIMEOUT = 20.0
TARGET_HEALTHZ_P99_MS = 100.0
TARGET_GOOD_P99_RATIO = 2.0


def _good_requests(sc) -> list[tuple[str, str, bytes, str | None]]:
    """(label, path, body, expected decision) for the normal mix."""
    out = []
    for name in ACTIONS:
        body = json.dumps({"timeline": sc.data, "action": sc.actions[name]}).encode()
        out.append((f"check:{EXPECTED[name]}", "/v1/check", body, EXPECTED[name]))
    as_of = sc.actions["thank-you"]["at"]
    out.append(("audit", "/v1/audit", json.dumps({"timeline": sc.data, "as_of": as_of}).encode(), None))
    out.append(("agenda", "/v1/agenda", json.dumps({"timeline": sc.data, "as_of": as_of}).encode(), None))
    return out


def _big_timeline(data: dict, events: int) -> dict:
    """``data`` (the scenario's timeline) with ``events`` short employer contacts and
    inquiries in its last application, compact so that 20,000 of them stay under the
    2 MiB body limit; the scenario's planned actions stay valid on it."""
    app = data["events"][-1].get("application") or next(iter(data["applications"]))
    contact = next(iter(data["contacts"]))
    out = []
    for i in range(events):
        kind = "status_inquiry" if i % 3 else "employer_contact"
        event = {"id": f"e{i}", "type": kind, "at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"}
        if kind == "status_inquiry":
            event.update(to=contact, channel="email")
        out.append(event)
    return {**data, "applications": {app: data["applications"][app]}, "events": out}


def _slow_check(events: int) -> dict:
    """A valid check that runs for many seconds: a status inquiry months before the
    employer's timetable allows one, after ``events`` employer messages 10 minutes apart,
    each a boundary instant the earliest-time search tries (the server's time budget
    ends it)."""
    start = datetime(2026, 3, 2, 15, tzinfo=timezone.utc)
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    first = start + timedelta(days=1)
    timeline_events = [
        {"id": "i1", "type": "interview", "at": iso(start), "with": ["alice"]},
        {"id": "t1", "type": "timetable", "at": iso(start + timedelta(hours=1)), "by": "alice",
         "decision_by": "2026-12-18"},
    ] + [{"id": f"e{k}", "type": "employer_contact", "at": iso(first + timedelta(minutes=10 * k)), "from": "alice",
          "channel": "email"} for k in range(events)]
    return {"timeline": {"timezone": "America/New_York", "contacts": {"alice": {"name": "Alice Park"}},
                         "applications": {"acme": {"company": "Acme", "country": "US", "timezone": "America/New_York"}},
                         "events": timeline_events},
            "action": {"type": "status_inquiry", "to": "alice", "channel": "email"},
            "at": iso(first + timedelta(minutes=10 * events))}


def _hostile_requests(sc) -> list[tuple[str, str, bytes, str]]:
    """(label, path, body, content type)."""
    laughs = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        laughs.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    laughs.append("timeline: *a9")
    bomb = ("\n".join(laughs) + "\n").encode()
    huge = json.dumps({"timeline": _big_timeline(sc.data, 20_000), "as_of": "2026-06-01T00:00:00Z"},
                      separators=(",", ":")).encode()
    deep = ('{"as_of": "2026-06-01T00:00:00Z", "timeline": ' + "[" * 10_000 + "]" * 10_000 + "}").encode()
    slow = json.dumps(_slow_check(4_000)).encode()
    return [
        ("bomb-as-yaml", "/v1/audit", bomb, "application/yaml"),
        ("bomb-as-json", "/v1/audit", bomb, "application/json"),
        ("20k-events", "/v1/audit", huge, "application/json"),
        ("deep-nesting", "/v1/audit", deep, "application/json"),
        ("text-plain", "/v1/check", json.dumps({"timeline": sc.data, "action": sc.actions["thank-you"]}).encode(),
         "text/plain"),
        ("slow-check", "/v1/check", slow, "application/json"),
    ]


def _code(response) -> str:
    """The first error code of an error answer (``request.over-budget``...), or ``""``."""
    try:
        return response.json()["errors"][0]["code"] if response.status_code >= 400 else ""
    except (ValueError, KeyError, IndexError, TypeError):
        return "?"


def _probe_healthz(url: str, duration: float, out) -> None:
    """In its own process: ``GET /healthz`` every 100 ms for ``duration`` s; sends
    ``"ready"`` once it is started (imports done, one probe made: the phase's clock starts
    then, so the prober's start-up does not compete with the phase's first requests), then
    ``(latencies in s, {error: count})`` on the pipe ``out``."""
    import httpx
    latencies: list[float] = []
    errors: Counter = Counter()
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as http:
        try:
            http.get("/healthz")
        except httpx.HTTPError:
            pass
        out.send("ready")
        end = time.monotonic() + duration
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                r = http.get("/healthz")
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[f"healthz HTTP {r.status_code}"] += 1
            except httpx.HTTPError as exc:
                errors[f"healthz {type(exc).__name__}"] += 1
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - t0)))
    out.send((latencies, dict(errors)))
    out.close()


def _rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, in KiB (Linux /proc)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children[int(fields[1])].append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status", encoding="utf-8") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


async def _phase(url: str, pid: int, clients: int, duration: float, good, hostile, hostile_every: int) -> dict:
    import httpx
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    good_lat: dict[str, list[float]] = defaultdict(list)
    hostile_status: dict[str, Counter] = defaultdict(Counter)
    healthz: list[float] = []
    errors: Counter = Counter()
    wrong = 0
    rss: list[tuple[float, int]] = []
    ctx = multiprocessing.get_context("spawn")
    prober_pipe, child_end = ctx.Pipe(duplex=False)
    prober = ctx.Process(target=_probe_healthz, args=(url, duration, child_end), daemon=True)
    prober.start()
    child_end.close()
    if not prober_pipe.poll(60) or prober_pipe.recv() != "ready":
        raise RuntimeError("the /healthz prober did not start")
    start = time.monotonic()
    end = start + duration

    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits) as http:
        async def client(k: int) -> None:
            nonlocal wrong
            i = k
            while time.monotonic() < end:
                i += 1
                if hostile and i % hostile_every == 0:
                    label, path, body, ctype = hostile[(i // hostile_every + k) % len(hostile)]
                    try:
                        r = await http.post(path, content=body, headers={"content-type": ctype})
                        hostile_status[label][f"{r.status_code} {_code(r)}"] += 1
                    except httpx.HTTPError as exc:
                        hostile_status[label][type(exc).__name__] += 1
                    continue
                label, path, body, expected = good[(i + k) % len(good)]
                t0 = time.perf_counter()
                try:
                    r = await http.post(path, content=body, headers={"content-type": "application/json"})
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                good_lat[label].append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[f"HTTP {r.status_code}"] += 1
                elif expected is not None and r.json().get("decision") != expected:
                    wrong += 1

        async def memory() -> None:
            while time.monotonic() < end:
                rss.append((time.monotonic() - start, _rss_kb(pid)))
                await asyncio.sleep(1.0)

        tasks = [asyncio.create_task(client(k)) for k in range(clients)]
        tasks.append(asyncio.create_task(memory()))
        await asyncio.wait(tasks, timeout=duration + REQUEST_TIMEOUT)
        for t in tasks:
            t.cancel()
    if prober_pipe.poll(REQUEST_TIMEOUT + 5):
        probed, probe_errors = prober_pipe.recv()
        healthz.extend(probed)
        errors.update(probe_errors)
    else:
        errors["healthz prober gave no result"] += 1
    prober.join(5)
    if prober.is_alive():
        prober.kill()
        prober.join(5)
    elapsed = time.monotonic() - start
    all_good = sorted(x for v in good_lat.values() for x in v)
    return {"elapsed": elapsed, "good": all_good, "per_label": {k: sorted(v) for k, v in good_lat.items()},
            "healthz": sorted(healthz), "hostile": hostile_status, "errors": errors, "wrong": wrong, "rss": rss}


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1e3:8.1f}" if values else "     n/a"


def _report(name: str, r: dict, duration: float) -> None:
    print(f"\n== phase {name} ({r['elapsed']:.1f} s)")
    print(f"  good requests: {len(r['good'])} answered, {len(r['good']) / duration:.1f}/s; "
          f"p50 {_ms(r['good'], 50).strip()} ms, p99 {_ms(r['good'], 99).strip()} ms; wrong answers {r['wrong']}")
    for label, values in sorted(r["per_label"].items()):
        print(f"    {label:14} n={len(values):6}  p50 {_ms(values, 50)} ms  p99 {_ms(values, 99)} ms")
    print(f"  /healthz: {len(r['healthz'])} probes, p50 {_ms(r['healthz'], 50).strip()} ms, "
          f"p99 {_ms(r['healthz'], 99).strip()} ms, max {_ms(r['healthz'], 100).strip()} ms")
    if r["hostile"]:
        print("  hostile requests (answers):")
        for label, counts in sorted(r["hostile"].items()):
            print(f"    {label:14} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)))
    if r["errors"]:
        print("  errors on good requests: " + ", ".join(f"{k}: {v}" for k, v in r["errors"].items()))
    samples = r["rss"]
    if samples:
        mb = [kb / 1024 for _, kb in samples]
        print(f"  server RSS (MiB, with workers): first {mb[0]:.0f}, min {min(mb):.0f}, max {max(mb):.0f}, "
              f"last {mb[-1]:.0f}; over time: " + " ".join(f"{m:.0f}" for m in mb[:: max(1, len(mb) // 15)]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="reference", choices=("reference", "durable"))
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--hostile-every", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="10 clients, 5 s a phase")
    args = ap.parse_args()
    if args.quick:
        args.clients, args.duration = 10, 5.0
    print_machine()
    print(f"engine {args.engine}, {args.clients} clients, {args.duration:.0f} s a phase, "
          f"every {args.hostile_every}th request hostile in the hostile phase")
    sc = scenario()
    good, hostile = _good_requests(sc), _hostile_requests(sc)
    with Server(args.engine) as server:
        pid = server.proc.pid
        clean = asyncio.run(_phase(server.url, pid, args.clients, args.duration, good, [], args.hostile_every))
        _report("clean", clean, args.duration)
        bad = asyncio.run(_phase(server.url, pid, args.clients, args.duration, good, hostile, args.hostile_every))
        _report("hostile", bad, args.duration)
    clean_p99, bad_p99 = percentile(clean["good"], 99), percentile(bad["good"], 99)
    hz_p99 = percentile(bad["healthz"], 99) * 1e3
    rss_clean = [kb for _, kb in clean["rss"]]
    rss_bad = [kb for _, kb in bad["rss"]]
    print("\n== targets")
    print(f"  /healthz p99 in the hostile phase: {hz_p99:.1f} ms (target <= {TARGET_HEALTHZ_P99_MS:.0f} ms): "
          f"{'met' if hz_p99 <= TARGET_HEALTHZ_P99_MS else 'NOT met'}")
    ratio = bad_p99 / clean_p99 if clean_p99 else float("nan")
    print(f"  good p99 hostile / clean: {bad_p99 * 1e3:.1f} / {clean_p99 * 1e3:.1f} ms = {ratio:.2f}x "
          f"(target <= {TARGET_GOOD_P99_RATIO:.0f}x): {'met' if ratio <= TARGET_GOOD_P99_RATIO else 'NOT met'}")
    if rss_clean and rss_bad:
        print(f"  RSS: clean phase max {max(rss_clean) / 1024:.0f} MiB, hostile phase max {max(rss_bad) / 1024:.0f} MiB, "
              f"end {rss_bad[-1] / 1024:.0f} MiB")
    # 503 is the designed answer to a request over its time budget; any other 5xx is a defect
    five_xx = sum(v for counts in bad["hostile"].values() for k, v in counts.items()
                  if k[:1] == "5" and not k.startswith("503"))
    five_xx += sum(v for k, v in {**clean["errors"], **bad["errors"]}.items() if k.startswith("HTTP 5"))
    print(f"  5xx answers other than 503 (over budget): {five_xx}; errors on good requests: "
          f"{sum(clean['errors'].values()) + sum(bad['errors'].values())}; wrong answers: {clean['wrong'] + bad['wrong']}")
    return 1 if five_xx or clean["wrong"] or bad["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
