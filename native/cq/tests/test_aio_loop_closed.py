"""A loop closed (or an interpreter leaving) while a poller runs: nothing hangs."""

import asyncio
import gc
import subprocess
import sys
import textwrap
import time

import cq
import cq.aio
import pytest
from cq_aio_helpers import settled_baseline
from cq_peers import start_server, stop_server, wait_for_baseline

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("strategy", ["iomgr", "callback", "poller_byte", "poller"])
def test_loop_closed_without_closing_the_client(strategy, loop_factory):
    running = start_server(threads=2, SLOW=lambda: time.sleep(0.3) or "late")
    try:
        fds, threads = settled_baseline(loop_factory)
        loop = loop_factory()

        async def main():
            client = await cq.aio.connect("127.0.0.1", running.port, strategy=strategy)
            assert await client.call("PING") == "PONG"
            calls = [asyncio.ensure_future(client.call("SLOW")) for _ in range(4)]
            await asyncio.sleep(0.05)
            return client, calls

        client, calls = loop.run_until_complete(main())
        for call in calls:
            call.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        del client, calls, call  # the last task's traceback holds the client
        gc.collect()  # the poller stops in its finalizer: no GIL needed by its thread
        # Its connection, wake-up socket, epoll fd and threads all go.
        wait_for_baseline(fds, threads)
    finally:
        stop_server(running)


def test_interpreter_exits_with_pollers_running(cq_server, loop_factory):
    # grpc.aio's shutdown hangs (issues 22365, 40989) came from a poller that
    # needed the GIL or blocked on a full wake-up socket at exit.
    script = textwrap.dedent(f"""
        import asyncio, cq.aio, {loop_factory.name} as loops
        clients = []
        async def main():
            for s in ("iomgr", "callback", "poller_byte", "poller"):
                c = await cq.aio.connect("127.0.0.1", {cq_server.port}, strategy=s)
                for i in range(200):
                    c._channels[0].call(["PING"], asyncio.get_running_loop().create_future())
                clients.append(c)
        loop = loops.new_event_loop()
        loop.run_until_complete(main())
        print("left running")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert "left running" in done.stdout


def test_full_wakeup_socket_never_blocks_the_poller():
    # poller_byte writes one byte per event; with nobody reading, the socket
    # fills up, and the thread must go on (EAGAIN) and still stop promptly.
    from cq._aio import Poller

    queue = cq.CompletionQueue()
    poller = Poller(queue, per_event=True)
    tags = [object() for _ in range(300_000)]
    for tag in tags:
        queue.alarm(0, tag)
    deadline = time.monotonic() + 20
    while poller.pending() < len(tags) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert poller.pending() == len(tags)
    started = time.monotonic()
    left = poller.stop()
    assert time.monotonic() - started < 5
    assert len(left) == len(tags) + 1  # every alarm, then SHUTDOWN
    assert left[-1].type == cq.SHUTDOWN
    queue.close()
