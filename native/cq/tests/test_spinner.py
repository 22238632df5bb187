"""Spin, then park (src/core/spinner.h): a thread that waits on a queue (the
poller thread; the callback strategy's thread, through next_many) polls on
without blocking for up to ``spin`` seconds after events before it sleeps in
epoll_wait, and spins again only after a sleep that ended within the window.
Read from the spinner's own counters (stats()) and, for the CPU time a thread
burns, from the kernel (/proc/self/task/<tid>/schedstat)."""

import asyncio
import os
import sys
import threading
import time

import cq
import cq.aio
import pytest
from cq._aio import Poller

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<pid>/task")]


# Counted against a stream of events every few microseconds, or against a
# second of idle CPU time: under valgrind (~30x slower) the gaps outgrow the window.
rates = pytest.mark.skipif(bool(os.environ.get("CQ_UNDER_VALGRIND")),
                           reason="timing-bound: valgrind runs ~30x slower than the window")


def start_poller(queue, **options):
    """A Poller, and the id of its native thread (the one thread it adds)."""
    before = set(os.listdir("/proc/self/task"))
    poller = Poller(queue, **options)
    new = set(os.listdir("/proc/self/task")) - before
    assert len(new) == 1, new
    return poller, int(new.pop())


def cpu_seconds(tid):
    with open(f"/proc/self/task/{tid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def wait_for(condition, what, deadline=30.0):
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"never happened within {deadline} s: {what}"
        time.sleep(0.01)


class Stream:
    """A thread that starts alarms due at once, one every few microseconds,
    until stopped: a steady stream of events for the poller."""

    def __init__(self, queue, gap=5e-6):
        self.queue, self.gap, self.count = queue, gap, 0
        self.running = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.running.set()
        tag = object()
        while not self._stop.is_set():
            try:
                self.queue.alarm(0, tag)
            except RuntimeError:
                return  # the queue shut down
            self.count += 1
            until = time.perf_counter() + self.gap
            while time.perf_counter() < until:
                pass

    def __enter__(self):
        self.thread.start()
        self.running.wait()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


@rates
def stream_through(queue, stats, alarms):
    """Runs a Stream until it started ``alarms`` alarms; returns it (stopped) and
    what ``stats()`` said before it stopped."""
    with Stream(queue) as stream:
        wait_for(lambda: stream.count >= alarms, f"{alarms:,} alarms started")
        return stream, stats()


def assert_mostly_spun(stats, hits):
    """Most waits ended in a spin that found events, not in a sleep."""
    assert stats["spin_hits"] >= hits, stats
    assert stats["spin_hits"] > stats["parks"], stats


def test_an_idle_poller_sleeps_rather_than_spins():
    """Once its window has passed with nothing to do, the thread sleeps: over a
    whole second it uses next to no CPU (a thread that kept spinning would use
    a large share of a core even on a busy machine: it only yields it)."""
    queue = cq.CompletionQueue()
    poller, tid = start_poller(queue)
    try:
        wait_for(lambda: poller.stats()["parks"] >= 1, "the poller went to sleep")
        before = cpu_seconds(tid)
        time.sleep(1.0)
        spent = cpu_seconds(tid) - before
        assert spent < 0.05, f"the idle poller thread used {spent:.3f} s of CPU in 1 s"
        assert poller.stats()["parks"] == 1  # asleep all along: nothing woke it
    finally:
        poller.stop()
        queue.close()


@rates
def test_a_steady_stream_of_events_is_caught_spinning():
    """Events that come closer together than the window are taken without a
    sleep and a wake-up each: spins that found events outnumber the sleeps."""
    queue = cq.CompletionQueue()
    poller, _ = start_poller(queue)
    try:
        _, stats = stream_through(queue, poller.stats, 20_000)
        # 100, not more: on a loaded machine (or under ASan) each spin finds a
        # bigger batch, so fewer spins take the same 20,000 events (655 seen).
        assert_mostly_spun(stats, 100)
    finally:
        poller.stop()
        queue.close()


def test_spin_zero_never_spins():
    """spin=0 is gRPC's behaviour: the thread sleeps whenever it is idle."""
    queue = cq.CompletionQueue()
    poller, _ = start_poller(queue, spin=0)
    try:
        stream_through(queue, poller.stats, 5_000)
        wait_for(lambda: poller.stats()["parks"] >= 1, "the poller went to sleep")
        stats = poller.stats()
        assert stats["spin_hits"] == stats["spin_misses"] == 0, stats
    finally:
        poller.stop()
        queue.close()


def test_stop_ends_a_spinning_thread():
    """Shut down while it spins through a stream, the thread still ends by itself:
    its polls without blocking see SHUTDOWN as its sleeps would."""
    queue = cq.CompletionQueue()
    poller, _ = start_poller(queue, spin=cq.Spinner.MAX)  # spins all through
    with Stream(queue) as stream:
        wait_for(lambda: stream.count >= 2_000, "2,000 alarms started")
        wait_for(lambda: poller.stats()["spin_hits"] >= 1, "the poller spun")
        poller.stop()  # joins the thread (pytest's timeout guards a hang)
    assert poller.thread_finished
    queue.close()


@pytest.mark.parametrize("spin, error", [
    (-1e-6, ValueError), (float("nan"), ValueError), (cq.Spinner.MAX * 2, ValueError),
    ("50us", TypeError), (10**400, OverflowError)])
def test_a_bad_spin_is_refused_and_leaves_the_queue_usable(spin, error):
    queue = cq.CompletionQueue()
    try:
        with pytest.raises(error):
            Poller(queue, spin=spin)
        Poller(queue, spin=0).stop()  # no poller was left behind on the queue
    finally:
        queue.close()


def test_the_default_window_is_the_cores():
    assert cq.Spinner.DEFAULT == 50e-6 and cq.Spinner.MAX == 1.0


def test_next_many_takes_what_is_there_up_to_max_events():
    with cq.CompletionQueue() as queue:
        tags = [f"alarm {i}" for i in range(10)]
        for tag in tags:
            queue.alarm(0, tag)
        first = queue.next_many(3, timeout=5)
        assert len(first) == 3 and all(e.type == cq.OP for e in first)
        rest = queue.next_many(timeout=5)
        assert sorted(e.tag for e in first + rest) == sorted(tags)


@pytest.mark.parametrize("spinner", [None, "spinner"])
def test_next_many_says_timeout_and_shutdown_alone(spinner):
    spinner = cq.Spinner() if spinner else None
    with cq.CompletionQueue() as queue:
        [timeout] = queue.next_many(timeout=0.05, spinner=spinner)
        assert timeout.type == cq.TIMEOUT and timeout.tag is None
        queue.alarm(0, "due")
        queue.shutdown()
        events = queue.next_many(timeout=5, spinner=spinner)
        assert [e.type for e in events] == [cq.OP]  # the alarm, failed by the shutdown
        [end] = queue.next_many(timeout=5, spinner=spinner)
        assert end.type == cq.SHUTDOWN


@pytest.mark.parametrize("max_events, error", [
    (0, ValueError), (257, ValueError), (-1, ValueError), ("64", TypeError), (2.0, TypeError)])
def test_a_bad_batch_size_is_refused(max_events, error):
    with cq.CompletionQueue() as queue, pytest.raises(error):
        queue.next_many(max_events, timeout=0)


@rates
def test_a_thread_in_next_many_with_a_spinner_catches_a_stream_spinning():
    """The callback strategy's way to wait, on a stream: mostly spins that hit."""
    queue = cq.CompletionQueue()
    spinner = cq.Spinner()
    taken = []

    def consume():
        while True:
            batch = queue.next_many(spinner=spinner)
            if batch[0].type == cq.SHUTDOWN:
                return
            taken.extend(batch)

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        # A Python consumer shares the GIL with the stream: fewer, larger batches.
        stream, stats = stream_through(queue, spinner.stats, 20_000)
        assert_mostly_spun(stats, 100)
    finally:
        queue.shutdown()
        consumer.join()
        queue.close()
    assert len(taken) == stream.count


def test_the_callback_strategy_waits_with_its_spinner(cq_server):
    async def main():
        client = await cq.aio.connect("127.0.0.1", cq_server.port, strategy="callback")
        try:
            for _ in range(200):
                assert await client.call("ECHO", "x") == b"x"
            return client._driver.spinner.stats()
        finally:
            await client.close()

    stats = asyncio.run(main())
    assert stats["parks"] + stats["spin_hits"] >= 200, stats  # a wait per reply at least
