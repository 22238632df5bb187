"""A client that sends its commands and then shuts down its writing side
(shutdown(SHUT_WR)) still gets every reply, the handlers' ones included:
redis-server answers all of them, and so must we (issue 8, item 2)."""

import asyncio
import socket
import threading
import time

import cq
import cq.aio
import pytest
from cq_aio_helpers import run_with
from cq_peers import start_server, stop_server

pytestmark = pytest.mark.timeout(60)

# Commands that redis-server and our server answer with the same bytes.
COMMON = [[b"PING"], [b"SET", b"k", b"v"], [b"ECHO", b"hi"], [b"GET", b"k"], [b"PING", b"x"]]
COMMON_REPLIES = b"+PONG\r\n+OK\r\n$2\r\nhi\r\n$1\r\nv\r\n$1\r\nx\r\n"


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def send_then_half_close(port, commands, timeout=30.0):
    """Send every command, shut down the writing side, read until EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"".join(encode(c) for c in commands))
        sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break  # the server closed after answering
            received.extend(chunk)
        return bytes(received)


def test_redis_server_answers_a_half_closed_client(redis_port):
    assert send_then_half_close(redis_port, COMMON) == COMMON_REPLIES


def test_every_reply_reaches_a_half_closed_client_sync_server():
    def slow(arg):
        time.sleep(0.2)  # the EOF is long seen when this answers
        return b"slow:" + arg

    # One worker: SET and then GET of the same key must run in that order.
    running = start_server(threads=1, SLOW=slow)
    try:
        commands = COMMON + [[b"SLOW", b"%d" % i] for i in range(4)] + [[b"PING"]]
        expected = COMMON_REPLIES + b"".join(
            b"$6\r\nslow:%d\r\n" % i for i in range(4)) + b"+PONG\r\n"
        assert send_then_half_close(running.port, commands) == expected
        # The connection is closed once everything is sent (recv saw EOF above),
        # and the server goes on serving.
        with cq.Client("127.0.0.1", running.port) as client:
            assert client.call("PING") == "PONG"
    finally:
        stop_server(running)


@pytest.mark.parametrize("strategy", cq.aio.SERVER_STRATEGIES)
def test_every_reply_reaches_a_half_closed_client_aio_server(strategy, loop_factory):
    async def handler(*args):
        await asyncio.sleep(0.1)
        return [a.upper() for a in args]

    result = {}

    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, handler, strategy=strategy) as server:
            commands = [[b"ECHO", b"a"], [b"x", b"y"], [b"PING"], [b"z"]]
            expected = b"$1\r\na\r\n*2\r\n$1\r\nX\r\n$1\r\nY\r\n+PONG\r\n*1\r\n$1\r\nZ\r\n"
            peer = threading.Thread(target=lambda: result.update(
                got=send_then_half_close(server.port, commands),
                expected=expected))
            peer.start()
            while peer.is_alive():
                await asyncio.sleep(0.02)

    run_with(loop_factory, main())
    assert result["got"] == result["expected"]


def test_a_half_closed_client_with_an_unfinished_command_is_closed():
    running = start_server()
    try:
        # A whole PING, then half a command that can never be finished.
        with socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$10\r\nabc")
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(4096):
                received += chunk
        assert received == b"+PONG\r\n"
    finally:
        stop_server(running)
