"""Cancelled calls are not pinned: their futures (and arguments) are released
when the connection that owed their replies closes, not when the client does.

Before, 10,000 cancellations held 10,001 futures (and up to 46 MB) until
close(). Counted here with gc: every future still alive, whoever holds it
(the binding holds a tag as a C reference, which gc still sees as an object).
"""

import asyncio
import concurrent.futures
import gc

import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, run
from cq_stalling_peer import StallingPeer

pytestmark = pytest.mark.timeout(300)

CANCELLATIONS = 1000


def live_futures() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, (asyncio.Future, concurrent.futures.Future)))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cancelled_calls_are_released_before_close(strategy, loop_factory):
    peer = StallingPeer()
    payload = b"x" * 10_000  # pinned with its call if the call is pinned

    async def main():
        client = await cq.aio.connect("127.0.0.1", peer.port, strategy=strategy, timeout=30)
        try:
            before = live_futures()
            for _ in range(CANCELLATIONS):
                with pytest.raises(asyncio.TimeoutError):
                    # The call is sent at once; the peer never answers NEVER.
                    await asyncio.wait_for(client.call("NEVER", payload), 0.001)
            # Their events come back through the strategy's machinery: poll.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while (alive := live_futures() - before) > 20 and loop.time() < deadline:
                await asyncio.sleep(0.05)
            assert alive <= 20, f"{alive} futures alive after {CANCELLATIONS} cancellations"
        finally:
            await client.close()

    try:
        run(main(), loop_factory)
    finally:
        peer.close()
