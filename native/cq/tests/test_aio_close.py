"""Closing a client with calls in flight fails them at once and never hangs."""

import asyncio
import threading

import cq
import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, run
from cq_peers import open_fds, os_threads, start_server, stop_server, wait_for_baseline

pytestmark = pytest.mark.timeout(60)

PROMPT = 30.0  # a generous bound for what must not wait for the server


@pytest.fixture
def slow_server():
    """SLOW answers only at teardown, so calls are surely in flight when we
    close, and a close() that returned cannot have waited for their replies."""
    release = threading.Event()
    running = start_server(threads=4, SLOW=lambda: release.wait(PROMPT) and "late")
    yield running
    release.set()
    stop_server(running)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_close_with_calls_in_flight(slow_server, strategy, loop_factory):
    async def main():
        client = await cq.aio.connect("127.0.0.1", slow_server.port, strategy=strategy)
        calls = [asyncio.ensure_future(client.call("SLOW")) for _ in range(8)]
        await asyncio.sleep(0.1)  # most are sent by now; none will be answered
        await asyncio.wait_for(client.close(), PROMPT)
        results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True),
                                         PROMPT)
        for result in results:
            # sync: a worker that had not started its call yet finds it closed.
            assert isinstance(result, (cq.ClosedError, RuntimeError)), result
        assert any(isinstance(r, cq.ClosedError) for r in results)
        with pytest.raises(RuntimeError):
            await client.call("PING")
        await client.close()  # idempotent

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_close_right_after_connect_and_repeatedly(cq_server, strategy, loop_factory):
    async def main():
        for _ in range(20):
            client = await cq.aio.connect("127.0.0.1", cq_server.port, strategy=strategy)
            await client.close()

    run(main(), loop_factory)  # once first: thread pools and caches that stay are not leaks
    fds, threads = open_fds(), os_threads()
    run(main(), loop_factory)
    wait_for_baseline(fds, threads)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_peer_gone_fails_calls_with_closed_error(strategy, loop_factory):
    running = start_server()

    async def main():
        client = await cq.aio.connect("127.0.0.1", running.port, strategy=strategy)
        try:
            assert await client.call("PING") == "PONG"
            stop_server(running)  # closes every connection
            with pytest.raises((cq.ClosedError, ConnectionError, RuntimeError)):
                await client.call("PING")
        finally:
            await client.close()

    run(main(), loop_factory)
