"""Futures are resolved on the loop that owns them, whichever thread made the event."""

import asyncio
import threading

import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, run

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_two_loops_in_two_threads_each_get_their_own_replies(cq_server, strategy, loop_factory):
    results = {}
    errors = []

    def thread_main(name):
        async def main():
            client = await cq.aio.connect("127.0.0.1", cq_server.port, strategy=strategy)
            try:
                me = threading.get_ident()
                seen = set()
                for i in range(50):
                    task = asyncio.ensure_future(client.call("ECHO", f"{name}{i}"))
                    # Done callbacks run on the loop that owns the future.
                    task.add_done_callback(lambda _t: seen.add(threading.get_ident()))
                    assert await task == f"{name}{i}".encode()
                await asyncio.sleep(0)
                assert seen == {me}
                results[name] = True
            finally:
                await client.close()
        try:
            run(main(), loop_factory)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=thread_main, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert results == {"a": True, "b": True}


@pytest.mark.parametrize("strategy", ["iomgr", "callback", "poller_byte", "poller"])
def test_a_client_refuses_a_call_from_another_loop(cq_server, strategy, loop_factory):
    async def make():
        return await cq.aio.connect("127.0.0.1", cq_server.port, strategy=strategy)

    loop = loop_factory()
    try:
        client = loop.run_until_complete(make())

        async def elsewhere():
            with pytest.raises(RuntimeError, match="another event loop"):
                await client.call("PING")

        run(elsewhere(), loop_factory)
        assert loop.run_until_complete(client.call("PING")) == "PONG"
        loop.run_until_complete(client.close())
    finally:
        loop.close()


def test_the_loop_factory_makes_the_loop_it_names(loop_factory):
    # Else the uvloop half of every aio test would silently run on asyncio again.
    async def kind():
        return type(asyncio.get_running_loop()).__module__.split(".")[0]

    assert run(kind(), loop_factory) == loop_factory.name


def test_thread_loop_runs_its_second_loop_on_the_callers_kind(cq_server, loop_factory):
    # Before, the second loop was always asyncio's: thread_loop under
    # uvloop.run() ran half of every call on the loop the user had left.
    async def main():
        client = await cq.aio.connect("127.0.0.1", cq_server.port, strategy="thread_loop")
        try:
            assert await client.call("PING") == "PONG"
            return type(asyncio.get_running_loop()), type(client._io.loop)
        finally:
            await client.close()

    outer, inner = run(main(), loop_factory)
    assert inner is outer
