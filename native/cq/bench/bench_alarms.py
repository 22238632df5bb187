"""Events delivered to futures, per driver, with no network at all: alarms.

Two figures per driver (``iomgr``, ``callback``, ``poller_byte``, ``poller``):

* a burst: N alarms due now, each with its own future as tag, started in one
  go; events per second from the first start to the last future resolved,
  and how many times the event loop woke up for them (selector polls that
  returned a ready fd: the driver's wake-up fd, the core's fd, or asyncio's
  self-pipe for ``call_soon_threadsafe``), per event, counted until the loop
  has been quiet for a while: wake-ups left over once every future is
  resolved (``poller_byte``'s bytes for events already handled) count too;
* a round trip: one alarm due now, awaited, many times in a row; p50 and p99.

The wake-ups are counted by wrapping the loop's selector (a private attribute
of asyncio's selector loops); on a loop without one they are not measured.
"""

from __future__ import annotations

import asyncio
from time import monotonic, perf_counter_ns

from bench_samples import Sample, percentiles
from cq.aio._drivers import DRIVERS

ROUND_TRIPS = 2_000


class WakeupCounter:
    """Counts the loop's selector polls that returned at least one ready fd."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.selector = getattr(loop, "_selector", None)
        self.wakeups = 0

    @property
    def available(self) -> bool:
        return self.selector is not None

    def __enter__(self) -> WakeupCounter:
        if self.selector is not None:
            select = self.selector.select

            def counted(timeout=None):
                ready = select(timeout)
                if ready:
                    self.wakeups += 1
                return ready

            self.selector.select = counted  # an instance attribute shadows the method
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.selector is not None:
            del self.selector.select


async def _await_all(futures: list[asyncio.Future]) -> None:
    # In order, awaiting only those not done yet: no gather() bookkeeping per event.
    for future in futures:
        if not future.done():
            await future


async def _settle(counter: WakeupCounter, quiet: float = 0.02, cap: float = 10.0) -> None:
    """Run the loop until no wake-up came for ``quiet`` seconds (at most ``cap``)."""
    now = monotonic()
    deadline, quiet_since, seen = now + cap, now, counter.wakeups
    while now < deadline and now - quiet_since < quiet:
        await asyncio.sleep(0)  # one loop iteration: a selector poll without waiting
        now = monotonic()
        if counter.wakeups != seen:
            quiet_since, seen = now, counter.wakeups


async def _sample(driver_name: str, events: int, round_trips: int) -> Sample:
    loop = asyncio.get_running_loop()
    driver = DRIVERS[driver_name](loop)
    driver.start()
    try:
        alarm = driver.queue.alarm
        latencies = []
        for _ in range(round_trips):
            future = loop.create_future()
            start = perf_counter_ns()
            alarm(0, future)
            await future
            latencies.append(perf_counter_ns() - start)
        futures = [loop.create_future() for _ in range(events)]
        with WakeupCounter(loop) as counter:
            start = perf_counter_ns()
            for future in futures:
                alarm(0, future)
            await _await_all(futures)
            elapsed = (perf_counter_ns() - start) / 1e9
            await _settle(counter)
        if not all(f.result().ok for f in futures):
            raise RuntimeError(f"{driver_name}: an alarm failed")
    finally:
        await driver.aclose()
    p50, p99 = percentiles(latencies)
    extra = {"wakeups_per_event": counter.wakeups / events} if counter.available else {}
    return Sample(events / elapsed, p50, p99, extra)


def sample(driver_name: str, events: int = 100_000, round_trips: int = ROUND_TRIPS) -> Sample:
    """Events/s of a burst of ``events`` alarms, wake-ups per event, and the p50/p99
    of one alarm's round trip, on a fresh loop."""
    return asyncio.run(_sample(driver_name, events, round_trips))


DRIVER_NAMES = tuple(DRIVERS)
