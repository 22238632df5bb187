"""The event loop is never blocked: a heartbeat keeps ticking during calls."""

import asyncio
import itertools
import time

import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, heartbeat, run
from cq_peers import start_server, stop_server

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_heartbeat_ticks_while_calls_wait_for_slow_replies(strategy, loop_factory):
    running = start_server(threads=4, SLOW=lambda: time.sleep(0.4) or "late")
    try:
        async def main():
            client = await cq.aio.connect("127.0.0.1", running.port, strategy=strategy)
            ticks = []
            beat = asyncio.ensure_future(heartbeat(ticks))
            try:
                replies = await asyncio.gather(*(client.call("SLOW") for _ in range(4)))
                assert replies == ["late"] * 4
            finally:
                beat.cancel()
                await client.close()
            gaps = [b - a for a, b in itertools.pairwise(ticks)]
            assert len(ticks) >= 20, "the heartbeat hardly ran"
            # Generous bound for a shared machine: a blocked loop would show
            # one gap of ~0.4 s (the server's delay).
            assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.3f} s"

        run(main(), loop_factory)
    finally:
        stop_server(running)
