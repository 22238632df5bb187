"""Server.take(): the requests already waiting in a server, without an event
(what cq.aio's server uses to answer a burst in one go), in arrival order,
answered in order, and None when nothing waits."""

import socket
import time

import cq
import pytest

pytestmark = pytest.mark.timeout(60)


def take_within(queue, server, count, seconds=20.0):
    """Drive the queue's I/O on this thread until ``count`` requests are taken."""
    taken, deadline = [], time.monotonic() + seconds
    while len(taken) < count:
        queue.next(0.01)  # reads and parses whatever arrived; no event is asked for
        while (request := server.take()) is not None:
            taken.append(request)
        assert time.monotonic() < deadline, f"only {len(taken)} of {count} requests arrived"
    return taken


def test_waiting_requests_are_taken_in_order_and_answered_in_order():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0, builtins=False)
    try:
        assert server.take() is None  # nothing has arrived
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as peer:
            peer.sendall(b"".join(b"*2\r\n$3\r\nGET\r\n$1\r\n%d\r\n" % i for i in range(5)))
            taken = take_within(queue, server, 5)
            assert [args for args, _ in taken] == [[b"GET", b"%d" % i] for i in range(5)]
            assert server.take() is None
            for args, call in reversed(taken):  # answered last first: sent in order
                call.respond(b"v" + args[1])
            expected = b"".join(b"$2\r\nv%d\r\n" % i for i in range(5))
            received = b""
            while len(received) < len(expected):
                queue.next(0.01)  # the writes are driven by the queue too
                peer.settimeout(0.05)
                try:
                    received += peer.recv(4096)
                except TimeoutError:
                    pass
            assert received == expected
    finally:
        queue.close()


def test_a_request_asked_for_is_not_taken_twice():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0, builtins=False)
    try:
        tag = object()
        server.request(tag)  # the first command goes to this tag's event
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as peer:
            peer.sendall(b"*1\r\n$1\r\nA\r\n*1\r\n$1\r\nB\r\n")
            event = queue.pluck(tag, 20)
            assert event.ok and event.value == [b"A"]
            rest = take_within(queue, server, 1)
            assert [args for args, _ in rest] == [[b"B"]]
            event.call.respond("OK")
            rest[0][1].respond("OK")
    finally:
        queue.close()


def test_take_after_close_raises():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0)
    server.close()
    with pytest.raises(RuntimeError, match="closed"):
        server.take()
    queue.close()


def test_take_many_takes_at_most_its_count_in_order():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0, builtins=False)
    try:
        assert server.take_many(8) == []  # nothing has arrived
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as peer:
            peer.sendall(b"".join(b"*2\r\n$3\r\nGET\r\n$1\r\n%d\r\n" % i for i in range(5)))
            taken, sizes, deadline = [], [], time.monotonic() + 20
            while len(taken) < 5:  # two at most per call, whatever has arrived
                assert time.monotonic() < deadline, f"only {len(taken)} of 5 requests arrived"
                queue.next(0.01)  # reads and parses whatever arrived
                assert server.take_many(0) == []
                more = server.take_many(2)
                sizes.append(len(more))
                taken += more
            assert max(sizes) <= 2, sizes
            assert [args for args, _ in taken] == [[b"GET", b"%d" % i] for i in range(5)]
            assert server.take_many(100) == []
            assert cq.respond_many([call for _, call in taken], [b"ok"] * 5) == [None] * 5
    finally:
        queue.close()


def test_take_many_refuses_a_bad_count():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0)
    try:
        with pytest.raises(ValueError, match="negative"):
            server.take_many(-1)
        with pytest.raises(TypeError):
            server.take_many(1.5)
        server.close()
        with pytest.raises(RuntimeError, match="closed"):
            server.take_many(4)
    finally:
        queue.close()
