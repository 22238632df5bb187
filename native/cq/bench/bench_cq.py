"""Unary-call throughput of the sync stack, against our server and redis-server.

Two measurements, each against both servers on loopback:

* the sync client (``cq.Client``): calls per second from 1 and 16 threads
  sharing one client (so 16 threads pipeline on one connection);
* ``redis-benchmark -t ping``: the servers' side, driven by an independent tool;
* cq.aio's six integration strategies against our server (``bench_aio.py``),
  1 and 16 coroutines, with each one's ratio to the ``sync`` strategy;
* grpcio (sync vs grpc.aio) and plain asyncio streams / uvloop echoing the
  same 16 bytes (``bench_grpc.py``), with ratios to grpc's sync stack.

Our server runs as ``python -m cq serve`` in its own process, like
redis-server, so the client's Python threads never share a GIL with it.
Writes JSON (machine, versions, medians, spread) for the benchmarks page.
Run by ``nox -s cq-bench``; ``--quick`` takes a few seconds.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import bench_aio
import bench_grpc
import benchmeta
import cq


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def server(kind: str):
    """Start one server in its own process; yields its port."""
    port = free_port()
    if kind == "cq":
        argv = [sys.executable, "-m", "cq", "serve", "--port", str(port)]
    else:
        argv = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def client_qps(port: int, threads: int, seconds: float) -> float:
    """Calls per second: ``threads`` threads calling ECHO on one shared client."""
    payload = b"x" * 16
    counts = [0] * threads
    stop = threading.Event()
    with cq.Client("127.0.0.1", port) as client:
        client.call("ECHO", payload)  # connected and warm

        def worker(i: int) -> None:
            n = 0
            while not stop.is_set():
                client.call("ECHO", payload)
                n += 1
            counts[i] = n

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed


def redis_benchmark(port: int, requests: int) -> dict[str, float]:
    """Requests per second of redis-benchmark's PING tests (50 clients)."""
    done = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "ping", "-n", str(requests), "--csv"],
        capture_output=True, text=True, timeout=600, check=True,
    )
    rows = csv.reader(io.StringIO(done.stdout))
    return {row[0]: float(row[1]) for row in rows if row and row[0].startswith("PING")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for checks")
    args = parser.parse_args()
    seconds, repeats, requests = (0.5, 2, 20_000) if args.quick else (3.0, 5, 200_000)

    servers = ["cq"] + (["redis"] if shutil.which("redis-server") else [])
    if len(servers) == 1:
        print("redis-server not found: measuring our server only", file=sys.stderr)
    qps: dict[tuple[str, int], list[float]] = {}
    rps: dict[tuple[str, str], list[float]] = {}
    for name in servers:
        with server(name) as port:
            # Interleave configurations repeat by repeat so a burst of load on
            # the machine slows all of them alike.
            for _ in range(repeats):
                for threads in (1, 16):
                    qps.setdefault((name, threads), []).append(
                        client_qps(port, threads, seconds))
                if shutil.which("redis-benchmark"):
                    for test, value in redis_benchmark(port, requests).items():
                        rps.setdefault((name, test), []).append(value)

    # The asyncio layer's six integration strategies, against our server.
    with server("cq") as port:
        aio_rows = bench_aio.measure(port, min(seconds, 2.0), repeats)
    # The talk's peers: grpcio sync vs grpc.aio, asyncio streams and uvloop.
    peers = bench_grpc.measure(min(seconds, 1.5), repeats)

    payload = {
        "machine": benchmeta.machine(["cython", "meson", "meson-python", "grpcio", "uvloop"]),
        "quick": args.quick,
        "seconds_per_sample": seconds,
        "redis_benchmark_requests": requests,
        "client_qps": [
            {"server": name, "threads": threads, "qps": benchmeta.summarize(samples)}
            for (name, threads), samples in qps.items()
        ],
        "redis_benchmark": [
            {"server": name, "test": test, "rps": benchmeta.summarize(samples)}
            for (name, test), samples in rps.items()
        ],
        "aio_qps": aio_rows,
        **peers,  # "grpc_qps" and "asyncio_peers"
    }
    for row in payload["client_qps"]:
        print(f"sync client -> {row['server']:5} {row['threads']:2} threads: "
              f"{row['qps']['median']:>9,.0f} calls/s")
    for row in payload["redis_benchmark"]:
        print(f"redis-benchmark -> {row['server']:5} {row['test']:12}: "
              f"{row['rps']['median']:>9,.0f} requests/s")
    bench_aio.report(aio_rows)
    bench_grpc.report(peers)
    benchmeta.write(args.out, payload)


if __name__ == "__main__":
    main()
