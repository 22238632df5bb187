"""An asyncio RESP server over the core, on any of the six strategies.

The core answers PING and ECHO itself; every other command runs
``handler(*args)``. Where it runs depends on the strategy, as in the client:
``iomgr``, ``callback``, ``poller_byte`` and ``poller`` run it on the
caller's loop (a coroutine handler as a task), its events brought there by the
loop's shared driver, a wake-up's requests answered in one callback;
``thread_loop`` does the I/O on the loop's second loop and hands a wake-up's
requests to the caller's loop and their responses back (two thread crossings
per batch); ``sync`` runs the handler in worker threads (grpc's sync server).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .._cq import OP, Event, ReplyError
from ..sync import error_reply, send_response, send_responses
from ._clients import LoopThread, SyncWorkers
from ._drivers import DRIVERS, Driver, IomgrDriver
from ._shared import acquire, release

Handler = Callable[..., Any]
Q = TypeVar("Q", Driver, SyncWorkers)  # machinery with a queue

SERVER_STRATEGIES = ("sync", "iomgr", "callback", "thread_loop", "poller_byte", "poller")


# What plain handlers return (exact types), never awaitable: for them the
# check below skips inspect.isawaitable, an ABC instance check of about
# 0.6 us, a tenth of a request's whole cost at redis-benchmark -P 16.
_PLAIN_RESULTS = frozenset({bytes, str, int, type(None), list, tuple, ReplyError})


def awaitable(result: Any) -> bool:
    """True if a handler's result must be awaited (it returned a coroutine or
    another awaitable)."""
    return type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result)


async def listen(kind: type[Q], host: str, port: int, builtins: bool) -> tuple[Q, Any]:
    """The loop's machinery of this kind, and a server listening on its queue."""
    shared = await acquire(kind)
    try:
        return shared, shared.queue.serve(host, port, builtins=builtins)
    except BaseException:
        await release(shared)
        raise


class ServerBase:
    """What every strategy's server offers: ``port``, ``strategy``, ``close()``
    (stop listening, close every connection, wait for running handlers), and
    ``async with``."""

    port: int  # 0 for a unix socket
    path: str | None  # the unix socket's path, None for TCP
    strategy: str

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> ServerBase:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class Arrivals:
    """The one tag of every request a server keeps open in the core.

    The drivers resolve a tag as they would an asyncio future (``done()``,
    ``set_result(event)``; the callback driver asks ``get_loop()``), so this
    quacks like one that never completes: each event is queued, and the first
    of a wake-up schedules one callback that answers them all. A future per
    request, its done callback and one loop callback each are what it saves.
    """

    __slots__ = ("_events", "_loop", "_on_batch")

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 on_batch: Callable[[list[Event]], None]) -> None:
        self._loop = loop
        self._events: list[Event] = []
        self._on_batch = on_batch

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return False

    def set_result(self, event: Event) -> None:
        self._events.append(event)
        if len(self._events) == 1:
            # After the driver's batch: its hold_responses() corked already.
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        events, self._events = self._events, []
        self._on_batch(events)


class AsyncServer(ServerBase):
    """Listens on ``port``; each request runs ``handler(*args)`` (args as bytes)
    on the loop, and the return value is the response (str, bytes, int, None,
    list, or an exception for an error reply). A coroutine handler runs in a
    task of its own; a plain function is called at once, with no task.

    Like grpc's server, it keeps many requests open in the core (OUTSTANDING),
    not one: a request that arrives finds a tag waiting for it, and a burst of
    them is delivered in one wake-up of the loop and answered in one callback
    (see Arrivals), rather than one round of cross-thread hand-offs each.
    """

    OUTSTANDING = 64
    # Requests taken from the backlog per wake-up at most: taken here, they
    # need no event (asked for again first, each would come back as one
    # through the driver's thread); bounded, so that the loop's other
    # callbacks still run under a flood.
    TAKE_AT_MOST = 256

    def __init__(self, driver: Driver, server: Any, handler: Handler, strategy: str) -> None:
        self._driver = driver
        self._server = server
        self._handler = handler
        self.strategy = strategy
        self.port: int = server.port
        self.path = server.path
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self._open_requests = 0
        self._all_failed = driver.loop.create_future()  # after close: no request open
        self._arrivals = Arrivals(driver.loop, self._on_requests)
        self._ask(self.OUTSTANDING)

    @classmethod
    async def start(cls, host: str, port: int, handler: Handler, strategy: str,
                    builtins: bool) -> AsyncServer:
        driver, server = await listen(DRIVERS[strategy], host, port, builtins)
        return cls(driver, server, handler, strategy)

    def _ask(self, count: int) -> None:
        """Open ``count`` more requests in the core, all tagged with Arrivals."""
        if count:
            try:
                self._open_requests += self._server.request(self._arrivals, count)
            except RuntimeError:
                pass  # closed meanwhile
        self._check_all_failed()

    def _check_all_failed(self) -> None:
        if self._open_requests == 0 and not self._all_failed.done():
            self._all_failed.set_result(None)

    def _on_requests(self, events: list[Event]) -> None:
        """One wake-up's requests: answered, then as many asked for again."""
        self._open_requests -= len(events)
        requests = [(event.value, event.call) for event in events
                    if event.type == OP and event.ok]  # not ok: the server or queue closed
        delivered = len(requests)  # each used one open request: ask for as many again
        # The requests queued behind these are taken here, under one lock and
        # without an event or a thread's wake-up each (see TAKE_AT_MOST).
        try:
            requests += self._server.take_many(self.TAKE_AT_MOST)
        except RuntimeError:
            pass  # closed
        if requests:
            self._dispatch(requests)
        self._ask(delivered)

    def _dispatch(self, requests: list[tuple[list[bytes], Any]]) -> None:
        calls, results = self._run_handlers(requests, self._respond_when_done)
        if calls:
            send_responses(calls, results)  # one lock; one write per connection

    def _run_handlers(self, requests: list[tuple[list[bytes], Any]],
                      later: Callable[[Any, Any], None]) -> tuple[list[Any], list[Any]]:
        """Runs each request's handler: returns the calls whose results are
        plain values, and those values, to be answered together; a call whose
        handler returned an awaitable goes to ``later(call, awaitable)``."""
        calls, results = [], []
        for args, call in requests:
            try:
                result = self._handler(*args)
            except Exception as exc:  # the peer gets the message, the server goes on
                result = error_reply(exc)
            if awaitable(result):
                later(call, result)
            else:
                calls.append(call)
                results.append(result)
        return calls, results

    def _respond_when_done(self, call: Any, result: Any) -> None:
        task = self._driver.loop.create_task(self._respond_later(call, result))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respond_later(self, call: Any, result: Any) -> None:
        try:
            result = await result
        except Exception as exc:
            result = error_reply(exc)
        send_response(call, result)

    async def _settle(self) -> None:
        """After close: wait for the handlers still running."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._driver.closed:
            self._server.close()  # every open request completes with ok=False
            if self._open_requests:
                await self._all_failed
        await self._settle()
        await release(self._driver)


class ForwardingServer(AsyncServer):
    """thread_loop's server, on the second loop (iomgr there): it hands each
    wake-up's requests to the caller's loop in one crossing, where the
    handlers run; their responses cross back in one call per batch and leave
    corked. Two crossings per batch, not per request."""

    def __init__(self, driver: Driver, server: Any, handler: Handler,
                 caller: asyncio.AbstractEventLoop) -> None:
        self._caller = caller
        self._forwarded = 0  # requests handed to the caller, not answered yet
        self._answered: asyncio.Future | None = None  # close() waits for them
        self._caller_tasks: set[asyncio.Task] = set()  # touched on the caller's loop only
        super().__init__(driver, server, handler, IomgrDriver.name)

    def _dispatch(self, requests: list[tuple[list[bytes], Any]]) -> None:
        self._forwarded += len(requests)
        try:
            self._caller.call_soon_threadsafe(self._run_on_caller, requests)
        except RuntimeError as exc:  # the caller's loop is closed
            self._send([call for _, call in requests], [error_reply(exc)] * len(requests))

    def _run_on_caller(self, requests: list[tuple[list[bytes], Any]]) -> None:
        calls, results = self._run_handlers(requests, self._answer_on_caller_later)
        if calls:
            self._send_back(calls, results)

    def _answer_on_caller_later(self, call: Any, result: Any) -> None:
        task = self._caller.create_task(self._answer_later(call, result))
        self._caller_tasks.add(task)
        task.add_done_callback(self._caller_tasks.discard)

    async def _answer_later(self, call: Any, result: Any) -> None:
        try:
            result = await result
        except Exception as exc:
            result = error_reply(exc)
        self._send_back([call], [result])

    def _send_back(self, calls: list[Any], results: list[Any]) -> None:
        try:
            self._driver.loop.call_soon_threadsafe(self._send, calls, results)
        except RuntimeError:
            pass  # the second loop is gone: so are its connections

    def _send(self, calls: list[Any], results: list[Any]) -> None:
        """On the second loop: one batch of responses, in one write per connection."""
        send_responses(calls, results)
        self._forwarded -= len(calls)
        if self._forwarded == 0 and self._answered is not None and not self._answered.done():
            self._answered.set_result(None)

    async def _settle(self) -> None:
        await super()._settle()
        if self._forwarded:
            self._answered = self._driver.loop.create_future()
            await self._answered


class ThreadLoopServer(ServerBase):
    """Strategy 4: an iomgr server on the loop's second loop; the handlers run
    on the caller's loop, a wake-up's requests handed across in one call and
    their responses back in another (see ForwardingServer)."""

    strategy = "thread_loop"

    def __init__(self, io: LoopThread, inner: AsyncServer) -> None:
        self._io = io
        self._inner = inner
        self.port, self.path = inner.port, inner.path
        self._closed = False

    @classmethod
    async def start(cls, host: str, port: int, handler: Handler, builtins: bool
                    ) -> ThreadLoopServer:
        io = await acquire(LoopThread)
        caller = io.loop

        async def on_second_loop() -> ForwardingServer:
            driver, server = await listen(IomgrDriver, host, port, builtins)
            return ForwardingServer(driver, server, handler, caller)

        try:
            inner = await io.submit(on_second_loop())
        except BaseException:
            await release(io)
            raise
        return cls(io, inner)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._io.close_and_release(self._inner)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class SyncPoolServer(ServerBase):
    """Strategy 1: ``workers`` threads each ask the core for a request, pluck
    it from the loop's shared sync queue, run the handler in the thread and
    respond: one request in flight per thread, as cq.SyncServer. A thread
    that finds requests waiting (Server.take_many) takes up to TAKE_AT_MOST of them
    without asking and plucking, and answers them together: one lock, one
    write per connection (respond_many), not one each."""

    strategy = "sync"
    # Requests one thread takes and answers together: bounds how long the
    # first waits for the last one's handler.
    TAKE_AT_MOST = 16

    def __init__(self, shared: SyncWorkers, server: Any, handler: Handler, workers: int) -> None:
        self._shared = shared
        self._server = server
        self._handler = handler
        self.port: int = server.port
        self.path = server.path
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"cq-aio-sync-server-{i}",
                                          daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    @classmethod
    async def start(cls, host: str, port: int, handler: Handler, builtins: bool,
                    workers: int) -> SyncPoolServer:
        shared, server = await listen(SyncWorkers, host, port, builtins)
        return cls(shared, server, handler, workers)

    def _work(self) -> None:
        while (burst := self._next_burst()) is not None:
            send_responses([call for _, call in burst], [self._run(args) for args, _ in burst])

    def _next_burst(self) -> list[tuple[list[bytes], Any]] | None:
        """The requests this thread answers next; None once the server closed."""
        queue, server = self._shared.queue, self._server
        try:
            # Requests already waiting are taken at once: no event, and no
            # wake-up of this thread by the one driving the I/O.
            burst = server.take_many(self.TAKE_AT_MOST)
            if not burst:
                tag = object()
                server.request(tag)
                event = queue.pluck(tag)
                if event.type != OP or not event.ok:
                    return None
                burst = [(event.value, event.call),
                         *server.take_many(self.TAKE_AT_MOST - 1)]
        except RuntimeError:
            return None  # the server or the queue closed
        return burst

    def _run(self, args: list[bytes]) -> Any:
        try:
            result = self._handler(*args)
            if awaitable(result):
                # A coroutine handler still works here (the same handler serves
                # on every strategy): it runs on the caller's loop while this
                # worker waits, as thread_loop does the other way round.
                result = asyncio.run_coroutine_threadsafe(_awaited(result),
                                                          self._shared.loop).result()
        except Exception as exc:  # the peer gets the message, the server goes on
            return error_reply(exc)
        return result

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._shared.closed:
            self._server.close()  # every thread's pending request fails: they return
        await asyncio.to_thread(lambda: [thread.join() for thread in self._threads])
        await release(self._shared)


def _unknown_command(*args: bytes) -> ReplyError:
    name = args[0].decode("utf-8", "replace") if args else ""
    return ReplyError(f"ERR unknown command '{name}'")


async def serve(host: str = "127.0.0.1", port: int = 0, handler: Handler | None = None, *,
                strategy: str = "poller", builtins: bool = True, workers: int = 16) -> Any:
    """Start serving on host:port (0: a free port, see ``server.port``).

    ``handler(*args)`` answers every command the core does not (PING and ECHO
    with ``builtins``); without one, such commands get an error reply.
    ``workers`` is the number of handler threads of the ``sync`` strategy.
    """
    if strategy not in SERVER_STRATEGIES:
        raise ValueError(f"a server strategy must be one of {', '.join(SERVER_STRATEGIES)}, "
                         f"not {strategy!r}")
    if handler is None:
        handler = _unknown_command
    if strategy == "sync":
        if workers < 1:
            raise ValueError("workers must be at least 1")
        return await SyncPoolServer.start(host, port, handler, builtins, workers)
    if strategy == "thread_loop":
        return await ThreadLoopServer.start(host, port, handler, builtins)
    return await AsyncServer.start(host, port, handler, strategy, builtins)


__all__ = ["SERVER_STRATEGIES", "AsyncServer", "ServerBase", "SyncPoolServer",
           "ThreadLoopServer", "serve"]
