"""Tests for engine.isolation: crash/hang isolation of evaluations in a worker process."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.isolation import (
    IsolatedRunner,
    IsolationStats,
    WorkerError,
    WorkerUnavailable,
    preload_forkserver,
)

try:  # tests/ may or may not become a package
    from . import isolation_targets as targets
except ImportError:
    import isolation_targets as targets

TARGET = f"{targets.__name__}:dispatch"
LOGGER = "followup.isolation"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# The behaviours the module promises are checked with both start methods; the
# other tests use the forkserver (preloaded below), whose workers start in
# milliseconds instead of the few hundred ms of a spawned interpreter.
START_METHODS = ["spawn", "forkserver"]
FAST = "forkserver"
both_start_methods = pytest.mark.parametrize("start_method", START_METHODS)


def fallback(payload):
    return ("fallback", payload)


@pytest.fixture(scope="module", autouse=True)
def _preloaded_forkserver():
    # Only effective if no forkserver is running yet in this session; harmless otherwise.
    preload_forkserver(targets.__name__)


@pytest.fixture
def make_runner():
    """Factory for runners that are always closed at the end of the test."""
    runners = []

    def make(target=TARGET, **kwargs):
        kwargs.setdefault("timeout", 10.0)
        kwargs.setdefault("start_method", FAST)
        runner = IsolatedRunner(target, kwargs.pop("fallback", fallback), **kwargs)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.close()


def wait_for(predicate, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def process_gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (absent, or a zombie nobody has reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # pragma: no cover - pid reused by another user
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # pragma: no cover - no /proc
        return False


def reaped(pid: int) -> bool:
    """True once ``pid`` (a child of this process) has exited and been reaped."""
    return pid not in live_children()


def live_children() -> set[int]:
    return {p.pid for p in multiprocessing.active_children()}


def incident_logs(caplog):
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# --------------------------------------------------------------------------- #
# Normal operation
# --------------------------------------------------------------------------- #


@both_start_methods
def test_results_and_worker_reuse(make_runner, start_method):
    runner = make_runner(start_method=start_method)
    assert runner.pid is None  # lazy start
    assert runner.call(("double", 21)) == 42
    pid = runner.pid
    assert pid is not None and pid != os.getpid()
    assert runner.call(("pid", None)) == pid
    for i in range(20):
        assert runner.call(("double", i)) == 2 * i
    assert runner.call(("echo", {"a": [1, 2.5, "x", None]})) == {"a": [1, 2.5, "x", None]}
    assert runner.pid == pid
    assert runner.stats.calls == 23
    assert runner.stats.starts == 1
    assert (runner.stats.fallbacks, runner.stats.restarts, runner.stats.recycles) == (0, 0, 0)
    assert runner.stats.incidents == []


def test_initializer_runs_once_per_worker(make_runner):
    runner = make_runner(initializer=f"{targets.__name__}:warm_up", max_calls=3)
    assert [runner.call(("warmed", None)) for _ in range(3)] == [1, 1, 1]
    assert runner.call(("warmed", None)) == 1  # fresh worker, initialised once too
    assert runner.stats.recycles == 1
    assert targets.WARMED == 0  # never ran in this process


def test_eager_start_and_context_manager():
    with IsolatedRunner(TARGET, fallback) as runner:
        assert runner.start() is True
        pid = runner.pid
        assert runner.call(("pid", None)) == pid
    assert runner.closed
    assert runner.pid is None
    assert process_gone(pid)


# --------------------------------------------------------------------------- #
# Crashes and hangs -> fallback, incident, fresh worker
# --------------------------------------------------------------------------- #


@both_start_methods
def test_sigsegv_mid_evaluation_returns_fallback_and_replaces_worker(
    make_runner, tmp_path, caplog, start_method
):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner(start_method=start_method)
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    marker = tmp_path / "started"
    killed = []

    def killer():
        # The target writes its pid to the marker file once it is running.
        if wait_for(lambda: marker.exists(), timeout=15):
            pid = int(marker.read_text())
            killed.append(pid)
            os.kill(pid, signal.SIGSEGV)

    thread = threading.Thread(target=killer)
    thread.start()
    payload = ("sleep_after_marker", (str(marker), 30))
    result = runner.call(payload)
    thread.join()

    assert killed == [first_pid]
    assert result == ("fallback", payload)
    assert runner.stats.fallbacks == 1
    assert runner.stats.restarts == 1
    assert len(runner.stats.incidents) == 1 and "SIGSEGV" in runner.stats.incidents[0]
    warnings = incident_logs(caplog)
    assert len(warnings) == 1 and "SIGSEGV" in warnings[0].getMessage()
    assert process_gone(first_pid)

    assert runner.call(("double", 5)) == 10
    assert runner.pid not in (None, first_pid)
    assert runner.call(("pid", None)) == runner.pid
    assert runner.stats.fallbacks == 1


@pytest.mark.parametrize(
    "start_method, payload, expected_cause",
    [
        ("spawn", ("segfault", None), "SIGSEGV"),  # ctypes.string_at(0)
        ("forkserver", ("segfault", None), "SIGSEGV"),
        (FAST, ("self_kill", int(signal.SIGABRT)), "SIGABRT"),
        (FAST, ("exit", 3), "exited with code 3"),
    ],
    ids=["string_at_0-spawn", "string_at_0-forkserver", "self_sigabrt", "exit_3"],
)
def test_worker_dying_by_itself_returns_fallback(
    make_runner, caplog, payload, expected_cause, start_method
):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner(start_method=start_method)
    assert runner.call(("double", 2)) == 4
    first_pid = runner.pid

    assert runner.call(payload) == ("fallback", payload)
    assert expected_cause in runner.stats.incidents[-1]
    assert any(expected_cause in r.getMessage() for r in incident_logs(caplog))

    for i in range(3):
        assert runner.call(("double", i)) == 2 * i
    assert runner.pid != first_pid
    assert (runner.stats.fallbacks, runner.stats.restarts, runner.stats.starts) == (1, 1, 2)


@both_start_methods
def test_hang_is_killed_after_timeout(make_runner, caplog, start_method):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner(start_method=start_method, timeout=1.0)
    assert runner.call(("double", 3)) == 6
    first_pid = runner.pid

    started = time.monotonic()
    assert runner.call(("spin", None)) == ("fallback", ("spin", None))
    assert time.monotonic() - started < 8  # generous: 1 s timeout + termination
    assert process_gone(first_pid)
    assert "timeout" in runner.stats.incidents[-1]
    assert any("timeout" in r.getMessage() for r in incident_logs(caplog))

    assert runner.call(("double", 4)) == 8
    assert runner.pid != first_pid
    assert runner.stats.fallbacks == 1


def test_per_call_timeout_override(make_runner, tmp_path):
    runner = make_runner(timeout=30.0)
    payload = ("sleep_after_marker", (str(tmp_path / "m"), 30))
    assert runner.call(payload, timeout=0.5) == ("fallback", payload)
    assert "0.5s (timeout)" in runner.stats.incidents[-1]


def test_worker_dying_while_idle_is_replaced_without_fallback(make_runner, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner()
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    os.kill(first_pid, signal.SIGKILL)
    assert wait_for(lambda: reaped(first_pid))

    assert runner.call(("double", 2)) == 4  # served by a new worker, not the fallback
    assert runner.pid != first_pid
    assert runner.stats.fallbacks == 0
    assert runner.stats.restarts == 1
    assert "while idle" in runner.stats.incidents[-1] and "SIGKILL" in runner.stats.incidents[-1]
    assert len(incident_logs(caplog)) == 1


def test_death_missed_by_the_idle_check_and_noticed_on_send_is_an_idle_death(
    make_runner, caplog, monkeypatch
):
    """White-box: the worker is long dead but the idle check says it is fine, so the send
    itself fails: the request goes to a fresh worker, logged as a death while idle."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner()
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    os.kill(first_pid, signal.SIGKILL)
    assert wait_for(lambda: process_gone(first_pid))
    monkeypatch.setattr(runner, "_looks_alive", lambda worker: True)  # the check misses it

    assert runner.call(("double", 2)) == 4  # resent to a fresh worker, no fallback
    assert runner.pid != first_pid
    assert runner.stats.fallbacks == 0 and runner.stats.restarts == 1
    [warning] = incident_logs(caplog)
    assert warning.getMessage().endswith(
        f"worker pid {first_pid} killed by SIGKILL while idle; starting a new one")


def _freeze_then_kill_after_send(worker):
    """Make ``worker`` die *after* the parent's send has put a request into the pipe but
    *before* it read it: stopped (SIGSTOP) it cannot read, and the wrapped send kills it
    once the request is in the pipe buffer -- the order a dying worker gives by chance."""
    os.kill(worker.pid, signal.SIGSTOP)
    send_bytes = worker.conn.send_bytes

    def send_then_kill(data):
        send_bytes(data)  # succeeds: the peer is stopped, not closed
        os.kill(worker.pid, signal.SIGKILL)

    worker.conn.send_bytes = send_then_kill


def test_an_aborted_call_is_never_moved_to_a_fresh_worker(make_runner, caplog):
    """A call its owner stops on purpose (a pool over its time budget, or closing) ends
    there, even when the worker had not read the request yet: moving it to a fresh
    worker would let it run past the budget (or past the shutdown)."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner()
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    os.kill(first_pid, signal.SIGSTOP)  # it cannot read the next request: no acknowledgement
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(runner.call(("double", 2))))
    thread.start()
    assert wait_for(lambda: runner._lock.locked())  # the call is under way
    time.sleep(0.05)
    runner.abort()
    thread.join(10)
    assert not thread.is_alive()
    assert outcome == [fallback(("double", 2))]  # the fallback answered: no fresh worker took it
    assert runner.stats.starts == 1 and runner.stats.fallbacks == 1  # no fresh worker was started for it
    assert process_gone(first_pid)
    assert runner.call(("double", 3)) == 6  # the next call is an ordinary one again


def test_kill_after_the_send_before_the_worker_read_it_is_an_idle_death(make_runner, caplog):
    """Ordering 1: the send succeeds into the pipe of a worker that then dies without
    having read the request. Nothing ran, so the death is classified "while idle" and
    the request is served by a fresh worker, not by the fallback."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner()
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    _freeze_then_kill_after_send(runner._worker)

    assert runner.call(("double", 2)) == 4
    assert runner.pid not in (None, first_pid)
    assert (runner.stats.fallbacks, runner.stats.restarts, runner.stats.starts) == (0, 1, 2)
    [warning] = incident_logs(caplog)
    assert warning.getMessage().endswith(
        f"worker pid {first_pid} killed by SIGKILL while idle; starting a new one")
    assert runner.stats.incidents[-1].endswith(f"worker pid {first_pid} killed by SIGKILL while idle")
    assert reaped(first_pid)


def test_kill_after_the_worker_acknowledged_the_request_is_a_death_during_a_call(
    make_runner, tmp_path, caplog
):
    """Ordering 2: the worker has read (and acknowledged) the request and is evaluating it
    when it is killed: classified "during a call", answered by the fallback, not retried."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner()
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    marker = tmp_path / "running"
    acknowledged = []
    real_hand_over = runner._hand_over

    def hand_over_then_kill(worker, request, seq, timeout):
        deadline = real_hand_over(worker, request, seq, timeout)  # returns once acknowledged
        acknowledged.append(seq)
        assert wait_for(marker.exists)  # the evaluation is under way
        os.kill(worker.pid, signal.SIGKILL)
        return deadline

    runner._hand_over = hand_over_then_kill
    payload = ("sleep_after_marker", (str(marker), 30))
    assert runner.call(payload) == ("fallback", payload)
    assert len(acknowledged) == 1  # not retried on another worker
    assert (runner.stats.fallbacks, runner.stats.restarts) == (1, 1)
    [warning] = incident_logs(caplog)
    assert warning.getMessage().endswith(
        f"worker pid {first_pid} killed by SIGKILL during a call; request served by the fallback")


def test_self_kill_right_after_the_acknowledgement_is_a_death_during_a_call(make_runner, caplog):
    """The worker dies at once after acknowledging (the acknowledgement may still be unread
    in the pipe when the parent notices the death): still "during a call", the fallback."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner()
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    payload = ("self_kill", int(signal.SIGKILL))
    assert runner.call(payload) == ("fallback", payload)
    assert runner.stats.fallbacks == 1
    [warning] = incident_logs(caplog)
    assert warning.getMessage().endswith(
        f"worker pid {first_pid} killed by SIGKILL during a call; request served by the fallback")


def test_a_request_is_retried_on_one_fresh_worker_only(make_runner, caplog, monkeypatch):
    """Every worker dies before reading the request: one retry on a fresh worker, then
    the fallback (no loop of new workers)."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner()
    assert runner.call(("double", 1)) == 2
    first_pid = runner.pid
    _freeze_then_kill_after_send(runner._worker)
    real_spawn = runner._spawn
    spawned = []

    def spawn_doomed():
        worker = real_spawn()
        spawned.append(worker.pid)
        _freeze_then_kill_after_send(worker)
        return worker

    monkeypatch.setattr(runner, "_spawn", spawn_doomed)
    assert runner.call(("double", 2)) == ("fallback", ("double", 2))
    assert len(spawned) == 1
    assert (runner.stats.fallbacks, runner.stats.restarts) == (1, 2)
    messages = [r.getMessage() for r in incident_logs(caplog)]
    assert len(messages) == 2
    assert messages[0].endswith(
        f"worker pid {first_pid} killed by SIGKILL while idle; starting a new one")
    assert messages[1].endswith(
        f"worker pid {spawned[0]} killed by SIGKILL before reading the request; "
        "request served by the fallback")


def test_no_fallback_raises_worker_unavailable(make_runner):
    runner = make_runner(fallback=None)
    with pytest.raises(WorkerUnavailable, match="SIGSEGV"):
        runner.call(("segfault", None))
    assert runner.call(("double", 1)) == 2


def test_fallback_exception_propagates(make_runner):
    def bad_fallback(payload):
        raise LookupError("fallback failed too")

    runner = make_runner(fallback=bad_fallback)
    with pytest.raises(LookupError, match="fallback failed too"):
        runner.call(("exit", 1))
    assert runner.call(("double", 1)) == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": "no_such_module_xyz:fn"},
        {"initializer": f"{targets.__name__}:failing_initializer"},
    ],
    ids=["missing_module", "failing_initializer"],
)
def test_start_failure_falls_back_then_backs_off(make_runner, caplog, kwargs):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    runner = make_runner(name="broken", **kwargs)
    runner.start_failure_threshold = 2
    runner.start_backoff = 300.0  # no retries during this test
    assert runner.call(("double", 1)) == ("fallback", ("double", 1))
    assert runner.call(("double", 2)) == ("fallback", ("double", 2))
    assert runner.call(("double", 3)) == ("fallback", ("double", 3))
    assert runner.stats.starts == 0 and runner.pid is None
    assert runner.stats.fallbacks == 3
    assert "worker start failed" in runner.stats.incidents[0]
    assert "not starting a worker" in runner.stats.incidents[2]  # backing off: no spawn
    assert not [p for p in multiprocessing.active_children() if "broken" in p.name]


# --------------------------------------------------------------------------- #
# Exceptions of the worker function are not crashes
# --------------------------------------------------------------------------- #


@both_start_methods
def test_exception_propagates_and_worker_survives(make_runner, start_method):
    runner = make_runner(start_method=start_method)
    assert runner.call(("double", 1)) == 2
    pid = runner.pid

    with pytest.raises(ValueError, match="bad input") as info:
        runner.call(("raise_value_error", "bad input"))
    assert "raise ValueError(message)" in str(info.value.__cause__)  # worker traceback

    with pytest.raises(targets.CustomError, match="custom"):
        runner.call(("raise_custom", "custom"))

    with pytest.raises(KeyError):
        runner.call(("no_such_op", None))

    assert runner.pid == pid
    assert runner.call(("double", 2)) == 4
    assert runner.stats.errors == 3
    assert (runner.stats.fallbacks, runner.stats.restarts, runner.stats.incidents) == (0, 0, [])


def test_unpicklable_exception_becomes_runtime_error(make_runner):
    runner = make_runner()
    with pytest.raises(RuntimeError, match="UnpicklableError: cannot cross") as info:
        runner.call(("raise_unpicklable", "cannot cross"))
    assert isinstance(info.value, WorkerError)
    assert info.value.type_name.endswith("UnpicklableError")
    pid = runner.pid
    assert runner.call(("double", 3)) == 6
    assert runner.pid == pid


def test_unpicklable_result_and_payload(make_runner):
    runner = make_runner()
    with pytest.raises(TypeError):  # the result (a lock) cannot be pickled in the worker
        runner.call(("unpicklable_result", None))
    pid = runner.pid
    with pytest.raises((TypeError, pickle.PicklingError)):  # rejected before reaching the worker
        runner.call(("echo", threading.Lock()))
    assert runner.call(("double", 3)) == 6
    assert runner.pid == pid
    assert runner.stats.fallbacks == 0


# --------------------------------------------------------------------------- #
# Recycling
# --------------------------------------------------------------------------- #


@both_start_methods
def test_recycle_after_max_calls(make_runner, caplog, start_method):
    caplog.set_level(logging.INFO, logger=LOGGER)
    runner = make_runner(start_method=start_method, max_calls=3)
    pids = []
    for i in range(9):
        assert runner.call(("double", i)) == 2 * i
        pids.append(runner.pid)  # the worker that answered (None once it is retired)
    # Each worker answers 3 calls and is retired right after its 3rd answer.
    answered_by = [runner.call(("pid", None)) for _ in range(3)]
    assert len(set(answered_by)) == 1
    assert pids[2] is None and pids[5] is None and pids[8] is None
    assert len({pids[0], pids[3], pids[6], answered_by[0]}) == 4
    assert pids[0] == pids[1] and pids[3] == pids[4] and pids[6] == pids[7]
    assert runner.stats.recycles == 4 and runner.stats.starts == 4
    assert runner.stats.fallbacks == 0 and runner.stats.incidents == []
    assert any("recycling" in r.getMessage() for r in caplog.records if r.name == LOGGER)
    retired = (pids[0], pids[3], pids[6])
    assert wait_for(lambda: all(process_gone(p) for p in retired))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS")
def test_recycle_when_rss_exceeds_limit(make_runner):
    runner = make_runner(max_rss_mb=None)
    pid = runner.call(("pid", None))
    baseline = runner.call(("rss_mb", None))
    runner.max_rss_mb = baseline + 100
    assert runner.call(("pid", None)) == pid  # still below the limit
    assert runner.call(("allocate_mb", 200)) == 200 * 1024 * 1024
    assert runner.stats.recycles == 1
    assert runner.call(("pid", None)) != pid
    assert wait_for(lambda: process_gone(pid))


# --------------------------------------------------------------------------- #
# Threads, shutdown, orphans
# --------------------------------------------------------------------------- #


def test_concurrent_callers_are_serialised(make_runner):
    runner = make_runner()
    results: dict[int, list] = {}

    def work(n):
        results[n] = [runner.call(("double", n * 100 + i)) for i in range(10)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: [2 * (n * 100 + i) for i in range(10)] for n in range(4)}
    assert runner.stats.calls == 40 and runner.stats.starts == 1


@both_start_methods
def test_close_leaves_no_live_child(make_runner, start_method):
    runner = make_runner(start_method=start_method, max_calls=2)
    pids = {runner.call(("pid", None)) for _ in range(3)}  # includes a retired worker
    assert len(pids) == 2
    runner.close()
    runner.close()  # idempotent
    assert not pids & live_children()
    assert all(process_gone(p) for p in pids)
    with pytest.raises(RuntimeError, match="closed"):
        runner.call(("double", 1))


def test_close_during_hang_from_other_thread(make_runner, tmp_path):
    runner = make_runner(timeout=1.0)
    marker = tmp_path / "m"
    results = []
    t = threading.Thread(
        target=lambda: results.append(runner.call(("sleep_after_marker", (str(marker), 30))))
    )
    t.start()
    assert wait_for(marker.exists)
    pid = int(marker.read_text())
    runner.close()  # waits for the call (which times out) then closes
    t.join()
    assert results and results[0][0] == "fallback"
    assert process_gone(pid)
    assert pid not in live_children()


_ORPHAN_SCRIPT = """
import os, sys, time
sys.path[:0] = {path!r}
from engine.isolation import IsolatedRunner
runner = IsolatedRunner({target!r}, None, start_method={start_method!r})
if __name__ == "__main__":
    runner.start()
    print(runner.pid, flush=True)
if __name__ == "__main__" and {mode!r} == "busy":
    import threading
    threading.Thread(target=runner.call, args=(("sleep_after_marker", ({marker!r}, 60)),),
                     daemon=True).start()
    while not os.path.exists({marker!r}):
        time.sleep(0.02)
if __name__ == "__main__" and {mode!r} != "atexit":
    os._exit(0)  # abrupt death: no close(), no atexit
# "atexit": a normal interpreter exit without close()
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize(
    "start_method, mode",
    [("spawn", "idle"), ("spawn", "busy"), ("spawn", "atexit"), ("forkserver", "busy")],
)
def test_worker_does_not_outlive_its_parent(tmp_path, mode, start_method):
    script = _ORPHAN_SCRIPT.format(
        path=[p for p in sys.path if p], target=TARGET, mode=mode, marker=str(tmp_path / "m"),
        start_method=start_method,
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.split()[0])
    # idle: the pipe closes; busy (sleeping in the target): the owner watchdog
    # fires (with forkserver the worker's parent is the fork server, which does
    # not die first); atexit: the runner is closed by the exit hook.
    assert wait_for(lambda: process_gone(pid), timeout=15), f"orphan worker {pid} still alive"


_FORK_SCRIPT = """
import os, sys
sys.path[:0] = {path!r}
from engine.isolation import IsolatedRunner
if __name__ == "__main__":
    runner = IsolatedRunner({target!r}, None)
    parent_worker = runner.call(("pid", None))
    child = os.fork()
    if child == 0:
        # The child gets its own worker; exiting normally runs atexit hooks,
        # which must not touch the parent's worker.
        assert runner.pid is None
        assert runner.call(("double", 21)) == 42
        assert runner.call(("pid", None)) not in (parent_worker, None)
        sys.exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
    assert runner.call(("pid", None)) == parent_worker
    assert runner.call(("double", 5)) == 10
    runner.close()
    print("ok", flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_worker():
    script = _FORK_SCRIPT.format(path=[p for p in sys.path if p], target=TARGET)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# --------------------------------------------------------------------------- #
# Misc
# --------------------------------------------------------------------------- #


def test_constructor_validation():
    with pytest.raises(ValueError):
        IsolatedRunner("nocolon", fallback)
    with pytest.raises(ValueError):
        IsolatedRunner(TARGET, fallback, timeout=0)
    with pytest.raises(ValueError):
        IsolatedRunner(TARGET, fallback, max_calls=0)
    with pytest.raises(ValueError):
        IsolatedRunner(TARGET, fallback, start_method="fork")
    with pytest.raises(TypeError):
        IsolatedRunner(TARGET, fallback="not callable")
    stats = IsolationStats()
    assert (stats.calls, stats.incidents) == (0, [])


def test_incident_list_is_capped(make_runner):
    runner = make_runner()
    runner.max_incidents = 1
    for code in (1, 2):
        assert runner.call(("exit", code))[0] == "fallback"
    assert len(runner.stats.incidents) == 1 and "code 2" in runner.stats.incidents[0]
    assert runner.stats.restarts == 2


@pytest.fixture(scope="module")
def shared_runner():
    with IsolatedRunner(TARGET, fallback) as runner:
        yield runner


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_like)
def test_payload_round_trip(shared_runner, value):
    assert shared_runner.call(("echo", value)) == value
    assert shared_runner.stats.fallbacks == 0
