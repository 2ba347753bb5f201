"""Check latency, p50/p99, in process and over HTTP, for each engine.

Scenario (``bench/check_scenario.py``): a generated 30-event timeline under the
default ``etiquette`` policy, and six planned actions: four allowed (a thank-you, a
note to the recruiter, a status inquiry once it is allowed, a late-night call that
only draws a warning) and two denied (a premature status inquiry, whose earliest-time
search finds the opening; a message on a channel the recipient asked not to be used,
which no amount of waiting fixes, so the search tries every time boundary). Denied
checks run the earliest-time search and the alternatives, which is the expensive
part, so latencies are reported per action, for allowed and denied checks, and for the
mix (the six actions in equal proportion: 4 allowed, 2 denied).

In process: ``engine.decide.check(timeline, action, policy, engine=E)`` with the
validated timeline and action (parsing not included), the six actions round-robin
for ``--rounds`` rounds, after a warm-up. Wall-clock latency per call (perf_counter).

Over HTTP: for each engine a server ``python -m engine.cli serve --port P --engine E``
is started as a subprocess on 127.0.0.1 (a fresh one per phase, so a backlog left by
one phase cannot leak into the next), warmed up, and sent ``POST /v1/check`` requests
(the timeline inline, as a tracker would send it):

``unloaded``    one request at a time (the service time over HTTP, no queueing)
``allow-only``  open loop at ``--rate`` requests/s (default 100) for ``--duration`` s,
                the four allowed actions round-robin
``mix``         open loop at the same rate, all six actions round-robin

Open loop: request i is sent at t0 + i/rate whatever happened to earlier ones (a
minimal asyncio HTTP/1.1 client with a keep-alive pool, light enough to keep the schedule
while sharing the CPUs with a saturated server; the unloaded phase uses httpx), and its
latency is measured from that scheduled instant to the end of the response, so
queueing in the server (or the client) counts. "client send lag" is how late requests
actually left. Every request has a 10 s timeout; a phase never lasts longer than
its duration plus 10 s; the server is stopped after each phase. Loopback only.

Targets (the issue): in-process reference p50 <= 200 us; in-process durable p50 <= 5 ms;
HTTP p99 <= 25 ms at 100 requests/s.

Usage (from the repository root)::

    PYTHONPATH=. python bench/check_latency.py            # full: 100 rounds, 20 s per HTTP phase
    PYTHONPATH=. python bench/check_latency.py --quick    # 5 rounds, 3 s per HTTP phase
    PYTHONPATH=. python bench/check_latency.py --profile  # + cProfile of an allowed and a denied check
    PYTHONPATH=. python bench/check_latency.py --engines reference --no-http

Exits 0 whether or not the targets are met; 1 if an answer differs from the expected
decision (a wrong answer is not a latency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import percentile, print_machine, profile_call  # noqa: E402
from check_scenario import ACTIONS, EXPECTED, scenario  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_REFERENCE_P50_US = 200
TARGET_DURABLE_P50_MS = 5
TARGET_HTTP_P99_MS = 25
REQUEST_TIMEOUT = 10.0
ALLOWED = [a for a in ACTIONS if EXPECTED[a] == "allow"]
DENIED = [a for a in ACTIONS if EXPECTED[a] == "deny"]


def _summary(samples_s: list[float]) -> dict:
    values = sorted(samples_s)
    return {"n": len(values), "p50_ms": percentile(values, 50) * 1e3, "p90_ms": percentile(values, 90) * 1e3,
            "p99_ms": percentile(values, 99) * 1e3, "max_ms": (values[-1] * 1e3) if values else float("nan")}


def _row(label: str, s: dict, extra: str = "") -> str:
    return (f"  {label:22} n={s['n']:5}  p50 {s['p50_ms']:9.3f} ms  p90 {s['p90_ms']:9.3f} ms  "
            f"p99 {s['p99_ms']:9.3f} ms  max {s['max_ms']:9.3f} ms{extra}")


def _groups(per_action: dict[str, list[float]]) -> dict[str, dict]:
    out = {name: _summary(v) for name, v in per_action.items()}
    out["allowed"] = _summary([x for a in ALLOWED for x in per_action.get(a, [])])
    out["denied"] = _summary([x for a in DENIED for x in per_action.get(a, [])])
    out["mix"] = _summary([x for v in per_action.values() for x in v])
    return out


# ----------------------------------------------------------------------------- in process

def in_process(sc, engine: str, rounds: int, fresh: bool = False) -> tuple[dict, int]:
    """``fresh``: each call gets a timeline object of its own (a copy made before the clock
    starts), so nothing prepared for an earlier call is reused, as in a server, where
    every request brings a new timeline; otherwise every call checks the same object, as
    a tracker does that holds a candidate's timeline and checks several messages."""
    from engine.api import load_policy
    from engine.decide import check
    policy = load_policy("etiquette")
    planned = {name: sc.planned(name) for name in ACTIONS}
    wrong = 0
    for name in ACTIONS:  # warm-up (and the answers must be right)
        for _ in range(2):
            result = check(sc.timeline, planned[name], policy, engine=engine)
        if result.decision != EXPECTED[name]:
            wrong += 1
            print(f"  WRONG: {engine} {name}: {result.decision}, expected {EXPECTED[name]}")
    per_action: dict[str, list[float]] = {name: [] for name in ACTIONS}
    per_action_cpu: dict[str, list[float]] = {name: [] for name in ACTIONS}
    clock, cpu = time.perf_counter, time.process_time
    for _ in range(rounds):
        copies = [sc.timeline.model_copy() if fresh else sc.timeline for _ in ACTIONS]
        for name, timeline in zip(ACTIONS, copies):
            action = planned[name]
            start, start_cpu = clock(), cpu()
            check(timeline, action, policy, engine=engine)
            per_action[name].append(clock() - start)
            per_action_cpu[name].append(cpu() - start_cpu)
    return {"wall": _groups(per_action), "cpu": _groups(per_action_cpu)}, wrong


def handler_steps(sc, engine: str, reps: int) -> dict:
    """What ``POST /v1/check`` does for the allowed thank-you, step by step, in this process
    (median us): the steps of ``engine.service.answer`` in the worker (the body read with
    the bounded ``json.loads`` of ``read_document``; the timeline and action built without
    locations, which are computed only when there is an error), then the result's trip back
    to the server (pickled) and its JSON encoding there. The server's own share (reading
    the body, the worker round trip, HTTP) is not included."""
    import pickle
    import statistics
    from engine.api import load_policy
    from engine.decide import check, check_action_refs, planned_action_from_data
    from engine.limits import DEFAULT_LIMITS
    from engine.source import read_document
    from engine.timeline import timeline_from_data
    policy = load_policy("etiquette")
    text = json.dumps({"timeline": sc.data, "action": sc.actions["thank-you"], "policy": "etiquette"})
    steps: dict[str, list[float]] = {k: [] for k in (
        "json.loads (for comparison)", "read_document (bounded json.loads)", "timeline_from_data",
        "planned_action_from_data + refs", "check", "model_dump", "pickle (worker -> server)",
        "json.dumps (response)")}
    clock = time.perf_counter
    for _ in range(reps):
        t = clock()
        json.loads(text)
        steps["json.loads (for comparison)"].append(clock() - t)
        t = clock()
        doc = read_document(text, "request", DEFAULT_LIMITS)
        steps["read_document (bounded json.loads)"].append(clock() - t)
        t = clock()
        timeline = timeline_from_data(doc.data["timeline"], None, root=("timeline",),
                                      max_events=DEFAULT_LIMITS.max_events)
        steps["timeline_from_data"].append(clock() - t)
        t = clock()
        action = planned_action_from_data(doc.data["action"], None, root=("action",))
        check_action_refs(timeline, action, None, root=("action",))
        steps["planned_action_from_data + refs"].append(clock() - t)
        t = clock()
        result = check(timeline, action, policy, action.at, engine=engine)
        steps["check"].append(clock() - t)
        t = clock()
        dumped = result.model_dump(mode="json")
        steps["model_dump"].append(clock() - t)
        t = clock()
        pickle.loads(pickle.dumps(("ok", dumped), protocol=pickle.HIGHEST_PROTOCOL))
        steps["pickle (worker -> server)"].append(clock() - t)
        t = clock()
        json.dumps(dumped, ensure_ascii=False, separators=(",", ":"))
        steps["json.dumps (response)"].append(clock() - t)
    return {k: statistics.median(v) * 1e6 for k, v in steps.items()}


# ----------------------------------------------------------------------------- HTTP

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m engine.cli serve`` on a free loopback port, as a subprocess."""

    def __init__(self, engine: str, extra_args: tuple[str, ...] = (), root: str = ROOT):
        """``root``: the checkout whose code serves (default this one)."""
        self.engine = engine
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"bench-serve-{engine}-", suffix=".log", delete=False)
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--engine", engine, *extra_args], cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        import httpx
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log.name}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout} s; log: {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            # its own session: signal the server and its durable worker, nothing else
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        os.unlink(self.log.name)

    def __enter__(self) -> "Server":
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _bodies(sc) -> dict[str, bytes]:
    return {name: json.dumps({"timeline": sc.data, "action": sc.actions[name], "policy": "etiquette"}).encode()
            for name in ACTIONS}


def unloaded(url: str, bodies: dict[str, bytes], rounds: int) -> tuple[dict, int]:
    import httpx
    per_action: dict[str, list[float]] = {name: [] for name in bodies}
    wrong = 0
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        for name, body in bodies.items():  # warm-up: the durable worker starts on first use
            for _ in range(2):
                r = client.post(url + "/v1/check", content=body, headers=headers)
            if r.status_code != 200 or r.json()["decision"] != EXPECTED[name]:
                wrong += 1
                print(f"  WRONG over HTTP: {name}: {r.status_code} {r.text[:200]}")
        for _ in range(rounds):
            for name, body in bodies.items():
                start = time.perf_counter()
                r = client.post(url + "/v1/check", content=body, headers=headers)
                per_action[name].append(time.perf_counter() - start)
                if r.status_code != 200:
                    wrong += 1
    return _groups(per_action), wrong


class _Pool:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams, for the open-loop phases.

    Lighter than a general-purpose client, so the client keeps its schedule even when it
    shares the two CPUs with a saturated server.
    Loopback only; requests are ``POST`` with a JSON body; responses carry Content-Length.
    """

    #: a connection idle longer than this is closed, not reused: the server closes idle ones after
    #: 5 s (uvicorn's ``timeout_keep_alive``), and a request written to a connection it is just
    #: closing gets no answer (the keep-alive race; seen as ``IncompleteReadError``)
    KEEPALIVE_EXPIRY = 4.0

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        now = time.monotonic()
        while self.idle and now - self.idle[0][2] > self.KEEPALIVE_EXPIRY:  # the oldest idle ones first
            self.idle.pop(0)[1].close()
        if self.idle:
            reader, writer, _ = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        try:
            writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + self.host.encode()
                         + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\n\r\n" + body)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            payload = await reader.readexactly(length)
        except BaseException:
            writer.close()  # timed out or broken: never reuse this connection
            raise
        self.idle.append((reader, writer, time.monotonic()))
        return status, payload

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def _open_loop(url: str, schedule: list[tuple[str, bytes]], rate: float, duration: float) -> dict:
    host, port = url.split("//", 1)[1].split(":")
    pool = _Pool(host, int(port))
    per_action: dict[str, list[float]] = {}
    outcome = {"ok": 0, "timeout": 0, "error": 0, "wrong": 0}
    error_kinds: dict[str, int] = {}
    lag: list[float] = []
    decisions = {name: b'"decision":"' + EXPECTED[name].encode() + b'"' for name in ACTIONS}

    async def one(name: str, body: bytes, due: float) -> None:
        started = time.perf_counter()
        lag.append(started - due)
        try:
            # one deadline for the whole exchange, counted from the scheduled send time
            status, payload = await asyncio.wait_for(pool.post("/v1/check", body),
                                                     timeout=max(0.001, due + REQUEST_TIMEOUT - started))
        except asyncio.TimeoutError:
            outcome["timeout"] += 1
            return
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            outcome["error"] += 1
            error_kinds[type(exc).__name__] = error_kinds.get(type(exc).__name__, 0) + 1
            return
        elapsed = time.perf_counter() - due
        if status != 200:
            outcome["error"] += 1
            error_kinds[f"HTTP {status}"] = error_kinds.get(f"HTTP {status}", 0) + 1
            return
        if decisions[name] not in payload:
            outcome["wrong"] += 1
        outcome["ok"] += 1
        per_action.setdefault(name, []).append(elapsed)

    total = int(rate * duration)
    tasks = []
    t0 = time.perf_counter() + 0.05
    for i in range(total):
        due = t0 + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))  # always yields, even when late
        name, body = schedule[i % len(schedule)]
        tasks.append(asyncio.create_task(one(name, body, due)))
    sent_in = time.perf_counter() - t0
    # every request is over by its due time + REQUEST_TIMEOUT; allow 2 s of slack, then cancel
    remaining = t0 + duration + REQUEST_TIMEOUT + 2 - time.perf_counter()
    done, pending = await asyncio.wait(tasks, timeout=max(0.1, remaining))
    for task in pending:
        task.cancel()
    outcome["timeout"] += len(pending)
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    pool.close()
    wall = time.perf_counter() - t0
    groups = _groups(per_action)
    lag.sort()
    # every request sent, a timed-out or failed one counting as slower than any answer
    everything = sorted([x for v in per_action.values() for x in v]
                        + [float("inf")] * (outcome["timeout"] + outcome["error"]))
    p50_all, p99_all = percentile(everything, 50), percentile(everything, 99)
    return {"groups": groups, "p50_all_ms": p50_all * 1e3, "p99_all_ms": p99_all * 1e3,
            "outcome": outcome, "error_kinds": error_kinds, "sent": total, "send_seconds": sent_in, "wall": wall, "rate": rate,
            "connections": pool.opened, "completed_per_s": outcome["ok"] / wall,
            "send_lag_p99_ms": percentile(lag, 99) * 1e3}


def open_loop(url: str, schedule, rate: float, duration: float) -> dict:
    return asyncio.run(_open_loop(url, schedule, rate, duration))


def _print_open_loop(label: str, res: dict) -> None:
    o = res["outcome"]
    print(f"  {label}: sent {res['sent']} in {res['send_seconds']:.1f} s "
          f"(client send lag p99 {res['send_lag_p99_ms']:.1f} ms, {res['connections']} connections), answered {o['ok']} "
          f"({res['completed_per_s']:.1f}/s over {res['wall']:.1f} s), timeouts {o['timeout']}, errors {o['error']}"
          f"{' (' + ', '.join(f'{k}: {v}' for k, v in res['error_kinds'].items()) + ')' if res['error_kinds'] else ''}, "
          f"wrong {o['wrong']}")
    fmt = (lambda v: f"{v:,.1f} ms" if v != float("inf") else f"> {REQUEST_TIMEOUT:.0f} s (timed out)")
    print(f"    all {res['sent']} requests sent (unanswered ones counted as slowest): p50 {fmt(res['p50_all_ms'])}, "
          f"p99 {fmt(res['p99_all_ms'])}; answered ones:")
    g = res["groups"]
    for key in ("mix", "allowed", "denied", *ACTIONS):
        if key in g and g[key]["n"]:
            extra = ""
            if key == "mix" and o["timeout"]:
                extra = f"  (+{o['timeout']} timed out at {REQUEST_TIMEOUT:.0f} s)"
            print("  " + _row("all answered" if key == "mix" else key, g[key], extra))


def http(sc, engine: str, rate: float, duration: float, unloaded_rounds: int,
         sustain_rate: float) -> tuple[dict, int]:
    bodies = _bodies(sc)
    out: dict = {}
    wrong = 0
    print(f"\n[{engine}] HTTP, body {len(bodies['thank-you']):,} bytes per request")
    with Server(engine) as server:
        out["unloaded"], w = unloaded(server.url, bodies, unloaded_rounds)
        wrong += w
    print("  unloaded (one request at a time):")
    for key in ("mix", "allowed", "denied", *ACTIONS):
        print("  " + _row(key, out["unloaded"][key]))
    phases = [("allow-only", ALLOWED, rate), ("mix", list(ACTIONS), rate)]
    if sustain_rate > 0:
        phases.append((f"allow-only at {sustain_rate:g}/s", ALLOWED, sustain_rate))
    for phase, names, phase_rate in phases:
        schedule = [(n, bodies[n]) for n in names]
        with Server(engine) as server:
            unloaded(server.url, {n: bodies[n] for n in names}, 0)  # warm-up
            res = open_loop(server.url, schedule, phase_rate, duration)
        out[phase] = res
        wrong += res["outcome"]["wrong"]
        _print_open_loop(f"open loop {phase_rate:g}/s, {phase}", res)
    return out, wrong


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds in process, 3 s per HTTP phase")
    parser.add_argument("--engines", default="reference,durable")
    parser.add_argument("--rounds", type=int, default=None, help="in-process rounds of the six actions (default 100)")
    parser.add_argument("--rate", type=float, default=100.0, help="HTTP requests per second (default 100)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per open-loop phase (default 20)")
    parser.add_argument("--sustain-rate", type=float, default=20.0,
                        help="also run allow-only at this lower rate, to see latency below saturation (0: skip)")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--profile", action="store_true", help="cProfile an allowed and a denied check")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 100)
    duration = min(args.duration or (3.0 if args.quick else 20.0), 30.0)  # bounded
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    info = print_machine()
    try:
        print("  load average   " + " ".join(f"{x:.2f}" for x in os.getloadavg())
              + f" (other processes on this machine share its {info['usable_cpus']} CPUs)")
    except OSError:
        pass
    sc = scenario(seed=args.seed)
    app = sc.actions["thank-you"]["application"]
    print(f"\nscenario: generated timeline #{sc.index} (seed {args.seed}), {len(sc.timeline.events)} events, "
          f"{len(sc.timeline.contacts)} contacts, {len(sc.timeline.applications)} application(s); "
          f"actions on application {app!r}:")
    for name in ACTIONS:
        a = sc.actions[name]
        print(f"  {name:14} {EXPECTED[name]:5}  {a['type']} to {a['to'][0]} by {a['channel']} at {a['at']}")

    results: dict = {"machine": info, "scenario_index": sc.index, "in_process": {}, "http": {}}
    wrong = 0
    for engine in engines:
        print(f"\n[{engine}] in process, {rounds} rounds of the six actions (decide.check per call; wall clock, "
              "then this process's CPU time)")
        groups, w = in_process(sc, engine, rounds)
        wrong += w
        results["in_process"][engine] = groups
        for key in ("mix", "allowed", "denied", *ACTIONS):
            print(_row(key, groups["wall"][key]))
        print("  CPU time per call:")
        for key in ("mix", "allowed", "denied"):
            print("  " + _row(key, groups["cpu"][key]))
        print(f"[{engine}] in process, a new timeline object for every call (nothing prepared is reused)")
        fresh, w = in_process(sc, engine, rounds, fresh=True)
        wrong += w
        results.setdefault("in_process_fresh", {})[engine] = fresh
        for key in ("mix", "allowed", "denied", *ACTIONS):
            print(_row(key, fresh["wall"][key]))

    print("\nPOST /v1/check handler steps for the allowed thank-you, in process (median us of "
          f"{max(5, rounds // 2)} reps; what the worker does with a new body each time, so the check prepares the "
          "timeline anew; the server adds ASGI/HTTP and the round trip to the worker on top)")
    for engine in engines:
        steps = handler_steps(sc, engine, max(5, rounds // 2))
        results.setdefault("handler_steps", {})[engine] = steps
        total = sum(v for k, v in steps.items() if "comparison" not in k)
        print(f"  [{engine}] " + ", ".join(f"{k} {v:,.0f}" for k, v in steps.items()) + f"; total {total:,.0f}")

    if not args.no_http:
        for engine in engines:
            results["http"][engine], w = http(sc, engine, args.rate, duration, max(2, rounds // 10),
                                              args.sustain_rate)
            wrong += w

    print("\ntargets")
    for engine in engines:
        p50 = results["in_process"][engine]["wall"]["mix"]["p50_ms"]
        allow_p50 = results["in_process"][engine]["wall"]["allowed"]["p50_ms"]
        cpu_p50 = results["in_process"][engine]["cpu"]["mix"]["p50_ms"]
        if engine == "reference":
            target, unit, scale = TARGET_REFERENCE_P50_US, "us", 1e3
        else:
            target, unit, scale = TARGET_DURABLE_P50_MS, "ms", 1.0
        verdict = "MET" if p50 * scale <= target else "NOT MET"
        print(f"  in-process {engine} p50 <= {target} {unit}: mix p50 {p50 * scale:,.1f} {unit} -> {verdict} "
              f"(allowed-only p50 {allow_p50 * scale:,.1f} {unit}; CPU-time mix p50 {cpu_p50 * scale:,.1f} {unit})")
    print("  issue 9 (30-event timeline, in process, p50): allowed <= 250 us (reference), <= 1.5 ms (durable); "
          "denied with an earliest time <= 2 ms (reference)")
    for engine in engines:
        limit = 0.25 if engine == "reference" else 1.5
        for label, key in (("same timeline object", "in_process"), ("new timeline object", "in_process_fresh")):
            allowed = results[key][engine]["wall"]["allowed"]["p50_ms"]
            line = (f"    {engine}, {label}: allowed p50 {allowed * 1e3:,.0f} us "
                    f"({'met' if allowed <= limit else 'NOT met'})")
            if engine == "reference":
                early = results[key][engine]["wall"]["inquiry-early"]["p50_ms"]
                line += f"; denied with an earliest time (inquiry-early) p50 {early * 1e3:,.0f} us " \
                        f"({'met' if early <= 2.0 else 'NOT met'})"
            print(line)
    for engine, res in results["http"].items():
        for phase in [p for p in res if p != "unloaded"]:
            r = res[phase]
            p99 = r["p99_all_ms"]
            timeouts = r["outcome"]["timeout"]
            met = p99 <= TARGET_HTTP_P99_MS
            shown = (f"p99 {p99:,.1f} ms" if p99 != float("inf") else f"p99 > {REQUEST_TIMEOUT:.0f} s") + (
                f" ({timeouts} of {r['sent']} timed out)" if timeouts else "")
            print(f"  HTTP {engine} {phase} p99 <= {TARGET_HTTP_P99_MS} ms at {r['rate']:g}/s: {shown} -> "
                  f"{'MET' if met else 'NOT MET'}")

    if args.profile:
        from engine.api import load_policy
        from engine.decide import check
        policy = load_policy("etiquette")
        for engine in engines:
            for name in ("thank-you", "inquiry-early", "off-channel"):
                action = sc.planned(name)
                reps = 20 if EXPECTED[name] == "allow" else 3
                profile_call(f"{engine} check {name} x {reps}",
                             lambda: [check(sc.timeline, action, policy, engine=engine) for _ in range(reps)],
                             sort="cumtime", top=28)

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
        print(f"\nwrote {args.json}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
