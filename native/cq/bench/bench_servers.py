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
import functools
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import bench_redis
import cq.aio
from bench_process import announce, child_process, cpu_seconds, main_thread_seconds
from bench_samples import Sample
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


@dataclass(frozen=True)
class Served:
    """A server running for the benchmark: its port, and readers of the CPU time it
    has used so far (every thread; for cq.aio's servers and the streams server,
    whose loops run on their main thread, also that thread's running time and the
    time it waited for a core)."""

    port: int
    cpu: dict[str, Callable[[], float]]  # figure name -> reader of CPU seconds


SERVER_CPU = "server_cpu_us_per_request"
LOOP_CPU = "loop_cpu_us_per_request"
LOOP_WAIT = "loop_wait_us_per_request"  # runnable, but waiting for a core
LOAD_CPU = "redis_benchmark_cpu_us_per_request"  # the load generator's own


@contextmanager
def server(kind: str, redis_binary: str | None = None) -> Iterator[Served]:
    """Start one server (own process)."""
    if kind == "redis-server":
        with bench_redis.redis_server(redis_binary) as port:
            bench_redis.preset(port, {BENCHMARK_KEY: VALUE})
            yield Served(port, {SERVER_CPU: functools.partial(bench_redis.cpu_seconds, port)})
        return
    argv = ([sys.executable, str(HERE / "resp_streams_server.py")] if kind == STREAMS
            else [sys.executable, str(Path(__file__).resolve()), "--serve", kind])
    with child_process(argv, kind) as child:
        yield Served(child.port, {
            SERVER_CPU: functools.partial(cpu_seconds, child.pid),
            LOOP_CPU: functools.partial(main_thread_seconds, child.pid),
            LOOP_WAIT: functools.partial(main_thread_seconds, child.pid, waiting=True)})


def compare(strategies: list[str], repeats: int, requests: dict[int, int]) -> None:
    """Each server in its own process, driven in turn by redis-benchmark -c 50 -t get
    (the repeats interleave); prints requests/s, the ratio to the streams server,
    the server's CPU microseconds per request (all threads, and the loop's thread
    alone: the rest is the poller's or the workers'; and how long the loop's
    thread waited for a core) and redis-benchmark's own, then the medians."""
    binary = bench_redis.find_redis_binary("redis-benchmark")
    kinds = [f"cq.aio {strategy}" for strategy in strategies] + [STREAMS]
    runs: dict[tuple[str, int], list[Sample]] = {}
    with ExitStack() as stack:
        servers = {kind: stack.enter_context(server(kind)) for kind in kinds}
        for repeat in range(repeats):
            for pipeline, count in requests.items():
                for kind, running in servers.items():
                    sample = bench_redis.redis_benchmark(
                        binary, running.port, clients=CLIENTS, pipeline=pipeline,
                        requests=count, test="get", cpu=running.cpu)
                    runs.setdefault((kind, pipeline), []).append(sample)
                    print(f"repeat {repeat + 1} -P {pipeline:<2} {kind:18} {sample.rate:9.0f}/s "
                          f"{_cpu_split(sample.extra)}  load {os.getloadavg()[0]:.1f}",
                          flush=True)
    print("\nmedians; x = requests/s over the streams server's (range over the repeats)")
    for pipeline in requests:
        base = runs[(STREAMS, pipeline)]
        for kind in kinds:
            mine = runs[(kind, pipeline)]
            ratios = [a.rate / b.rate for a, b in zip(mine, base, strict=True)]
            medians = {name: statistics.median(s.extra[name] for s in mine)
                       for name in mine[0].extra}
            print(f"-P {pipeline:<2} {kind:18} {statistics.median(s.rate for s in mine):9.0f}/s "
                  f"x{statistics.median(ratios):5.2f} ({min(ratios):.2f}-{max(ratios):.2f}) "
                  f"{_cpu_split(medians)}")


def _cpu_split(figures: dict[str, float]) -> str:
    return (f"{figures[SERVER_CPU]:5.1f} us CPU/request (loop's thread "
            f"{figures[LOOP_CPU]:4.1f}, waited for a core {figures[LOOP_WAIT]:4.1f}; "
            f"redis-benchmark {figures[LOAD_CPU]:4.1f})")


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
