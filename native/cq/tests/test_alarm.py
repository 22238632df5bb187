"""Alarms: deadlines, cancel, order, and next() timeouts."""

import time

import cq
import pytest

pytestmark = pytest.mark.timeout(30)


def test_alarm_fires_after_its_deadline():
    with cq.CompletionQueue() as q:
        start = time.monotonic()
        q.alarm(0.05, "tag")
        event = q.next(5)
        assert time.monotonic() - start >= 0.049
        assert (event.type, event.op, event.tag, event.ok) == (cq.OP, cq.ALARM, "tag", True)


def test_alarms_fire_in_deadline_order():
    with cq.CompletionQueue() as q:
        for delay, tag in [(0.06, "c"), (0.02, "a"), (0.04, "b")]:
            q.alarm(delay, tag)
        assert [q.next(5).tag for _ in range(3)] == ["a", "b", "c"]


def test_cancel_completes_now_with_ok_false():
    with cq.CompletionQueue() as q:
        alarm = q.alarm(60, "late")
        assert alarm.cancel() is True
        event = q.next(1)
        assert (event.tag, event.ok, event.error) == ("late", False, cq.E_CANCELLED)
        assert isinstance(event.exception(), cq.CancelledError)
        assert alarm.cancel() is False  # no longer pending


def test_next_times_out_and_next_zero_does_not_block():
    with cq.CompletionQueue() as q:
        start = time.monotonic()
        assert q.next(0).type == cq.TIMEOUT
        assert q.next(0.05).type == cq.TIMEOUT
        assert 0.04 < time.monotonic() - start < 2


def test_next_alarm_reports_the_earliest_deadline():
    with cq.CompletionQueue() as q:
        assert q.next_alarm() is None
        q.alarm(10, 1)
        q.alarm(1, 2)
        assert 0 < q.next_alarm() <= 1


def test_nan_timeout_is_rejected():
    with cq.CompletionQueue() as q:
        with pytest.raises(ValueError):
            q.next(float("nan"))
        with pytest.raises(TypeError):
            q.next("soon")
