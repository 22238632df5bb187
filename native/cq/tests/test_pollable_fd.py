"""The queue's fd is what an event loop watches: readable when next(0) has work."""

import select
import sys
import time

import cq
import pytest

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="cq_fd is the epoll fd"),
]


def readable(fd, timeout):
    return bool(select.select([fd], [], [], timeout)[0])


def test_fd_turns_readable_for_a_cancelled_alarm_and_quiet_after_draining():
    with cq.CompletionQueue() as q:
        fd = q.fileno()
        assert fd >= 0
        while q.next(0).type != cq.TIMEOUT:
            pass
        assert not readable(fd, 0)
        alarm = q.alarm(60, "x")
        alarm.cancel()
        assert readable(fd, 1)
        events = []
        while (event := q.next(0)).type != cq.TIMEOUT:
            events.append(event.tag)
        assert events == ["x"]
        assert not readable(fd, 0)


def test_fd_turns_readable_when_a_reply_arrives(cq_server):
    with cq.CompletionQueue() as q:
        fd = q.fileno()
        channel = q.connect("127.0.0.1", cq_server.port, "connect")
        channel.call(["PING"], "ping")
        got = {}
        while len(got) < 2:
            assert readable(fd, 5)
            while (event := q.next(0)).type != cq.TIMEOUT:
                got[event.tag] = event.value
        assert got == {"connect": None, "ping": "PONG"}
        channel.close()


def test_fd_stays_readable_while_events_wait_in_the_queue():
    # A thread that plucks one tag may complete others in the same poller
    # round; an event loop watching the fd must still hear about those.
    with cq.CompletionQueue() as q:
        fd = q.fileno()
        q.alarm(0.05, "mine")
        q.alarm(0.05, "theirs")
        time.sleep(0.1)  # both are due: one poller round fires both
        assert q.pluck("mine", 5).ok
        assert readable(fd, 0.5), "an event is queued but the fd says nothing"
        assert q.next(0).tag == "theirs"
        assert q.next(0).type == cq.TIMEOUT
        assert not readable(fd, 0)
