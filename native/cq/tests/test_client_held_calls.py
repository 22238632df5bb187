"""CompletionQueue.hold_calls()/release_calls(): the client side's cork, which
cq.aio's drivers use so that the calls one batch of replies woke leave in one
write per connection. Held calls are written at the last release, in order;
a connection closed while its calls are held fails them and is forgotten."""

import socket
import time

import cq
import pytest

pytestmark = pytest.mark.timeout(60)

DEADLINE = 20.0


def connected_pair():
    """A queue, a channel to a plain listening socket, and the peer's socket."""
    listener = socket.create_server(("127.0.0.1", 0))
    queue = cq.CompletionQueue()
    channel = queue.connect("127.0.0.1", listener.getsockname()[1], "connect")
    peer, _ = listener.accept()
    listener.close()
    event = queue.next(DEADLINE)
    assert (event.tag, event.ok) == ("connect", True), event
    peer.settimeout(0.2)
    return queue, channel, peer


def received_within(queue, peer, size, seconds=DEADLINE):
    """What the peer reads until it has ``size`` bytes (the queue driven meanwhile)."""
    data, deadline = b"", time.monotonic() + seconds
    while len(data) < size:
        queue.next(0)
        try:
            data += peer.recv(65536)
        except TimeoutError:
            pass
        assert time.monotonic() < deadline, f"the peer got {data!r}, expected {size} bytes"
    return data


def test_held_calls_are_written_at_the_last_release_in_order():
    queue, channel, peer = connected_pair()
    try:
        queue.hold_calls()
        queue.hold_calls()  # nested: only the last release writes
        channel.call(["ECHO", "a"], "a")
        channel.call(["ECHO", "b"], "b")
        queue.release_calls()
        for _ in range(5):  # the queue driven, yet nothing may leave while held
            queue.next(0.02)
            with pytest.raises(TimeoutError):
                peer.recv(65536)
        queue.release_calls()
        expected = b"*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n"
        assert received_within(queue, peer, len(expected)) == expected
        peer.sendall(b"$1\r\na\r\n$1\r\nb\r\n")
        events = [queue.next(DEADLINE) for _ in range(2)]
        assert [(e.tag, e.ok, e.value) for e in events] == [("a", True, b"a"), ("b", True, b"b")]
        queue.release_calls()  # one too many: ignored
        channel.call(["PING"], "ping")  # not held any more: written at once
        assert received_within(queue, peer, 14) == b"*1\r\n$4\r\nPING\r\n"
    finally:
        peer.close()
        queue.close()


def test_a_channel_closed_while_held_fails_its_calls_and_is_forgotten():
    queue, channel, peer = connected_pair()
    other_queue, other, other_peer = connected_pair()
    try:
        queue.hold_calls()
        channel.call(["ECHO", "x"], "x")
        channel.close()  # freed while listed as held: the release must not touch it
        event = queue.next(DEADLINE)
        assert (event.tag, event.ok) == ("x", False)
        assert isinstance(event.exception(), cq.ClosedError)
        queue.release_calls()
        queue.close()  # release_calls after close: a no-op
        queue.release_calls()
        other_queue.hold_calls()  # a queue's hold holds only its own channels
        other.call(["PING"], "ping")
        other_queue.release_calls()
        assert received_within(other_queue, other_peer, 14) == b"*1\r\n$4\r\nPING\r\n"
    finally:
        peer.close()
        other_peer.close()
        queue.close()
        other_queue.close()
