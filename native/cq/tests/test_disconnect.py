"""Peers that go away: mid-reply on the client side, mid-request on the server side."""

import errno
import socket
import struct
import threading
import time

import cq
import pytest
from cq_peers import open_fds

pytestmark = pytest.mark.timeout(30)


def one_shot_server(payload: bytes):
    """Accepts one connection, reads a command, sends payload, closes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def serve():
        conn, _ = sock.accept()
        conn.recv(65536)
        conn.sendall(payload)
        conn.close()
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1]


def test_peer_closing_mid_reply_fails_the_call_with_closed_error():
    port = one_shot_server(b"$10\r\nhalf")
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", port, "connect")
        channel.call(["GET", "k"], "call")
        event = q.pluck("call", 5)
        assert not event.ok and event.error == cq.E_CLOSED
        assert isinstance(event.exception(), cq.ClosedError)
        assert isinstance(event.exception(), OSError)
        with pytest.raises(cq.ClosedError):
            channel.call(["PING"], "after")
        channel.close()


def test_malformed_reply_is_a_protocol_error():
    port = one_shot_server(b"?what\r\n")
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", port, "connect")
        channel.call(["PING"], "call")
        event = q.pluck("call", 5)
        assert not event.ok and event.error == cq.E_PROTOCOL
        assert isinstance(event.exception(), ValueError)
        channel.close()


def test_refused_connection_fails_connect_and_calls_with_errno():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", port, "connect")
        channel.call(["PING"], "call")
        events = {(event := q.next(5)).tag: event for _ in range(2)}
        assert set(events) == {"connect", "call"}
        for event in events.values():
            assert not event.ok and event.error == errno.ECONNREFUSED
            assert isinstance(event.exception(), ConnectionRefusedError)
        with pytest.raises(ConnectionRefusedError):
            cq.Client("127.0.0.1", port)
        channel.close()


def test_client_leaving_before_the_response(cq_server):
    started = threading.Event()
    release = threading.Event()
    answered = []

    def slow(*args):
        started.set()
        release.wait(10)
        return b"late"

    running = cq_server
    running.server.add_handlers({"SLOW": slow})
    sock = socket.create_connection(("127.0.0.1", running.port))
    sock.sendall(b"*1\r\n$4\r\nSLOW\r\n")
    assert started.wait(5)
    sock.close()
    time.sleep(0.1)
    release.set()
    # The server shrugs (respond reports ClosedError inside the worker) and goes on.
    with cq.Client("127.0.0.1", running.port) as client:
        assert client.call("PING") == "PONG"
        answered.append(client.call("SET", "a", "b"))
    assert answered == ["OK"]


def test_respond_to_a_departed_client_raises_closed_error():
    with cq.CompletionQueue() as q:
        server = q.serve()
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        server.request("req")
        event = q.pluck("req", 5)
        assert event.ok and event.value == [b"GET", b"k"]
        fds = open_fds()
        # Reset, not a FIN: after a FIN the peer may still read, and its
        # pending replies are sent (test_hardening_half_close.py).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        # The core notices the reset inside next() and closes its side: poll.
        deadline = time.monotonic() + 30
        while open_fds() > fds - 2:
            assert time.monotonic() < deadline, "the core never noticed the reset"
            q.next(0.01)
        with pytest.raises(cq.ClosedError):
            event.call.respond(b"value")
        with pytest.raises(RuntimeError):
            event.call.respond(b"twice")
        server.close()
