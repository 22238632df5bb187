"""A benchmark server in a child process, which prints its port on its first line.

Every server the cq benchmark measures runs in its own process, so the client's
Python never shares a GIL with it. The child binds port 0 and announces the
port it got: no race on a port picked free beforehand.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def announce(port: int) -> None:
    """Called in the child once it listens: the parent reads this line."""
    print(port, flush=True)


@dataclass(frozen=True)
class Child:
    """A server running in a child process: the port it announced, and its pid."""

    port: int
    pid: int


@contextmanager
def child_process(argv: Sequence[str], what: str, timeout: float = 30.0) -> Iterator[Child]:
    """Run ``argv`` until the block ends; yields its port and pid."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = _read_line(proc, timeout)
        if not line.strip().isdigit():
            proc.kill()
            raise RuntimeError(f"{what} server did not start: {line!r}\n{proc.stderr.read()}")
        yield Child(int(line), proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@contextmanager
def child_server(argv: Sequence[str], what: str, timeout: float = 30.0) -> Iterator[int]:
    """Run ``argv`` until the block ends; yields the port it announced."""
    with child_process(argv, what, timeout) as child:
        yield child.port


# Both readers below use the scheduler's own accounting, in nanoseconds
# (/proc/PID/task/TID/schedstat: time on a core, time waiting for one), so that a
# thread's share and its process's total come from one clock. /proc/PID/stat's
# user and system times count in ticks of 10 ms, sampled: over a sample of under
# a second they may differ from schedstat's by more than a thread's share.


def cpu_seconds(pid: int) -> float:
    """How long a process's threads have run so far, all of them that are still
    alive (the servers' threads live as long as the server)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between the listing and the reading
    return total / 1e9


def main_thread_seconds(pid: int, waiting: bool = False) -> float:
    """How long a process's main thread (the one running its event loop) has run
    so far or, with ``waiting``, waited on a run queue for a core to run on."""
    fields = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    return int(fields[1 if waiting else 0]) / 1e9


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    # readline() alone would block forever on a child that hangs before printing.
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines:
        proc.kill()
        raise TimeoutError(f"no port from {proc.args} within {timeout} s")
    return lines[0]
