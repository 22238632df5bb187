"""Async clients, one per integration strategy, all with the same three calls:
``await connect(...)``, ``await client.call(*args)``, ``await client.close()``.

Every client shares its loop's machinery for its strategy (see _shared.py);
``connections=N`` opens N connections on it and spreads the calls over them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .._cq import ClosedError, CompletionQueue
from ..sync import Client as SyncClient
from ..sync import Ticket, reply_of
from ._drivers import DRIVERS, Driver, IomgrDriver
from ._shared import Shared, acquire, release
from ._workers import DaemonWorkers


class LeastBusy:
    """Picks, among a client's connections, one with the fewest calls in flight
    (redis.asyncio's pool hands each call a free connection; here calls are
    also pipelined, so a busy connection still takes calls when all are busy)."""

    def __init__(self, size: int) -> None:
        self.in_flight = [0] * size

    def take(self) -> int:
        counts = self.in_flight
        slot = 0 if len(counts) == 1 else counts.index(min(counts))
        counts[slot] += 1
        return slot

    def done(self, slot: int) -> None:
        self.in_flight[slot] -= 1


def check_connections(connections: int) -> None:
    if not isinstance(connections, int) or isinstance(connections, bool):
        raise TypeError(f"connections must be an int, not {type(connections).__name__}")
    if connections < 1:
        raise ValueError("connections must be at least 1")


class AsyncClient:
    """Connections whose events the loop's driver (iomgr, callback,
    poller_byte or poller) brings back to the loop they were opened on. Calls
    are pipelined, spread over the connections, and may be awaited
    concurrently from many coroutines.

    A call that is cancelled, or times out, before its reply came closes its
    connection: RESP replies carry no id, so a late reply would be taken for
    the next call's, and one that never comes would hold every later call.
    The calls pipelined with it fail with ClosedError; the next call on that
    connection opens a new one (redis-py's rule).
    """

    def __init__(self, driver: Driver, channels: list[Any], strategy: str, host: str,
                 port: int) -> None:
        self._driver = driver
        self._channels: list[Any] = channels  # cq.Channel, or None after an abandoned call
        # One connection (the usual case) needs no bookkeeping per call.
        self._busy = LeastBusy(len(channels)) if len(channels) > 1 else None
        self._host, self._port = host, port
        self.strategy = strategy
        self._closed = False

    @classmethod
    async def connect(cls, host: str, port: int, strategy: str, timeout: float | None,
                      connections: int = 1) -> AsyncClient:
        driver = await acquire(DRIVERS[strategy])
        loop = driver.loop
        channels: list[Any] = []
        try:
            connected = [loop.create_future() for _ in range(connections)]
            for future in connected:
                channels.append(driver.queue.connect(host, port, future))
            for event in await asyncio.wait_for(asyncio.gather(*connected), timeout):
                if not event.ok:
                    raise event.exception()
        except BaseException:
            for channel in channels:
                channel.close()  # a pending connect completes now
            await release(driver)
            raise
        return cls(driver, channels, strategy, host, port)

    def _reconnect(self, slot: int) -> Any:
        # Calls may start at once: the core sends them once connected, or
        # fails them with the connect's error. Nobody awaits the CONNECT.
        channel = self._channels[slot] = self._driver.queue.connect(
            self._host, self._port, self._driver.loop.create_future())
        return channel

    def _abandon(self, channel: Any) -> None:
        """Close a connection that owes a reply nobody will take."""
        for slot, current in enumerate(self._channels):
            if current is channel:
                self._channels[slot] = None
        channel.close()  # its calls in flight get their events: tags released now

    async def call(self, *args: Any, timeout: float | None = None) -> Any:
        """Send one command and return its reply (bytes, str, int, None, list).

        Raises ReplyError for an error reply, TimeoutError if no reply came
        within ``timeout`` seconds, ClosedError if the connection closed first
        (the peer, close(), or another call's cancellation or timeout),
        RuntimeError after close() or once the client's loop has ended."""
        return await self.call_with(None, args, timeout)

    async def call_with(self, ticket: Ticket | None, args: tuple,
                        timeout: float | None = None) -> Any:
        """call(*args), which give_up(ticket) abandons from this loop's thread
        even before the coroutine has started (thread_loop's outer loop).
        Every line here runs once per call: the profile counts them."""
        driver = self._driver
        if self._closed:
            raise RuntimeError("the client is closed")
        if driver.closed:
            raise RuntimeError("the client's event loop has ended: its queue is closed")
        loop = driver.loop
        if asyncio.get_running_loop() is not loop:
            raise RuntimeError("this client belongs to another event loop")
        if ticket is not None and ticket.abandoned:
            raise ClosedError("the call was given up before it was sent")
        future = loop.create_future()
        busy = self._busy
        slot = 0 if busy is None else busy.take()
        channel = self._channels[slot]
        try:
            if channel is None:
                channel = self._reconnect(slot)
            if ticket is not None:
                ticket.channel = channel
            channel.call(args, future)  # the binding holds the future until its event
            # The driver resolves a call's future with the reply itself, or the
            # call's exception (resolve(), in C): nothing to unpack here.
            if timeout is None:
                return await future
            return await asyncio.wait_for(future, timeout)
        except asyncio.CancelledError:
            if future.cancelled() and channel is not None:  # the reply is still owed
                self._abandon(channel)
            raise
        except TimeoutError:
            if not future.cancelled():
                raise  # the call's own error (ETIMEDOUT from the socket, say)
            self._abandon(channel)
            raise TimeoutError(f"no reply to {args[0]!r} within {timeout} s; "
                               "the connection was closed") from None
        finally:
            if busy is not None:
                busy.done(slot)

    def give_up(self, ticket: Ticket) -> None:
        """Nobody waits for call_with(ticket) any more: not sent yet, it never
        will be; sent, its connection closes (call from the loop's thread)."""
        ticket.abandoned = True
        if ticket.channel is not None:
            self._abandon(ticket.channel)

    async def close(self) -> None:
        """Close the connections (calls in flight raise ClosedError) and leave
        the loop's driver (the last user stops it). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for channel in self._channels:
            if channel is not None and not self._driver.closed:
                channel.close()
        await release(self._driver)


class LoopThread(Shared):
    """Strategy 4's machinery: a second event loop, forever in its own thread,
    shared by every thread_loop client and server of the caller's loop."""

    def start(self) -> None:
        # uvloop: the second loop is of the caller's loop class, not the policy's
        # default, so a program run with uvloop.run() gets uvloop on both loops.
        self.io_loop = type(self.loop)()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.io_loop)
            self.io_loop.call_soon(started.set)
            try:
                self.io_loop.run_forever()
            finally:  # as asyncio.run: this loop's drivers end with it
                self.io_loop.run_until_complete(self.io_loop.shutdown_asyncgens())
                self.io_loop.close()

        self.thread = threading.Thread(target=run, name="cq-aio-io-loop", daemon=True)
        self.thread.start()
        started.wait()

    def submit(self, coro) -> asyncio.Future:
        """Run coro on the second loop; await the result from the caller's loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.io_loop))

    async def stop(self) -> None:
        self.io_loop.call_soon_threadsafe(self.io_loop.stop)
        await asyncio.to_thread(self.thread.join)

    async def close_and_release(self, inner: Any) -> None:
        """Close a client or server living on the second loop, then leave."""
        try:
            if not self.closed:
                await self.submit(inner.close())
        finally:
            await release(self)


class ThreadLoopClient:
    """Strategy 4: every call runs on a second event loop in its own thread
    (an iomgr client there), bridged with run_coroutine_threadsafe: each call
    crosses threads twice and the two loops take turns on one GIL."""

    strategy = "thread_loop"

    def __init__(self, io: LoopThread, inner: AsyncClient) -> None:
        self._io = io
        self._inner = inner
        self._closed = False

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float | None,
                      connections: int = 1) -> ThreadLoopClient:
        io = await acquire(LoopThread)
        try:
            inner = await io.submit(AsyncClient.connect(host, port, IomgrDriver.name, timeout,
                                                        connections))
        except BaseException:
            await release(io)
            raise
        return cls(io, inner)

    async def call(self, *args: Any, timeout: float | None = None) -> Any:
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._io.closed:
            raise RuntimeError("the client's event loop has ended: its second loop is stopped")
        ticket = Ticket()
        try:
            return await self._io.submit(self._inner.call_with(ticket, args, timeout))
        except asyncio.CancelledError:
            # The inner task is cancelled on the second loop only some
            # iterations later (or before it even starts): give the call up
            # there now, ahead of any later call (call_soon_threadsafe keeps
            # order), so that the next call goes to a new connection.
            try:
                self._io.io_loop.call_soon_threadsafe(self._inner.give_up, ticket)
            except RuntimeError:
                pass  # that loop is closed: so is the connection
            raise

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._io.close_and_release(self._inner)


class SyncWorkers(Shared):
    """Strategy 1's machinery: one queue that worker threads pluck their own
    events from (cq.sync's way), and the workers, shared by the loop's sync
    clients and servers."""

    def start(self) -> None:
        self.queue = CompletionQueue()
        self.workers = DaemonWorkers(1, "cq-aio-sync")

    async def stop(self) -> None:
        self.workers.shutdown()
        # Fails the calls in flight (their workers return) and waits until no
        # worker is inside the queue.
        await asyncio.to_thread(self.queue.close)


class SyncStrategyClient:
    """Strategy 1: cq.sync's blocking client, called from worker threads; each
    call in flight holds one worker. The workers are daemon threads: a call
    in flight never holds up interpreter exit. A cancelled call that a worker
    is running closes the connection (the worker returns at once with
    ClosedError), as with the other strategies."""

    strategy = "sync"

    def __init__(self, shared: SyncWorkers, clients: list[SyncClient]) -> None:
        self._shared = shared
        self._clients = clients  # one per connection, all on the shared queue
        self._busy = LeastBusy(len(clients))
        self._closed = False

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float | None, workers: int,
                      connections: int = 1) -> SyncStrategyClient:
        shared = await acquire(SyncWorkers)
        shared.workers.grow(workers)
        # Connecting blocks: in the loop's workers, so that the sync strategy
        # never runs more threads than its pool, however many clients connect.
        opening = [asyncio.wrap_future(shared.workers.submit(
            SyncClient, host, port, timeout=timeout, queue=shared.queue))
            for _ in range(connections)]
        results = await asyncio.gather(*opening, return_exceptions=True)
        clients = [client for client in results if isinstance(client, SyncClient)]
        failed = [exc for exc in results if isinstance(exc, BaseException)]
        if failed:
            for client in clients:
                client.close()
            await release(shared)
            raise failed[0]
        for client in clients:
            client.timeout = None  # calls wait as their own timeout= says, as elsewhere
        return cls(shared, clients)

    async def call(self, *args: Any, timeout: float | None = None) -> Any:
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._shared.closed:
            raise RuntimeError("the client's event loop has ended: its queue is closed")
        ticket = Ticket()
        slot = self._busy.take()
        client = self._clients[slot]
        try:
            work = self._shared.workers.submit(client.call_with, ticket, args, timeout)
            return await asyncio.wrap_future(work)
        except asyncio.CancelledError:
            # Not sent yet: it never will be. Sent: its connection is closed
            # and the worker returns at once with ClosedError.
            client.give_up(ticket)
            raise
        finally:
            self._busy.done(slot)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # The connections close (calls in flight raise ClosedError); the shared
        # queue stays for the loop's other users.
        for client in self._clients:
            client.close()
        await release(self._shared)


STRATEGIES = ("sync", "iomgr", "callback", "thread_loop", "poller_byte", "poller")


async def connect(host: str = "127.0.0.1", port: int = 6379, *, strategy: str = "poller",
                  timeout: float | None = 10.0, workers: int = 16, connections: int = 1) -> Any:
    """Connect to a RESP server (ours or redis-server) and return an async client.

    ``strategy`` is one of STRATEGIES (see docs/concepts/integration-strategies);
    every client of a loop and strategy shares one queue and its machinery.
    ``connections`` opens that many connections and spreads the calls over
    them (a pool); ``workers`` is the thread-pool size of the ``sync`` strategy
    (the loop's pool grows to the largest size asked for).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    check_connections(connections)
    if strategy == "sync":
        if workers < 1:
            raise ValueError("workers must be at least 1")
        return await SyncStrategyClient.connect(host, port, timeout, workers, connections)
    if strategy == "thread_loop":
        return await ThreadLoopClient.connect(host, port, timeout, connections)
    return await AsyncClient.connect(host, port, strategy, timeout, connections)


__all__ = ["STRATEGIES", "AsyncClient", "ClosedError", "LoopThread", "SyncStrategyClient",
           "SyncWorkers", "ThreadLoopClient", "connect", "reply_of"]
