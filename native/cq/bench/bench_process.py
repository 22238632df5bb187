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


def announce(port: int) -> None:
    """Called in the child once it listens: the parent reads this line."""
    print(port, flush=True)


@contextmanager
def child_server(argv: Sequence[str], what: str, timeout: float = 30.0) -> Iterator[int]:
    """Run ``argv`` until the block ends; yields the port it announced."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = _read_line(proc, timeout)
        if not line.strip().isdigit():
            proc.kill()
            raise RuntimeError(f"{what} server did not start: {line!r}\n{proc.stderr.read()}")
        yield int(line)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


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
