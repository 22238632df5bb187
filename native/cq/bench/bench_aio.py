"""Unary-call throughput and latency of cq.aio's six integration strategies.

N coroutines on one event loop share one async client and call ECHO in a
loop for a fixed time (``qps``, ``measure``: what lab 06 runs); ``sample``
is the general form the cq benchmark sweeps: any number of clients on one
loop, any number of calls in flight on each, any command, with every call's
latency. Strategies are measured repeat by repeat against the same server,
so noise on the machine slows them alike: compare ratios, not absolute
figures. ``bench_cq.py`` calls these; run alone this file writes its own
JSON of ``measure()`` against a redis-server: ``--out PATH [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import time

import cq.aio
from bench_samples import Sample, drive

PAYLOAD = b"x" * 16

# The sync strategy's thread pool in the sweeps: cq.aio.connect's default
# (workers=16), grown to the calls in flight of one client when they are more,
# so that no call waits for a worker while another one blocks. (Earlier runs
# used one worker per call in flight of a client: 1,000 clients with one call
# each then shared a single worker.)
SYNC_POOL = 16


async def _qps(port: int, strategy: str, concurrency: int, seconds: float) -> float:
    client = await cq.aio.connect("127.0.0.1", port, strategy=strategy, workers=concurrency)
    try:
        await client.call("ECHO", PAYLOAD)  # connected and warm
        count = 0
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop_at:
                await client.call("ECHO", PAYLOAD)
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)
    finally:
        await client.close()


def qps(port: int, strategy: str, concurrency: int, seconds: float) -> float:
    """Calls per second of ``concurrency`` coroutines on one client (fresh loop)."""
    return asyncio.run(_qps(port, strategy, concurrency, seconds))


class TooSlowToConnect(RuntimeError):
    """Opening the clients took longer than the benchmark allows."""


def _count(folder: str) -> int:
    # /proc/self/fd: open fds; /proc/self/task: OS threads, native pollers included.
    try:
        return len(os.listdir(folder))
    except OSError:
        return 0


async def _open_clients(port: int, strategy: str, clients: int, workers: int,
                        deadline: float, pool: int = 1, host: str = "127.0.0.1") -> list:
    """``clients`` connections, opened concurrently, all within ``deadline`` seconds
    (else every one opened so far is closed and TooSlowToConnect raised)."""
    tasks = [asyncio.ensure_future(cq.aio.connect(host, port, strategy=strategy,
                                                  workers=workers, connections=pool))
             for _ in range(clients)]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    failed = pending or any(t.exception() is not None for t in done)
    if not failed:
        return [t.result() for t in tasks]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    opened = [t.result() for t in done if t.exception() is None]
    await asyncio.gather(*(c.close() for c in opened), return_exceptions=True)
    errors = [t.exception() for t in done if t.exception() is not None]
    if errors:
        raise errors[0]
    raise TooSlowToConnect(f"{len(opened)} of {clients} {strategy} clients connected "
                           f"within {deadline:.0f} s")


async def _sample(port: int, strategy: str, clients: int, inflight: int,
                  command: tuple, seconds: float, check, connect_deadline: float,
                  pool: int, host: str, peer_cpu) -> Sample:
    fds, threads = _count("/proc/self/fd"), _count("/proc/self/task")
    workers = max(SYNC_POOL, inflight)
    opened = await _open_clients(port, strategy, clients, workers, connect_deadline, pool,
                                 host)
    try:
        calls = [functools.partial(client.call, *command)
                 for client in opened for _ in range(inflight)]
        result = await drive(calls, seconds, check, peer_cpu)
        # Counted after the calls: the sync strategy starts its workers on demand.
        result.extra.update(fds_per_client=(_count("/proc/self/fd") - fds) / clients,
                            threads_per_client=(_count("/proc/self/task") - threads) / clients)
    finally:
        await asyncio.gather(*(c.close() for c in opened))
    return result


def sample(port: int, strategy: str, *, clients: int = 1, inflight: int = 1,
           command: tuple = ("ECHO", PAYLOAD), seconds: float = 1.0,
           check=lambda reply: True, connect_deadline: float = 60.0,
           pool: int = 1, host: str = "127.0.0.1", peer_cpu=None) -> Sample:
    """Calls per second and latency of ``clients`` clients on one fresh loop, each
    of ``pool`` connections (``connections=``) and with ``inflight`` coroutines
    calling ``command``; also the fds and OS threads each client added (the
    loop's machinery is shared: ``sync`` has ``max(SYNC_POOL, inflight)`` workers
    in all);
    ``host`` may be ``unix:PATH`` (the port is then ignored); ``peer_cpu`` as
    for bench_samples.drive."""
    return asyncio.run(_sample(port, strategy, clients, inflight, command, seconds, check,
                               connect_deadline, pool, host, peer_cpu))


def measure(port: int, seconds: float, repeats: int,
            concurrencies: tuple[int, ...] = (1, 16)) -> list[dict]:
    """Samples for every strategy and concurrency, plus each median's ratio to
    the ``sync`` strategy's median at the same concurrency (same run)."""
    import benchmeta

    samples: dict[tuple[str, int], list[float]] = {}
    for _ in range(repeats):
        for concurrency in concurrencies:
            for strategy in cq.aio.STRATEGIES:
                samples.setdefault((strategy, concurrency), []).append(
                    qps(port, strategy, concurrency, seconds))
    rows = [{"strategy": s, "concurrency": n, "qps": benchmeta.summarize(v)}
            for (s, n), v in samples.items()]
    for row in rows:
        base = next(r for r in rows
                    if r["strategy"] == "sync" and r["concurrency"] == row["concurrency"])
        row["ratio_to_sync"] = row["qps"]["median"] / base["qps"]["median"]
    return rows


def report(rows: list[dict]) -> None:
    for row in rows:
        print(f"cq.aio {row['strategy']:11} x{row['concurrency']:<3}: "
              f"{row['qps']['median']:>9,.0f} calls/s  ({row['ratio_to_sync']:.2f}x sync)")


def main() -> None:
    import bench_redis
    import benchmeta

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for checks")
    args = parser.parse_args()
    seconds, repeats = (0.3, 1) if args.quick else (2.0, 5)
    binary = bench_redis.binaries()["redis-server"]
    if binary is None:
        parser.error("redis-server not found (apt-get install redis-server)")
    with bench_redis.redis_server(binary) as port:
        rows = measure(port, seconds, repeats)
    report(rows)
    benchmeta.write(args.out, {
        "machine": benchmeta.machine(["cython", "meson", "meson-python"]),
        "quick": args.quick,
        "seconds_per_sample": seconds,
        "aio_qps": rows,
    })


if __name__ == "__main__":
    main()
