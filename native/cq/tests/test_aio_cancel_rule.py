"""The cancellation rule: a call abandoned before its reply (cancelled, or
timed out) closes its connection, and the next call opens a new one.

RESP replies carry no id: keeping the connection would hand the late reply to
the next call, and a reply that never comes would hold every later call. So,
as redis-py does, the connection goes: its late reply is discarded with it,
the calls pipelined with the abandoned one fail with ClosedError, and later
calls get their own replies on a new connection. Checked for every strategy
against a raw-socket peer that answers late (HOLD) or never (NEVER).
"""

import asyncio

import cq
import cq.aio
import pytest
from cq_aio_helpers import STRATEGIES, run
from cq_stalling_peer import StallingPeer

pytestmark = pytest.mark.timeout(120)

# Generous bound for what must be prompt; never a margin against a delay.
PROMPT = 30.0


@pytest.fixture
def peer():
    stalling = StallingPeer()
    yield stalling
    stalling.close()


async def until(condition, what: str) -> None:
    """Poll (yielding to the loop) until condition() holds, up to PROMPT."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROMPT
    while not condition():
        assert loop.time() < deadline, f"never saw {what}"
        await asyncio.sleep(0.005)


async def connect(peer, strategy):
    return await cq.aio.connect("127.0.0.1", peer.port, strategy=strategy, timeout=PROMPT)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_late_reply_after_timeout_is_discarded(peer, strategy, loop_factory):
    async def main():
        client = await connect(peer, strategy)
        try:
            with pytest.raises(TimeoutError):
                await client.call("HOLD", timeout=0.2)  # answers only when released
            assert await asyncio.wait_for(client.call("PING"), PROMPT) == "PONG"
            peer.release()  # the late reply goes to the closed connection
            await until(lambda: peer.open == 1, "the abandoned connection close")
            assert await asyncio.wait_for(client.call("PING"), PROMPT) == "PONG"
            assert peer.connections == 2
        finally:
            await client.close()

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cancelled_call_without_reply_does_not_block_later_calls(peer, strategy, loop_factory):
    async def main():
        client = await connect(peer, strategy)
        try:
            stuck = asyncio.ensure_future(client.call("NEVER"))
            await until(lambda: "NEVER" in peer.received, "NEVER")
            stuck.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stuck
            assert await asyncio.wait_for(client.call("PING"), PROMPT) == "PONG"
            await until(lambda: peer.open == 1, "the abandoned connection close")
        finally:
            await client.close()

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_timeout_without_reply_does_not_block_later_calls(peer, strategy, loop_factory):
    async def main():
        client = await connect(peer, strategy)
        try:
            with pytest.raises(TimeoutError):
                await client.call("NEVER", timeout=0.2)
            for _ in range(3):
                assert await asyncio.wait_for(client.call("PING"), PROMPT) == "PONG"
            assert peer.connections == 2
        finally:
            await client.close()

    run(main(), loop_factory)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_calls_pipelined_behind_an_abandoned_one_fail_with_closed_error(peer, strategy,
                                                                        loop_factory):
    async def main():
        client = await connect(peer, strategy)
        try:
            stuck = asyncio.ensure_future(client.call("NEVER"))
            await until(lambda: "NEVER" in peer.received, "NEVER")
            behind = asyncio.ensure_future(client.call("PING"))  # queued behind NEVER
            await until(lambda: "PING" in peer.received, "PING read behind NEVER")
            stuck.cancel()
            with pytest.raises(cq.ClosedError):
                await asyncio.wait_for(behind, PROMPT)
            assert await asyncio.wait_for(client.call("PING"), PROMPT) == "PONG"
        finally:
            await client.close()

    run(main(), loop_factory)


def test_sync_client_reconnects_after_a_timeout(peer):
    # Before: the timeout closed the channel for good, and every later call
    # raised RuntimeError("the channel is closed").
    with cq.Client("127.0.0.1", peer.port, timeout=PROMPT) as client:
        with pytest.raises(TimeoutError):
            client.call("NEVER", timeout=0.2)
        assert client.call("PING") == "PONG"
        with pytest.raises(TimeoutError):
            client.call("HOLD", timeout=0.2)
        peer.release()
        assert client.call("PING") == "PONG"
        assert peer.connections == 3
