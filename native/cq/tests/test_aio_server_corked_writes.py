"""A burst of pipelined requests is answered in one write per connection: the
drivers cork the queue around the handlers one wake-up delivered (cq_cork),
instead of one send() per response. Counted by the kernel: the client's socket
tallies the TCP segments it received (TCP_INFO's tcpi_segs_in, Linux), and
with TCP_NODELAY each send() of the server is one segment on loopback."""

import asyncio
import subprocess
import sys
import textwrap

import cq
import cq.aio
import pytest
from cq_aio_helpers import run

pytestmark = pytest.mark.timeout(120)

BURSTS, PIPELINE = 100, 16

CLIENT = textwrap.dedent(f"""
    import socket, struct, sys
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    def segments_in():
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        return struct.unpack_from("I", info, 140)[0]  # struct tcp_info's tcpi_segs_in
    before = segments_in()
    burst = b"*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n" * {PIPELINE}
    reply = b"$5\\r\\nvalue\\r\\n"
    for _ in range({BURSTS}):
        sock.sendall(burst)  # the whole burst, then every reply before the next
        got = b""
        while len(got) < len(reply) * {PIPELINE}:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection"
            got += chunk
        assert got == reply * {PIPELINE}, got
    print(segments_in() - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO's layout is Linux's")
# callback: its thread hands a batch of events over in one call and corks
# around it; thread_loop: a batch of requests crosses to the caller's loop in
# one call, their responses come back in one and leave corked.
@pytest.mark.parametrize("strategy", ["iomgr", "callback", "thread_loop", "poller_byte", "poller"])
def test_a_burst_of_responses_leaves_in_few_writes(strategy, loop_factory):
    async def main():
        async with await cq.aio.serve("127.0.0.1", 0, lambda *args: b"value",
                                      strategy=strategy) as server:
            client = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CLIENT, str(server.port), stdout=subprocess.PIPE)
            out, _ = await asyncio.wait_for(client.communicate(), 100)
            assert client.returncode == 0, "the client failed: see its stderr above"
            return int(out)

    segments = run(main(), loop_factory)
    responses = BURSTS * PIPELINE
    # Uncorked, every response is a send() and a segment: 1,600 at least.
    # Corked, a burst is one segment (two if it arrived in two reads), plus
    # the server's pure ACKs of the client's 100 bursts.
    assert segments < responses / 4, (
        f"{strategy}: the client received {segments} segments for {responses} responses "
        f"in {BURSTS} bursts: the responses of one wake-up were not sent together")
