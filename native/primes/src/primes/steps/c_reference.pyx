# cython: language_level=3
"""The plain C trial division (``trial_reference.c``), reachable from Python.

A thin ``def`` over a C function: the shape of "delegate the work to C". The C
file knows nothing about Python; this wrapper converts the argument (to a C ``long
long``, as the typed Cython does) and releases the GIL around the loop, exactly
as ``primes.is_prime_trial`` does.
"""

from libc.stdint cimport uint64_t

from primes._primes cimport long_long_index


cdef extern from "trial_reference.h":
    bint trial_reference_is_prime(uint64_t n) nogil


def is_prime_trial(n):
    """Same contract as ``primes.is_prime_trial``, computed by plain C."""
    cdef long long value = long_long_index(n, "is_prime_trial")
    cdef bint result
    if value < 2:
        return False
    if value < (1 << 24):
        return trial_reference_is_prime(<uint64_t>value)
    with nogil:
        result = trial_reference_is_prime(<uint64_t>value)
    return result
