"""Repeated calls leave no Python objects and no C memory behind."""

from __future__ import annotations

import gc
import os
import resource
import sys

import primes
import pytest
from primes import gil

CALLS = 2000


def exercise_everything():
    primes.is_prime(2**61 - 1)
    primes.is_prime_trial(1_000_003)
    primes.count_primes(10**6, threads=2)
    gil.count_range(10**6, 10**6 + 50)
    for bad in (1.5, 2**64):
        try:
            primes.is_prime(bad)
        except (TypeError, OverflowError):
            pass


def test_no_python_objects_leak():
    exercise_everything()
    gc.collect()
    before = len(gc.get_objects()), sys.getallocatedblocks()
    for _ in range(200):
        exercise_everything()
    gc.collect()
    after = len(gc.get_objects()), sys.getallocatedblocks()
    assert after[0] - before[0] < 100, (before, after)
    assert after[1] - before[1] < 1000, (before, after)


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer quarantines freed memory, so RSS grows; "
                           "it reports real leaks and overflows itself")
def test_no_c_memory_leaks():
    """count_primes mallocs a segment per thread and two tables per call: a leak of
    any of them over 2000 calls would add tens of megabytes to the peak RSS."""
    for _ in range(50):
        primes.count_primes(10**6, threads=2)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(CALLS):
        primes.count_primes(10**6, threads=2)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_kib
    assert grown_kib < 16 * 1024, f"peak memory grew by {grown_kib} KiB over {CALLS} calls"
