"""A byte that cannot start a RESP frame is refused at once, without waiting
for a newline that may never come (issue 8, item 6). hiredis does the same on
the client side; a TLS record sent to a plain-text port is the common case.
"""

import socket
import threading
import time

import cq
import pytest

pytestmark = pytest.mark.timeout(60)

TLS_ALERT = b"\x15\x03\x03\x00\x02\x02\x46"  # no LF anywhere
TLS_CLIENT_HELLO = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"


def fake_server(listener, reply, done):
    conn, _ = listener.accept()
    with conn:
        conn.recv(4096)
        conn.sendall(reply)
        done.wait(60)  # keep the connection open: only the bytes may end it


@pytest.mark.parametrize("reply", [TLS_ALERT, b"?", b"\x00", b"!1\r\n"])
def test_client_rejects_a_bad_type_byte_at_once(reply):
    done = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        peer = threading.Thread(target=fake_server, args=(listener, reply, done))
        peer.start()
        try:
            with cq.Client("127.0.0.1", listener.getsockname()[1], timeout=30) as client:
                start = time.monotonic()
                # Before: no error until the 30 s timeout (TimeoutError).
                with pytest.raises(cq.ProtocolError):
                    client.call("PING")
                assert time.monotonic() - start < 20
        finally:
            done.set()
            peer.join()


@pytest.mark.parametrize("garbage", [TLS_CLIENT_HELLO, TLS_ALERT])
def test_server_rejects_a_bad_first_byte_at_once(cq_server, garbage):
    with socket.create_connection(("127.0.0.1", cq_server.port), timeout=30) as sock:
        sock.sendall(garbage)
        received = b""
        while chunk := sock.recv(4096):  # until the server closes
            received += chunk
    assert received.startswith(b"-ERR Protocol error") or received.startswith(b"-Protocol error")
    assert received.endswith(b"\r\n") and received.count(b"\r\n") == 1
    with cq.Client("127.0.0.1", cq_server.port) as client:  # the others are unaffected
        assert client.call("PING") == "PONG"
