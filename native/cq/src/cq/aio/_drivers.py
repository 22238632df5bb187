"""Drivers: who calls the core's next(), and how the event loop hears of events.

Each driver owns one CompletionQueue, shared by every client and server of its
loop and strategy (see _shared.py), used with asyncio futures as tags; it
resolves each future (resolve(): a call's with its reply, any other with its
Event) on the loop that owns the future. Four of the six strategies are
drivers; ``thread_loop`` runs an ``iomgr`` driver on a second loop, and
``sync`` plucks from worker threads (see _clients.py).
"""

from __future__ import annotations

import asyncio
import threading

from .._aio import Poller
from .._cq import (
    CALL,
    OP,
    REQUEST,
    RESOLVED_CALL,
    RESOLVED_REQUEST,
    RESOLVED_SHUTDOWN,
    SHUTDOWN,
    CompletionQueue,
    Event,
    Spinner,
    resolve,
)
from ._shared import Shared

# resolve(future, event), in C: hands an event to the future it belongs to (a
# cancelled one ignores it); a CALL's future gets the reply itself, or raises
# the call's error, so the awaiting coroutine runs no Python per reply.


class Driver(Shared):
    """Base: a queue for one loop; subclasses start and stop the machinery.
    stop() fails every operation in flight (their futures get their events),
    stops the machinery and frees the queue."""

    name = ""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.queue = CompletionQueue()
        self.stopped = False
        self._corked = False
        self._holding = False

    def hold_responses(self) -> None:
        """After a batch with server requests: their handlers run in callbacks
        the batch scheduled (the futures' done callbacks), so cork the queue
        now and uncork after them; the responses of one wake-up then leave in
        one write per connection instead of one write each."""
        if not self._corked:
            self._corked = True
            self.queue.cork()
            self.loop.call_soon(self._release_responses)

    def _release_responses(self) -> None:
        self._corked = False
        self.queue.uncork()  # a no-op once the queue is closed

    def hold_calls(self) -> None:
        """After a batch of several replies: the coroutines they woke run in callbacks
        the batch scheduled, and most start their next call there; hold the
        calls' writes now and release them after those callbacks, so that one
        wake-up's calls leave in one write per connection (the client side of
        hold_responses; the same turn of the loop, so no call waits longer)."""
        if not self._holding:
            self._holding = True
            self.queue.hold_calls()
            self.loop.call_soon(self._release_calls)

    def _release_calls(self) -> None:
        self._holding = False
        self.queue.release_calls()  # a no-op once the queue is closed

    def after_batch(self, seen: int) -> None:
        """What a batch of resolved events asks for (resolve_ready's bits)."""
        if self.stopped:
            return
        if seen & RESOLVED_REQUEST:
            self.hold_responses()
        if seen & RESOLVED_CALL:
            self.hold_calls()


class IomgrDriver(Driver):
    """Strategy 2: the loop watches the core's fd and calls next(0) until it
    says TIMEOUT; a timer covers the core's next alarm. No extra thread."""

    name = "iomgr"

    def start(self) -> None:
        self._timer: asyncio.TimerHandle | None = None
        fd = self.queue.fileno()
        if fd < 0:
            raise OSError("the core has no pollable fd on this platform (Linux only)")
        self.loop.add_reader(fd, self._drive)
        self._fd = fd

    def _drive(self) -> None:
        if self.stopped:
            return
        # next(0) until TIMEOUT, every event resolved in C (resolve_ready).
        seen = self.queue.resolve_ready()
        if seen & RESOLVED_SHUTDOWN:  # every event was delivered
            self._stop_watching()
        else:
            self._arm_timer()
        self.after_batch(seen)

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        delay = self.queue.next_alarm()
        if delay is not None:
            self._timer = self.loop.call_later(delay, self._drive)

    def _stop_watching(self) -> None:
        self.stopped = True
        self.loop.remove_reader(self._fd)
        if self._timer is not None:
            self._timer.cancel()

    async def stop(self) -> None:
        if not self.queue.closed:
            if not self.stopped and hasattr(self, "_fd"):  # started
                self.queue.shutdown()
                self._drive()  # the failed operations' events, then SHUTDOWN
            self.queue.close()


# How many events the callback thread hands over in one call at most.
CALLBACK_BATCH = 256


def _deliver(loop: asyncio.AbstractEventLoop, queue: CompletionQueue,
             events: list[Event]) -> None:
    """On the loop: resolve a batch the callback thread handed over; after
    server requests, hold their responses as Driver.hold_responses does."""
    requests = False
    for event in events:
        resolve(event.tag, event)
        requests = requests or event.op == REQUEST
    if requests and not queue.closed:
        queue.cork()
        loop.call_soon(queue.uncork)


def _hand_over(events: list[Event], queue: CompletionQueue) -> None:
    """One call_soon_threadsafe per loop for the whole batch (usually one loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Event]] = {}
    for event in events:
        by_loop.setdefault(event.tag.get_loop(), []).append(event)
    for loop, batch in by_loop.items():
        try:
            loop.call_soon_threadsafe(_deliver, loop, queue, batch)
        except RuntimeError:
            pass  # that loop is closed: nobody waits; the tags are released with events


def _callback_thread(queue: CompletionQueue, spinner: Spinner, on_shutdown) -> None:
    # Holds the queue, not the driver: a driver dropped without aclose() is
    # collected, its finalizer shuts the queue down and this thread ends.
    while True:
        try:
            # Waits with the GIL released, as the poller thread waits (spinning
            # first, see Spinner), then takes the events already completed too.
            batch = queue.next_many(CALLBACK_BATCH, spinner=spinner)
        except RuntimeError:
            return  # the queue was closed
        # This thread takes the GIL to hand events over: what strategy 3
        # costs. Once per batch, not per event.
        if batch[0].type == OP:
            _hand_over(batch, queue)
        elif batch[0].type == SHUTDOWN:
            break
    on_shutdown()


class CallbackDriver(Driver):
    """Strategy 3: a thread blocks in next_many(), takes the GIL and calls
    loop.call_soon_threadsafe to resolve the futures: once per batch of the
    events already completed (up to CALLBACK_BATCH), not once per event."""

    name = "callback"

    def start(self) -> None:
        self.spinner = Spinner()  # how the thread waits; stats() tells
        self._finished = self.loop.create_future()
        loop, finished = self.loop, self._finished

        def on_shutdown() -> None:
            try:
                loop.call_soon_threadsafe(resolve, finished, None)
            except RuntimeError:
                pass  # the loop is closed

        self._thread = threading.Thread(target=_callback_thread,
                                        args=(self.queue, self.spinner, on_shutdown),
                                        name="cq-aio-callback", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self.queue.closed:
            return
        if not hasattr(self, "_thread"):  # never started
            self.queue.close()
            return
        self.queue.shutdown()
        await self._finished  # every event before SHUTDOWN was scheduled before it
        self.stopped = True
        await asyncio.to_thread(self._thread.join)
        self.queue.close()

    def __del__(self) -> None:
        queue = getattr(self, "queue", None)
        if queue is not None and not queue.closed:
            queue.shutdown()  # ends the thread; it frees the queue when it returns


class PollerDriver(Driver):
    """Strategy 6: a native poller thread (no GIL) queues events natively and
    writes one wake-up byte when its queue turns non-empty; the loop takes
    every queued event in one native call."""

    name = "poller"
    per_event = False

    def start(self) -> None:
        self.poller = Poller(self.queue, per_event=self.per_event)
        self._fd = self.poller.fileno()
        self.loop.add_reader(self._fd, self._on_wakeup)

    def _dispatch(self, event: Event) -> int:
        """Resolve one event's future; resolve_ready's bit for what it was."""
        if event.type == OP:
            resolve(event.tag, event)
            return (RESOLVED_REQUEST if event.op == REQUEST else
                    RESOLVED_CALL if event.op == CALL else 0)
        if event.type == SHUTDOWN:
            self._stop_watching()
        return 0

    def _on_wakeup(self) -> None:
        # Every queued event taken in one call and resolved in C: no Python
        # frame per event.
        seen = self.poller.resolve_ready()
        if seen & RESOLVED_SHUTDOWN:
            self._stop_watching()
        self.after_batch(seen)

    def _stop_watching(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.loop.remove_reader(self._fd)

    async def stop(self) -> None:
        if self.queue.closed:
            return
        if not hasattr(self, "_fd"):  # never started
            self.queue.close()
            return
        # stop() shuts the queue down and joins the thread, which ends by
        # itself once it has queued SHUTDOWN (it never waits for this loop);
        # the events it returns are the in-flight operations' failures.
        self._stop_watching()
        for event in self.poller.stop():
            self._dispatch(event)
        self.queue.close()


class PollerByteDriver(PollerDriver):
    """Strategy 5, gRPC's PollerCompletionQueue: one wake-up byte per event;
    the loop reads one byte, then pops events one at a time until none is left."""

    name = "poller_byte"
    per_event = True

    def _on_wakeup(self) -> None:
        poller = self.poller
        poller.read_wakeup()
        seen = calls = 0
        while (event := poller.pop()) is not None:
            bit = self._dispatch(event)
            seen |= bit
            calls += bit == RESOLVED_CALL
        # As resolve_ready: RESOLVED_CALL only for several replies.
        self.after_batch(seen if calls > 1 else seen & ~RESOLVED_CALL)


DRIVERS: dict[str, type[Driver]] = {
    driver.name: driver for driver in (IomgrDriver, CallbackDriver, PollerByteDriver, PollerDriver)
}
