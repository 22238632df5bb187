"""One measurement (a rate with its p50/p99 latency) and how repeats are summarised.

Clients time every call with ``perf_counter_ns`` around the await: two clock
reads and an append per call, about 0.1 us against calls of 10 us or more.
``drive()`` is the loop every asyncio client in the benchmark shares (cq.aio's
strategies and redis.asyncio), so they pay the same for being measured.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter_ns


@dataclass
class Sample:
    """What one run of one configuration measured."""

    rate: float  # calls (requests, events) per second
    p50_us: float | None = None
    p99_us: float | None = None
    extra: dict[str, float] = field(default_factory=dict)  # per-configuration figures

    @classmethod
    def from_latencies(cls, rate: float, latencies_ns: Sequence[int], **extra: float) -> Sample:
        p50, p99 = percentiles(latencies_ns)
        return cls(rate, p50, p99, dict(extra))


def percentiles(latencies_ns: Sequence[int]) -> tuple[float | None, float | None]:
    """p50 and p99 in microseconds (None without samples)."""
    if len(latencies_ns) < 2:
        only = latencies_ns[0] / 1e3 if latencies_ns else None
        return only, only
    cuts = statistics.quantiles(latencies_ns, n=100)
    return cuts[49] / 1e3, cuts[98] / 1e3


def summarize(samples: Sequence[Sample]) -> dict:
    """Median and spread of each figure over the repeats of one configuration."""
    import benchmeta  # on the path in the bench session; servers never need it

    row = {"per_s": benchmeta.summarize([s.rate for s in samples])}
    for name in ("p50_us", "p99_us"):
        values = [getattr(s, name) for s in samples if getattr(s, name) is not None]
        row[name] = benchmeta.summarize(values) if values else None
    for name in dict.fromkeys(k for s in samples for k in s.extra):
        row[name] = benchmeta.summarize([s.extra[name] for s in samples if name in s.extra])
    return row


Call = Callable[[], Awaitable[object]]
STUCK_AFTER = 120.0  # seconds past the end of a sample: a call this late is stuck


def thread_cpu_seconds() -> dict[int, float]:
    """CPU time each live thread of this process has used so far, by thread
    id. Linux's /proc/self/task/TID/schedstat, in nanoseconds (stat's clock
    ticks of 10 ms are too coarse for a short sample); empty elsewhere."""
    threads = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return threads
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                threads[int(tid)] = int(f.read().split()[0]) / 1e9
        except OSError:
            continue  # ended meanwhile
    return threads


def cpu_between(before: dict[int, float], after: dict[int, float]) -> tuple[float, float]:
    """CPU seconds between two thread_cpu_seconds() readings: of the calling
    thread (the event loop's), and of the others together. A thread that
    ended in between is not counted (its time went with it)."""
    me = threading.get_native_id()
    spent = {tid: seconds - before.get(tid, 0.0) for tid, seconds in after.items()}
    return spent.pop(me, 0.0), sum(spent.values())


async def drive(calls: Sequence[Call], seconds: float,
                check: Callable[[object], bool] = lambda reply: True,
                peer_cpu: Callable[[], float] | None = None) -> Sample:
    """One coroutine per entry of ``calls``, each awaiting its call in a loop
    for ``seconds``: calls per second over all of them, and each call's latency.

    Every coroutine makes one call first, untimed (connections opened, threads
    started, caches warm), whose reply must pass ``check``.

    Where the CPU time of the timed calls went, in microseconds per call: the
    loop's thread, this process's other threads, and with ``peer_cpu`` (a
    function returning the server's CPU seconds so far) the server's. On two
    cores these say whether a second thread has a core to itself.
    """
    warm = asyncio.gather(*(call() for call in calls))
    for reply in await asyncio.wait_for(warm, STUCK_AFTER):
        if not check(reply):
            raise RuntimeError(f"unexpected reply {reply!r:.80}")
    latencies = array("q")  # one loop runs every coroutine: appends never race
    stop_at = perf_counter_ns() + int(seconds * 1e9)

    async def worker(call: Call) -> None:
        clock, record = perf_counter_ns, latencies.append
        while True:
            start = clock()
            await call()
            end = clock()
            record(end - start)
            if end >= stop_at:
                return

    peer_before = peer_cpu() if peer_cpu else 0.0
    cpu_before = thread_cpu_seconds()
    started = perf_counter_ns()
    # A call that never returns would hang the whole run: fail this sample instead.
    await asyncio.wait_for(asyncio.gather(*(worker(call) for call in calls)),
                           seconds + STUCK_AFTER)
    elapsed = (perf_counter_ns() - started) / 1e9
    loop, others = cpu_between(cpu_before, thread_cpu_seconds())  # before the clients close
    per_call = 1e6 / max(len(latencies), 1)
    cpu = {"loop_cpu_us_per_call": loop * per_call,
           "other_threads_cpu_us_per_call": others * per_call}
    if peer_cpu:
        cpu["server_cpu_us_per_call"] = (peer_cpu() - peer_before) * per_call
    return Sample.from_latencies(len(latencies) / elapsed, latencies, **cpu)
