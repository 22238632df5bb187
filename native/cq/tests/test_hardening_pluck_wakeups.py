"""An event wakes the one thread waiting for its tag, not every waiter
(issue 8, item 14: pluck used notify_all and a linear scan, as if every
sleeper had to look at every event).

Eight threads pluck tags that never complete while this thread completes
2,000 alarms of its own. Each sleeper's voluntary context switches (read
from /proc) count its wake-ups: with a broadcast each sleeper wakes about
once per event; now only the one that happens to hold the poller role does,
and the others wake for the binding's 50 ms signal-check slices alone.
"""

import statistics
import sys
import threading

import cq
import pytest

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<pid>/task")]

SLEEPERS = 8
EVENTS = 2000


def switches(tid):
    with open(f"/proc/self/task/{tid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches line")


def test_an_event_wakes_only_its_plucker():
    with cq.CompletionQueue() as q:
        tids, ready, stop = [], threading.Barrier(SLEEPERS + 1), threading.Event()

        def sleeper():
            tids.append(threading.get_native_id())
            ready.wait()
            never = object()
            while not stop.is_set():
                q.pluck(never, 0.5)

        threads = [threading.Thread(target=sleeper) for _ in range(SLEEPERS)]
        for t in threads:
            t.start()
        ready.wait()
        before = {tid: switches(tid) for tid in tids}
        for _ in range(EVENTS):
            tag = object()
            q.alarm(0, tag)
            assert q.pluck(tag, 10).ok
        woken = sorted(switches(tid) - before[tid] for tid in tids)
        stop.set()
        for t in threads:
            t.join()
    # The median sleeper: a broadcast wakes it ~EVENTS times.
    print(f"\nwake-ups per sleeper over {EVENTS} events: {woken}")
    assert statistics.median(woken) < EVENTS / 4, woken
