"""A peer that pipelines commands but never reads the replies cannot make the
server buffer without bound: once its unread replies pass the output limit
(cq_limits.max_output, 64 MiB by default) the server disconnects it, as redis'
client-output-buffer-limit does. Below the limit the server keeps reading, so
a peer that writes everything before it reads never deadlocks
(test_hardening_pipeline_backpressure.py)."""

import socket
import threading

import cq
import pytest

pytestmark = pytest.mark.timeout(120)

PAYLOAD = 256 << 10
TOTAL = 96 << 20  # far more than every kernel buffer on the way can hold


def test_server_stops_reading_from_a_peer_that_does_not_read(cq_server):
    command = b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (PAYLOAD, b"x" * PAYLOAD)
    sent = 0
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)  # before connect
        sock.connect(("127.0.0.1", cq_server.port))
        sock.settimeout(60.0)  # a stall (no disconnect) fails instead of passing
        view = memoryview(command)
        try:
            while sent < TOTAL:
                sent += sock.send(view[sent % len(command):])
        except (ConnectionResetError, BrokenPipeError):
            pass  # disconnected at the output limit: what we want
    # Without a bound the server reads everything and keeps ~TOTAL bytes of
    # ECHO replies in memory. With it, the sender is cut off after the limit
    # (64 MiB) plus what the socket buffers hold.
    assert sent < TOTAL, "the server buffered every reply for a peer that never reads"
    with cq.Client("127.0.0.1", cq_server.port) as client:  # the server goes on
        assert client.call("PING") == "PONG"


def test_a_paused_peer_gets_every_reply_once_it_reads(cq_server):
    count = 200  # 50 MiB of replies: the server must pause and resume many times
    command = b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (PAYLOAD, b"y" * PAYLOAD)
    reply = b"$%d\r\n%s\r\n" % (PAYLOAD, b"y" * PAYLOAD)
    with socket.create_connection(("127.0.0.1", cq_server.port), timeout=30) as sock:
        received = bytearray()

        def read_all():
            while len(received) < count * len(reply):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                received.extend(chunk)

        reader = threading.Thread(target=read_all)
        reader.start()
        sock.sendall(command * count)
        reader.join(60)
        assert not reader.is_alive()
    assert len(received) == count * len(reply)
    assert bytes(received) == reply * count
