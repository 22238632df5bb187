"""16 MiB payloads both ways, through our server and a real redis-server."""

import os

import cq
import pytest

pytestmark = pytest.mark.timeout(120)

SIZE = 16 << 20


@pytest.fixture(scope="module")
def payload():
    return os.urandom(SIZE)


def test_echo_16_mib_through_our_server(cq_server, payload):
    with cq.Client("127.0.0.1", cq_server.port, timeout=60) as client:
        assert client.call("ECHO", payload) == payload
        assert client.call("SET", "big", payload) == "OK"
        assert client.call("GET", "big") == payload


def test_16_mib_value_through_redis_server(redis_port, payload):
    with cq.Client("127.0.0.1", redis_port, timeout=60) as client:
        assert client.call("SET", "big", payload) == "OK"
        assert client.call("GET", "big") == payload
        client.call("DEL", "big")


def test_a_frame_over_the_servers_limit_is_refused_cleanly(payload):
    with cq.CompletionQueue(max_frame=1 << 20) as q:
        server = q.serve()
        channel = q.connect("127.0.0.1", server.port, "c")
        channel.call(["ECHO", payload], "too-big")
        event = q.pluck("too-big", 30)
        # The server answers with an error reply and closes that connection.
        # The rest of the 16 MiB is still unread in its socket, so the kernel
        # may reset the connection before the reply arrives (redis-server does
        # the same): either way the call fails cleanly.
        if event.ok:
            assert isinstance(event.value, cq.ReplyError)
            assert "size limit" in str(event.value)
        else:
            assert isinstance(event.exception(), (ConnectionResetError, cq.ClosedError))
        other = q.connect("127.0.0.1", server.port, "other")  # the server goes on
        other.call(["PING"], "ping")
        assert q.pluck("ping", 5).value == "PONG"
        other.close()
        channel.close()
        server.close()
