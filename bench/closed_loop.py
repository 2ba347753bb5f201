"""A closed loop against ``followup serve``: N client threads, each sending the next good
request of the hostile-load mix (checks allowed and denied, audit, agenda) as soon as the
previous one is answered, for a fixed time. Prints requests/s, p50 and p99.

Unlike ``bench/hostile_load.py``, whose 50 clients are tasks of one asyncio process (so
that process's own CPU can be the limit), each client here is a thread of a blocking
``httpx.Client``, which wait in the network calls without holding the GIL.

Usage (from the repository root)::

    PYTHONPATH=. python bench/closed_loop.py                      # 50 clients, 20 s
    PYTHONPATH=. python bench/closed_loop.py --baseline /tmp/old  # also another checkout, after this one

``--baseline DIR`` (e.g. ``git worktree add /tmp/old <commit>``) starts that checkout's
server with the same load right after, so both see the same machine. Loopback only; the
server is stopped at the end of each run. A measurement, not a test: exits 0.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402


def _run(root: Path, clients: int, duration: float) -> str:
    import httpx
    from check_latency import Server
    from check_scenario import scenario
    from hostile_load import _good_requests

    requests = _good_requests(scenario())
    latencies: list[float] = []
    errors = [0]
    try:
        with Server("reference", root=str(root)) as server:
            for _, path, body, _ in requests * 2:  # warm-up: both workers, every request type
                httpx.post(server.url + path, content=body, headers={"content-type": "application/json"}, timeout=60)
            end = time.monotonic() + duration

            def client(k: int) -> None:
                with httpx.Client(base_url=server.url, timeout=30) as http:
                    i = k
                    while time.monotonic() < end:
                        _, path, body, _ = requests[i % len(requests)]
                        i += 1
                        start = time.perf_counter()
                        try:
                            status = http.post(path, content=body,
                                               headers={"content-type": "application/json"}).status_code
                        except httpx.HTTPError:
                            status = 0
                        if status == 200:
                            latencies.append(time.perf_counter() - start)
                        else:
                            errors[0] += 1

            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(duration + 60)
    except RuntimeError as exc:  # the server did not start
        return f"{root}: {exc}"
    ordered = sorted(latencies)
    if not ordered:
        return f"{root}: no request answered ({errors[0]} errors)"
    p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{root}: {len(ordered)} answered in {duration:g} s = {len(ordered) / duration:.1f}/s, "
            f"p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, errors {errors[0]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50, choices=range(1, 201), metavar="N")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds (at most 120)")
    ap.add_argument("--baseline", type=Path, help="another checkout to measure the same way, after this one")
    args = ap.parse_args(argv)
    duration = min(max(args.duration, 1.0), 120.0)
    print_machine()
    print(f"{args.clients} clients, {duration:g} s, the good requests of bench/hostile_load.py, reference engine")
    for root in [ROOT] + ([args.baseline.resolve()] if args.baseline else []):
        print(_run(root, args.clients, duration), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
