"""A flood on cq.aio's server: far more pipelined commands than it keeps open
(OUTSTANDING) plus what one callback takes from the backlog (TAKE_AT_MOST), so
the rest is taken in later callbacks before the open requests are asked for
again. Every command is answered, in order, on every strategy."""

import asyncio
import socket

import cq.aio
import pytest
from cq.aio._server import AsyncServer
from cq_aio_helpers import run

pytestmark = pytest.mark.timeout(120)
COMMANDS = 4 * (AsyncServer.OUTSTANDING + AsyncServer.TAKE_AT_MOST)
CONNECTIONS = 3


def handler(*args):
    return args[1]


def flood(port: int) -> tuple[bool, int, int]:
    """One connection: every command sent at once, then every reply read."""
    commands = b"".join(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%d\r\n" % (len(b"%d" % i), i)
                        for i in range(COMMANDS))
    expected = b"".join(b"$%d\r\n%d\r\n" % (len(b"%d" % i), i) for i in range(COMMANDS))
    with socket.create_connection(("127.0.0.1", port), timeout=60) as peer:
        peer.sendall(commands)
        received = b""
        while len(received) < len(expected):
            chunk = peer.recv(1 << 16)
            if not chunk:
                break  # closed early: the comparison below says what is missing
            received += chunk
    return received == expected, len(received), len(expected)


@pytest.mark.parametrize("strategy", cq.aio.SERVER_STRATEGIES)
def test_a_flood_past_the_backlog_take_is_answered_in_order(strategy, loop_factory):
    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, handler, strategy=strategy,
                                      builtins=False) as server:
            results = await asyncio.gather(*(asyncio.to_thread(flood, server.port)
                                             for _ in range(CONNECTIONS)))
        for same, got, want in results:
            assert same, f"{got} of {want} reply bytes, or not in order"

    run(main(), loop_factory)
