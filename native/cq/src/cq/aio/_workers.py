"""Worker threads for the ``sync`` strategy that never hold up interpreter exit.

concurrent.futures.ThreadPoolExecutor joins its (non-daemon) workers at exit,
so ``sys.exit`` or Ctrl-C with a blocking call in flight waits for as long as
the call takes: forever for a call without timeout. These workers are daemon
threads: a process that exits leaves them blocked in the core, GIL released.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any


class DaemonWorkers:
    """Up to ``size`` daemon threads, started on demand, running submitted calls."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # one count per worker waiting for work
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shutdown = False

    def grow(self, size: int) -> None:
        """Allow up to ``size`` workers (never fewer than now)."""
        with self._lock:
            self._size = max(self._size, size)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
               ) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("the workers are shut down")
            self._work.put((future, fn, args, kwargs))
            # As ThreadPoolExecutor: an idle worker takes it, or a new one starts.
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._size:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"{self._name}-{len(self._threads)}")
                thread.start()
                self._threads.append(thread)
        return future

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            _execute(*item)
            del item  # hold no call's arguments while idle
            self._idle.release()

    def shutdown(self) -> None:
        """Let every worker end once its current call returns (no waiting)."""
        with self._lock:
            self._shutdown = True
            for _ in self._threads:
                self._work.put(None)


def _execute(future: concurrent.futures.Future, fn: Callable[..., Any], args: tuple,
             kwargs: dict) -> None:
    if not future.set_running_or_notify_cancel():
        return  # cancelled while it waited for a worker
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)
