"""One machinery per event loop and strategy, shared by every client and server.

gRPC's asyncio stack polls one completion queue with one thread for the whole
process; here every client and server started on a loop with a given strategy
shares that loop's queue and machinery (a poller thread, a callback thread,
the loop's reader on the core's fd, a second loop, or a pool of workers), so
1,000 connections are 1,000 sockets on one epoll set, not 1,000 threads.

The machinery is reference-counted: its first user creates it, the last one's
close() releases it. It is also released when its loop ends: asyncio.run(),
asyncio.Runner and uvloop.run() close every async generator of the loop
before closing it (loop.shutdown_asyncgens), and each machinery registers one
that stops it then. A loop closed by hand without shutdown_asyncgens() releases
its machinery once the loop and its clients are garbage collected.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import TypeVar


class Shared:
    """Base of a loop's machinery for one strategy: start() on the loop, then
    aclose() once, when the last user leaves or the loop ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.users = 0
        self.closed = False  # released: users left or the loop ended
        self._loop_end: AsyncIterator[None] | None = None

    def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop the machinery: operations in flight fail, threads end."""
        raise NotImplementedError

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        key = (id(self.loop), type(self))
        if _live.get(key) is self:
            del _live[key]
        try:
            await self.stop()
        finally:
            loop_end, self._loop_end = self._loop_end, None
            if loop_end is not None:
                await loop_end.aclose()  # unregisters it from the loop; a no-op now


# Weak values: a machinery nobody uses any more (its loop closed, its clients
# collected) is collected too, and its finalizers end its thread and free its fds.
_live: weakref.WeakValueDictionary[tuple[int, type], Shared] = weakref.WeakValueDictionary()

S = TypeVar("S", bound=Shared)


async def _until_loop_ends(machinery: weakref.ref[Shared]) -> AsyncIterator[None]:
    try:
        yield
    finally:  # shutdown_asyncgens(), or aclose() above
        shared = machinery()
        if shared is not None:
            shared._loop_end = None  # this very generator: closing now
            await shared.aclose()


async def acquire(kind: type[S]) -> S:
    """The running loop's machinery of this kind, made by ``kind(loop)`` and
    started if there is none yet; one more user until release()."""
    loop = asyncio.get_running_loop()
    key = (id(loop), kind)
    shared = _live.get(key)
    if shared is None or shared.loop is not loop or shared.closed:
        shared = kind(loop)
        try:
            shared.start()
        except BaseException:
            await shared.stop()  # what start() got going before it failed
            raise
        _live[key] = shared
        loop_end = _until_loop_ends(weakref.ref(shared))
        await loop_end.__anext__()  # the loop now knows it (its firstiter hook)
        shared._loop_end = loop_end
    shared.users += 1
    return shared


async def release(shared: Shared) -> None:
    """One user less; the last one stops the machinery."""
    shared.users -= 1
    if shared.users <= 0:
        await shared.aclose()


def live_machinery(loop: asyncio.AbstractEventLoop) -> list[Shared]:
    """The machinery running for ``loop`` (for tests and the lab)."""
    return [shared for (loop_id, _), shared in list(_live.items())
            if loop_id == id(loop) and shared.loop is loop and not shared.closed]
