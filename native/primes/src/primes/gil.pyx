# cython: language_level=3
"""The same CPU-bound work with the GIL held or released, for lab 04 and the tests.

``count_range(lo, hi)`` counts the primes in [lo, hi) in one native loop, either
holding the GIL for the whole loop (like most C code that nobody looked at) or
inside ``with nogil:``. It returns when, by ``CLOCK_MONOTONIC`` (the clock behind
``time.monotonic_ns``), the loop started and ended, so a caller can see whether two
threads were inside their loops at the same time.
"""

from cpython.number cimport PyNumber_Index
from libc.stdint cimport uint64_t
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from primes._primes cimport count_range_miller_rabin, count_range_trial

ALGORITHMS = ("trial", "miller_rabin")


cdef inline long long monotonic_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec


def count_range(lo, hi, *, algorithm="trial", release_gil=True):
    """Count primes p with lo <= p < hi; return ``(count, start_ns, end_ns)``.

    ``algorithm`` is ``"trial"`` (trial division, ``is_prime_trial``) or
    ``"miller_rabin"`` (``is_prime``); ``release_gil`` chooses whether the loop runs
    inside ``with nogil:``. ``start_ns``/``end_ns`` are ``time.monotonic_ns()``
    readings taken in C just inside the loop's section. ``0 <= lo <= hi < 2**64``.
    """
    cdef object lo_value = PyNumber_Index(lo)
    cdef object hi_value = PyNumber_Index(hi)
    if not 0 <= lo_value <= hi_value < (1 << 64):
        raise ValueError(f"need 0 <= lo <= hi < 2**64, got lo={lo_value}, hi={hi_value}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, not {algorithm!r}")
    cdef bint trial = algorithm == "trial"
    cdef uint64_t a = lo_value, b = hi_value, count
    cdef long long start, end
    if release_gil:
        with nogil:
            start = monotonic_ns()
            count = count_range_trial(a, b) if trial else count_range_miller_rabin(a, b)
            end = monotonic_ns()
    else:
        start = monotonic_ns()
        count = count_range_trial(a, b) if trial else count_range_miller_rabin(a, b)
        end = monotonic_ns()
    return count, start, end
