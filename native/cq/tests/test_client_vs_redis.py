"""Our client against a real redis-server: every RESP2 reply type, pipelining."""

import threading

import cq
import pytest

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(redis_port):
    with cq.Client("127.0.0.1", redis_port) as c:
        c.call("FLUSHALL")
        yield c


def test_echo_and_reply_types(client):
    assert client.call("ECHO", "hi") == b"hi"
    assert client.call("PING") == "PONG"
    assert client.call("SET", "k", b"\x00\r\nbinary") == "OK"
    assert client.call("GET", "k") == b"\x00\r\nbinary"
    assert client.call("GET", "missing") is None
    assert client.call("INCRBY", "n", 41) == 41
    assert client.call("RPUSH", "l", "a", "b") == 2
    assert client.call("LRANGE", "l", 0, -1) == [b"a", b"b"]
    assert client.call("LRANGE", "missing", 0, -1) == []


def test_error_reply_raises_reply_error_and_the_connection_goes_on(client):
    with pytest.raises(cq.ReplyError, match="unknown command"):
        client.call("NOSUCHCOMMAND")
    assert client.call("ECHO", "still here") == b"still here"


def test_nested_arrays(client):
    client.call("HSET", "h", "f", "v")
    reply = client.call("EVAL", "return {1, {2, {3, 'x'}}}", 0)
    assert reply == [1, [2, [3, b"x"]]]


def test_pipelined_calls_complete_in_order_on_one_connection(redis_port):
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", redis_port, "connect")
        tags = [f"call-{i}" for i in range(200)]
        for i, tag in enumerate(tags):
            channel.call(["ECHO", str(i)], tag)
        events = [q.next(5) for _ in range(len(tags) + 1)]
        calls = [e for e in events if e.op == cq.CALL]
        assert [e.tag for e in calls] == tags
        assert [e.value for e in calls] == [str(i).encode() for i in range(200)]
        channel.close()


def test_many_threads_share_one_client(client):
    errors = []

    def worker(n):
        try:
            for i in range(200):
                value = f"{n}:{i}".encode()
                assert client.call("ECHO", value) == value
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
