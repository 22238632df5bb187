"""An asyncio RESP server over the core: handlers are coroutines (or plain
functions) run as tasks on the loop; the core answers PING and ECHO itself."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from .._cq import OP, ReplyError
from ._drivers import DRIVERS, Driver

Handler = Callable[..., Any]

# The strategies a server can run on: those with a driver on the caller's loop.
SERVER_STRATEGIES = tuple(DRIVERS)


class AsyncServer:
    """Listens on ``port``; each request runs ``handler(*args)`` (args as bytes)
    in its own task and the return value is the response (str, bytes, int,
    None, list, or an exception for an error reply)."""

    def __init__(self, driver: Driver, server: Any, handler: Handler, strategy: str) -> None:
        self._driver = driver
        self._server = server
        self._handler = handler
        self.strategy = strategy
        self.port: int = server.port
        self._tasks: set[asyncio.Task] = set()
        self._acceptor = driver.loop.create_task(self._accept())

    async def _accept(self) -> None:
        loop = self._driver.loop
        while True:
            request = loop.create_future()
            try:
                self._server.request(request)
            except RuntimeError:
                return  # closed
            event = await request
            if event.type != OP or not event.ok:
                return  # the server or the queue closed
            task = loop.create_task(self._respond(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _respond(self, event: Any) -> None:
        try:
            result = self._handler(*event.value)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # the peer gets the message, the server goes on
            message = f"ERR {type(exc).__name__}: {exc}"
            result = ReplyError(message.replace("\r", " ").replace("\n", " "))
        try:
            event.call.respond(result)
        except (ValueError, TypeError, OverflowError) as exc:
            event.call.respond(ReplyError(f"ERR bad response from handler: {exc}"))
        except (ConnectionError, RuntimeError):
            pass  # the client left, or we are closing

    async def close(self) -> None:
        """Stop listening, close every connection, wait for running handlers."""
        self._server.close()  # the pending request completes with ok=False
        await self._driver.aclose()
        await self._acceptor
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> AsyncServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def serve(host: str = "127.0.0.1", port: int = 0, handler: Handler | None = None, *,
                strategy: str = "poller", builtins: bool = True) -> AsyncServer:
    """Start serving on host:port (0: a free port, see ``server.port``).

    ``handler(*args)`` answers every command the core does not (PING and ECHO
    with ``builtins``); without one, such commands get an error reply.
    """
    if strategy not in SERVER_STRATEGIES:
        raise ValueError(f"a server strategy must be one of {', '.join(SERVER_STRATEGIES)}, "
                         f"not {strategy!r} (cq.SyncServer is the sync server)")
    if handler is None:
        def handler(*args: bytes) -> ReplyError:
            name = args[0].decode("utf-8", "replace") if args else ""
            return ReplyError(f"ERR unknown command '{name}'")
    loop = asyncio.get_running_loop()
    driver = DRIVERS[strategy](loop)
    try:
        driver.start()
        server = driver.queue.serve(host, port, builtins=builtins)
    except BaseException:
        await driver.aclose()
        raise
    return AsyncServer(driver, server, handler, strategy)
