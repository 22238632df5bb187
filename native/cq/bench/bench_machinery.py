"""What many clients cost, per strategy: threads and fds, and what a pool buys.

Every cq.aio client of one loop and strategy shares that loop's queue and
machinery, so N clients should add N sockets and a constant number of
threads. This counts both (Linux /proc) for 1, 100 and 1,000 clients of each
strategy against one redis-server, then compares calls/s of one pipelined
connection with pools of 16 and 64 connections (``connections=N``), with 64
calls in flight. Run: ``python bench_machinery.py [--quick] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cq.aio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from cq_peers import find_redis_binary, free_port, wait_for_port


def threads_and_fds() -> tuple[int, int]:
    return len(os.listdir("/proc/self/task")), len(os.listdir("/proc/self/fd"))


async def count_clients(port: int, strategy: str, clients: int) -> dict[str, int]:
    threads, fds = threads_and_fds()
    opened = []
    try:
        for start in range(0, clients, 100):  # in batches: redis' accept backlog
            opened += await asyncio.gather(*(cq.aio.connect("127.0.0.1", port, strategy=strategy)
                                             for _ in range(min(100, clients - start))))
        await asyncio.gather(*(c.call("PING") for c in opened))  # sync: workers started
        now_threads, now_fds = threads_and_fds()
        return {"strategy": strategy, "clients": clients, "threads_added": now_threads - threads,
                "fds_added": now_fds - fds}
    finally:
        await asyncio.gather(*(c.close() for c in opened))


async def pool_rate(port: int, strategy: str, connections: int, seconds: float) -> float:
    client = await cq.aio.connect("127.0.0.1", port, strategy=strategy, connections=connections,
                                  workers=64)
    try:
        count = 0
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop_at:
                await client.call("ECHO", b"x" * 16)
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        return count / (time.perf_counter() - started)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clients, shorter runs")
    parser.add_argument("--out", type=Path, default=Path("_build/bench/machinery.json"))
    args = parser.parse_args()
    binary = find_redis_binary("redis-server")
    if binary is None:
        sys.exit("redis-server not found (apt-get install redis-server)")
    port = free_port()
    redis = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--maxclients", "4000"],
                             stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        sizes = (1, 100) if args.quick else (1, 100, 1000)
        seconds = 0.5 if args.quick else 2.0
        counts, rates = [], []
        for strategy in cq.aio.STRATEGIES:
            for clients in sizes:
                row = asyncio.run(count_clients(port, strategy, clients))
                print(f"{strategy:12} {clients:5} clients: +{row['threads_added']} threads, "
                      f"+{row['fds_added']} fds", flush=True)
                counts.append(row)
        for repeat in range(1 if args.quick else 3):
            for strategy in cq.aio.STRATEGIES:
                for connections in (1, 16, 64):
                    rate = asyncio.run(pool_rate(port, strategy, connections, seconds))
                    print(f"repeat {repeat}: {strategy:12} {connections:3} connections: "
                          f"{rate:9.0f} calls/s", flush=True)
                    rates.append({"strategy": strategy, "connections": connections,
                                  "repeat": repeat, "calls_per_s": rate})
    finally:
        redis.terminate()
        redis.wait(10)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"load": os.getloadavg(), "counts": counts,
                                    "pool_rates": rates}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
