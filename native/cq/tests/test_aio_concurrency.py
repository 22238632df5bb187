"""Many calls in flight at once, from many coroutines, each gets its own reply."""

import asyncio

import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, run

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_many_calls_in_flight(cq_server, strategy, loop_factory):
    async def main():
        client = await cq.aio.connect("127.0.0.1", cq_server.port, strategy=strategy)
        try:
            replies = await asyncio.gather(*(client.call("ECHO", f"m{i}") for i in range(1000)))
            assert replies == [f"m{i}".encode() for i in range(1000)]

            async def worker(w):
                for i in range(50):
                    assert await client.call("ECHO", f"{w}:{i}") == f"{w}:{i}".encode()

            await asyncio.gather(*(worker(w) for w in range(32)))
        finally:
            await client.close()

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", ["iomgr", "callback", "poller_byte", "poller"])
def test_many_clients_on_one_loop(cq_server, strategy, loop_factory):
    async def main():
        clients = [await cq.aio.connect("127.0.0.1", cq_server.port, strategy=strategy)
                   for _ in range(8)]
        try:
            replies = await asyncio.gather(*(c.call("ECHO", f"c{n}") for n, c in enumerate(clients)
                                             for _ in range(20)))
            assert replies == [f"c{n}".encode() for n in range(8) for _ in range(20)]
        finally:
            await asyncio.gather(*(c.close() for c in clients))

    run(main(), loop_factory)
