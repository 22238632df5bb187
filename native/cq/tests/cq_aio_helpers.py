"""Helpers for the cq.aio tests: run coroutines in a debug event loop, on
asyncio's loop and on uvloop's.

Debug mode makes asyncio raise when a loop is touched from a thread that
does not own it, so every test also checks that futures are resolved on
their own loop (uvloop's debug mode checks the same). Tests drive loops with
run() (no pytest plugin); the ``loop_factory`` fixture (conftest.py) gives
each test both kinds of loop, as uvloop's own suite runs its tests.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

import cq.aio
import pytest

STRATEGIES = cq.aio.STRATEGIES
LOOP_KINDS = ("asyncio", "uvloop")


class LoopFactory:
    """Makes new event loops of one kind; ``name`` ("asyncio" or "uvloop") is
    also the module a test's subprocess imports for its ``new_event_loop``."""

    def __init__(self, name: str) -> None:
        if name not in LOOP_KINDS:
            raise ValueError(f"no such loop kind: {name!r}")
        self.name = name
        if name == "uvloop":
            try:
                import uvloop
            except ImportError:
                # A skip even under CI, as for grpcio: requirements.txt installs it
                # wherever it builds (not Windows), but cq-asan and cq-valgrind
                # install only the few packages they need.
                pytest.skip("uvloop is not installed here (pip install uvloop)")
            self._new = uvloop.new_event_loop
        else:
            self._new = asyncio.new_event_loop

    def __call__(self) -> asyncio.AbstractEventLoop:
        return self._new()

    def __repr__(self) -> str:
        return f"LoopFactory({self.name!r})"


def run_with(loop_factory, coro: Coroutine, *, debug: bool | None = None) -> Any:
    """asyncio.run(coro, loop_factory=..., debug=...) of Python 3.12, on 3.10 too:
    a new loop, closed afterwards with its tasks, async generators and executor."""
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=loop_factory, debug=debug) as runner:
            return runner.run(coro)
    loop = loop_factory()  # Python 3.10: asyncio.run's own steps
    try:
        asyncio.set_event_loop(loop)
        if debug is not None:
            loop.set_debug(debug)
        return loop.run_until_complete(coro)
    finally:
        try:
            asyncio.runners._cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def run(coro: Coroutine, loop_factory) -> Any:
    """Run coro on a new loop of loop_factory's kind in debug mode, tolerant
    of a slow shared machine."""
    async def main():
        asyncio.get_running_loop().slow_callback_duration = 5.0
        return await coro
    return run_with(loop_factory, main(), debug=True)


def settled_baseline(loop_factory) -> tuple[int, int]:
    """This process's open fds and OS threads, once a loop of this kind has run
    a thread hand-off: uvloop opens two fds for good the first time (libuv's),
    which a test run alone would otherwise count as a leak."""
    from cq_peers import open_fds, os_threads

    run(asyncio.to_thread(lambda: None), loop_factory)
    return open_fds(), os_threads()


async def heartbeat(ticks: list[float], period: float = 0.005) -> None:
    """Record loop times until cancelled: gaps show a blocked loop."""
    loop = asyncio.get_running_loop()
    while True:
        ticks.append(loop.time())
        await asyncio.sleep(period)
