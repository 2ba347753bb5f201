"""A live ``followup serve`` for the tests that need a real server: a subprocess on an
ephemeral loopback port, waited for (bounded), and stopped (SIGTERM, then SIGKILL)
whatever happens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: seconds the server may take to answer /healthz after it is started
START_TIMEOUT = 30


@contextmanager
def live_server(log_dir: Path, *args: str, workers: int = 1) -> Iterator[str]:
    """``followup serve --engine reference --workers N ARGS...`` on 127.0.0.1; yields its URL.
    Its output goes to ``log_dir/server.log``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(log_dir / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--engine", "reference", "--workers", str(workers), *args],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("followup serve did not start")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
