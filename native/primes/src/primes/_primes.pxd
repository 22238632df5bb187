# C-level entry points of primes._primes, for other Cython modules to `cimport`.
# Each is `nogil`: it touches no Python object, so a caller may run it with the
# GIL released (that is what primes.gil and count_primes' worker threads do).

from libc.stdint cimport uint64_t

# Trial division by every i in 2..isqrt(n): the lesson's algorithm, fixed.
# Right for every n < 2**64, but takes sqrt(n) divisions: use it for teaching.
cdef bint trial_division(uint64_t n) noexcept nogil

# Deterministic Miller-Rabin: right for every n < 2**64, about a microsecond.
cdef bint miller_rabin(uint64_t n) noexcept nogil

# Number of primes p with lo <= p < hi, by trial division (lo <= hi).
cdef uint64_t count_range_trial(uint64_t lo, uint64_t hi) noexcept nogil

# Number of primes p with lo <= p < hi, by Miller-Rabin (lo <= hi).
cdef uint64_t count_range_miller_rabin(uint64_t lo, uint64_t hi) noexcept nogil

# n as a C long long, with CPython's errors for non-integers and out-of-range ones.
cdef long long long_long_index(object n, str function) except? -1
