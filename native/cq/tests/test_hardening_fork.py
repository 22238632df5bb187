"""fork(): a child never affects its parent, and gets a clear error if it uses
a queue made before the fork (issue 8, item 3; grpc's doc/fork_support.md).

Before, a child that closed its copy of a client removed the parent's fds from
the shared epoll set (the parent's next call timed out), and a child that let
a Poller be collected died of std::system_error, joining a thread that does
not exist in the child. A queue created in the child works normally.
"""

import gc
import os
import select
import sys
import time
import warnings

import cq
import pytest

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")]


def in_child(body):
    """Run body() in a forked child; its exit status is 0 only if it returned True."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if body() else 2
        except BaseException as exc:  # reported through the exit code
            print(f"child: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def test_child_closing_its_copy_leaves_the_parents_client_working(cq_server):
    client = cq.Client("127.0.0.1", cq_server.port, timeout=10)
    try:
        assert client.call("PING") == "PONG"

        def child():
            client.close()  # must not touch the parent's epoll registrations
            gc.collect()
            return True

        assert in_child(child) == 0
        for _ in range(3):
            assert client.call("ECHO", "parent") == b"parent"
    finally:
        client.close()


def test_child_gets_a_clear_error_and_can_make_its_own_queue(cq_server):
    client = cq.Client("127.0.0.1", cq_server.port, timeout=10)
    try:
        def child():
            with pytest.raises(RuntimeError, match="fork"):
                client.call("PING")  # the parent's queue
            client.close()
            with cq.Client("127.0.0.1", cq_server.port, timeout=10) as own:
                return own.call("ECHO", "child") == b"child"  # a new queue works

        assert in_child(child) == 0
        assert client.call("PING") == "PONG"
    finally:
        client.close()


def test_child_collecting_a_poller_neither_crashes_nor_stops_the_parents():
    from cq._aio import Poller

    queue = cq.CompletionQueue()
    poller = Poller(queue)
    tag = object()

    def child():
        nonlocal poller
        poller = None  # __dealloc__: joins no thread of the parent's
        gc.collect()
        queue.close()
        return True

    status = in_child(child)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    # The parent's poller still drives its queue, and stops.
    queue.alarm(0, tag)
    events, deadline = [], time.monotonic() + 30
    while not events and time.monotonic() < deadline:
        select.select([poller.fileno()], [], [], 1.0)
        events += poller.drain()
    assert [e.tag for e in events] == [tag]
    poller.stop()
    queue.close()
