"""Every strategy gives the right replies, from our server and from redis-server."""

import cq
import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, run

pytestmark = pytest.mark.timeout(60)


async def conversation(port, strategy):
    client = await cq.aio.connect("127.0.0.1", port, strategy=strategy)
    try:
        assert client.strategy == strategy
        assert await client.call("PING") == "PONG"
        assert await client.call("ECHO", "hi") == b"hi"
        assert await client.call("ECHO", b"\x00\r\nbinary") == b"\x00\r\nbinary"
        assert await client.call("SET", f"key-{strategy}", 42) == "OK"
        assert await client.call("GET", f"key-{strategy}") == b"42"
        assert await client.call("GET", "no-such-key") is None
        with pytest.raises(cq.ReplyError, match=r"(?i)unknown command"):
            await client.call("NO-SUCH-COMMAND")
        assert await client.call("PING") == "PONG"  # still usable after an error reply
    finally:
        await client.close()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_replies_from_our_server(cq_server, strategy, loop_factory):
    run(conversation(cq_server.port, strategy), loop_factory)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_replies_from_redis_server(redis_port, strategy, loop_factory):
    run(conversation(redis_port, strategy), loop_factory)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_refused_connection_raises_oserror(strategy, loop_factory):
    from cq_peers import free_port

    async def main():
        with pytest.raises(ConnectionRefusedError):
            await cq.aio.connect("127.0.0.1", free_port(), strategy=strategy)

    run(main(), loop_factory)


def test_unknown_strategy_is_a_value_error(loop_factory):
    async def main():
        with pytest.raises(ValueError, match="strategy must be one of"):
            await cq.aio.connect("127.0.0.1", 1, strategy="fast")

    run(main(), loop_factory)
