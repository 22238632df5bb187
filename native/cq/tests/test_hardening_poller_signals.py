"""The native poller thread runs with every signal blocked, so that SIGINT is
never delivered to a thread that cannot run Python's handler (issue 8,
item 14). Read from the kernel: /proc/self/task/<tid>/status, SigBlk."""

import os
import signal
import sys

import cq
import pytest

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<pid>/task")]


def blocked_mask(tid):
    with open(f"/proc/self/task/{tid}/status") as f:
        for line in f:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16)
    raise AssertionError("no SigBlk line")


@pytest.mark.parametrize("per_event", [False, True])
def test_poller_thread_blocks_sigint_and_sigterm(per_event):
    from cq._aio import Poller

    before = set(os.listdir("/proc/self/task"))
    queue = cq.CompletionQueue()
    poller = Poller(queue, per_event=per_event)
    try:
        new = set(os.listdir("/proc/self/task")) - before
        assert len(new) == 1, new  # the poller's native thread
        mask = blocked_mask(new.pop())
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            assert mask & (1 << (sig - 1)), f"{sig.name} can land on the poller thread"
        # The caller's own mask is unchanged.
        assert not signal.pthread_sigmask(signal.SIG_BLOCK, []) & {signal.SIGINT}
    finally:
        poller.stop()
        queue.close()
