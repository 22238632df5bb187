"""Tags (the futures) are released once delivered, and by a stopped poller."""

import asyncio
import gc
import weakref

import cq
import cq.aio
import pytest
from cq._aio import Poller
from cq_aio_helpers import STRATEGIES

pytestmark = pytest.mark.timeout(60)


class Tag:
    pass


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_call_futures_die_after_delivery(cq_server, strategy, loop_factory):
    loop = loop_factory()
    refs = []
    create_future = loop.create_future

    def tracked_future():
        future = create_future()
        refs.append(weakref.ref(future))
        return future

    loop.create_future = tracked_future
    try:
        async def main():
            client = await cq.aio.connect("127.0.0.1", cq_server.port, strategy=strategy)
            await asyncio.gather(*(client.call("ECHO", "x") for _ in range(100)))
            await client.close()

        loop.run_until_complete(main())
    finally:
        loop.close()
    gc.collect()
    if strategy in ("sync", "thread_loop"):
        return  # their tags live on other loops/threads; covered by cq.sync's tests
    assert len(refs) >= 100
    alive = [r for r in refs if r() is not None]
    assert not alive, f"{len(alive)} futures still referenced"


@pytest.mark.parametrize("per_event", [False, True])
def test_poller_releases_delivered_and_undelivered_tags(per_event):
    queue = cq.CompletionQueue()
    poller = Poller(queue, per_event=per_event)
    delivered, pending = Tag(), Tag()
    delivered_ref, pending_ref = weakref.ref(delivered), weakref.ref(pending)
    queue.alarm(0, delivered)
    queue.alarm(60, pending)
    del delivered, pending
    events = []
    while not events:
        events = [e for e in poller.drain() if e.type == cq.OP]
    assert events[0].ok
    del events
    gc.collect()
    assert delivered_ref() is None
    assert pending_ref() is not None  # the core holds it until the alarm completes
    left = poller.stop()  # shutdown fails the alarm; stop hands it back
    assert [e.type for e in left] == [cq.OP, cq.SHUTDOWN] and not left[0].ok
    del left
    gc.collect()
    assert pending_ref() is None
    queue.close()


def test_poller_dropped_without_stop_releases_tags():
    queue = cq.CompletionQueue()
    poller = Poller(queue)
    tag = Tag()
    ref = weakref.ref(tag)
    queue.alarm(60, tag)
    del tag, poller
    gc.collect()
    assert ref() is None
    queue.close()
