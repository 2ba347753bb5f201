"""Worker functions for tests/test_isolation.py (imported by path in spawned workers).

``dispatch((op, arg))`` runs one of the operations below, so a single runner can
be driven through normal calls, crashes, hangs and exceptions in sequence.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time

WARMED = 0  # incremented by warm_up() in the worker


class CustomError(Exception):
    """A picklable exception type defined in an importable module."""


class UnpicklableError(Exception):
    """Carries a lock, so it cannot cross the process boundary as itself."""

    def __init__(self, message: str):
        super().__init__(message)
        self.lock = threading.Lock()


def warm_up() -> None:
    global WARMED
    WARMED += 1


def failing_initializer() -> None:
    raise RuntimeError("initializer exploded")


def _double(x):
    return x * 2


def _echo(x):
    return x


def _pid(_):
    return os.getpid()


def _warmed(_):
    return WARMED


def _sleep_after_marker(arg):
    """Write our pid to the marker file (the test waits for it), then sleep."""
    path, seconds = arg
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(tmp, path)  # atomic: the reader never sees a half-written pid
    time.sleep(seconds)
    return "slept"


def _segfault(_):
    ctypes.string_at(0)  # reads address 0: SIGSEGV
    return "unreachable"


def _self_kill(signum):
    os.kill(os.getpid(), signum)
    time.sleep(30)
    return "unreachable"


def _spin(_):
    while True:
        pass


def _exit(code):
    os._exit(code)


def _raise_value_error(message):
    raise ValueError(message)


def _raise_custom(message):
    raise CustomError(message)


def _raise_unpicklable(message):
    raise UnpicklableError(message)


def _unpicklable_result(_):
    return threading.Lock()


def _allocate_mb(mb):
    """Hold ``mb`` MiB of touched memory (to raise RSS)."""
    global _HELD
    _HELD = bytearray(mb * 1024 * 1024)
    for i in range(0, len(_HELD), 4096):
        _HELD[i] = 1
    return len(_HELD)


_HELD: bytearray | None = None


def _rss_mb(_):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")

OPS = {
    "double": _double,
    "echo": _echo,
    "pid": _pid,
    "warmed": _warmed,
    "sleep_after_marker": _sleep_after_marker,
    "segfault": _segfault,
    "self_kill": _self_kill,
    "spin": _spin,
    "exit": _exit,
    "raise_value_error": _raise_value_error,
    "raise_custom": _raise_custom,
    "raise_unpicklable": _raise_unpicklable,
    "unpicklable_result": _unpicklable_result,
    "allocate_mb": _allocate_mb,
    "rss_mb": _rss_mb,
}


def dispatch(payload):
    op, arg = payload
    return OPS[op](arg)

