"""cq.aio.serve on every strategy: coroutine handlers, real peers as clients."""

import asyncio
import subprocess

import cq
import cq.aio
import pytest
from cq_aio_helpers import run
from cq_peers import need_binary

pytestmark = pytest.mark.timeout(60)
SERVER_STRATEGIES = cq.aio.SERVER_STRATEGIES


async def handler(*args):
    name = args[0].upper()
    if name == b"ADD":
        await asyncio.sleep(0.001)
        return int(args[1]) + int(args[2])
    if name == b"FAIL":
        raise KeyError("nope")
    return [name, *args[1:]]


@pytest.mark.parametrize("strategy", SERVER_STRATEGIES)
def test_async_handlers_answer_async_clients(strategy, loop_factory):
    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, handler, strategy=strategy) as server:
            client = await cq.aio.connect("127.0.0.1", server.port, strategy=strategy)
            try:
                assert await client.call("PING") == "PONG"  # answered by the core
                sums = await asyncio.gather(*(client.call("ADD", i, 1) for i in range(200)))
                assert sums == [i + 1 for i in range(200)]
                assert await client.call("list", "a") == [b"LIST", b"a"]
                with pytest.raises(cq.ReplyError, match="KeyError"):
                    await client.call("FAIL")
            finally:
                await client.close()

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", SERVER_STRATEGIES)
def test_redis_cli_talks_to_the_async_server(strategy, loop_factory):
    cli = need_binary("redis-cli")

    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, handler, strategy=strategy) as server:
            done = await asyncio.to_thread(
                subprocess.run, [cli, "-p", str(server.port), "ADD", "40", "2"],
                capture_output=True, text=True, timeout=20)
            assert done.stdout.strip() == "42"  # no tty: redis-cli prints raw replies

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", SERVER_STRATEGIES)
def test_close_with_a_handler_running(strategy, loop_factory):
    async def main():
        started = asyncio.Event()
        finished = []

        async def slow(*args):
            started.set()
            await asyncio.sleep(0.2)
            finished.append(args)
            return "done"

        server = await cq.aio.serve("127.0.0.1", 0, slow, strategy=strategy)
        client = await cq.aio.connect("127.0.0.1", server.port)
        call = asyncio.ensure_future(client.call("SLOW"))
        await started.wait()
        await server.close()
        # close() waits for the running handlers, wherever they run (thread_loop:
        # on this loop, while the connection lives on the second loop).
        assert finished == [(b"SLOW",)], f"{strategy}: close() returned before the handler ended"
        with pytest.raises((cq.ClosedError, ConnectionError)):
            await call
        await client.close()

    run(main(), loop_factory)


def test_an_unknown_strategy_is_refused(loop_factory):
    async def main():
        with pytest.raises(ValueError, match="thread_loop"):
            await cq.aio.serve("127.0.0.1", 0, handler, strategy="threads")

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", SERVER_STRATEGIES)
def test_a_plain_handler_answers_and_its_exception_is_an_error_reply(strategy, loop_factory):
    def plain(*args):
        if args[0] == b"FAIL":
            raise ValueError("plain nope")
        return b"plain " + args[0]

    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, plain, strategy=strategy) as server:
            client = await cq.aio.connect("127.0.0.1", server.port, strategy="iomgr")
            try:
                replies = await asyncio.gather(*(client.call(b"x%d" % i) for i in range(300)))
                assert replies == [b"plain x%d" % i for i in range(300)]
                with pytest.raises(cq.ReplyError, match="ValueError: plain nope"):
                    await client.call("FAIL")
                assert await client.call("after") == b"plain after"
            finally:
                await client.close()

    run(main(), loop_factory)


class Text(str):
    """A str subclass: answered as a str, though not one of the exact types
    the server checks first."""


class Later:
    """Awaitable, but neither a coroutine nor a future: awaited all the same."""

    def __await__(self):
        yield from asyncio.sleep(0.01).__await__()
        return b"later"


@pytest.mark.parametrize("strategy", SERVER_STRATEGIES)
def test_every_kind_of_plain_result_and_an_awaitable_are_answered(strategy, loop_factory):
    def mixed(*args):
        kind = args[0]
        if kind == b"LATER":
            return Later()
        return {b"LIST": [b"a", 1], b"NONE": None, b"INT": 7, b"TEXT": Text("t"),
                b"TUPLE": (b"x",)}[kind]

    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, mixed, strategy=strategy) as server:
            client = await cq.aio.connect("127.0.0.1", server.port, strategy="iomgr")
            try:
                names = ["LIST", "NONE", "INT", "TEXT", "TUPLE", "LATER"]
                replies = await asyncio.gather(*(client.call(name) for name in names))
                assert replies == [[b"a", 1], None, 7, "t", [b"x"], b"later"], replies
            finally:
                await client.close()

    run(main(), loop_factory)
