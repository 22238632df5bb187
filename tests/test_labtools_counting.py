"""labtools' counting helpers, which lab 06 section 7 trusts: /proc counters per
thread, and the stand-in load generator used where redis-benchmark is absent."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "labs"))
import labtools

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads Linux's /proc")


def test_thread_counters_count_one_threads_writes_exactly():
    """25 write() calls in one thread are 25 writes of that thread, whatever the
    others do; it slept at least once (it waited for the signal to start)."""
    read_end, write_end = os.pipe()
    go, done, finish = threading.Event(), threading.Event(), threading.Event()
    tid: list[int] = []

    def writer() -> None:
        tid.append(threading.get_native_id())
        go.wait()
        for _ in range(25):
            os.write(write_end, b"x")
        done.set()
        finish.wait()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not tid:
            threading.Event().wait(0.01)
        before = labtools.thread_counters(os.getpid())
        go.set()
        assert done.wait(30), "the writer thread never finished"
        after = labtools.thread_counters(os.getpid())
    finally:
        go.set()
        finish.set()
        thread.join()
        os.close(read_end)
        os.close(write_end)
    counted = labtools.counted_between(before, after)
    assert counted[tid[0]]["writes"] == 25, counted[tid[0]]
    assert counted[tid[0]]["reads"] == 0, counted[tid[0]]
    assert counted[tid[0]]["sleeps"] >= 1, counted[tid[0]]
    assert counted[tid[0]]["cpu_ns"] > 0, counted[tid[0]]


def test_pipelined_gets_sends_exactly_the_requests_asked_for():
    """Every request is sent and answered once, however they split over the
    connections (1000 over 7 connections does not divide evenly)."""
    cq_aio = pytest.importorskip("cq.aio")
    served: list[int] = []
    ready = threading.Event()
    state: dict = {}

    def handler(*args: bytes) -> bytes:
        served.append(1)
        assert args[0] == b"GET", args
        return b"xxx"

    async def serve() -> None:
        server = await cq_aio.serve("127.0.0.1", 0, handler, strategy="poller")
        state["port"], state["stop"] = server.port, asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        ready.set()
        await state["stop"].wait()
        await server.close()

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(30), "the server did not start"
        rate = labtools.pipelined_gets(state["port"], 1000, clients=7, pipeline=16)
    finally:
        if "loop" in state:
            state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(30)
    assert len(served) == 1000
    assert rate > 0
