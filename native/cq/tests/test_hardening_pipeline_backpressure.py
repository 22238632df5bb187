"""A client that writes its whole pipeline before reading a reply (redis-py's
pipeline().execute() does) must finish: the server goes on reading while the
client's replies pile up unread, up to the output bound (issue 8, item 4).

The timings are printed beside redis-server's for the record (pytest -s);
nothing here asserts a speed.
"""

import socket
import time

import pytest

pytestmark = pytest.mark.timeout(120)

COUNT = 300
VALUE = b"v" * 100_000


def pipeline_raw(port, name):
    """300 commands with 100 kB values written in one go, then every reply read."""
    if name == b"ECHO":
        commands = [b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(VALUE), VALUE)] * COUNT
        reply = b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)
    else:
        commands = [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n" % (len(VALUE), VALUE)] * COUNT
        reply = b"+OK\r\n"
    expected = reply * COUNT
    start = time.perf_counter()
    # The timeout turns the deadlock of the bug into a failure instead of a hang.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"".join(commands))  # blocks until the server has read it all
        received = bytearray()
        while len(received) < len(expected):
            chunk = sock.recv(1 << 20)
            assert chunk, "the server closed the connection"
            received.extend(chunk)
    elapsed = time.perf_counter() - start
    assert bytes(received) == expected
    return elapsed


@pytest.mark.parametrize("name", [b"ECHO", b"SET"])
def test_write_everything_then_read_completes(cq_server, redis_port, name):
    ours = pipeline_raw(cq_server.port, name)
    theirs = pipeline_raw(redis_port, name)
    print(f"\n{COUNT} x {len(VALUE)} B {name.decode()} pipeline: cq {ours:.3f} s, "
          f"redis-server {theirs:.3f} s")


def test_redis_py_pipeline_execute_completes(cq_server, redis_port):
    redis = pytest.importorskip("redis")
    timings = {}
    for label, port in (("cq", cq_server.port), ("redis-server", redis_port)):
        client = redis.Redis(port=port, socket_timeout=30, protocol=2)
        try:
            pipe = client.pipeline(transaction=False)
            for i in range(COUNT):
                pipe.set(f"k{i}", VALUE)
                pipe.echo(VALUE)
            start = time.perf_counter()
            results = pipe.execute()
            timings[label] = time.perf_counter() - start
        finally:
            client.close()
        assert results == [True, VALUE] * COUNT
    print(f"\nredis-py pipeline of {COUNT} SET + {COUNT} ECHO x {len(VALUE)} B: "
          + ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))
