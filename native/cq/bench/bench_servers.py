"""The servers compared: cq.aio's server on each driver strategy, a plain
asyncio-streams RESP server, and redis-server, all driven by redis-benchmark.

cq.aio's server and the streams server answer GET from a Python handler with
the same fixed value (``resp_streams_server.VALUE``); redis-server answers it
from its store, where the key redis-benchmark asks for holds that value. Each
server runs in its own process: ``python bench_servers.py --serve KIND``
starts one (it prints its port first). ``python bench_servers.py --compare``
is the short check while optimising a server: every cq.aio strategy and the
streams server side by side, interleaved, with each server's CPU time per
request (steadier than requests/s on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bench_redis
import cq.aio
from bench_process import announce, child_server
from resp_streams_server import VALUE

HERE = Path(__file__).resolve().parent
CLIENTS = 50  # redis-benchmark's default number of connections
BENCHMARK_KEY = "key:__rand_int__"  # what `redis-benchmark -t get` asks for, without -r
STREAMS = "asyncio streams"


def kinds(with_redis: bool) -> list[str]:
    """Every server measured: ``cq.aio <strategy>``, the streams server, redis-server."""
    ours = [f"cq.aio {strategy}" for strategy in cq.aio.SERVER_STRATEGIES]
    return ours + [STREAMS] + (["redis-server"] if with_redis else [])


def handler(*args: bytes) -> bytes:
    """GET answers VALUE, as resp_streams_server.handle does; the rest is an error."""
    if args[0].upper() == b"GET":
        return VALUE
    raise ValueError(f"unknown command {args[0]!r}")


async def serve_cq_aio(strategy: str) -> None:
    server = await cq.aio.serve("127.0.0.1", 0, handler, strategy=strategy)
    announce(server.port)
    await asyncio.Event().wait()  # until the parent terminates us


@contextmanager
def server(kind: str, redis_binary: str | None = None) -> Iterator[int]:
    """Start one server (own process); yields its port."""
    if kind == "redis-server":
        with bench_redis.redis_server(redis_binary) as port:
            bench_redis.preset(port, {BENCHMARK_KEY: VALUE})
            yield port
    elif kind == STREAMS:
        with child_server([sys.executable, str(HERE / "resp_streams_server.py")], kind) as port:
            yield port
    else:
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve", kind]
        with child_server(argv, kind) as port:
            yield port


def _cpu_seconds(pid: int, thread: bool = False) -> float:
    """User + system time of a process, every thread included (Linux /proc);
    with ``thread``, of its main thread alone (the one running the event loop)."""
    path = f"/proc/{pid}/task/{pid}/stat" if thread else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compare(strategies: list[str], repeats: int, requests: dict[int, int]) -> None:
    """Each server in its own process, driven in turn by redis-benchmark -c 50 -t get
    (the repeats interleave); prints requests/s, the ratio to the streams server
    and the server's CPU microseconds per request (all threads, and the loop's
    thread alone: the rest is the poller's or the workers'), then the medians."""
    binary = bench_redis.find_redis_binary("redis-benchmark")
    kinds = [f"cq.aio {strategy}" for strategy in strategies] + [STREAMS]
    procs: dict[str, tuple[subprocess.Popen, int]] = {}
    runs: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    try:
        for kind in kinds:
            argv = ([sys.executable, str(HERE / "resp_streams_server.py")] if kind == STREAMS
                    else [sys.executable, str(Path(__file__).resolve()), "--serve", kind])
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
            procs[kind] = proc, int(proc.stdout.readline())
        for repeat in range(repeats):
            for pipeline, count in requests.items():
                for kind, (proc, port) in procs.items():
                    before = _cpu_seconds(proc.pid), _cpu_seconds(proc.pid, thread=True)
                    sample = bench_redis.redis_benchmark(binary, port, clients=CLIENTS,
                                                         pipeline=pipeline, requests=count,
                                                         test="get")
                    cpu_us = (_cpu_seconds(proc.pid) - before[0]) / count * 1e6
                    loop_us = (_cpu_seconds(proc.pid, thread=True) - before[1]) / count * 1e6
                    runs.setdefault((kind, pipeline), []).append((sample.rate, cpu_us, loop_us))
                    print(f"repeat {repeat + 1} -P {pipeline:<2} {kind:18} {sample.rate:9.0f}/s "
                          f"{cpu_us:6.1f} us CPU/request (loop's thread {loop_us:4.1f})  "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait()
    print("\nmedians; x = requests/s over the streams server's (range over the repeats)")
    for pipeline in requests:
        base = runs[(STREAMS, pipeline)]
        for kind in kinds:
            mine = runs[(kind, pipeline)]
            ratios = [a[0] / b[0] for a, b in zip(mine, base, strict=True)]
            print(f"-P {pipeline:<2} {kind:18} {statistics.median(r[0] for r in mine):9.0f}/s "
                  f"x{statistics.median(ratios):5.2f} ({min(ratios):.2f}-{max(ratios):.2f}) "
                  f"{statistics.median(r[1] for r in mine):6.1f} us CPU/request "
                  f"(loop's thread {statistics.median(r[2] for r in mine):4.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--serve", choices=kinds(False)[:-1], metavar="KIND",
                      help="run cq.aio's server on one strategy, e.g. 'cq.aio poller'")
    mode.add_argument("--compare", action="store_true",
                      help="the short side-by-side run (see the module's docstring)")
    parser.add_argument("--strategies", default=",".join(cq.aio.SERVER_STRATEGIES),
                        help="with --compare: the cq.aio strategies, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("-n", type=int, nargs=2, default=(20_000, 80_000), metavar=("P1", "P16"),
                        help="with --compare: requests per run at -P 1 and at -P 16")
    args = parser.parse_args()
    if args.compare:
        compare(args.strategies.split(","), args.repeats, {1: args.n[0], 16: args.n[1]})
    else:
        asyncio.run(serve_cq_aio(args.serve.removeprefix("cq.aio ")))


if __name__ == "__main__":
    main()
