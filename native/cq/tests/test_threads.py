"""Many threads starting operations on one queue at once."""

import threading

import cq
import pytest

pytestmark = pytest.mark.timeout(60)

THREADS = 32


def run_all(target, n=THREADS):
    errors = []
    barrier = threading.Barrier(n)

    def wrapped(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_alarms_started_from_many_threads_are_each_delivered_once():
    with cq.CompletionQueue() as q:
        run_all(lambda i: [q.alarm(0.001 * (j % 5), (i, j)) for j in range(100)])
        seen = set()
        while len(seen) < THREADS * 100:
            event = q.next(5)
            assert event.type == cq.OP and event.ok
            assert event.tag not in seen
            seen.add(event.tag)
        assert q.next(0.01).type == cq.TIMEOUT


def test_calls_and_waits_from_many_threads_on_one_channel(cq_server):
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", cq_server.port, "connect")

        def worker(i):
            for j in range(50):
                tag = (i, j)
                channel.call(["ECHO", f"{i}-{j}"], tag)
                event = q.pluck(tag, 10)
                assert event.ok and event.value == f"{i}-{j}".encode()

        run_all(worker)
        assert q.pluck("connect", 1).ok
        channel.close()


def test_server_with_many_python_workers(cq_server):
    import cq_peers

    running = cq_peers.start_server(threads=8)
    try:
        with cq.Client("127.0.0.1", running.port) as client:
            run_all(lambda i: [client.call("SET", f"{i}:{j}", j) for j in range(50)])
            assert client.call("GET", "7:49") == b"49"
    finally:
        cq_peers.stop_server(running)


def test_closing_a_channel_while_threads_call_on_it(cq_server):
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", cq_server.port, "connect")
        started = []

        def caller(i):
            for j in range(500):
                try:
                    channel.call(["PING"], (i, j))
                except (RuntimeError, cq.ClosedError):
                    return  # closed under us: refused cleanly
                started.append((i, j))
            if i == 0:
                channel.close()

        run_all(caller, n=8)
        channel.close()
        delivered = set()
        while (event := q.next(2)).type == cq.OP:
            delivered.add(event.tag)
        assert set(started) <= delivered  # every started call got its one event
