"""cq.respond_many: a burst of calls answered under one lock, each connection
written once (what the sync strategy's workers use). Every call gets exactly
what respond() would give it: the responses in request order, a value RESP
cannot carry reported and the call still answerable, a call answered twice
refused, and a peer that left reported, never raised."""

import socket
import time

import cq
import pytest
from test_server_take import take_within

pytestmark = pytest.mark.timeout(60)


def get(i: int) -> bytes:
    return b"*2\r\n$3\r\nGET\r\n$1\r\n%d\r\n" % i


def receive(queue, peer, expected: bytes, seconds: float = 20.0) -> bytes:
    """Drive the queue's writes on this thread until ``expected`` arrived."""
    received, deadline = b"", time.monotonic() + seconds
    peer.settimeout(0.05)
    while len(received) < len(expected) and time.monotonic() < deadline:
        queue.next(0.01)
        try:
            received += peer.recv(4096)
        except TimeoutError:
            pass
    return received


@pytest.fixture
def served():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0, builtins=False)
    peer = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    yield queue, server, peer
    peer.close()
    queue.close()


def test_a_burst_is_answered_in_request_order(served):
    queue, server, peer = served
    peer.sendall(b"".join(get(i) for i in range(5)))
    taken = take_within(queue, server, 5)
    calls = [call for _, call in taken]
    values = [b"v" + args[1] for args, _ in taken]
    # Handed over last first: the core still sends them in request order.
    assert cq.respond_many(calls[::-1], values[::-1]) == [None] * 5
    expected = b"".join(b"$2\r\nv%d\r\n" % i for i in range(5))
    assert receive(queue, peer, expected) == expected


def test_a_value_resp_cannot_carry_leaves_its_call_answerable(served):
    queue, server, peer = served
    peer.sendall(get(0) + get(1) + get(2))
    calls = [call for _, call in take_within(queue, server, 3)]
    errors = cq.respond_many(calls, [b"a", object(), 2**64])
    assert errors[0] is None
    assert isinstance(errors[1], TypeError), errors
    assert isinstance(errors[2], OverflowError), errors
    calls[1].respond(b"b")  # still answerable, and the connection waited for it
    calls[2].respond(b"c")
    expected = b"$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    assert receive(queue, peer, expected) == expected


def test_a_call_is_answered_once(served):
    queue, server, peer = served
    peer.sendall(get(0) + get(1))
    (_, first), (_, second) = take_within(queue, server, 2)
    errors = cq.respond_many([first, first, second], [b"x", b"again", b"y"])
    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], RuntimeError) and "answered" in str(errors[1]), errors
    with pytest.raises(RuntimeError, match="answered"):
        first.respond(b"third")
    expected = b"$1\r\nx\r\n$1\r\ny\r\n"
    assert receive(queue, peer, expected) == expected


def test_a_closed_connection_is_reported_not_raised(served):
    queue, server, peer = served
    peer.sendall(get(0) + get(1))
    calls = [call for _, call in take_within(queue, server, 2)]
    server.close()  # closes every connection: nobody is left to answer
    errors = cq.respond_many(calls, [b"late", b"later"])
    assert all(isinstance(error, cq.ClosedError) for error in errors), errors
    with pytest.raises(RuntimeError, match="answered"):
        calls[0].respond(b"again")  # consumed all the same, as respond() does


def test_wrong_arguments_raise_before_anything_is_sent(served):
    queue, server, peer = served
    peer.sendall(get(0))
    (_, call), = take_within(queue, server, 1)
    with pytest.raises(ValueError, match="1 calls but 2 values"):
        cq.respond_many([call], [b"a", b"b"])
    with pytest.raises(TypeError, match="ServerCall"):
        cq.respond_many([call, "not a call"], [b"a", b"b"])
    other = cq.CompletionQueue()
    try:
        other_server = other.serve("127.0.0.1", 0, builtins=False)
        with socket.create_connection(("127.0.0.1", other_server.port), timeout=20) as peer2:
            peer2.sendall(get(1))
            (_, foreign), = take_within(other, other_server, 1)
            with pytest.raises(ValueError, match="different completion queues"):
                cq.respond_many([call, foreign], [b"a", b"b"])
            foreign.respond(b"f")
    finally:
        other.close()
    assert cq.respond_many([call], [b"z"]) == [None]  # untouched by the refusals
    assert receive(queue, peer, b"$1\r\nz\r\n") == b"$1\r\nz\r\n"
