"""Crash isolation: run a function in a disposable worker process.

The policy engine evaluates rules with a C extension (durable-rules) that can
SIGSEGV or hang.  A long-running server must neither die nor return a partial
answer because of that, so such evaluations go through an
:class:`IsolatedRunner`::

    runner = IsolatedRunner(
        "some.module:evaluate",        # called as evaluate(payload) in the worker
        fallback=reference_evaluate,   # fallback(payload) -> result, in this process
        timeout=10.0,
        initializer="some.module:warm_up",
    )
    with runner:
        result = runner.call(payload)

The fallback runs in the calling process, so it must not use the crash-prone
code itself (e.g. the pure-Python reference evaluator).

Behaviour of :meth:`IsolatedRunner.call`:

* The worker process is started lazily (or eagerly with :meth:`~IsolatedRunner.start`)
  and reused across calls.  Processes are created with the ``"spawn"`` start
  method by default (``"forkserver"`` is accepted), never ``fork``: the parent
  may be multi-threaded (a web server).  Parent and worker talk over one
  duplex :func:`multiprocessing.Pipe`; payloads and results are pickled.
* If the worker dies (any exit, including by a signal), does not answer within
  ``timeout`` seconds (it is then terminated, then killed), or the pipe breaks,
  the worker is discarded (the next call starts a fresh one), the incident is
  logged at WARNING on the ``followup.isolation`` logger and recorded in
  :attr:`IsolatedRunner.stats`, and the call returns ``fallback(payload)``,
  computed in the calling process (or raises :class:`WorkerUnavailable` when
  the runner has no fallback).  A message that arrives truncated is never
  used: there are no partial results.  The worker acknowledges each request
  as soon as it has read it, before evaluating it, and a worker that dies
  before acknowledging has evaluated nothing: that is a death *while idle*
  (logged "... while idle; starting a new one"), an incident too, but the
  request then simply goes to a fresh worker, however the parent noticed the
  death (a dead process or closed pipe before sending, a failed send, or no
  acknowledgement after a send that landed in the pipe buffer of a dying
  worker).  Should the fresh worker also die before acknowledging, the
  fallback answers.  Only a death after the acknowledgement is one *during a
  call*.  A worker that cannot start (target or
  initializer fails to import or raises, start-up timeout) is an incident
  answered by the fallback; after ``start_failure_threshold`` consecutive
  failed starts the runner stops trying for a while (1 s, doubling, up to
  60 s) and serves the fallback directly, so a broken deployment does not
  spawn a process per request.
* If the worker function raises an ordinary exception, that is not a crash:
  the same exception type is raised in the caller (when the exception can be
  pickled; otherwise a :class:`WorkerError`, a ``RuntimeError``, carrying the
  type name and message), with the worker's traceback attached as
  ``__cause__``.  The worker is kept.
* During a call, the worker function may ask the caller questions
  (:func:`ask`, answered by the ``answer`` function given to :meth:`IsolatedRunner.call`,
  in the caller's thread, within the call's timeout); the server uses this to hand a
  worker the policy a body names once the worker has parsed the body.
* After ``max_calls`` evaluations, or when the RSS the worker reports with
  each answer exceeds ``max_rss_mb``, the worker is retired gracefully (it is
  told to stop right after that answer) and a new one is started for the next
  call.  This counts as a recycle, not an incident.

Concurrency: a runner serves **one call at a time**; concurrent callers from
several threads are serialised by a lock (the fallback itself runs outside the
lock).  For parallelism, use several runners.

Process hygiene: :meth:`IsolatedRunner.close` (or leaving the ``with`` block)
stops the worker; an :mod:`atexit` hook closes every runner still open; the
workers are daemonic, ignore SIGINT (the parent decides when they stop), and
exit on their own when the pipe to the parent closes or the process owning the
runner dies (a watchdog thread checks every second).  A worker stuck in C code
that holds the GIL cannot notice a dead parent; normally the parent's timeout
ends such a hang.
If the process that owns a runner forks (e.g. a pre-forking server), the child
drops the inherited worker handles and starts its own worker on first use.

Start methods: ``"spawn"`` (the default) starts every worker in a fresh
interpreter, which then imports ``engine`` and the target (a few hundred ms).
``"forkserver"`` forks workers from a single-threaded server process; after
:func:`preload_forkserver` (called once at program start, before any forkserver
process is started) that server has already imported this module and the
given modules, so a worker starts in a few ms: worth it when workers are
recycled often.  Crash, timeout and recycling behaviour is the same.

Note on ``spawn``: like any spawn-based multiprocessing, the worker re-imports
the parent's ``__main__`` module (as ``__mp_main__``), so scripts must keep
their entry code under ``if __name__ == "__main__":``.  The worker function
and initializer are given as import paths (``"package.module:function"``, a
dotted attribute path after the colon is allowed), so they must be importable
in a fresh interpreter with the parent's ``sys.path``.
"""

from __future__ import annotations

import atexit
import faulthandler
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import select
import signal
import sys
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

__all__ = [
    "IsolatedRunner",
    "preload_forkserver",
    "ask",
    "AskFailed",
    "IsolationStats",
    "WorkerError",
    "WorkerUnavailable",
    "RemoteTraceback",
]

logger = logging.getLogger("followup.isolation")

_PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL
_UNSET: Any = object()


# --------------------------------------------------------------------------- #
# Public helper types
# --------------------------------------------------------------------------- #


class WorkerError(RuntimeError):
    """The worker function raised an exception that could not be sent back as itself.

    ``type_name`` is the qualified name of the original exception type and
    ``remote_traceback`` the traceback text from the worker.
    """

    def __init__(self, message: str, type_name: str = "", remote_traceback: str = ""):
        super().__init__(message)
        self.type_name = type_name
        self.remote_traceback = remote_traceback


class AskFailed(RuntimeError):
    """:func:`ask` got no answer: not in a worker call, the caller takes no questions,
    its answer function raised, or the parent is gone."""


#: in a worker, during a call: sends a question to the caller and returns its answer
_ASK: Optional[Callable[[Any], Any]] = None


def ask(question: Any) -> Any:
    """From the worker function, during a call: ask the calling process ``question``
    (any picklable value) and return its answer.

    The caller answers with the ``answer`` function it gave :meth:`IsolatedRunner.call`,
    in its own thread, within the call's timeout. Raises :class:`AskFailed` when there
    is nobody to ask or the answer function raised (the caller then re-raises that
    function's own exception as the call's result).
    """
    if _ASK is None:
        raise AskFailed("not in an isolated call")
    return _ASK(question)


class WorkerUnavailable(RuntimeError):
    """The worker failed (crash, timeout, broken pipe) and the runner has no fallback."""


class RemoteTraceback(Exception):
    """Carries the worker's traceback text; set as ``__cause__`` of re-raised exceptions."""

    def __init__(self, tb: str):
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return "\n\n--- traceback in the worker process ---\n" + self.tb


@dataclass
class IsolationStats:
    """Counters of an :class:`IsolatedRunner` (a live object; read it, don't write it).

    * ``calls``: calls to :meth:`IsolatedRunner.call`;
    * ``fallbacks``: calls answered by the fallback because the worker failed;
    * ``restarts``: workers lost to an incident (crash, timeout, broken pipe,
      death while idle) and therefore replaced;
    * ``recycles``: planned replacements (``max_calls`` or ``max_rss_mb``);
    * ``errors``: ordinary exceptions of the worker function re-raised in the caller;
    * ``starts``: worker processes started and ready;
    * ``incidents``: short descriptions of the most recent incidents (capped
      at :attr:`IsolatedRunner.max_incidents`, oldest dropped first).
    """

    calls: int = 0
    fallbacks: int = 0
    restarts: int = 0
    recycles: int = 0
    errors: int = 0
    starts: int = 0
    incidents: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- #
# Worker side (runs in the child process)
# --------------------------------------------------------------------------- #


def _resolve(path: str) -> Callable[..., Any]:
    """Import ``"package.module:attr.path"`` (or ``"package.module.attr"``)."""
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
    else:
        module_name, _, attr_path = path.rpartition(".")
    if not module_name or not attr_path:
        raise ValueError(f"not an import path of the form 'package.module:function': {path!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{path!r} is not callable")
    return obj


def _validate_import_path(path: str, what: str) -> None:
    if not isinstance(path, str):
        raise TypeError(f"{what} must be an import path string like 'package.module:function'")
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
    else:
        module_name, _, attr_path = path.rpartition(".")
    if not module_name or not attr_path or any(not p for p in attr_path.split(".")):
        raise ValueError(f"{what} is not an import path like 'package.module:function': {path!r}")


def _rss_mb() -> Optional[float]:
    """Current resident set size of this process in MiB (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
    except Exception:  # pragma: no cover - platforms without resource
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pid now belongs to another user's process
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _watch_owner(parent_pid: int, owner_pid: int) -> None:
    """Exit the worker (os._exit) once the process that owns its runner is gone.

    With "spawn" the owner is our parent: its death reparents us, so getppid()
    changes.  With "forkserver" our parent is the fork server, which outlives
    the owner while any worker runs, so the owner is watched directly (with a
    pidfd where available: immune to pid reuse).  This runs in a daemon thread
    and also covers a worker busy in Python code; the pipe closing covers an
    idle one.
    """
    pidfd = None
    if owner_pid != parent_pid:
        try:
            pidfd = os.pidfd_open(owner_pid)  # Linux >= 5.3, Python >= 3.9
        except ProcessLookupError:
            os._exit(70)
        except (AttributeError, OSError):
            pidfd = None
    while True:
        if pidfd is not None:
            if select.select([pidfd], [], [], 1.0)[0]:  # readable once the owner exited
                os._exit(70)
        else:
            time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(70)
        if owner_pid != parent_pid and pidfd is None and not _pid_alive(owner_pid):
            os._exit(70)


def _pack_exception(exc: BaseException) -> tuple[Optional[bytes], str, str, str]:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    type_name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    try:
        data: Optional[bytes] = pickle.dumps(exc, protocol=_PICKLE_PROTOCOL)
        pickle.loads(data)  # some exceptions pickle but cannot be rebuilt
    except Exception:
        data = None
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable exception>"
    return data, type_name, message, tb


def _worker_main(
    conn: Any, target: str, initializer: Optional[str], use_faulthandler: bool, owner_pid: int,
    nice: int = 0,
) -> None:
    """Entry point of the worker process.

    Protocol (pickled tuples over ``conn``, via send_bytes/recv_bytes):
      parent -> worker: ("call", seq, payload_pickle) | ("stop",)
      worker -> parent: ("ready", pid, rss_mb) | ("init_error", traceback_text)
                        | ("ack", seq), as soon as a call is read, before evaluating it,
                          then any number of questions (:func:`ask`), each answered
                          before the next message:
                        | ("ask", seq, question_pickle)
      parent -> worker:   ("answer", seq, "ok", answer_pickle) | ("answer", seq, "error", text)
      worker -> parent: and then one of
                        | ("ok", seq, result_pickle, rss_mb)
                        | ("exc", seq, packed_exception, rss_mb)
    payload and result travel as nested pickles (bytes), so a payload the worker
    cannot unpickle, or a result the parent cannot unpickle, fails only that call.
    ``nice`` (> 0) lowers the worker's CPU priority first, before its imports.
    """
    global _ASK
    if nice > 0:
        try:
            os.nice(nice)
        except (OSError, AttributeError):  # pragma: no cover - not permitted / not POSIX
            pass
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        pass
    if use_faulthandler:
        try:
            faulthandler.enable()  # C-level traceback on SIGSEGV etc., then dies by the signal
        except Exception:  # pragma: no cover - no usable stderr
            pass
    threading.Thread(
        target=_watch_owner, args=(os.getppid(), owner_pid), name="owner-watch", daemon=True
    ).start()

    def send(message: tuple) -> bool:
        try:
            conn.send_bytes(pickle.dumps(message, protocol=_PICKLE_PROTOCOL))
            return True
        except (OSError, EOFError):
            return False

    try:
        fn = _resolve(target)
        if initializer:
            _resolve(initializer)()
    except BaseException:
        send(("init_error", traceback.format_exc()))
        return
    if not send(("ready", os.getpid(), _rss_mb())):
        return

    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return  # parent closed the pipe or died
        message = pickle.loads(raw)  # a tuple of str/int/bytes: cannot fail short of corruption
        if message[0] == "stop":
            return
        if message[0] != "call":
            continue
        _, seq, payload_bytes = message
        if not send(("ack", seq)):  # read, not yet evaluated: a death before this is "idle"
            return

        def ask_parent(question: Any, seq: int = seq) -> Any:
            if not send(("ask", seq, pickle.dumps(question, protocol=_PICKLE_PROTOCOL))):
                raise AskFailed("the calling process is gone")
            try:
                answer = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                raise AskFailed("the calling process is gone") from None
            if answer[:2] != ("answer", seq):
                raise AskFailed(f"protocol error: {answer[0]!r} instead of an answer")
            if answer[2] != "ok":
                raise AskFailed(f"the caller could not answer: {answer[3]}")
            return pickle.loads(answer[3])

        _ASK = ask_parent
        try:
            result = fn(pickle.loads(payload_bytes))
            reply = ("ok", seq, pickle.dumps(result, protocol=_PICKLE_PROTOCOL), _rss_mb())
        except Exception as exc:  # from fn, or payload/result (un)pickling
            reply = ("exc", seq, _pack_exception(exc), _rss_mb())
        finally:
            _ASK = None
        if not send(reply):
            return


# --------------------------------------------------------------------------- #
# Parent side
# --------------------------------------------------------------------------- #


class _Worker:
    __slots__ = ("process", "conn", "pid", "calls", "rss_mb")

    def __init__(self, process: Any, conn: Any, pid: int, rss_mb: Optional[float]):
        self.process = process
        self.conn = conn
        self.pid = pid
        self.calls = 0
        self.rss_mb = rss_mb


class _Failure(Exception):
    """Internal: the worker failed; ``cause`` is a short human-readable reason."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class _Gone(Exception):
    """Internal: the worker died or its pipe broke before a complete message arrived."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def _exc_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _describe_exit(exitcode: Optional[int]) -> str:
    if exitcode is None:
        return "unknown exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}"
    return f"exited with code {exitcode}"


_RUNNERS: "weakref.WeakSet[IsolatedRunner]" = weakref.WeakSet()


class IsolatedRunner:
    """Run ``fn(payload)`` in a reusable worker process; fall back in-process if it fails.

    :param target: import path of the worker function, ``"package.module:function"``.
    :param fallback: ``fallback(payload) -> result``, called in the calling process
        when the worker crashes, hangs or its pipe breaks.  ``None``: raise
        :class:`WorkerUnavailable` instead.
    :param max_calls: recycle the worker after this many evaluations (``None``: never).
    :param max_rss_mb: recycle the worker once the RSS it reports exceeds this many
        MiB (``None``: never).
    :param timeout: seconds a call may take in the worker (``None``: no limit).
    :param initializer: optional import path of a no-argument function run once
        in each new worker (e.g. to warm caches).  Its failure makes the start fail.
    :param start_timeout: seconds a new worker may take to import the target and
        run the initializer.
    :param start_method: ``"spawn"`` (default) or ``"forkserver"`` (see
        :func:`preload_forkserver`); ``"fork"`` is refused.
    :param use_faulthandler: enable :mod:`faulthandler` in the worker so a crash
        prints a C-level traceback to stderr.
    :param name: label used in log messages (default: ``target``).
    :param nice: if > 0, the worker lowers its CPU priority by this much (``os.nice``)
        as it starts, before importing anything.
    """

    #: how many incident descriptions ``stats.incidents`` keeps
    max_incidents = 50
    #: seconds to wait for a worker to exit after "stop" / SIGTERM before escalating
    stop_grace = 2.0
    #: after this many consecutive failed starts, stop trying for a while ...
    start_failure_threshold = 3
    #: ... first for this many seconds, doubling per further failure up to the max
    start_backoff = 1.0
    start_backoff_max = 60.0

    def __init__(
        self,
        target: str,
        fallback: Optional[Callable[[Any], Any]],
        *,
        max_calls: Optional[int] = 5000,
        max_rss_mb: Optional[float] = 512.0,
        timeout: Optional[float] = 10.0,
        initializer: Optional[str] = None,
        start_timeout: float = 60.0,
        start_method: str = "spawn",
        use_faulthandler: bool = True,
        name: Optional[str] = None,
        nice: int = 0,
    ) -> None:
        _validate_import_path(target, "target")
        if initializer is not None:
            _validate_import_path(initializer, "initializer")
        if fallback is not None and not callable(fallback):
            raise TypeError("fallback must be callable or None")
        if max_calls is not None and max_calls < 1:
            raise ValueError("max_calls must be >= 1 or None")
        if max_rss_mb is not None and max_rss_mb <= 0:
            raise ValueError("max_rss_mb must be > 0 or None")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be > 0 or None")
        if start_timeout <= 0:
            raise ValueError("start_timeout must be > 0")
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(
                "start_method must be 'spawn' or 'forkserver' (fork is unsafe with threads)"
            )

        self.target = target
        self.fallback = fallback
        self.max_calls = max_calls
        self.max_rss_mb = max_rss_mb
        self.timeout = timeout
        self.initializer = initializer
        self.start_timeout = start_timeout
        self.start_method = start_method
        self.use_faulthandler = use_faulthandler
        self.name = name or target
        self.nice = int(nice)

        self._ctx = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._worker: Optional[_Worker] = None
        self._retiring: list[tuple[Any, float]] = []  # (process told to stop, reap deadline)
        self._seq = 0
        self._closed = False
        #: set by :meth:`abort`: the call under way is being stopped on purpose (never retried)
        self._aborting = False
        self._owner_pid = os.getpid()
        self._start_failures = 0
        self._no_start_until = 0.0
        self.stats = IsolationStats()
        _RUNNERS.add(self)

    # -- public API --------------------------------------------------------- #

    @property
    def pid(self) -> Optional[int]:
        """PID of the current worker process, or ``None`` if none is running."""
        worker = self._worker
        return worker.pid if worker is not None else None

    @property
    def closed(self) -> bool:
        return self._closed

    def start(self) -> bool:
        """Start the worker now instead of on the first call; ``True`` if one is ready."""
        with self._lock:
            self._check_usable()
            try:
                self._ensure_worker()
            except _Failure as failure:
                self._record_incident(failure.cause, "no worker is running")
                return False
            return True

    def call(self, payload: Any, *, timeout: Optional[float] = _UNSET,
             answer: Optional[Callable[[Any], Any]] = None) -> Any:
        """Evaluate ``fn(payload)`` in the worker and return its result.

        Returns ``fallback(payload)`` if the worker crashes, times out or the pipe
        breaks; re-raises ordinary exceptions of ``fn``.  ``timeout`` overrides the
        runner's per-call timeout.  A payload that cannot be pickled raises here
        (``pickle.PicklingError``, ``TypeError``, ...) without touching the worker.
        ``answer(question)`` answers the worker function's :func:`ask` calls, in this
        thread (its result must pickle); if it raises, the worker's ``ask`` fails and the
        call raises ``answer``'s exception.
        """
        if timeout is _UNSET:
            timeout = self.timeout
        payload_bytes = pickle.dumps(payload, protocol=_PICKLE_PROTOCOL)
        with self._lock:
            self._check_usable()
            self.stats.calls += 1
            try:
                kind, value = self._roundtrip(payload_bytes, timeout, answer)
            except _Failure as failure:
                self._record_incident(failure.cause, "request served by the fallback")
                self.stats.fallbacks += 1
                kind, value = "failed", failure.cause
            finally:
                self._aborting = False
        # Outside the lock: the fallback may be slow, and other threads may use the worker.
        if kind == "ok":
            return value
        if kind == "exc":
            raise value  # the worker function's exception, rebuilt here
        if self.fallback is None:
            raise WorkerUnavailable(f"isolation worker for {self.name} failed: {value}")
        return self.fallback(payload)

    def abort(self) -> None:
        """Stop the call under way now (from another thread): SIGKILL its worker.

        The call then fails (the fallback answers, or :class:`WorkerUnavailable`) and is
        not retried on a fresh worker, whether or not the worker had acknowledged the
        request: its owner (e.g. a pool whose time budget ran out, or that is closing)
        wants it ended, not moved.
        """
        self._aborting = True
        pid = self.pid
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        """Stop the worker (gracefully, then by force) and refuse further calls.  Idempotent."""
        with self._lock:
            self._shutdown()

    def __enter__(self) -> "IsolatedRunner":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"pid={self.pid}"
        return f"<IsolatedRunner {self.name!r} {state}>"

    # -- internals (called with self._lock held) ----------------------------- #

    def _check_usable(self) -> None:
        if os.getpid() != self._owner_pid:
            self._forget_after_fork()
        if self._closed:
            raise RuntimeError(f"IsolatedRunner {self.name!r} is closed")

    def _roundtrip(self, payload_bytes: bytes, timeout: Optional[float],
                   answer: Optional[Callable[[Any], Any]] = None) -> tuple[str, Any]:
        """One request/answer with the worker: ("ok", result) or ("exc", exception).

        Raises _Failure (after discarding the worker) on crash, timeout or broken pipe.

        The worker acknowledges a request before it evaluates it, and that settles how a
        death is classified, whatever the parent noticed first: a worker that died
        before acknowledging (the send failed, or the request sits unread in the pipe)
        evaluated nothing, so it died *while idle* and the request goes to a fresh
        worker, once; a worker that died after acknowledging died *during a call*,
        and the fallback answers.
        """
        self._seq += 1
        seq = self._seq
        request = pickle.dumps(("call", seq, payload_bytes), protocol=_PICKLE_PROTOCOL)
        if self._aborting:
            raise _Failure("the call was stopped before it started")
        worker = self._ensure_worker()
        try:
            try:
                deadline = self._hand_over(worker, request, seq, timeout)
            except _Gone as gone:
                if self._aborting:  # killed on purpose before it read the request: not moved
                    raise _Failure(self._fail_worker(worker, gone.problem, "when its call was stopped")) from None
                cause = self._fail_worker(worker, gone.problem, "while idle")
                self._record_incident(cause, "starting a new one")
                if self._aborting:
                    raise _Failure("the call was stopped before it started") from None
                worker = self._ensure_worker()
                try:
                    deadline = self._hand_over(worker, request, seq, timeout)
                except _Gone as gone_again:
                    when = "before reading the request"
                    raise _Failure(self._fail_worker(worker, gone_again.problem, when)) from None
            failed_answer: Optional[BaseException] = None
            try:
                while True:
                    reply = pickle.loads(self._next_message(worker, deadline, timeout))  # str/int/bytes/float
                    if reply[0] != "ask" or reply[1] != seq:
                        break
                    failed_answer = self._answer(worker, seq, reply[2], answer) or failed_answer
            except _Gone as gone:
                raise _Failure(self._fail_worker(worker, gone.problem, "during a call")) from None
        except _Failure:
            raise
        except BaseException:
            # Interrupted mid-call (e.g. KeyboardInterrupt): the worker may still
            # answer this request later; never let that answer reach another call.
            self._lose_worker(worker, kill=True)
            raise

        kind = reply[0]
        if kind not in ("ok", "exc") or reply[1] != seq:
            self._lose_worker(worker, kill=True)
            raise _Failure(
                f"worker pid {worker.pid}: protocol error, reply {kind!r} to request {seq}"
            )
        worker.calls += 1
        worker.rss_mb = reply[3]
        self._maybe_recycle(worker)
        if kind == "exc":
            self.stats.errors += 1
            if failed_answer is not None:  # the worker failed because we could not answer it
                return "exc", failed_answer
            return "exc", self._rebuild_exception(reply[2])
        try:
            return "ok", pickle.loads(reply[2])
        except Exception as exc:  # the parent cannot rebuild the result; the worker is fine
            self.stats.errors += 1
            return "exc", WorkerError(f"could not unpickle the worker's result: {exc!r}",
                                      f"{type(exc).__module__}.{type(exc).__qualname__}")

    @staticmethod
    def _answer(worker: _Worker, seq: int, question: bytes,
                answer: Optional[Callable[[Any], Any]]) -> Optional[BaseException]:
        """Answer one :func:`ask` of the worker; the exception ``answer`` raised, if any.

        Raises _Gone if the pipe broke."""
        failed: Optional[BaseException] = None
        try:
            if answer is None:
                raise AskFailed("this call takes no questions")
            message = ("answer", seq, "ok", pickle.dumps(answer(pickle.loads(question)),
                                                         protocol=_PICKLE_PROTOCOL))
        except Exception as exc:
            failed = exc
            message = ("answer", seq, "error", f"{type(exc).__name__}: {exc}"[:200])
        try:
            worker.conn.send_bytes(pickle.dumps(message, protocol=_PICKLE_PROTOCOL))
        except (OSError, EOFError, ValueError) as exc:
            raise _Gone(f"pipe broken on send ({_exc_text(exc)})") from None
        return failed

    def _hand_over(
        self, worker: _Worker, request: bytes, seq: int, timeout: Optional[float]
    ) -> float:
        """Send ``request`` to ``worker`` and wait until it acknowledges having read it.

        Returns the deadline for the answer (``inf`` without a timeout).  Raises _Gone
        if the worker died or its pipe broke before acknowledging, _Failure (after
        killing the worker) on a timeout or a protocol error.
        """
        deadline = float("inf") if timeout is None else time.monotonic() + timeout
        try:
            worker.conn.send_bytes(request)
        except (OSError, EOFError, ValueError) as exc:
            raise _Gone(f"pipe broken on send ({_exc_text(exc)})") from None
        message = pickle.loads(self._next_message(worker, deadline, timeout))
        if message != ("ack", seq):
            self._lose_worker(worker, kill=True)
            raise _Failure(f"worker pid {worker.pid}: protocol error, {message[0]!r} "
                           f"instead of acknowledging request {seq}")
        return deadline

    def _next_message(
        self, worker: _Worker, deadline: float, timeout: Optional[float]
    ) -> bytes:
        """The next complete message from ``worker``.

        Raises _Gone if the worker died or its pipe broke before sending one, and
        _Failure (after killing the worker) if nothing arrived by ``deadline``.
        """
        remaining = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
        ready = multiprocessing.connection.wait([worker.conn, worker.process.sentinel], remaining)
        if not ready:
            self._lose_worker(worker, kill=True)
            raise _Failure(
                f"worker pid {worker.pid}: no answer within {timeout:g}s (timeout), killed"
            )
        # Readable conn: a complete message (even if the worker exited right after
        # sending it), or EOF.  Only the sentinel: the worker died without a word.
        if not worker.conn.poll(0):
            raise _Gone("pipe closed")
        try:
            return worker.conn.recv_bytes()
        except (EOFError, OSError) as exc:  # includes a truncated message: never used
            raise _Gone(f"pipe broken ({_exc_text(exc)})") from None

    def _fail_worker(self, worker: _Worker, pipe_problem: str, when: str) -> str:
        """Discard a worker whose pipe failed; describe why (its exit status if it died)."""
        process = worker.process
        try:
            process.join(self.stop_grace)  # EOF on the pipe: it is dead or dying
            exitcode = process.exitcode
        except (ValueError, AssertionError, OSError):  # pragma: no cover
            exitcode = None
        self._lose_worker(worker, kill=True)
        if exitcode is not None:
            return f"worker pid {worker.pid} {_describe_exit(exitcode)} {when}"
        return f"worker pid {worker.pid}: {pipe_problem} {when}, worker killed"

    def _rebuild_exception(self, packed: tuple) -> BaseException:
        data, type_name, message, tb = packed
        exc: Optional[BaseException] = None
        if data is not None:
            try:
                exc = pickle.loads(data)
            except Exception:
                exc = None
            if exc is not None and not isinstance(exc, BaseException):
                exc = None
        if exc is None:
            exc = WorkerError(f"{type_name}: {message}", type_name, tb)
        exc.__cause__ = RemoteTraceback(tb)
        return exc

    def _retire(self, worker: _Worker) -> None:
        """Ask ``worker`` to stop (without waiting) and queue it to be reaped after a grace period."""
        try:
            worker.conn.send_bytes(pickle.dumps(("stop",), protocol=_PICKLE_PROTOCOL))
        except (OSError, EOFError, ValueError):
            pass
        self._close_conn(worker)
        self._retiring.append((worker.process, time.monotonic() + self.stop_grace))

    def _maybe_recycle(self, worker: _Worker) -> None:
        reason = ""
        if self.max_calls is not None and worker.calls >= self.max_calls:
            reason = f"after {worker.calls} calls"
        elif (self.max_rss_mb is not None and worker.rss_mb is not None
              and worker.rss_mb > self.max_rss_mb):
            reason = f"RSS {worker.rss_mb:.0f} MiB > {self.max_rss_mb:g} MiB"
        if not reason:
            return
        self.stats.recycles += 1
        logger.info("recycling isolation worker pid %d for %s: %s", worker.pid, self.name, reason)
        self._retire(worker)  # reaped before the next start
        self._worker = None

    def _ensure_worker(self) -> _Worker:
        worker = self._worker
        if worker is not None:
            if self._looks_alive(worker):
                return worker
            # Died while idle (OOM killer, stray signal...): not a failed call, just replace it.
            exitcode = self._lose_worker(worker, kill=False)
            self._record_incident(f"worker pid {worker.pid} {_describe_exit(exitcode)} while idle",
                                  "starting a new one")
        self._reap_retiring(block=False)  # retired workers exit on their own meanwhile
        now = time.monotonic()
        if now < self._no_start_until:
            raise _Failure(f"not starting a worker for {self._no_start_until - now:.1f}s more "
                           f"after {self._start_failures} failed starts")
        try:
            worker = self._spawn()
        except _Failure as failure:
            self._start_failures += 1
            if self._start_failures >= self.start_failure_threshold:
                extra = self._start_failures - self.start_failure_threshold
                delay = min(self.start_backoff_max, self.start_backoff * (2 ** min(extra, 30)))
                self._no_start_until = time.monotonic() + delay
            raise _Failure(f"worker start failed: {failure.cause}") from None
        self._start_failures = 0
        self._no_start_until = 0.0
        self._worker = worker
        self.stats.starts += 1
        logger.debug("started isolation worker pid %d for %s", worker.pid, self.name)
        return worker

    @staticmethod
    def _looks_alive(worker: _Worker) -> bool:
        """Cheap check before handing a request to an idle worker: its process has not
        exited and its pipe is not readable (an idle worker sends nothing, so a readable
        pipe means EOF).  A death this misses is caught by the acknowledgement."""
        try:
            return not multiprocessing.connection.wait([worker.conn, worker.process.sentinel], 0)
        except (OSError, ValueError):  # closed handles
            return False

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child_conn, self.target, self.initializer, self.use_faulthandler, os.getpid(), self.nice),
            name=f"isolation-worker[{self.name}]",
            daemon=True,
        )
        try:
            process.start()
        except Exception as exc:
            parent_conn.close()
            child_conn.close()
            raise _Failure(f"could not start process ({exc.__class__.__name__}: {exc})") from None
        finally:
            if not child_conn.closed:
                child_conn.close()  # only the worker holds its end: EOF when it dies
        pending = _Worker(process, parent_conn, process.pid, None)
        try:
            ready = multiprocessing.connection.wait(
                [parent_conn, process.sentinel], self.start_timeout
            )
            if not ready:
                self._lose_worker(pending, kill=True)
                raise _Failure(f"not ready within {self.start_timeout:g}s")
            try:
                raw = parent_conn.recv_bytes()
                message = pickle.loads(raw)
            except (EOFError, OSError):
                exitcode = self._lose_worker(pending, kill=False)
                raise _Failure(_describe_exit(exitcode)) from None
        except _Failure:
            raise
        except BaseException:
            self._lose_worker(pending, kill=True)
            raise
        if message[0] == "init_error":
            self._lose_worker(pending, kill=False)
            tb = message[1].strip()
            last_line = tb.splitlines()[-1] if tb else "unknown error"
            logger.error("isolation worker for %s failed to initialise:\n%s", self.name, tb)
            raise _Failure(f"initialisation error: {last_line}")
        if message[0] != "ready":
            self._lose_worker(pending, kill=True)
            raise _Failure(f"protocol error: unexpected handshake {message[0]!r}")
        pending.pid = message[1]
        pending.rss_mb = message[2]
        return pending

    def _lose_worker(self, worker: _Worker, *, kill: bool) -> Optional[int]:
        """Discard ``worker``: close its pipe, end its process; return the exit code."""
        if self._worker is worker:
            self._worker = None
            self.stats.restarts += 1
        self._close_conn(worker)
        return self._end_process(worker.process, graceful=not kill)

    def _end_process(self, process: Any, *, graceful: bool) -> Optional[int]:
        """Reap ``process``: wait briefly if ``graceful``, then SIGTERM, then SIGKILL."""
        try:
            if graceful:
                process.join(self.stop_grace)
            if process.exitcode is None:
                process.terminate()
                process.join(self.stop_grace)
            if process.exitcode is None:
                process.kill()
                process.join(self.stop_grace)
            exitcode = process.exitcode
        except (ValueError, AssertionError, OSError):  # already closed / not our child
            return None
        if exitcode is not None:
            try:
                process.close()
            except ValueError:  # pragma: no cover
                pass
        return exitcode

    @staticmethod
    def _close_conn(worker: _Worker) -> None:
        try:
            worker.conn.close()
        except OSError:  # pragma: no cover
            pass

    def _reap_retiring(self, *, block: bool) -> None:
        """Reap workers told to stop; force those still running past their deadline.

        ``block=False`` only collects the ones that already exited (and forces
        overdue ones); ``block=True`` waits for all of them.
        """
        keep = []
        now = time.monotonic()
        for process, deadline in self._retiring:
            if block or now >= deadline:
                self._end_process(process, graceful=block)
                continue
            try:
                exited = process.exitcode is not None  # polls without blocking
            except ValueError:  # already closed
                continue
            if exited:
                self._end_process(process, graceful=False)
            else:
                keep.append((process, deadline))
        self._retiring = keep

    def _record_incident(self, cause: str, consequence: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.stats.incidents.append(f"{stamp} {cause}")
        overflow = len(self.stats.incidents) - self.max_incidents
        if overflow > 0:
            del self.stats.incidents[:overflow]
        logger.warning("isolation incident in %s: %s; %s", self.name, cause, consequence)

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        if os.getpid() != self._owner_pid:
            self._forget_after_fork()
            return
        worker, self._worker = self._worker, None
        if worker is not None:
            self._retire(worker)
        self._reap_retiring(block=True)
        _RUNNERS.discard(self)

    def _forget_after_fork(self) -> None:
        """In a forked child: drop the parent's worker handles without touching its processes."""
        worker, self._worker = self._worker, None
        processes, self._retiring = [process for process, _ in self._retiring], []
        if worker is not None:
            self._close_conn(worker)  # our inherited copy only; the parent's stays open
            processes.append(worker.process)
        # multiprocessing's exit handler would otherwise terminate/join the parent's
        # workers from this child (its registry of children is inherited by os.fork).
        children = getattr(multiprocessing.process, "_children", None)
        if isinstance(children, set):
            for process in processes:
                children.discard(process)
        self._owner_pid = os.getpid()

    def _emergency_close(self) -> None:
        """atexit: close even if another (daemon) thread is stuck holding the lock."""
        if self._lock.acquire(timeout=1.0):
            try:
                self._shutdown()
            finally:
                self._lock.release()
            return
        self._closed = True
        worker = self._worker
        if worker is not None:
            self._end_process(worker.process, graceful=False)
        for process, _ in list(self._retiring):
            self._end_process(process, graceful=False)


def preload_forkserver(*modules: str) -> None:
    """Have the multiprocessing fork server import this module and ``modules`` once.

    Workers of runners with ``start_method="forkserver"`` are then forked with
    those imports done.  This sets the process-wide forkserver preload list, so
    it only has an effect before the fork server starts (call it at program
    start-up) and replaces any list set before.  Modules that fail to import
    are skipped by multiprocessing.
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload([__name__, *modules])


def _close_all_runners() -> None:
    for runner in list(_RUNNERS):
        try:
            runner._emergency_close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


def _after_fork_in_child() -> None:
    for runner in list(_RUNNERS):
        runner._lock = threading.Lock()  # may have been held by another thread at fork time
        runner._forget_after_fork()


# Registered after multiprocessing is imported, so (LIFO) this runs before
# multiprocessing's own exit handler, which would otherwise join the workers.
atexit.register(_close_all_runners)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
