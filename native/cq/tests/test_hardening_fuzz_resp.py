"""Fuzzing both RESP parsers through the real code: the server's request
parser over a socket, and the client's reply parser against a fake server
(issue 8). Hypothesis generates valid frames cut into random pieces (each
piece parsed on its own, so every resumption point of the parser is hit) and
garbage, seeded with the cases that broke before: a TLS record, a bad type
byte without LF, a huge announced length, deep nesting.

Bounded: a fixed number of examples, no database, so it runs in a few
seconds in the normal suite and under ASan (cq-asan).
"""

import socket

import cq
import pytest

pytest.importorskip("hypothesis", reason="hypothesis is not installed (see requirements.txt)")
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.timeout(300)

FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

SEEDS = [
    b"\x15\x03\x03\x00\x02\x02\x46",  # a TLS alert: no LF ever
    b"\x16\x03\x01\x00\xa5\x01\x00",  # a TLS client hello
    b"*99999999999\r\n",
    b"$-5\r\n",
    b"*1\r\n$2147483648\r\n",
    b"*2\r\n" * 40,
    b":12x\r\n",
    b"+ok\n",
    b"$3\r\nabcd\r\n",
]

# ----- a model of RESP2 values, as the binding returns them -----------------

line_text = st.text(st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=20)
scalars = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=64),
    line_text.map(lambda s: ("simple", s)),
    line_text.map(lambda s: ("error", s)),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6), max_leaves=40)


def encode(value):
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if isinstance(value, tuple):
        kind, text = value
        return (b"+" if kind == "simple" else b"-") + text.encode() + b"\r\n"
    return b"*%d\r\n" % len(value) + b"".join(encode(v) for v in value)


def as_python(value):
    if isinstance(value, tuple):
        return value[1] if value[0] == "simple" else ("error", value[1])
    if isinstance(value, list):
        return [as_python(v) for v in value]
    return value


def normalise(reply):
    if isinstance(reply, cq.ReplyError):
        return ("error", str(reply))
    if isinstance(reply, list):
        return [normalise(v) for v in reply]
    return reply


def cut(data, points):
    points = sorted({p % (len(data) + 1) for p in points})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


# ----- the client's reply parser --------------------------------------------

class FakeServer:
    """One accepted connection per example; the test drives both ends."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.q = cq.CompletionQueue()

    def exchange(self, pieces, timeout):
        """Connect, send one call, answer it with pieces, return its event."""
        connected, tag = object(), object()
        channel = self.q.connect("127.0.0.1", self.listener.getsockname()[1], connected)
        conn, _ = self.listener.accept()
        try:
            assert self.q.pluck(connected, 10).ok
            channel.call(["GET", "k"], tag)
            for piece in pieces:
                conn.sendall(piece)
                event = self.q.pluck(tag, 0)  # parse this piece on its own
                if event.type == cq.OP:
                    return event
            return self.q.pluck(tag, timeout)
        finally:
            conn.close()
            channel.close()
            self.q.pluck(tag, 0)

    def close(self):
        self.q.close()
        self.listener.close()


@pytest.fixture(scope="module")
def fake_server():
    server = FakeServer()
    yield server
    server.close()


@FUZZ
@given(value=values, points=st.lists(st.integers(0, 10_000), max_size=12))
def test_reply_parser_decodes_valid_frames_cut_anywhere(fake_server, value, points):
    event = fake_server.exchange(cut(encode(value), points), timeout=10)
    assert event.type == cq.OP and event.ok, event
    assert normalise(event.value) == as_python(value)


@FUZZ
@given(data=st.one_of(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=200)),
       points=st.lists(st.integers(0, 10_000), max_size=6))
@example(data=SEEDS[0], points=[])
@example(data=SEEDS[1], points=[1])
def test_reply_parser_survives_garbage(fake_server, data, points):
    # Whatever the bytes: a value, a protocol error, or (for a frame that is
    # merely incomplete) a timeout; never a crash or a hang past the timeout.
    event = fake_server.exchange(cut(data, points), timeout=0.2)
    if data[:1] not in (b"+", b"-", b":", b"$", b"*"):
        # A bad type byte is refused at once, not after the timeout.
        assert event.type == cq.OP and not event.ok and event.error == cq.E_PROTOCOL, event


# ----- the server's request parser -------------------------------------------

args = st.lists(st.binary(max_size=40), min_size=1, max_size=5)


def command(parts):
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def talk(port, pieces, tolerate_reset=False):
    """Send pieces (then half-close) and read what comes back until EOF.
    A server that refused garbage may have closed (even reset) first."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for piece in pieces:
                sock.sendall(piece)
            sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):
                received += chunk
        except OSError:
            if not tolerate_reset:
                raise
    return received


@FUZZ
@given(commands=st.lists(args, min_size=1, max_size=6),
       points=st.lists(st.integers(0, 10_000), max_size=12))
def test_request_parser_answers_valid_commands_cut_anywhere(cq_server, commands, points):
    wire = b"".join(command([b"ECHO", *parts[:1]]) for parts in commands)
    expected = b"".join(b"$%d\r\n%s\r\n" % (len(p[0]), p[0]) for p in commands)
    assert talk(cq_server.port, cut(wire, points)) == expected


@FUZZ
@given(data=st.one_of(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=200)),
       points=st.lists(st.integers(0, 10_000), max_size=6))
@example(data=SEEDS[0], points=[])
def test_request_parser_survives_garbage(cq_server, data, points):
    # The reply is whatever the server made of it (errors, answers); the
    # connection ends (half-close), and the server goes on serving others.
    talk(cq_server.port, cut(data, points), tolerate_reset=True)
    assert talk(cq_server.port, [b"PING\r\n"]) == b"+PONG\r\n"
