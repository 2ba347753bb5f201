"""HTTP ``check`` at a fixed rate: a bounded open-loop load against a live server.

``--requests`` N requests (default 2,000) of ``POST /v1/check`` are sent at ``--rate``
requests/s (default 200) to one ``followup serve`` on 127.0.0.1 (started here as a
subprocess for each engine, or ``--url`` of one already running), the six actions of the
30-event scenario (``bench/check_scenario.py``) round-robin: four allowed, two denied
(the premature inquiry runs the earliest-time search). Open loop: request i is sent at
t0 + i/rate whatever happened to earlier ones, and its latency counts from that scheduled
instant, so queueing in the server counts. A request is *dropped* if it is not answered
200 within 10 s (timeout, connection error, or any other status); a wrong decision is
reported separately. The run lasts at most N/rate + 12 s.

Printed per engine: requests sent and answered, drops, client send lag, p50/p90/p99/max
of the mix, the allowed and the denied checks, and the targets of issue 9: p99 <= 15 ms
(reference), <= 40 ms (durable), nothing dropped.

Usage (from the repository root)::

    PYTHONPATH=. python bench/http_check_rate.py                         # both engines, 2,000 at 200/s
    PYTHONPATH=. python bench/http_check_rate.py --engines reference --requests 400
    PYTHONPATH=. python bench/http_check_rate.py --url http://127.0.0.1:8080 --engines reference

Exits 0 whether or not the targets are met; 1 if a decision was wrong.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import print_machine  # noqa: E402
from check_latency import ACTIONS, REQUEST_TIMEOUT, Server, _bodies, _print_open_loop, open_loop, unloaded  # noqa: E402
from check_scenario import scenario  # noqa: E402

TARGET_P99_MS = {"reference": 15.0, "durable": 40.0}
MAX_REQUESTS = 100_000


def run(url: str, engine: str, requests: int, rate: float, bodies: dict[str, bytes]) -> dict:
    unloaded(url, bodies, 0)  # warm-up: two requests per action (workers, caches)
    schedule = [(name, bodies[name]) for name in ACTIONS]
    res = open_loop(url, schedule, rate, requests / rate)
    _print_open_loop(f"[{engine}] {requests} checks at {rate:g}/s, the mix with denials", res)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="reference,durable", help="comma-separated (default both)")
    ap.add_argument("--requests", type=int, default=2000, help=f"requests per engine (default 2000, at most {MAX_REQUESTS})")
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    ap.add_argument("--workers", type=int, default=None, help="`followup serve --workers` (default: its own)")
    ap.add_argument("--url", help="an already running server (then --engines names the one it uses)")
    ap.add_argument("--seed", type=int, default=20260301)
    args = ap.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS or not 0 < args.rate <= 10_000:
        ap.error(f"--requests must be 1..{MAX_REQUESTS} and --rate 0..10000")
    print_machine()
    sc = scenario(args.seed)
    bodies = _bodies(sc)
    print(f"{args.requests} requests at {args.rate:g}/s per engine, body {len(bodies['thank-you']):,} bytes; "
          f"a request not answered 200 within {REQUEST_TIMEOUT:.0f} s is dropped")
    wrong, verdicts = 0, []
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if args.url:
            res = run(args.url.rstrip("/"), engine, args.requests, args.rate, bodies)
        else:
            extra = ("--workers", str(args.workers)) if args.workers else ()
            with Server(engine, extra) as server:
                res = run(server.url, engine, args.requests, args.rate, bodies)
        o = res["outcome"]
        wrong += o["wrong"]
        dropped = o["timeout"] + o["error"]
        target = TARGET_P99_MS.get(engine)
        p99 = res["p99_all_ms"]
        met = target is not None and p99 <= target and dropped == 0
        verdicts.append(f"  {engine}: p99 {p99:,.1f} ms (all sent, drops counted as slowest; target <= "
                        f"{target:g} ms), dropped {dropped} (target 0): {'met' if met else 'NOT met'}")
    print("\n== targets (issue 9)")
    print("\n".join(verdicts))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
