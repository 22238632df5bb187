"""redis-py works with its defaults and with RESP3 against our server: HELLO 2
and 3 are answered by the core, with RESP3 replies on connections that asked,
and NOPROTO for other versions (issue 8, item 10). redis-server is the
reference for every answer."""

import socket

import pytest

pytestmark = pytest.mark.timeout(60)
redis = pytest.importorskip("redis")


def exercise(port, **options):
    client = redis.Redis(port=port, socket_timeout=10, **options)
    try:
        assert client.ping() is True
        assert client.set("hello-key", b"v") is True
        assert client.get("hello-key") == b"v"
        assert client.get("hello-missing") is None  # RESP3 null or RESP2 nil
        assert client.echo(b"e\r\nx") == b"e\r\nx"
        with pytest.raises(redis.ResponseError):
            client.execute_command("NO-SUCH-COMMAND")
        return client.connection_pool.connection_kwargs.get("protocol")
    finally:
        client.close()


@pytest.mark.parametrize("options", [{}, {"protocol": 2}, {"protocol": 3}],
                         ids=["default", "resp2", "resp3"])
def test_redis_py_against_ours_and_redis_server(cq_server, redis_port, options):
    exercise(redis_port, **options)
    exercise(cq_server.port, **options)


def raw(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(4096):
            out += chunk
        return out


@pytest.mark.parametrize("version", [b"1", b"4", b"-1"])
def test_other_versions_get_noproto(cq_server, redis_port, version):
    command = b"HELLO %s\r\n" % version
    for port in (redis_port, cq_server.port):
        assert raw(port, command).startswith(b"-NOPROTO")


def test_hello_3_switches_nil_to_resp3_null(cq_server, redis_port):
    command = b"HELLO 3\r\nGET hello-nothing\r\nHELLO 2\r\nGET hello-nothing\r\n"
    for port in (redis_port, cq_server.port):
        out = raw(port, command)
        assert out.startswith(b"%7\r\n")  # a map of seven fields, like redis-server's
        first = out.index(b"_\r\n")  # RESP3 null after HELLO 3
        assert b"*14\r\n" in out[first:]  # HELLO 2: a flat array
        assert out.endswith(b"$-1\r\n")  # RESP2 nil again
