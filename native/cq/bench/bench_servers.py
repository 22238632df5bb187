"""The servers compared: cq.aio's server on each driver strategy, a plain
asyncio-streams RESP server, and redis-server, all driven by redis-benchmark.

cq.aio's server and the streams server answer GET from a Python handler with
the same fixed value (``resp_streams_server.VALUE``); redis-server answers it
from its store, where the key redis-benchmark asks for holds that value. Each
server runs in its own process: ``python bench_servers.py --serve KIND``
starts one (it prints its port first).
"""

from __future__ import annotations

import argparse
import asyncio
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", required=True, choices=kinds(False)[:-1], metavar="KIND",
                        help="run cq.aio's server on one strategy, e.g. 'cq.aio poller'")
    args = parser.parse_args()
    asyncio.run(serve_cq_aio(args.serve.removeprefix("cq.aio ")))


if __name__ == "__main__":
    main()
