"""Releasing the GIL lets Python threads run the native loops at the same time.

Concurrency is shown by *overlap*, never by speed: primes.gil.count_range reports
when (CLOCK_MONOTONIC, in C) its loop started and ended. With the GIL released,
two threads released by a barrier are inside their loops at the same time; with
the GIL held, one loop always finishes before the other starts.
"""

from __future__ import annotations

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


def test_is_prime_trial_releases_the_gil():
    """A Python thread keeps running while another thread is inside
    is_prime_trial: it counts how often it ran during that call."""
    big_prime = 4398046511093  # a 42-bit prime: about 2 million divisions per call
    ticks = 0
    stop = threading.Event()
    started = threading.Event()

    def ticker():
        nonlocal ticks
        started.set()
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=ticker)
    t.start()
    started.wait()
    try:
        before = ticks
        # 20 calls: without a GIL release, the ticker could run only at the
        # interpreter's switch points between calls, never during one.
        for _ in range(20):
            assert primes.is_prime_trial(big_prime)
        during = ticks - before
    finally:
        stop.set()
        t.join()
    assert during > 0


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
