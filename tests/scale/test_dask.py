"""The executors of engine/executors.py on a real Dask cluster: a LocalCluster of two worker
processes, one for the whole module (always closed by its fixture), against the local executor.

Every test is bounded: faulthandler ends the run with a traceback if one takes longer than
``GUARD_SECONDS`` (a hang fails loudly instead of stalling CI); nothing asserts on time.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import json
import logging
import operator
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from engine import api, batch
from engine.cli import main
from engine.executors import ordered_map
from engine.limits import DEFAULT_LIMITS

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2027-01-01T00:00:00Z"
GUARD_SECONDS = 240
#: the gated tasks wait this long at most for their gate (a bound, not a timing)
GATE_POLLS = 2400


@pytest.fixture(autouse=True)
def _bounded(monkeypatch):
    monkeypatch.chdir(ROOT)
    faulthandler.dump_traceback_later(GUARD_SECONDS, exit=True, file=sys.__stderr__)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def cluster():
    """(scheduler address, client): two single-threaded worker processes."""
    from distributed import Client, LocalCluster
    faulthandler.dump_traceback_later(GUARD_SECONDS, exit=True, file=sys.__stderr__)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False, timeout="60s")
    try:
        client.wait_for_workers(2, timeout=120)
        faulthandler.cancel_dump_traceback_later()
        yield cluster.scheduler_address, client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def caseload(tmp_path_factory) -> list[str]:
    """60 timeline files from bench/timelines.py (JSON and YAML-as-JSON)."""
    spec = importlib.util.spec_from_file_location("bench_timelines", ROOT / "bench" / "timelines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("caseload")
    paths = []
    for i, (data, _) in enumerate(module.generate(60, events=12, seed=11)):
        path = folder / f"t{i:02}.{'json' if i % 2 else 'yaml'}"
        path.write_text(json.dumps(data, indent=1))
        paths.append(str(path))
    return paths


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- run on the workers (this module is importable there: the workers share our sys.path) ----------

_inits: list[str] = []


def count_init(tag: str) -> None:
    _inits.append(tag)


def inits_of(tag: str) -> tuple[int, int]:
    """(this worker's pid, how many times ``init`` ran here for ``tag``), for item ``tag``."""
    return os.getpid(), _inits.count(tag)


def gated(item: tuple[int, str, str | None]) -> tuple[int, batch.Piece]:
    """``batch.audit_one`` of the item's path, once the item's gate file exists (if it has one)."""
    index, path, gate = item
    for _ in range(GATE_POLLS):
        if gate is None or os.path.exists(gate):
            break
        time.sleep(0.05)
    return index, batch.audit_one(path)


# -- tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "text"])
def test_audit_on_dask_prints_the_same_bytes_and_exit_code_as_the_local_executor(capsys, cluster, caseload, fmt):
    address, _ = cluster
    common = ("audit", *caseload, "--as-of", AS_OF, "--format", fmt, "--engine", "reference")
    local = run(capsys, *common, "--executor", "local", "--jobs", "2")
    dask = run(capsys, *common, "--executor", "dask", "--scheduler", address)
    assert local[0] in (0, 1) and local[1]
    assert dask == local


def test_a_jsonl_caseload_with_bad_lines_on_dask_gives_the_local_executors_output(capsys, cluster, caseload,
                                                                                   tmp_path):
    """``followup audit caseload.jsonl --executor dask --format jsonl``: the same bytes and exit code
    (2: some lines are invalid) as ``--executor local``; each bad line is a located error row in
    its place, every good one a report."""
    lines = []
    for i, path in enumerate(caseload):
        lines.append(json.dumps(json.loads(Path(path).read_text())))
        if i % 15 == 7:  # bad lines interleaved: not JSON, and a valid JSON that is not a timeline
            lines.append('{"candidate": "x", "events": [' if i % 2 else '{"events": 3}')
    jsonl = tmp_path / "caseload.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")
    address, _ = cluster
    common = ("audit", str(jsonl), "--as-of", AS_OF, "--format", "jsonl", "--engine", "reference")
    local = run(capsys, *common, "--executor", "local", "--jobs", "2")
    dask = run(capsys, *common, "--executor", "dask", "--scheduler", address)
    assert local[0] == 2 and dask[:2] == local[:2]
    rows = [json.loads(line) for line in dask[1].splitlines()]
    assert len(rows) == len(lines) and [r["line"] for r in rows] == list(range(1, len(lines) + 1))
    bad = [r for r in rows if "errors" in r]
    assert len(bad) == 4
    assert all(e["file"] == str(jsonl) and e["line"] == r["line"] for r in bad for e in r["errors"])


def test_ordered_map_on_dask_keeps_input_order_and_runs_init_once_per_worker_not_per_item(cluster):
    address, client = cluster
    items = list(range(97))
    assert list(ordered_map(operator.neg, iter(items), executor="dask", scheduler=address, batch=3,
                            window=4)) == [-i for i in items]
    tag = "run-a"
    seen = list(ordered_map(inits_of, iter([tag] * 40), init=count_init, initargs=(tag,), executor="dask",
                            scheduler=address, batch=2, window=4))
    assert len(seen) == 40
    assert {count for _, count in seen} == {1}  # every item ran where init had run exactly once
    # the run's plugin is gone from the cluster afterwards
    assert not any(name.startswith("followup-") for name in client.run_on_scheduler(
        lambda dask_scheduler: list(dask_scheduler.worker_plugins)))


def test_a_worker_killed_mid_run_loses_nothing_each_timeline_once_in_input_order(cluster, caseload, tmp_path):
    """SIGKILL a worker while it holds tasks: Dask recomputes them; the output is complete, in order."""
    address, client = cluster
    policy = api.load_policy("etiquette")
    job = batch.Job("etiquette", api.parse_instant(AS_OF), "reference", "json", DEFAULT_LIMITS, len(caseload))
    batch.init(job, policy)
    expected = [batch.audit_one(p) for p in caseload]
    gate = str(tmp_path / "gate")
    free = 4  # the first two tasks run at once; the others wait for the gate
    items = ((i, p, None if i < free else gate) for i, p in enumerate(caseload))
    results = ordered_map(gated, items, init=batch.init, initargs=(job, policy), executor="dask",
                          scheduler=address, batch=2, window=6)
    got = [next(results) for _ in range(free)]
    # both workers are now busy with gated tasks, which cannot finish before the gate opens
    processing = client.processing()
    victim = next(w for w, keys in processing.items() if keys)
    pids = client.run(os.getpid)
    os.kill(pids[victim], signal.SIGKILL)
    Path(gate).touch()
    got.extend(results)
    assert [i for i, _ in got] == list(range(len(caseload)))
    assert [piece for _, piece in got] == expected
    client.wait_for_workers(2, timeout=120)  # the nanny started a fresh worker
    assert pids[victim] not in client.run(os.getpid).values()


def test_a_malformed_scheduler_address_is_one_line_exit_2(capsys):
    code, out, err = run(capsys, "audit", "examples/rejection.yaml", "--executor", "dask",
                         "--scheduler", "nope://x")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "executor.bad-scheduler" in err and "`nope://x`" in err


def test_a_scheduler_without_the_dask_executor_is_exit_2(capsys):
    code, out, err = run(capsys, "audit", "examples/rejection.yaml", "--scheduler", "tcp://127.0.0.1:8786")
    assert (code, out) == (2, "")
    assert "executor.no-scheduler" in err and "--executor dask" in err


@pytest.mark.parametrize("command", [["audit", "examples/rejection.yaml"],
                                     ["policy", "impact", "etiquette", "agencies/strict", "examples/"]])
def test_dask_not_installed_is_one_line_exit_2_naming_the_extra(capsys, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code, out, err = run(capsys, *command, "--executor", "dask")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "executor.missing-dependency" in err
    assert "pip install 'followup[dask]'" in err


class _Counted:
    """An endless iterator of 0, 1, 2, ... that counts what has been taken from it."""

    def __init__(self):
        self.taken = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.taken += 1
        return self.taken - 1


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_items_are_read_as_the_work_goes_never_the_whole_input(cluster, executor):
    """An endless input: the first results come back, and only a bounded number of items was read."""
    address, _ = cluster
    items = _Counted()
    kwargs = {"scheduler": address} if executor == "dask" else {"jobs": 2}
    results = ordered_map(operator.neg, items, executor=executor, batch=4, window=3, **kwargs)
    assert [next(results) for _ in range(30)] == [-i for i in range(30)]
    results.close()
    read_ahead = 2 * 8 * 4 if executor == "local" else 0  # the local pool sizes its batches from a look ahead
    assert items.taken <= read_ahead + 30 + 3 * 4 + 4


def die_at_five(i: int) -> int:
    if i == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return i


def test_a_local_worker_that_dies_ends_the_run_with_an_error_not_a_hang():
    from engine.executors import ExecutorError
    with pytest.raises(ExecutorError, match="died"):
        list(ordered_map(die_at_five, iter(range(40)), executor="local", jobs=2, batch=2))
