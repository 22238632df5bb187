"""The poller thread spins, then parks (src/core/poller_thread.cc): after it
queues events it polls on without blocking for up to ``spin`` seconds before it
sleeps in epoll_wait, and spins again only after a sleep that ended within the
window. Read from its own counters (Poller.stats()) and, for the CPU time it
burns, from the kernel (/proc/self/task/<tid>/schedstat)."""

import os
import sys
import threading
import time

import cq
import pytest
from cq._aio import Poller

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<pid>/task")]


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


def test_a_steady_stream_of_events_is_caught_spinning():
    """Events that come closer together than the window are taken without a
    sleep and a wake-up each: spins that found events outnumber the sleeps."""
    queue = cq.CompletionQueue()
    poller, _ = start_poller(queue)
    try:
        with Stream(queue) as stream:
            wait_for(lambda: stream.count >= 20_000, "20,000 alarms started")
            stats = poller.stats()
        assert stats["spin_hits"] >= 1000, stats
        assert stats["spin_hits"] > stats["parks"], stats
    finally:
        poller.stop()
        queue.close()


def test_spin_zero_never_spins():
    """spin=0 is gRPC's behaviour: the thread sleeps whenever it is idle."""
    queue = cq.CompletionQueue()
    poller, _ = start_poller(queue, spin=0)
    try:
        with Stream(queue) as stream:
            wait_for(lambda: stream.count >= 5_000, "5,000 alarms started")
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
    poller, _ = start_poller(queue, spin=Poller.MAX_SPIN)  # spins all through
    with Stream(queue) as stream:
        wait_for(lambda: stream.count >= 2_000, "2,000 alarms started")
        wait_for(lambda: poller.stats()["spin_hits"] >= 1, "the poller spun")
        poller.stop()  # joins the thread (pytest's timeout guards a hang)
    assert poller.thread_finished
    queue.close()


@pytest.mark.parametrize("spin, error", [
    (-1e-6, ValueError), (float("nan"), ValueError), (Poller.MAX_SPIN * 2, ValueError),
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
    assert Poller.DEFAULT_SPIN == 50e-6 and Poller.MAX_SPIN == 1.0
