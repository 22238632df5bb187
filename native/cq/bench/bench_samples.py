"""One measurement (a rate with its p50/p99 latency) and how repeats are summarised.

Clients time every call with ``perf_counter_ns`` around the await: two clock
reads and an append per call, about 0.1 us against calls of 10 us or more.
``drive()`` is the loop every asyncio client in the benchmark shares (cq.aio's
strategies and redis.asyncio), so they pay the same for being measured.
"""

from __future__ import annotations

import asyncio
import statistics
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


async def drive(calls: Sequence[Call], seconds: float,
                check: Callable[[object], bool] = lambda reply: True) -> Sample:
    """One coroutine per entry of ``calls``, each awaiting its call in a loop
    for ``seconds``: calls per second over all of them, and each call's latency.

    Every coroutine makes one call first, untimed (connections opened, threads
    started, caches warm), whose reply must pass ``check``.
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

    started = perf_counter_ns()
    # A call that never returns would hang the whole run: fail this sample instead.
    await asyncio.wait_for(asyncio.gather(*(worker(call) for call in calls)),
                           seconds + STUCK_AFTER)
    elapsed = (perf_counter_ns() - started) / 1e9
    return Sample.from_latencies(len(latencies) / elapsed, latencies)
