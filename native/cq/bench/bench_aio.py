"""Unary-call throughput of cq.aio's six integration strategies, in one run.

N coroutines on one event loop share one async client and call ECHO in a
loop for a fixed time; every strategy is measured against the same server
(``python -m cq serve`` in its own process, so the server never shares our
GIL), repeat by repeat, so that noise on the machine slows them alike.
Compare the ratios, not the absolute figures. ``bench_cq.py`` calls
``measure()``; run alone it writes its own JSON: ``--out PATH [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import cq.aio

PAYLOAD = b"x" * 16


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
    import benchmeta
    from bench_cq import server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for checks")
    args = parser.parse_args()
    seconds, repeats = (0.3, 1) if args.quick else (2.0, 5)
    with server("cq") as port:
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
