"""Starting an alarm takes no lock (cq_alarm_start in queue.cc).

It pushes the alarm on a lock-free stack that the next look at the timers
adopts, and writes the wake-up only for a thread asleep in epoll past the
alarm's deadline, or when the queue's fd was handed out to an event loop.
These are the races that design has to win: an alarm started while the poller
thread falls asleep, while it sleeps, and while the queue shuts down.

The poller thread (cq._aio.Poller, spin=0: it sleeps whenever it is idle)
waits with no deadline at all, so a wake-up lost here is a hang, which the
generous DEADLINE turns into a failure. (A thread in q.next() would hide it:
the binding wakes every 50 ms to check for signals.)
"""

import gc
import select
import threading
import time
import weakref

import cq
import pytest
from cq._aio import Poller

pytestmark = pytest.mark.timeout(120)

DEADLINE = 10.0  # seconds; an alarm due now arrives in well under one
ROUND_TRIPS = 20_000
RACES = 150


def wait_readable(fd, what):
    assert select.select([fd], [], [], DEADLINE)[0], (
        f"{what}: the poller thread never woke up for an alarm due now "
        f"(no wake-up for {DEADLINE:.0f} s): cq_alarm_start skipped a needed kick")


def wait_until(condition, what):
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.001)


def test_an_alarm_wakes_a_poller_asleep_with_no_deadline():
    with cq.CompletionQueue() as q:
        poller = Poller(q, spin=0)
        try:
            wait_until(lambda: poller.stats()["parks"] >= 1, "the poller thread sleeps")
            q.alarm(0, "now")
            wait_readable(poller.fileno(), "one alarm")
            assert [e.tag for e in poller.drain()] == ["now"]
        finally:
            poller.close()


def test_alarms_started_as_the_poller_falls_asleep_are_never_missed():
    # The window a lost wake-up would hide in: after the poller thread's last
    # look at the timers, before its epoll_wait (a microsecond or two). This
    # thread takes each event the moment it is queued (busy-polling, no
    # select) and starts the next alarm after a varying pause, so that over
    # the round trips the push lands all over the poller's way to sleep.
    with cq.CompletionQueue() as q:
        poller = Poller(q, spin=0)
        try:
            for i in range(ROUND_TRIPS):
                for _ in range(i % 64):  # the pause, swept
                    pass
                q.alarm(0, i)
                deadline = time.monotonic() + DEADLINE
                while not (events := poller.drain()):
                    assert time.monotonic() < deadline, (
                        f"round trip {i}: the alarm was never delivered (the poller "
                        f"thread slept through it): cq_alarm_start skipped a needed kick")
                assert [e.tag for e in events] == [i]
        finally:
            poller.close()


def test_an_alarm_due_later_makes_a_handed_out_fd_readable():
    # An event loop watching fileno() must look at next_alarm() again after
    # a new alarm, even one far off: nobody sleeps in epoll here, so only the
    # fd having been handed out says to write the wake-up.
    with cq.CompletionQueue() as q:
        fd = q.fileno()
        while q.next(0).type != cq.TIMEOUT:
            pass
        assert not select.select([fd], [], [], 0)[0]
        q.alarm(60, "later")
        assert select.select([fd], [], [], DEADLINE)[0], (
            "a new alarm did not make the handed-out fd readable: an event loop "
            "watching it would never arm a timer for it")
        assert q.next(0).type == cq.TIMEOUT
        assert 59 < q.next_alarm() <= 60


def test_an_alarm_started_before_the_fd_is_handed_out_is_looked_at():
    # That start kicked nobody (no thread asleep, no fd out yet): handing the
    # fd out must make it readable once, or a loop that starts watching would
    # never arm a timer for the alarm.
    with cq.CompletionQueue() as q:
        q.alarm(60, "earlier")
        fd = q.fileno()
        assert select.select([fd], [], [], DEADLINE)[0], (
            "the fd, handed out after an alarm was started, never turned readable: "
            "an event loop watching it would never look at that alarm")
        assert q.next(0).type == cq.TIMEOUT
        assert 59 < q.next_alarm() <= 60


class Tag:
    """A tag that can be watched for a leaked reference."""

    def __init__(self, name):
        self.name = name


def race_with_shutdown(due, starters=4, before=200):
    """Threads start alarms as fast as they can while the queue shuts down;
    returns the names of the alarms started, those refused (weak references
    to their tags) and the events' tags, the queue closed."""
    q = cq.CompletionQueue()
    started = [[] for _ in range(starters)]
    refused = []
    go = threading.Barrier(starters + 1)

    def start(k):
        go.wait()
        for j in range(1_000_000):
            tag = Tag((k, j))
            try:
                q.alarm(due, tag)
            except RuntimeError:
                refused.append(weakref.ref(tag))
                return
            started[k].append(tag.name)

    threads = [threading.Thread(target=start, args=(k,)) for k in range(starters)]
    for t in threads:
        t.start()
    go.wait()
    wait_until(lambda: sum(map(len, started)) >= before, f"{before} alarms have started")
    q.shutdown()
    for t in threads:
        t.join(DEADLINE)
        assert not t.is_alive(), "a thread kept starting alarms after shutdown"
    seen = []
    while (event := q.next(DEADLINE)).type == cq.OP:
        assert due == 0 or event.error == cq.E_SHUTDOWN, "an alarm due in 60 s fired"
        seen.append(event.tag.name)
        del event
    assert event.type == cq.SHUTDOWN
    q.close()
    return [name for names in started for name in names], refused, seen


@pytest.mark.parametrize("due", [0, 60])
def test_alarms_racing_with_shutdown_each_end_once_and_leak_no_tag(due):
    # An alarm whose start returned gets exactly one event (fired, or failed
    # by shutdown); one refused raises and keeps no reference to its tag. The
    # window that decides between the two is a few instructions wide: many
    # rounds, each a fresh queue.
    for _ in range(RACES):
        started, refused, seen = race_with_shutdown(due)
        assert len(seen) == len(set(seen)), "an alarm completed twice"
        missing = set(started) - set(seen)
        assert not missing, f"{len(missing)} started alarms never completed, e.g. {min(missing)}"
        assert set(seen) <= set(started), "an event for an alarm whose start was refused"
        gc.collect()
        assert all(ref() is None for ref in refused), "a refused alarm's tag is still referenced"
