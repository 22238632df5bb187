"""Bad input to the binding raises the Python exception CPython would."""

import gc
import socket

import cq
import pytest

pytestmark = pytest.mark.timeout(30)


def test_bad_ports_and_hosts():
    with cq.CompletionQueue() as q:
        with pytest.raises(ValueError):
            q.connect("127.0.0.1", 70000, "t")
        with pytest.raises(OverflowError):
            q.connect("127.0.0.1", 2**40, "t")
        with pytest.raises(socket.gaierror):
            q.connect("no-such-host.invalid", 80, "t")
        with pytest.raises(OSError) as info:
            q.serve("203.0.113.1", 0)  # not a local address
        assert info.value.errno is not None


def test_bad_command_arguments(cq_server):
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", cq_server.port, "c")
        with pytest.raises(ValueError):
            channel.call([], "t")
        with pytest.raises(TypeError):
            channel.call(["ECHO", object()], "t")
        with pytest.raises(TypeError):
            channel.call(["ECHO", None], "t")
        channel.call(["ECHO", bytearray(b"ba")], "ok")
        assert q.pluck("ok", 5).value == b"ba"
        channel.close()


def test_bad_responses_from_python():
    with cq.CompletionQueue() as q:
        server = q.serve()
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET k\r\n")
        server.request("r")
        call = q.pluck("r", 5).call
        with pytest.raises(TypeError):
            call.respond(object())
        with pytest.raises(OverflowError):
            call.respond(2**70)
        with pytest.raises(ValueError):
            call.respond("two\r\nlines")
        deep = []
        for _ in range(40):
            deep = [deep]
        with pytest.raises(ValueError):
            call.respond(deep)
        call.respond(["ok", 1, None, b"b", [cq.ReplyError("ERR x")]])  # still usable
        assert sock.recv(4096) == b"*5\r\n+ok\r\n:1\r\n$-1\r\n$1\r\nb\r\n*1\r\n-ERR x\r\n"
        sock.close()
        server.close()


def test_handler_exceptions_become_error_replies(cq_server):
    cq_server.server.add_handlers({"BOOM": lambda *a: 1 / 0})
    with cq.Client("127.0.0.1", cq_server.port) as client:
        with pytest.raises(cq.ReplyError, match="ZeroDivisionError"):
            client.call("BOOM")
        assert client.call("PING") == "PONG"


def test_dropped_call_gets_an_error_reply():
    with cq.CompletionQueue() as q:
        server = q.serve()
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET k\r\n")
        server.request("r")
        event = q.pluck("r", 5)
        del event  # the ServerCall is dropped unanswered
        assert sock.recv(4096).startswith(b"-ERR the server dropped the request")
        sock.close()
        server.close()


def test_a_call_dropped_inside_a_garbage_cycle_still_gets_its_reply():
    # The cycle collector clears objects before freeing them; a handle whose
    # reference to its queue were cleared first could no longer answer.
    with cq.CompletionQueue() as q:
        server = q.serve()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET k\r\n")
        server.request("r")
        cycle = [q.pluck("r", 5).call]
        cycle.append(cycle)
        del cycle
        gc.collect()
        assert sock.recv(4096).startswith(b"-ERR the server dropped the request")
        sock.close()
        server.close()


def test_queue_limits_are_validated():
    with pytest.raises(ValueError):
        cq.CompletionQueue(max_frame=0)
    with pytest.raises(ValueError):
        cq.CompletionQueue(max_depth=-1)
    # The parser and the conversion to Python recurse once per level: a depth
    # limit of a million would let a peer overflow the C stack.
    with pytest.raises(ValueError, match="max_depth"):
        cq.CompletionQueue(max_depth=1_000_000)


@pytest.mark.parametrize("timeout", [-1, -0.001, float("-inf")])
def test_negative_timeouts_are_rejected_like_time_sleep(timeout):
    with cq.CompletionQueue() as q:
        with pytest.raises(ValueError, match="non-negative"):
            q.next(timeout)
        with pytest.raises(ValueError, match="non-negative"):
            q.pluck("t", timeout)
        with pytest.raises(ValueError, match="non-negative"):
            q.alarm(timeout, "t")


def test_hosts_must_be_str_or_bytes_without_nul():
    with cq.CompletionQueue() as q:
        with pytest.raises(TypeError):
            q.connect(127, 6379, "t")  # bytes(127) would be 127 NUL bytes
        with pytest.raises(TypeError):
            q.serve(0, 0)
        with pytest.raises(ValueError, match="null"):
            q.connect("127.0.0.1\0evil.example", 6379, "t")
        with pytest.raises(ValueError, match="null"):
            q.serve(b"127.0.0.1\0", 0)


def test_a_string_is_not_a_command(cq_server):
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", cq_server.port, "c")
        with pytest.raises(TypeError, match="sequence"):
            channel.call("PING", "t")  # would send the command P I N G
        channel.close()
