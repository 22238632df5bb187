"""Closing a client with calls in flight fails them at once and never hangs."""

import asyncio
import time

import cq
import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, run
from cq_peers import start_server, stop_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def slow_server():
    """SLOW answers after 0.5 s, so calls are surely in flight when we close."""
    running = start_server(threads=4, SLOW=lambda: time.sleep(0.5) or "late")
    yield running
    stop_server(running)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_close_with_calls_in_flight(slow_server, strategy):
    async def main():
        client = await cq.aio.connect("127.0.0.1", slow_server.port, strategy=strategy)
        calls = [asyncio.ensure_future(client.call("SLOW")) for _ in range(8)]
        await asyncio.sleep(0.1)  # sent, not answered
        started = time.monotonic()
        await client.close()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert time.monotonic() - started < 0.45, "close waited for the replies"
        for result in results:
            # sync: a worker that had not started its call yet finds it closed.
            assert isinstance(result, (cq.ClosedError, RuntimeError)), result
        assert any(isinstance(r, cq.ClosedError) for r in results)
        with pytest.raises(RuntimeError):
            await client.call("PING")
        await client.close()  # idempotent

    run(main())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_close_right_after_connect_and_repeatedly(cq_server, strategy):
    async def main():
        for _ in range(20):
            client = await cq.aio.connect("127.0.0.1", cq_server.port, strategy=strategy)
            await client.close()

    run(main())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_peer_gone_fails_calls_with_closed_error(strategy):
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

    run(main())
