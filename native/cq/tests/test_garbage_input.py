"""Malformed and oversized input: an error reply, that connection closed, others fine."""

import socket

import cq
import pytest

pytestmark = pytest.mark.timeout(30)


def exchange(port, data: bytes) -> bytes:
    """Send data, read until the server closes (or 2 s pass)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            received += b"<open>"
        return received


@pytest.mark.parametrize("garbage, message", [
    (b"*2\r\n$4\r\nECHO\r\n:12\r\n", b"expected '$'"),
    (b"*x\r\n", b"invalid multibulk length"),
    (b"*1\r\n$-5\r\n", b"invalid bulk length"),
    (b"*1\r\n$4\r\nPINGxx\r\n", b"not terminated"),
    (b"*1\n", b"CRLF"),
    (b"A" * 70000, b"too big inline request"),
    (b"*1\r\n$999999999999\r\n", b"size limit"),
])
def test_garbage_gets_an_error_reply_then_close(cq_server, garbage, message):
    reply = exchange(cq_server.port, garbage)
    assert reply.startswith(b"-") and message in reply and reply.endswith(b"\r\n")
    with cq.Client("127.0.0.1", cq_server.port) as client:  # the server goes on
        assert client.call("ECHO", "ok") == b"ok"


def test_replies_before_the_garbage_are_still_sent(cq_server):
    reply = exchange(cq_server.port, b"PING\r\n*1\r\n$4\r\nPING\r\n*z\r\n")
    assert reply.startswith(b"+PONG\r\n+PONG\r\n-Protocol error")


def test_inline_commands_and_empty_lines(cq_server):
    with socket.create_connection(("127.0.0.1", cq_server.port), timeout=2) as sock:
        sock.sendall(b"PING\r\n\r\nECHO  spaced\r\nPING\n")
        received = b""
        while received.count(b"\r\n") < 4:
            received += sock.recv(4096)
    assert received == b"+PONG\r\n$6\r\nspaced\r\n+PONG\r\n"


def test_frame_limit_is_configurable_and_enforced_on_replies(cq_server):
    with cq.CompletionQueue(max_frame=1024) as q:
        channel = q.connect("127.0.0.1", cq_server.port, "c")
        channel.call(["ECHO", b"x" * 2048], "big")
        event = q.pluck("big", 5)
        assert not event.ok and event.error == cq.E_TOO_LARGE
        assert isinstance(event.exception(), cq.ProtocolError)
        channel.close()


def test_depth_limit_on_replies(redis_port):
    with cq.CompletionQueue(max_depth=2) as q:
        channel = q.connect("127.0.0.1", redis_port, "c")
        channel.call(["EVAL", "return {1, {2, {3}}}", "0"], "deep")
        event = q.pluck("deep", 5)
        assert not event.ok and event.error == cq.E_TOO_LARGE
        channel.close()
