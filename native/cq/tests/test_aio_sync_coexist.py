"""Sync and async in one process: a cq.Client in a worker thread while the
loop serves async calls (and makes its own)."""

import asyncio
import threading

import cq
import cq.aio
import pytest
from cq_aio_helpers import run

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("strategy", ["iomgr", "callback", "poller_byte", "poller"])
def test_sync_client_in_a_worker_thread_while_the_loop_serves(strategy, loop_factory):
    async def handler(*args):
        await asyncio.sleep(0)  # a real coroutine on the loop
        return b"async:" + b" ".join(args)

    async def main():
        server = await cq.aio.serve("127.0.0.1", 0, handler, strategy=strategy)
        try:
            def sync_worker():
                with cq.Client("127.0.0.1", server.port) as client:
                    return [client.call("GREET", str(i)) for i in range(100)]

            client = await cq.aio.connect("127.0.0.1", server.port, strategy=strategy)
            try:
                worker = asyncio.get_running_loop().run_in_executor(None, sync_worker)
                mine = await asyncio.gather(*(client.call("HI", str(i)) for i in range(100)))
                theirs = await worker
            finally:
                await client.close()
            assert mine == [f"async:HI {i}".encode() for i in range(100)]
            assert theirs == [f"async:GREET {i}".encode() for i in range(100)]
        finally:
            await server.close()

    run(main(), loop_factory)


def test_sync_server_thread_and_async_clients_of_every_strategy(cq_server, loop_factory):
    results = {}

    def sync_caller():
        with cq.Client("127.0.0.1", cq_server.port) as client:
            results["sync"] = [client.call("ECHO", "s") for _ in range(200)]

    async def main():
        thread = threading.Thread(target=sync_caller)
        thread.start()
        clients = [await cq.aio.connect("127.0.0.1", cq_server.port, strategy=s)
                   for s in cq.aio.STRATEGIES]
        try:
            replies = await asyncio.gather(*(c.call("ECHO", c.strategy) for c in clients
                                             for _ in range(20)))
            assert replies == [c.strategy.encode() for c in clients for _ in range(20)]
        finally:
            await asyncio.gather(*(c.close() for c in clients))
            await asyncio.to_thread(thread.join)

    run(main(), loop_factory)
    assert results["sync"] == [b"s"] * 200
