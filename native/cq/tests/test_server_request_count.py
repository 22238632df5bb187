"""Server.request(tag, count): many requests of one tag opened in one call (what
cq.aio's server uses to ask again for a wake-up's worth): each command that
arrives completes one of them, the tag's references come back with the
events, and a bad count is refused as CPython would."""

import socket
import sys

import cq
import pytest

pytestmark = pytest.mark.timeout(60)


def test_count_requests_are_opened_and_each_completes_once():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0, builtins=False)
    try:
        tag = object()
        refs = sys.getrefcount(tag)
        assert server.request(tag, 5) == 5
        assert sys.getrefcount(tag) == refs + 5  # one per open request
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as peer:
            peer.sendall(b"".join(b"*2\r\n$3\r\nGET\r\n$1\r\n%d\r\n" % i for i in range(6)))
            events = [queue.next(20) for _ in range(5)]
            assert [(e.type, e.tag is tag, e.ok) for e in events] == [(cq.OP, True, True)] * 5
            assert [e.value for e in events] == [[b"GET", b"%d" % i] for i in range(5)]
            # The sixth found no open request: it waits in the backlog.
            assert queue.next(0.2).type == cq.TIMEOUT
            args, call = server.take()
            assert args == [b"GET", b"5"]
            for event in events:
                event.call.respond("OK")
            call.respond("OK")
        del events, event
        assert sys.getrefcount(tag) == refs  # every reference came back with its event
    finally:
        queue.close()


def test_a_bad_count_is_refused_and_opens_nothing():
    queue = cq.CompletionQueue()
    server = queue.serve("127.0.0.1", 0, builtins=False)
    try:
        tag = object()
        refs = sys.getrefcount(tag)
        with pytest.raises(ValueError, match="at least 1"):
            server.request(tag, 0)
        with pytest.raises(TypeError):
            server.request(tag, 2.0)
        with pytest.raises(OverflowError):
            server.request(tag, 2**80)
        assert sys.getrefcount(tag) == refs
        server.close()
        with pytest.raises(RuntimeError, match="closed"):
            server.request(tag, 3)
        assert sys.getrefcount(tag) == refs  # a refused request keeps no reference
    finally:
        queue.close()
