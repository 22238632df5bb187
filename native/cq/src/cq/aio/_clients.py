"""Async clients, one per integration strategy, all with the same three calls:
``await connect(...)``, ``await client.call(*args)``, ``await client.close()``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .._cq import ClosedError
from ..sync import Client as SyncClient
from ..sync import Ticket, reply_of
from ._drivers import DRIVERS, Driver, IomgrDriver
from ._workers import DaemonWorkers


class AsyncClient:
    """One connection whose events a driver (iomgr, callback, poller_byte or
    poller) brings back to the loop it was connected on. Calls are pipelined
    on the connection and may be awaited concurrently from many coroutines.

    A call that is cancelled, or times out, before its reply came closes the
    connection: RESP replies carry no id, so a late reply would be taken for
    the next call's, and one that never comes would hold every later call.
    The calls pipelined with it fail with ClosedError; the next call opens a
    new connection (redis-py's rule).
    """

    def __init__(self, driver: Driver, channel: Any, strategy: str, host: str,
                 port: int) -> None:
        self._driver = driver
        self._channel = channel  # cq.Channel, or None after an abandoned call
        self._host, self._port = host, port
        self.strategy = strategy
        self._closed = False

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
        return cls(driver, channel, strategy, host, port)

    def _current_channel(self) -> Any:
        if self._channel is None:
            # Calls may start at once: the core sends them once connected, or
            # fails them with the connect's error. Nobody awaits the CONNECT.
            self._channel = self._driver.queue.connect(
                self._host, self._port, self._driver.loop.create_future())
        return self._channel

    def _abandon(self, channel: Any) -> None:
        """Close a connection that owes a reply nobody will take."""
        if channel is self._channel:
            self._channel = None
        channel.close()  # its calls in flight get their events: tags released now

    async def call(self, *args: Any, timeout: float | None = None) -> Any:
        """Send one command and return its reply (bytes, str, int, None, list).

        Raises ReplyError for an error reply, TimeoutError if no reply came
        within ``timeout`` seconds, ClosedError if the connection closed first
        (the peer, close(), or another call's cancellation or timeout),
        RuntimeError after close()."""
        return await self.call_with(Ticket(), args, timeout)

    async def call_with(self, ticket: Ticket, args: tuple, timeout: float | None = None) -> Any:
        """call(*args), which give_up(ticket) abandons from this loop's thread
        even before the coroutine has started (thread_loop's outer loop)."""
        loop = self._driver.loop
        if asyncio.get_running_loop() is not loop:
            raise RuntimeError("this client belongs to another event loop")
        if self._closed:
            raise RuntimeError("the client is closed")
        if ticket.abandoned:
            raise ClosedError("the call was given up before it was sent")
        future = loop.create_future()
        channel = ticket.channel = self._current_channel()
        channel.call(args, future)  # the binding holds the future until its event
        try:
            if timeout is None:
                event = await future
            else:
                event = await asyncio.wait_for(future, timeout)
        except (asyncio.CancelledError, asyncio.TimeoutError) as exc:
            if future.cancelled():  # the reply is still owed
                self._abandon(channel)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise TimeoutError(f"no reply to {args[0]!r} within {timeout} s; "
                               "the connection was closed") from None
        return reply_of(event)

    def give_up(self, ticket: Ticket) -> None:
        """Nobody waits for call_with(ticket) any more: not sent yet, it never
        will be; sent, its connection closes (call from the loop's thread)."""
        ticket.abandoned = True
        if ticket.channel is not None:
            self._abandon(ticket.channel)

    async def close(self) -> None:
        """Close the connection (calls in flight raise ClosedError) and stop
        the strategy's machinery. Idempotent."""
        self._closed = True
        if self._channel is not None:
            self._channel.close()
        await self._driver.aclose()


class _LoopThread:
    """A second event loop, running forever in its own thread."""

    def __init__(self, new_loop=asyncio.new_event_loop) -> None:
        self.loop = new_loop()
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
        # uvloop: the second loop is of the caller's loop class, not the policy's
        # default, so a program run with uvloop.run() gets uvloop on both loops.
        io = _LoopThread(type(asyncio.get_running_loop()))
        try:
            inner = await io.submit(AsyncClient.connect(host, port, IomgrDriver.name, timeout))
        except BaseException:
            await io.stop()
            raise
        return cls(io, inner)

    async def call(self, *args: Any, timeout: float | None = None) -> Any:
        if not self._io.thread.is_alive():
            raise RuntimeError("the client is closed")
        ticket = Ticket()
        try:
            return await self._io.submit(self._inner.call_with(ticket, args, timeout))
        except asyncio.CancelledError:
            # The inner task is cancelled on the second loop only some
            # iterations later (or before it even starts): give the call up
            # there now, ahead of any later call (call_soon_threadsafe keeps
            # order), so that the next call goes to a new connection.
            try:
                self._io.loop.call_soon_threadsafe(self._inner.give_up, ticket)
            except RuntimeError:
                pass  # that loop is closed: so is the connection
            raise

    async def close(self) -> None:
        if self._io.thread.is_alive():
            try:
                await self._io.submit(self._inner.close())
            finally:
                await self._io.stop()


class SyncStrategyClient:
    """Strategy 1: cq.sync's blocking client, called from worker threads; each
    call in flight holds one worker. The workers are daemon threads: a call
    in flight never holds up interpreter exit. A cancelled call that a worker
    is running closes the connection (the worker returns at once with
    ClosedError), as with the other strategies."""

    strategy = "sync"

    def __init__(self, client: SyncClient, workers: int) -> None:
        self._client = client
        self._workers = DaemonWorkers(workers, "cq-aio-sync")
        self._closed = False

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float | None,
                      workers: int) -> SyncStrategyClient:
        client = await asyncio.to_thread(SyncClient, host, port, timeout=timeout)
        client.timeout = None  # calls wait as their own timeout= says, as elsewhere
        return cls(client, workers)

    async def call(self, *args: Any, timeout: float | None = None) -> Any:
        if self._closed:
            raise RuntimeError("the client is closed")
        ticket = Ticket()
        work = self._workers.submit(self._client.call_with, ticket, args, timeout)
        try:
            return await asyncio.wrap_future(work)
        except asyncio.CancelledError:
            # Not sent yet: it never will be. Sent: its connection is closed
            # and the worker returns at once with ClosedError.
            self._client.give_up(ticket)
            raise

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close_now() -> None:
            # The connection first, so that calls in flight raise ClosedError
            # (as with the other strategies), then the queue.
            self._client.abandon()
            self._client.close()

        await asyncio.to_thread(close_now)
        self._workers.shutdown()


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
