"""1,000 concurrent connections to our server, each with a call in flight."""

import resource

import cq
import pytest

pytestmark = pytest.mark.timeout(120)

CONNECTIONS = 1000


@pytest.fixture
def enough_fds():
    # Both ends of every connection live in this process: 2,000 fds and some.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * CONNECTIONS + 256
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_thousand_concurrent_connections(enough_fds, cq_server):
    with cq.CompletionQueue() as q:
        channels = [q.connect("127.0.0.1", cq_server.port, ("connect", i))
                    for i in range(CONNECTIONS)]
        for i, channel in enumerate(channels):
            channel.call(["ECHO", str(i)], ("echo", i))
            channel.call(["SET", f"k{i}", str(i)], ("set", i))
        replies = {}
        while len(replies) < 3 * CONNECTIONS:
            event = q.next(30)
            assert event.type == cq.OP, event
            assert event.ok, event.exception()
            replies[event.tag] = event.value
        for i in range(CONNECTIONS):
            assert replies[("echo", i)] == str(i).encode()
            assert replies[("set", i)] == "OK"
        for channel in channels:
            channel.close()
