"""One completion queue and one machinery per event loop and strategy (as gRPC's
one poller): many clients add sockets, not threads; the last close, or the
loop's end, releases it; loops in different threads do not share one."""

import asyncio
import threading

import cq
import cq.aio
import pytest
from cq_aio_helpers import run, run_with, settled_baseline
from cq_peers import new_os_threads, open_fds, os_thread_ids, wait_for_baseline

pytestmark = pytest.mark.timeout(120)

# Threads a strategy's machinery adds once, however many clients share it
# (sync: at most its pool of workers, 16 by default, started on demand).
MACHINERY_THREADS = {"sync": 16, "iomgr": 0, "callback": 1, "thread_loop": 1,
                     "poller_byte": 1, "poller": 1}


@pytest.mark.parametrize("strategy", cq.aio.STRATEGIES)
def test_a_hundred_clients_share_one_machinery(strategy, redis_port, loop_factory):
    fds, threads = settled_baseline(loop_factory)

    async def main():
        loop = asyncio.get_running_loop()
        # Counted from inside the loop: uvloop's loop opens fds of its own.
        loop_fds, loop_threads = open_fds(), os_thread_ids()
        clients = [await cq.aio.connect("127.0.0.1", redis_port, strategy=strategy)
                   for _ in range(100)]
        try:
            # New threads, by id: a thread of an earlier test that ends
            # meanwhile (seen under ASan) must not count as -1.
            added_threads = new_os_threads(loop_threads)
            added_fds = open_fds() - loop_fds
            exact = strategy != "sync"
            assert added_threads == MACHINERY_THREADS[strategy] or (
                not exact and 1 <= added_threads <= MACHINERY_THREADS[strategy]), (
                f"{strategy}: 100 clients added {added_threads} threads; one machinery "
                f"per loop adds {MACHINERY_THREADS[strategy]}")
            # A socket per client, and a few fds for the one queue (epoll,
            # wake-ups; thread_loop's second loop has its own selector).
            assert 100 <= added_fds <= 100 + 8, f"{strategy}: {added_fds} fds for 100 clients"
            assert len(cq.aio.live_machinery(loop)) == 1
            replies = await asyncio.gather(*(c.call("ECHO", b"%d" % i)
                                             for i, c in enumerate(clients)))
            assert replies == [b"%d" % i for i in range(100)]
        finally:
            for client in clients[:-1]:
                await client.close()
        assert len(cq.aio.live_machinery(loop)) == 1, "released before its last user closed"
        assert await clients[-1].call("PING") == "PONG"
        await clients[-1].close()
        assert cq.aio.live_machinery(loop) == [], "the last close left the machinery running"

    run(main(), loop_factory)
    wait_for_baseline(fds, threads)


def test_a_thousand_poller_clients_run_on_one_poller_thread(redis_port, loop_factory):
    async def main():
        threads = os_thread_ids()
        clients = await asyncio.gather(*(cq.aio.connect("127.0.0.1", redis_port)
                                         for _ in range(1000)))
        try:
            assert new_os_threads(threads) == 1
            replies = await asyncio.gather(*(c.call("ECHO", b"%d" % i)
                                             for i, c in enumerate(clients)))
            assert replies == [b"%d" % i for i in range(1000)]
        finally:
            await asyncio.gather(*(c.close() for c in clients))

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", ["iomgr", "callback", "thread_loop", "poller_byte",
                                      "poller", "sync"])
def test_the_loops_end_releases_what_nobody_closed(strategy, redis_port, loop_factory):
    fds, threads = settled_baseline(loop_factory)
    kept = []

    async def main():
        for _ in range(3):
            client = await cq.aio.connect("127.0.0.1", redis_port, strategy=strategy)
            assert await client.call("PING") == "PONG"
            kept.append(client)
        kept.append(await cq.aio.serve("127.0.0.1", 0, strategy=strategy))

    run_with(loop_factory, main())  # no close(): asyncio.run's shutdown_asyncgens releases them
    wait_for_baseline(fds, threads)
    with pytest.raises(RuntimeError, match="ended"):
        asyncio.run(kept[0].call("PING"))


def test_clients_of_two_loops_have_their_own_machinery(redis_port, loop_factory):
    # Loop A waits for a reply that only comes once loop B has made 200
    # calls: with one machinery for both, or a loop blocked by the other,
    # this would never finish.
    b_done = threading.Event()
    machinery = {}

    async def on_a():
        client = await cq.aio.connect("127.0.0.1", redis_port)
        machinery["a"] = cq.aio.live_machinery(asyncio.get_running_loop())
        try:
            # BLPOP holds A's connection until B pushes (redis-server, not a timer).
            reply = await client.call("BLPOP", "shared-machinery-gate", 60)
            assert reply == [b"shared-machinery-gate", b"b is done"]
            assert b_done.is_set()
        finally:
            await client.close()

    async def on_b():
        client = await cq.aio.connect("127.0.0.1", redis_port)
        machinery["b"] = cq.aio.live_machinery(asyncio.get_running_loop())
        try:
            for i in range(200):
                assert await client.call("ECHO", b"%d" % i) == b"%d" % i
            b_done.set()
            await client.call("RPUSH", "shared-machinery-gate", "b is done")
        finally:
            await client.close()

    errors = []

    def in_thread(coro_fn):
        try:
            run(coro_fn(), loop_factory)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    a = threading.Thread(target=in_thread, args=(on_a,))
    a.start()
    b = threading.Thread(target=in_thread, args=(on_b,))
    b.start()
    a.join(90)
    b.join(90)
    assert not a.is_alive() and not b.is_alive(), "a loop was blocked by the other"
    assert errors == []
    assert len(machinery["a"]) == len(machinery["b"]) == 1
    assert machinery["a"][0] is not machinery["b"][0]


@pytest.mark.parametrize("strategy", ["iomgr", "callback", "poller_byte", "poller", "sync"])
def test_a_pool_spreads_calls_over_its_connections(strategy, redis_port, loop_factory):
    async def main():
        client = await cq.aio.connect("127.0.0.1", redis_port, strategy=strategy,
                                      connections=4)
        try:
            # Calls started together go to the least busy connections in turn.
            ids = await asyncio.gather(*(client.call("CLIENT", "ID") for _ in range(8)))
            assert len(set(ids)) == 4, f"8 calls went over {len(set(ids))} connections"
        finally:
            await client.close()

    run(main(), loop_factory)


def test_a_cancelled_call_closes_only_its_own_pooled_connection(redis_port, loop_factory):
    async def main():
        client = await cq.aio.connect("127.0.0.1", redis_port, connections=2)
        try:
            first, second = await asyncio.gather(client.call("CLIENT", "ID"),
                                                 client.call("CLIENT", "ID"))
            blocked = asyncio.ensure_future(client.call("BLPOP", "pool-never", 0))
            other = asyncio.ensure_future(client.call("CLIENT", "ID"))
            assert await other in (first, second)  # the free connection answered
            blocked.cancel()
            with pytest.raises(asyncio.CancelledError):
                await blocked
            ids = set(await asyncio.gather(client.call("CLIENT", "ID"),
                                           client.call("CLIENT", "ID")))
            assert len(ids & {first, second}) == 1, "only the abandoned connection is new"
        finally:
            await client.close()

    run(main(), loop_factory)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), ("2", TypeError),
                                        (True, TypeError), (2.0, TypeError)])
def test_a_bad_pool_size_is_refused(bad, error, loop_factory):
    async def main():
        with pytest.raises(error, match="connections"):
            await cq.aio.connect("127.0.0.1", 1, connections=bad)

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", cq.aio.SERVER_STRATEGIES)
def test_clients_and_a_server_of_one_loop_share_its_machinery(strategy, loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        async with await cq.aio.serve("127.0.0.1", 0, lambda *a: b"ok",
                                      strategy=strategy) as server:
            client = await cq.aio.connect("127.0.0.1", server.port, strategy=strategy)
            try:
                assert await client.call("ANY") == b"ok"
                assert len(cq.aio.live_machinery(loop)) == 1
            finally:
                await client.close()
            assert len(cq.aio.live_machinery(loop)) == 1, "the server still uses it"
        assert cq.aio.live_machinery(loop) == []

    run(main(), loop_factory)


def test_the_sync_server_runs_a_plain_handler_in_its_worker_threads(loop_factory):
    seen = set()

    def handler(*args):
        seen.add(threading.current_thread().name)
        return b"ok"

    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, handler, strategy="sync",
                                      workers=4) as server:
            client = await cq.aio.connect("127.0.0.1", server.port, strategy="iomgr")
            try:
                assert await asyncio.gather(*(client.call("X") for _ in range(50))) == [b"ok"] * 50
            finally:
                await client.close()

    run(main(), loop_factory)
    assert seen and all(name.startswith("cq-aio-sync-server-") for name in seen), seen


def test_a_closed_client_leaves_the_machinery_to_the_others(redis_port, loop_factory):
    async def main():
        a = await cq.aio.connect("127.0.0.1", redis_port, strategy="poller")
        b = await cq.aio.connect("127.0.0.1", redis_port, strategy="poller")
        await a.close()
        await a.close()  # idempotent: must not release b's share too
        assert await b.call("PING") == "PONG"
        with pytest.raises(RuntimeError, match="closed"):
            await a.call("PING")
        await b.close()

    run(main(), loop_factory)

