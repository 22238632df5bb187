"""Server responses leave in request order, whatever order the handlers answer in."""

import socket

import cq
import pytest

pytestmark = pytest.mark.timeout(60)


def read_exactly(sock, expected: bytes) -> bytes:
    received = b""
    while len(received) < len(expected):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def test_answers_given_in_reverse_still_leave_in_order():
    with cq.CompletionQueue() as q:
        server = q.serve()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        # Two application requests with a built-in PING between them: the PONG
        # is ready at once but must wait for the first answer.
        sock.sendall(b"GET a\r\nPING\r\nGET b\r\nGET c\r\n")
        calls = []
        for i in range(3):
            server.request(i)
        while len(calls) < 3:
            event = q.next(5)
            assert event.ok
            calls.append(event)
        calls.sort(key=lambda e: e.value)
        for event in reversed(calls):
            event.call.respond(event.value[1])
        expected = b"$1\r\na\r\n+PONG\r\n$1\r\nb\r\n$1\r\nc\r\n"
        assert read_exactly(sock, expected) == expected
        sock.close()
        server.close()


def test_thousands_of_pipelined_requests_pass_the_back_pressure_limit(cq_server):
    # More requests than the core lets one connection have outstanding (1,024):
    # it stops reading, then resumes as the handlers answer.
    count = 5000
    commands = b"".join(b"SET k%d %d\r\n" % (i, i) for i in range(count))
    # The last reply must come after all the others. Not a GET of the last key:
    # the server's two workers run a connection's handlers concurrently (replies
    # stay in order), so that GET could run before its SET and answer nil, and
    # the read below would wait for bytes that never come (seen under ASan).
    commands += b"ECHO done\r\n"
    with socket.create_connection(("127.0.0.1", cq_server.port), timeout=30) as sock:
        sock.sendall(commands)
        expected = b"+OK\r\n" * count + b"$4\r\ndone\r\n"
        assert read_exactly(sock, expected) == expected
