"""Releasing the GIL lets Python threads run the native loops at the same time.

Concurrency is shown by *overlap*, never by speed: primes.gil.count_range reports
when (CLOCK_MONOTONIC, in C) its loop started and ended. With the GIL released,
two threads released by a barrier are inside their loops at the same time; with
the GIL held, one loop always finishes before the other starts.
"""

from __future__ import annotations

import sys
import threading
import time

import primes
import pytest
from primes import gil

# Enough work that each loop lasts tens of milliseconds even on a fast machine,
# so the second thread enters before the first leaves unless the GIL stops it.
WORK = {"trial": (10**12, 10**12 + 400), "miller_rabin": (2**63, 2**63 + 60_000)}


def run_in_threads(algorithm: str, release_gil: bool, threads: int = 2):
    lo, hi = WORK[algorithm]
    barrier = threading.Barrier(threads)
    spans = [None] * threads

    def worker(i):
        barrier.wait()
        spans[i] = gil.count_range(lo, hi, algorithm=algorithm, release_gil=release_gil)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return spans


def overlapped(spans) -> bool:
    """True if every loop started before any loop ended."""
    return max(start for _, start, _ in spans) < min(end for _, _, end in spans)


@pytest.mark.parametrize("algorithm", ["trial", "miller_rabin"])
def test_loops_without_the_gil_overlap(algorithm):
    spans = run_in_threads(algorithm, release_gil=True)
    assert overlapped(spans), spans
    assert spans[0][0] == spans[1][0]  # and both counted the same primes


@pytest.mark.parametrize("algorithm", ["trial", "miller_rabin"])
def test_loops_holding_the_gil_never_overlap(algorithm):
    spans = run_in_threads(algorithm, release_gil=False)
    first, second = sorted(spans, key=lambda span: span[1])
    assert first[2] <= second[1], spans


def test_clock_is_pythons_monotonic_clock():
    before = time.monotonic_ns()
    _, start, end = gil.count_range(0, 1000)
    after = time.monotonic_ns()
    assert before <= start <= end <= after


def test_count_range_counts():
    assert gil.count_range(0, 1000)[0] == 168
    assert gil.count_range(0, 1000, algorithm="miller_rabin", release_gil=False)[0] == 168


@pytest.mark.parametrize("lo, hi", [(-1, 10), (10, 5), (0, 2**64)])
def test_count_range_bad_bounds(lo, hi):
    with pytest.raises(ValueError, match="lo <= hi"):
        gil.count_range(lo, hi)


def test_count_range_bad_algorithm():
    with pytest.raises(ValueError, match="algorithm must be one of"):
        gil.count_range(0, 10, algorithm="sieve")


class Sampler:
    """A Python thread that notes the time every half millisecond, as lab 04's check.

    It can only run while no other thread holds the GIL, so a note taken inside the
    *middle half* of a native call proves the call had released it.
    """

    def __init__(self) -> None:
        self.notes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.notes.append(time.monotonic_ns())
            time.sleep(0.0005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        while not self.notes:  # running before the first call starts
            time.sleep(0.001)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def inside_middle_half(self, start: int, end: int) -> int:
        quarter = (end - start) // 4
        return sum(start + quarter < t < end - quarter for t in list(self.notes))


def calls_with_notes_in_their_middle(call, calls_needed: int = 3, max_calls: int = 40,
                                     deadline: float = 60.0):
    """Call `call()` until `calls_needed` calls had the sampler run in their middle
    half, or `max_calls` calls or the deadline passed; return (calls made, calls
    with notes inside).

    The call's window is measured around it, or taken from what `call()` returns,
    a (start_ns, end_ns) pair read in C, when it knows better.

    Meanwhile the switch interval is 100 s, so CPython never takes the GIL from
    the calling thread by force: the sampler runs only when a call gives the GIL
    up. With the default 5 ms, a forced switch just before a call, on a loaded
    machine that then left the caller waiting for its turn, let the sampler note
    times inside the measured window of a call that held the GIL throughout (8 of
    322 calls, seen here with the GIL release removed from is_prime_trial).
    """
    made = proven = 0
    give_up = time.monotonic() + deadline
    interval = sys.getswitchinterval()
    with Sampler() as sampler:
        sys.setswitchinterval(100.0)
        try:
            while proven < calls_needed and made < max_calls and time.monotonic() < give_up:
                start = time.monotonic_ns()
                window = call()
                end = time.monotonic_ns()
                if window is not None:
                    start, end = window
                made += 1
                proven += sampler.inside_middle_half(start, end) > 0
        finally:
            sys.setswitchinterval(interval)
    return made, proven


def test_is_prime_trial_releases_the_gil():
    """Another Python thread runs *during* is_prime_trial, not only between calls."""
    big_prime = 4398046511093  # a 42-bit prime: about 2 million divisions per call

    def call():
        assert primes.is_prime_trial(big_prime)

    # Several calls, each proven on its own. Holding the GIL, none ever qualifies.
    made, proven = calls_with_notes_in_their_middle(call)
    assert proven == 3, (f"in {made} calls of is_prime_trial({big_prime}), only {proven} "
                         "let another thread run in their middle half: the GIL is held")


def test_count_primes_releases_the_gil():
    def call():
        assert primes.count_primes(10**8) == 5761455

    made, proven = calls_with_notes_in_their_middle(call)
    assert proven == 3, f"only {proven} of {made} count_primes calls released the GIL"


def test_the_sampler_sees_a_call_that_holds_the_gil():
    """The method's control: on a native loop known to hold the GIL, timed in C
    (so no edge is counted), the sampler never gets a note in: a pass above is the
    call's doing, not the sampler's."""
    lo, hi = WORK["trial"]

    def call():
        _, start, end = gil.count_range(lo, hi, release_gil=False)
        return start, end

    made, proven = calls_with_notes_in_their_middle(call, calls_needed=1, deadline=3.0)
    assert made >= 3 and proven == 0, (made, proven)


def test_count_primes_threads_run_concurrently():
    """count_primes(threads=2) starts a second native thread that sieves while
    the caller's thread sieves too: visible as two threads alive at once."""
    seen = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.update(t.name for t in threading.enumerate()
                        if t.name.startswith("count_primes-"))
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert primes.count_primes(10**9 // 4, threads=2) == 13679318
    finally:
        stop.set()
        watcher.join()
    assert seen == {"count_primes-1"}
