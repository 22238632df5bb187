"""Async clients, one per integration strategy, all with the same three calls:
``await connect(...)``, ``await client.call(*args)``, ``await client.close()``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from typing import Any

from .._cq import ClosedError
from ..sync import Client as SyncClient
from ..sync import reply_of
from ._drivers import DRIVERS, Driver, IomgrDriver


class AsyncClient:
    """One connection whose events a driver (iomgr, callback, poller_byte or
    poller) brings back to the loop it was connected on. Calls are pipelined
    on the connection and may be awaited concurrently from many coroutines."""

    def __init__(self, driver: Driver, channel: Any, strategy: str) -> None:
        self._driver = driver
        self._channel = channel
        self.strategy = strategy

    @classmethod
    async def connect(cls, host: str, port: int, strategy: str,
                      timeout: float | None) -> AsyncClient:
        loop = asyncio.get_running_loop()
        driver = DRIVERS[strategy](loop)
        try:
            driver.start()
            connected = loop.create_future()
            channel = driver.queue.connect(host, port, connected)
            event = await asyncio.wait_for(connected, timeout)
            if not event.ok:
                raise event.exception()
        except BaseException:
            await driver.aclose()
            raise
        return cls(driver, channel, strategy)

    async def call(self, *args: Any) -> Any:
        """Send one command and return its reply (bytes, str, int, None, list).

        Raises ReplyError for an error reply, ClosedError if the connection
        closed first, RuntimeError after close()."""
        loop = self._driver.loop
        if asyncio.get_running_loop() is not loop:
            raise RuntimeError("this client belongs to another event loop")
        future = loop.create_future()
        self._channel.call(args, future)  # the binding holds the future until its event
        return reply_of(await future)

    async def close(self) -> None:
        """Close the connection (calls in flight raise ClosedError) and stop
        the strategy's machinery. Idempotent."""
        self._channel.close()
        await self._driver.aclose()


class _LoopThread:
    """A second event loop, running forever in its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(started.set)
            try:
                self.loop.run_forever()
            finally:
                self.loop.close()

        self.thread = threading.Thread(target=run, name="cq-aio-io-loop", daemon=True)
        self.thread.start()
        started.wait()

    def submit(self, coro) -> asyncio.Future:
        """Run coro on the second loop; await the result from the caller's loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self.thread.join)


class ThreadLoopClient:
    """Strategy 4: every call runs on a second event loop in its own thread
    (an iomgr client there), bridged with run_coroutine_threadsafe: each call
    crosses threads twice and the two loops take turns on one GIL."""

    strategy = "thread_loop"

    def __init__(self, io: _LoopThread, inner: AsyncClient) -> None:
        self._io = io
        self._inner = inner

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float | None) -> ThreadLoopClient:
        io = _LoopThread()
        try:
            inner = await io.submit(AsyncClient.connect(host, port, IomgrDriver.name, timeout))
        except BaseException:
            await io.stop()
            raise
        return cls(io, inner)

    async def call(self, *args: Any) -> Any:
        if not self._io.thread.is_alive():
            raise RuntimeError("the client is closed")
        return await self._io.submit(self._inner.call(*args))

    async def close(self) -> None:
        if self._io.thread.is_alive():
            try:
                await self._io.submit(self._inner.close())
            finally:
                await self._io.stop()


class SyncStrategyClient:
    """Strategy 1: cq.sync's blocking client, called from worker threads with
    loop.run_in_executor; each call in flight holds one worker thread."""

    strategy = "sync"

    def __init__(self, client: SyncClient, workers: int) -> None:
        self._client = client
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="cq-aio-sync")
        self._closed = False

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float | None,
                      workers: int) -> SyncStrategyClient:
        client = await asyncio.to_thread(SyncClient, host, port, timeout=timeout)
        return cls(client, workers)

    async def call(self, *args: Any) -> Any:
        if self._closed:
            raise RuntimeError("the client is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor,
                                          functools.partial(self._client.call, *args))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close_now() -> None:
            # The connection first, so that calls in flight raise ClosedError
            # (as with the other strategies), then the queue.
            self._client._channel.close()
            self._client.close()

        await asyncio.to_thread(close_now)
        self._executor.shutdown(wait=False)


STRATEGIES = ("sync", "iomgr", "callback", "thread_loop", "poller_byte", "poller")


async def connect(host: str = "127.0.0.1", port: int = 6379, *, strategy: str = "poller",
                  timeout: float | None = 10.0, workers: int = 16) -> Any:
    """Connect to a RESP server (ours or redis-server) and return an async client.

    ``strategy`` is one of STRATEGIES (see docs/concepts/integration-strategies);
    ``workers`` is the thread-pool size of the ``sync`` strategy.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if strategy == "sync":
        if workers < 1:
            raise ValueError("workers must be at least 1")
        return await SyncStrategyClient.connect(host, port, timeout, workers)
    if strategy == "thread_loop":
        return await ThreadLoopClient.connect(host, port, timeout)
    return await AsyncClient.connect(host, port, strategy, timeout)


__all__ = ["STRATEGIES", "AsyncClient", "ClosedError", "SyncStrategyClient",
           "ThreadLoopClient", "connect", "reply_of"]
