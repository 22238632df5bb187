"""Helpers for the cq.aio tests: run coroutines in a debug event loop.

Debug mode makes asyncio raise when a loop is touched from a thread that
does not own it, so every test also checks that futures are resolved on
their own loop. Tests drive loops with asyncio.run (no pytest plugin).
"""

from __future__ import annotations

import asyncio

import cq.aio

STRATEGIES = cq.aio.STRATEGIES


def run(coro):
    """asyncio.run in debug mode, tolerant of a slow shared machine."""
    async def main():
        asyncio.get_running_loop().slow_callback_duration = 5.0
        return await coro
    return asyncio.run(main(), debug=True)


async def heartbeat(ticks: list[float], period: float = 0.005) -> None:
    """Record loop times until cancelled: gaps show a blocked loop."""
    loop = asyncio.get_running_loop()
    while True:
        ticks.append(loop.time())
        await asyncio.sleep(period)
