"""Shutdown: new operations refused, every in-flight one fails, then SHUTDOWN."""

import socket
import threading
import time

import cq
import pytest

pytestmark = pytest.mark.timeout(30)


def silent_server():
    """A listening socket that accepts and never answers: calls stay in flight."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def test_in_flight_operations_complete_with_ok_false_then_shutdown():
    listener = silent_server()
    with cq.CompletionQueue() as q:
        port = listener.getsockname()[1]
        channel = q.connect("127.0.0.1", port, "connect")
        assert q.pluck("connect", 5).ok
        for i in range(3):
            channel.call(["PING"], f"call-{i}")
        q.alarm(60, "alarm")
        server = q.serve()
        server.request("request")

        q.shutdown()
        events = {}
        while (event := q.next(5)).type == cq.OP:
            events[event.tag] = event
        assert event.type == cq.SHUTDOWN
        assert set(events) == {"call-0", "call-1", "call-2", "alarm", "request"}
        assert all(not e.ok and e.error == cq.E_SHUTDOWN for e in events.values())
        assert q.next(0).type == cq.SHUTDOWN  # and stays so

        with pytest.raises(RuntimeError):
            q.alarm(1, "refused")
        with pytest.raises(RuntimeError):
            channel.call(["PING"], "refused")
        with pytest.raises(RuntimeError):
            q.connect("127.0.0.1", port, "refused")
        with pytest.raises(RuntimeError):
            server.request("refused")
    listener.close()


def test_shutdown_from_another_thread_wakes_blocked_waiters():
    with cq.CompletionQueue() as q:
        results = []

        def wait():
            results.append(q.next(30).type)

        threads = [threading.Thread(target=wait) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.1)
        q.shutdown()
        for t in threads:
            t.join(5)
        assert results == [cq.SHUTDOWN] * 4


def test_close_while_threads_are_blocked_returns_and_refuses_later_use():
    q = cq.CompletionQueue()
    results = []

    def wait():
        results.append(q.next(30).type)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.1)
    q.close()
    thread.join(5)
    assert results == [cq.SHUTDOWN]
    assert q.closed
    with pytest.raises(RuntimeError):
        q.next(0)
    q.close()  # idempotent


def test_handles_outliving_their_queue_are_safe(cq_server):
    q = cq.CompletionQueue()
    channel = q.connect("127.0.0.1", cq_server.port, "c")
    server = q.serve()
    q.close()
    with pytest.raises(RuntimeError):
        channel.call(["PING"], "x")
    channel.close()
    server.close()
    del channel, server
