"""Unary-call throughput and latency of grpcio (sync vs grpc.aio) and plain asyncio streams.

The peers of our core in the talk's chart: a unary echo of 16 bytes on
loopback, 1 and 16 concurrent calls sharing one channel (or connection).

* grpcio without protoc: a generic handler for ``/bench.Echo/Echo`` whose
  messages are raw bytes. Four pairs tell the client side from the server
  side: sync client -> sync server (``grpc.server`` on a thread pool),
  grpc.aio client -> grpc.aio server, and the two crossed pairs. The sync
  client calls from N threads, the aio client from N coroutines.
* asyncio streams with a length-prefixed echo, once on the default event loop
  and once on uvloop (client and server on the same kind of loop): what an
  event loop costs per call with no RPC framework at all.

Every server runs in its own process (this file, ``--serve KIND``), so the
client's Python never shares a GIL with it. Configurations are interleaved
repeat by repeat; each median is also given as a ratio to the grpc sync pair
at the same concurrency. ``bench_cq.py`` calls ``measure()``; run alone it
writes its own JSON: ``--out PATH [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import threading
import time
from array import array
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import grpc.aio

# Its neighbours in bench/, also when a test loads this file by path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_process import announce, child_server
from bench_samples import Sample, drive

try:
    import uvloop
except ImportError:  # uvloop has no Windows build; the default loop is still measured
    uvloop = None

PAYLOAD = b"x" * 16
METHOD = "/bench.Echo/Echo"
GRPC_SERVERS = ("sync", "aio")
# (client, server) pairs; the first is the baseline of every ratio.
GRPC_PAIRS = (("sync", "sync"), ("aio", "aio"), ("sync", "aio"), ("aio", "sync"))
LOOPS = ("asyncio", "uvloop") if uvloop is not None else ("asyncio",)
SERVER_THREADS = 16  # the sync server needs a thread per concurrent call

# ---------------------------------------------------------------- servers


def _echo(request: bytes, context) -> bytes:
    return request


async def _echo_async(request: bytes, context) -> bytes:
    return request


def _handler(behaviour) -> grpc.GenericRpcHandler:
    # No serializers given (None) means grpcio passes the bytes through untouched:
    # the identity, so the benchmark measures the transport and not protobuf.
    echo = grpc.unary_unary_rpc_method_handler(
        behaviour, request_deserializer=None, response_serializer=None)
    return grpc.method_handlers_generic_handler("bench.Echo", {"Echo": echo})


def serve_grpc_sync() -> None:
    server = grpc.server(ThreadPoolExecutor(max_workers=SERVER_THREADS))
    server.add_generic_rpc_handlers((_handler(_echo),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    announce(port)
    server.wait_for_termination()


async def serve_grpc_aio() -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_handler(_echo_async),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    announce(port)
    await server.wait_for_termination()


async def _echo_frames(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One connection of the plain protocol: 4-byte big-endian length, then bytes."""
    try:
        while True:
            header = await reader.readexactly(4)
            body = await reader.readexactly(int.from_bytes(header, "big"))
            writer.write(header + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client went away
    finally:
        writer.close()


async def serve_streams() -> None:
    server = await asyncio.start_server(_echo_frames, "127.0.0.1", 0)
    announce(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def _run_on(loop_kind: str, coroutine_function, *args):
    factory = uvloop.new_event_loop if loop_kind == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine_function(*args))


def serve(kind: str) -> None:
    """Run one server until terminated (in the child process)."""
    if kind == "grpc-sync":
        serve_grpc_sync()
    elif kind == "grpc-aio":
        asyncio.run(serve_grpc_aio())
    elif kind in ("asyncio", "uvloop"):
        _run_on(kind, serve_streams)
    else:
        raise ValueError(f"unknown server kind {kind!r}")


def server(kind: str, timeout: float = 30.0):
    """Start one server in its own process; a context manager yielding its port."""
    return child_server([sys.executable, str(Path(__file__).resolve()), "--serve", kind],
                        kind, timeout)


# ---------------------------------------------------------------- clients


def _grpc_sync_sample(port: int, threads: int, seconds: float) -> Sample:
    latencies = [array("q") for _ in range(threads)]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        if echo(PAYLOAD) != PAYLOAD:  # connected and warm
            raise RuntimeError("grpc server did not echo")
        stop_at = time.perf_counter_ns() + int(seconds * 1e9)

        def worker(i: int) -> None:
            clock, record = time.perf_counter_ns, latencies[i].append
            while True:
                start = clock()
                echo(PAYLOAD)
                end = clock()
                record(end - start)
                if end >= stop_at:
                    return

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - started
    merged = array("q")
    for part in latencies:
        merged.extend(part)
    return Sample.from_latencies(len(merged) / elapsed, merged)


def _is_payload(reply: object) -> bool:
    return reply == PAYLOAD


async def _grpc_aio_sample(port: int, concurrency: int, seconds: float) -> Sample:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        return await drive([lambda: echo(PAYLOAD)] * concurrency, seconds, _is_payload)


class FramedClient:
    """One connection of the plain protocol, shared by many coroutines.

    Calls pipeline: each writes its frame and waits on a future; one reader
    task resolves the futures in order (the server answers in order)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._writer = writer
        self._waiting: collections.deque[asyncio.Future] = collections.deque()
        self._reader_task = asyncio.get_running_loop().create_task(self._read_replies(reader))

    @classmethod
    async def connect(cls, port: int) -> FramedClient:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def call(self, payload: bytes) -> bytes:
        reply = asyncio.get_running_loop().create_future()
        self._waiting.append(reply)
        self._writer.write(len(payload).to_bytes(4, "big") + payload)
        return await reply

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                header = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(header, "big"))
                self._waiting.popleft().set_result(body)
        except Exception as error:  # the connection broke: fail every waiting call
            while self._waiting:
                self._waiting.popleft().set_exception(ConnectionError(str(error)))

    async def close(self) -> None:
        self._reader_task.cancel()
        self._writer.close()
        await self._writer.wait_closed()


async def _streams_sample(port: int, concurrency: int, seconds: float) -> Sample:
    client = await FramedClient.connect(port)
    try:
        return await drive([lambda: client.call(PAYLOAD)] * concurrency, seconds, _is_payload)
    finally:
        await client.close()


def grpc_sample(client: str, port: int, concurrency: int, seconds: float) -> Sample:
    """Calls per second and latency of the ``client`` ("sync" or "aio") grpc stack."""
    if client == "sync":
        return _grpc_sync_sample(port, concurrency, seconds)
    if client == "aio":
        return asyncio.run(_grpc_aio_sample(port, concurrency, seconds))
    raise ValueError(f"unknown grpc client {client!r}")


def grpc_qps(client: str, port: int, concurrency: int, seconds: float) -> float:
    """Calls per second of the ``client`` ("sync" or "aio") grpc stack on ``port``."""
    return grpc_sample(client, port, concurrency, seconds).rate


def streams_sample(loop_kind: str, port: int, concurrency: int, seconds: float) -> Sample:
    """Calls per second and latency of the plain asyncio client on a fresh loop."""
    return _run_on(loop_kind, _streams_sample, port, concurrency, seconds)


def streams_qps(loop_kind: str, port: int, concurrency: int, seconds: float) -> float:
    """Calls per second of the plain asyncio client on a fresh ``loop_kind`` loop."""
    return streams_sample(loop_kind, port, concurrency, seconds).rate


@contextmanager
def servers():
    """Every server of this file at once; yields {kind: port}."""
    with server("grpc-sync") as sync_port, server("grpc-aio") as aio_port, \
            server("asyncio") as asyncio_port, \
            (server("uvloop") if "uvloop" in LOOPS else _no_server()) as uvloop_port:
        yield {"grpc-sync": sync_port, "grpc-aio": aio_port, "asyncio": asyncio_port,
               "uvloop": uvloop_port}


# ---------------------------------------------------------------- the run


def measure(seconds: float, repeats: int, concurrencies: tuple[int, ...] = (1, 16)) -> dict:
    """Samples of every grpc pair and every asyncio peer, with each median's
    ratio to the grpc sync -> sync pair's median at the same concurrency."""
    from bench_samples import summarize

    grpc_samples: dict[tuple[str, str, int], list[Sample]] = {}
    loop_samples: dict[tuple[str, int], list[Sample]] = {}
    with servers() as ports:
        for _ in range(repeats):
            for concurrency in concurrencies:
                for client, server_kind in GRPC_PAIRS:
                    grpc_samples.setdefault((client, server_kind, concurrency), []).append(
                        grpc_sample(client, ports[f"grpc-{server_kind}"], concurrency, seconds))
                for loop_kind in LOOPS:
                    loop_samples.setdefault((loop_kind, concurrency), []).append(
                        streams_sample(loop_kind, ports[loop_kind], concurrency, seconds))

    def row(samples: list[Sample]) -> dict:
        figures = summarize(samples)
        return {"qps": figures.pop("per_s"), **figures}

    grpc_rows = [{"client": c, "server": s, "concurrency": n, **row(v)}
                 for (c, s, n), v in grpc_samples.items()]
    baseline = {r["concurrency"]: r["qps"]["median"] for r in grpc_rows
                if (r["client"], r["server"]) == GRPC_PAIRS[0]}
    loop_rows = [{"loop": k, "concurrency": n, **row(v)} for (k, n), v in loop_samples.items()]
    for r in grpc_rows + loop_rows:
        r["ratio_to_grpc_sync"] = r["qps"]["median"] / baseline[r["concurrency"]]
    return {"grpc_qps": grpc_rows, "asyncio_peers": loop_rows}


@contextmanager
def _no_server():
    yield None


def report(result: dict) -> None:
    for row in result["grpc_qps"]:
        name = f"grpc {row['client']:>4} client -> {row['server']:>4} server"
        print(f"{name:33} x{row['concurrency']:<3}: {row['qps']['median']:>9,.0f} calls/s  "
              f"({row['ratio_to_grpc_sync']:.2f}x grpc sync)")
    for row in result["asyncio_peers"]:
        name = f"{row['loop']} streams"
        print(f"{name:33} x{row['concurrency']:<3}: {row['qps']['median']:>9,.0f} calls/s  "
              f"({row['ratio_to_grpc_sync']:.2f}x grpc sync)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for checks")
    parser.add_argument("--serve", metavar="KIND",
                        choices=("grpc-sync", "grpc-aio", "asyncio", "uvloop"),
                        help="run one server and print its port (used by measure())")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if not args.out:
        parser.error("--out is required (unless --serve)")

    import benchmeta

    # 12 configurations: full mode is about 12 x 5 x 1.5 s = 90 s of sampling.
    seconds, repeats = (0.2, 1) if args.quick else (1.5, 5)
    result = measure(seconds, repeats)
    report(result)
    benchmeta.write(args.out, {
        "machine": benchmeta.machine(["grpcio", "uvloop"]),
        "quick": args.quick,
        "seconds_per_sample": seconds,
        **result,
    })


if __name__ == "__main__":
    main()
