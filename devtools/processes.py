"""Start a process and wait until it is ready; stop it. One helper for the test servers, the
local model server and the benchmarks (development tooling: not part of the installed package).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path


class ProcessFailed(RuntimeError):
    """A process exited or did not become ready in time; the message ends with its output."""


def tail(log_path: Path | None, chars: int = 4000) -> str:
    """The end of a process's log, for error messages."""
    if log_path is None or not log_path.exists():
        return "(no log)"
    return log_path.read_text(errors="replace")[-chars:]


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    *,
    process: subprocess.Popen | None = None,
    what: str = "the process",
    log_path: Path | None = None,
    interval: float = 0.25,
) -> None:
    """Call `ready()` until it returns true. Raise ProcessFailed, with the log's tail, when
    `process` exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ProcessFailed(
                f"{what} exited with {process.returncode} before it was ready:\n{tail(log_path)}"
            )
        if ready():
            return
        if time.monotonic() >= deadline:
            raise ProcessFailed(f"{what} was not ready within {timeout:.0f} s:\n{tail(log_path)}")
        time.sleep(interval)


def http_answers(url: str, ok: Callable[[int], bool] = lambda status: status < 500) -> Callable[
    [], bool
]:
    """A readiness check: `url` answers with a status `ok` accepts (never through a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def ready() -> bool:
        try:
            with opener.open(url, timeout=2) as response:
                return ok(response.status)
        except urllib.error.HTTPError as error:
            return ok(error.code)
        except OSError:
            return False

    return ready


def start_process(
    argv: Sequence[str],
    *,
    ready: Callable[[], bool],
    timeout: float,
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    what: str | None = None,
) -> subprocess.Popen:
    """Start `argv` in its own process group, output to `log_path`; return once `ready()`.

    On failure the process is stopped and ProcessFailed says why, with its output.
    """
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True,
        )
    try:
        wait_until(ready, timeout, process=process, what=what or Path(argv[0]).name,
                   log_path=log_path)
    except BaseException:
        stop_process(process)
        raise
    return process


def stop_process(
    process: subprocess.Popen, timeout: float = 30.0, sig: int = signal.SIGTERM
) -> int | None:
    """Send `sig` to the process's group, wait up to `timeout`, then kill; return its code."""
    if process.poll() is not None:
        return process.returncode
    try:
        own_group = os.getpgid(process.pid) != os.getpgrp()
    except ProcessLookupError:
        return process.wait()

    def send(signal_number: int) -> None:
        # Never signal our own group: a child started without a session of its own gets the
        # signal alone.
        with contextlib.suppress(ProcessLookupError):
            if own_group:
                os.killpg(process.pid, signal_number)
            else:
                process.send_signal(signal_number)

    send(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        return process.wait(timeout=10)
