"""Tag ownership: a reference while in flight, released on delivery or close."""

import gc
import sys
import weakref

import cq
import pytest

pytestmark = pytest.mark.timeout(30)


class Tag:
    pass


def test_tags_are_kept_alive_in_flight_and_released_after_delivery(cq_server):
    with cq.CompletionQueue() as q:
        channel = q.connect("127.0.0.1", cq_server.port, Tag())
        tags = [Tag() for _ in range(50)]
        refs = [weakref.ref(t) for t in tags]
        for i, tag in enumerate(tags):
            if i % 2:
                q.alarm(0.001, tag)
            else:
                channel.call(["PING"], tag)
        del tags, tag
        gc.collect()
        assert all(r() is not None for r in refs)  # the queue holds them
        for _ in range(51):
            assert q.next(5).ok
        gc.collect()
        assert all(r() is None for r in refs)
        channel.close()


def test_refcount_returns_to_its_start():
    tag = Tag()
    before = sys.getrefcount(tag)
    with cq.CompletionQueue() as q:
        for _ in range(100):
            q.alarm(0, tag)
        assert sys.getrefcount(tag) == before + 100
        for _ in range(100):
            q.next(1)
    assert sys.getrefcount(tag) == before


def test_undelivered_tags_are_released_by_close():
    q = cq.CompletionQueue()
    tags = [Tag() for _ in range(10)]
    refs = [weakref.ref(t) for t in tags]
    for tag in tags:
        q.alarm(60, tag)
    q.alarm(60, tags[0]).cancel()  # one event queued, never collected
    del tags, tag
    q.close()
    gc.collect()
    assert all(r() is None for r in refs)


def test_a_refused_operation_does_not_keep_its_tag():
    q = cq.CompletionQueue()
    q.shutdown()
    tag = Tag()
    ref = weakref.ref(tag)
    with pytest.raises(RuntimeError):
        q.alarm(1, tag)
    del tag
    gc.collect()
    assert ref() is None
    q.close()
