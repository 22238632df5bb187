# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Prime checks and prime counting in Cython: the finished version of stage 2.

Three functions make the public API (re-exported by ``primes``):

- ``is_prime(n)``: deterministic Miller-Rabin, right for every integer below 2**64;
- ``is_prime_trial(n)``: the talk's trial division, fixed and typed;
- ``count_primes(limit, threads=1)``: a segmented sieve of Eratosthenes that runs
  with the GIL released, split over ``threads`` native threads.

The C-level helpers are declared in ``_primes.pxd`` so other Cython modules
(``primes.gil``) can call them without Python objects and without the GIL.
"""

import threading

from cpython.number cimport PyNumber_Index
from libc.math cimport sqrt
from libc.stdint cimport uint32_t, uint64_t, UINT64_MAX
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

# The product of two 64-bit residues needs 128 bits before it is reduced. gcc and
# clang have `unsigned __int128` on every 64-bit target; Cython only needs to know
# it is an unsigned integer, C does the arithmetic.
cdef extern from *:
    """
    typedef unsigned __int128 primes_u128;
    /* The first twelve primes: as Miller-Rabin bases they decide every n < 3.3e24
       (Sorenson and Webster, 2015), so every 64-bit n. */
    static const unsigned long long PRIMES_FIRST12[12] = {
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    """
    ctypedef unsigned long long primes_u128
    const unsigned long long PRIMES_FIRST12[12]

# --- limits, named so the error messages and the docs say the same thing --------

TWO_POW_64 = 1 << 64
# count_primes keeps the primes up to sqrt(limit) in memory (8 MiB at 2**40) and
# takes minutes there: a larger limit is refused rather than left running for hours.
MAX_COUNT_LIMIT = 1 << 40
MAX_THREADS = 256

cdef enum:
    # Odd numbers per sieve segment, one byte each: 32 KiB, the size of a typical
    # L1 data cache, so marking multiples never leaves the fastest cache.
    SEGMENT_ODDS = 32768
    # Multiples of 3, 5, 7, 11, 13 and 17 repeat every 255255 odd numbers: they
    # are copied into each segment from a precomputed pattern instead of marked
    # one by one, which saves more than half of all the marking.
    PATTERN_ODDS = 3 * 5 * 7 * 11 * 13 * 17
    PRESIEVED_PRIMES = 6


# --- integer helpers ----------------------------------------------------------------

cdef inline uint64_t isqrt_u64(uint64_t n) noexcept nogil:
    """floor(sqrt(n)) exactly: libc's sqrt on a double, then corrected.

    A double has 53 bits of mantissa, so for n above 2**52 the rounded root may be
    one too big or too small: the two loops fix that without overflowing.
    """
    cdef uint64_t r = <uint64_t>sqrt(<double>n)
    if r > 0xFFFFFFFFULL:
        r = 0xFFFFFFFFULL
    while r * r > n:
        r -= 1
    while r < 0xFFFFFFFFULL and (r + 1) * (r + 1) <= n:
        r += 1
    return r


cdef inline uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) noexcept nogil:
    return <uint64_t>((<primes_u128>a * b) % m)


cdef inline uint64_t powmod(uint64_t base, uint64_t exponent, uint64_t m) noexcept nogil:
    cdef uint64_t result = 1
    base %= m
    while exponent:
        if exponent & 1:
            result = mulmod(result, base, m)
        base = mulmod(base, base, m)
        exponent >>= 1
    return result


# --- the algorithms, without the GIL ----------------------------------------------

cdef bint trial_division(uint64_t n) noexcept nogil:
    if n < 2:
        return False
    cdef uint64_t root = isqrt_u64(n)
    cdef uint64_t i  # typed: the loop below compiles to a plain C `for`
    for i in range(2, root + 1):
        if n % i == 0:
            return False
    return True


cdef bint miller_rabin(uint64_t n) noexcept nogil:
    cdef int k
    cdef uint64_t p
    if n < 2:
        return False
    # Small factors first: they settle most composites and every n <= 37.
    for k in range(12):
        p = PRIMES_FIRST12[k]
        if n % p == 0:
            return n == p
    # n - 1 = d * 2**s with d odd.
    cdef uint64_t d = n - 1
    cdef int s = 0
    while d % 2 == 0:
        d >>= 1
        s += 1
    cdef uint64_t x
    cdef int _r  # counts the s - 1 squarings; its value is not needed
    cdef bint witness_found
    for k in range(12):
        x = powmod(PRIMES_FIRST12[k], d, n)
        if x == 1 or x == n - 1:
            continue
        witness_found = True
        for _r in range(1, s):
            x = mulmod(x, x, n)
            if x == n - 1:
                witness_found = False
                break
        if witness_found:
            return False  # PRIMES_FIRST12[k] proves n composite
    return True


cdef uint64_t count_range_trial(uint64_t lo, uint64_t hi) noexcept nogil:
    cdef uint64_t n, total = 0
    for n in range(lo, hi):
        total += trial_division(n)
    return total


cdef uint64_t count_range_miller_rabin(uint64_t lo, uint64_t hi) noexcept nogil:
    cdef uint64_t n, total = 0
    for n in range(lo, hi):
        total += miller_rabin(n)
    return total


cdef uint32_t* odd_primes_up_to(uint64_t root, size_t* count) noexcept nogil:
    """The odd primes 3..root in a malloc'd array (the caller frees it); NULL if
    out of memory. A plain sieve: root is at most 2**20 here."""
    cdef unsigned char* composite = <unsigned char*>malloc(root + 1)
    cdef uint32_t* found = NULL
    cdef uint64_t i, j
    cdef size_t n = 0
    if composite == NULL:
        return NULL
    memset(composite, 0, root + 1)
    i = 3
    while i * i <= root:
        if not composite[i]:
            j = i * i
            while j <= root:
                composite[j] = 1
                j += 2 * i
        i += 2
    # At most root // 2 odd primes: one allocation, no resizing.
    found = <uint32_t*>malloc((root // 2 + 1) * sizeof(uint32_t))
    if found != NULL:
        i = 3
        while i <= root:
            if not composite[i]:
                found[n] = <uint32_t>i
                n += 1
            i += 2
    free(composite)
    count[0] = n
    return found


cdef unsigned char* presieve_pattern() noexcept nogil:
    """Flags for the odd numbers 1, 3, 5, ...: 1 where the number is a multiple of
    3, 5, 7, 11, 13 or 17. PATTERN_ODDS + SEGMENT_ODDS bytes long, so one memcpy from
    any offset below PATTERN_ODDS fills a whole segment. NULL if out of memory."""
    cdef size_t size = PATTERN_ODDS + SEGMENT_ODDS, j
    cdef unsigned char* pattern = <unsigned char*>malloc(size)
    cdef int k
    cdef size_t p
    if pattern != NULL:
        memset(pattern, 0, size)
        for k in range(PRESIEVED_PRIMES):
            p = PRIMES_FIRST12[k + 1]  # 3, 5, 7, 11, 13, 17
            j = (p - 1) // 2           # flag j is the number 2*j + 1
            while j < size:
                pattern[j] = 1
                j += p
    return pattern


# Built on the first count_primes call (with the GIL held, so only once) and kept
# for the life of the process, like any static table: 288 KiB.
cdef unsigned char* PRESIEVE_PATTERN = NULL


cdef uint64_t count_odd_primes(uint64_t lo, uint64_t hi, const uint32_t* base,
                               size_t nbase, const unsigned char* pattern,
                               unsigned char* flags, uint64_t* next_multiple) noexcept nogil:
    """Odd primes in [lo, hi), lo odd, one segment of SEGMENT_ODDS odd numbers at a
    time; `base` holds every odd prime up to sqrt(hi), `pattern` comes from
    presieve_pattern(), `flags` has SEGMENT_ODDS bytes and `next_multiple` nbase
    zeroed slots. Flag j stands for the odd number start + 2*j."""
    cdef uint64_t total = 0, start = lo, end, size, m, p, j, marked
    cdef size_t k
    while start < hi:
        end = start + 2 * SEGMENT_ODDS
        if end > hi:
            end = hi
        size = (end - start + 1) // 2
        memcpy(flags, pattern + (start // 2) % PATTERN_ODDS, size)
        for k in range(PRESIEVED_PRIMES, nbase):
            p = base[k]
            if p * p >= end:
                break
            # The next odd multiple of p to cross out, carried over from the previous
            # segment: a division only the first time p is used in this chunk.
            m = next_multiple[k]
            if m == 0:
                m = p * p  # smaller multiples have a smaller factor
                if m < start:
                    m = (start + p - 1) // p * p
                    if m % 2 == 0:
                        m += p
            j = (m - start) // 2
            while j < size:
                flags[j] = 1
                j += p
            next_multiple[k] = start + 2 * j
        if start == 1:
            # The pattern marks 3, 5, 7, 11, 13, 17 as multiples of themselves (flags
            # 1, 2, 3, 5, 6, 8; flags 4 and 7 are 9 and 15); 1 is not prime.
            flags[0] = 1
            for j in range(1, 9):
                if j < size and j != 4 and j != 7:
                    flags[j] = 0
        # Flags are 0 or 1: a plain byte sum, which the compiler vectorises.
        marked = 0
        for j in range(size):
            marked += flags[j]
        total += size - marked
        start = end
    return total


# --- the sieve's work, split into chunks for threads -----------------------------

cdef class _SieveJob:
    """One count_primes call: the shared base primes and one result per chunk.

    Each chunk is a contiguous range of odd numbers; `run(i)` counts chunk i with
    the GIL released, so k Python threads running `run` use k cores.
    """
    cdef uint32_t* base       # odd primes up to sqrt(limit), read-only once built
    cdef size_t nbase
    cdef uint64_t limit
    cdef Py_ssize_t chunks
    cdef uint64_t* results    # UINT64_MAX marks a chunk that ran out of memory

    def __cinit__(self, uint64_t limit, Py_ssize_t chunks):
        global PRESIEVE_PATTERN
        # Private, but still never trusted: a bad limit would underflow below.
        if not 3 <= limit <= MAX_COUNT_LIMIT or not 1 <= chunks <= MAX_THREADS:
            raise ValueError("_SieveJob needs 3 <= limit <= 2**40 and 1 <= chunks <= 256")
        self.limit = limit
        self.chunks = chunks
        if PRESIEVE_PATTERN == NULL:
            PRESIEVE_PATTERN = presieve_pattern()
        with nogil:
            self.base = odd_primes_up_to(isqrt_u64(limit - 1), &self.nbase)
        self.results = <uint64_t*>malloc(chunks * sizeof(uint64_t))
        if self.base == NULL or PRESIEVE_PATTERN == NULL or self.results == NULL:
            raise MemoryError("count_primes: not enough memory for the sieve")

    def __dealloc__(self):
        free(self.base)
        free(self.results)

    def run(self, Py_ssize_t i):
        if not 0 <= i < self.chunks:
            raise IndexError(f"chunk {i} out of range(0, {self.chunks})")
        # Odd numbers 1, 3, ..., below limit: split them as evenly as possible.
        cdef uint64_t odds = self.limit // 2
        cdef uint64_t lo = 1 + 2 * (odds * i // self.chunks)
        cdef uint64_t hi = 1 + 2 * (odds * (i + 1) // self.chunks)
        cdef unsigned char* flags
        cdef uint64_t* next_multiple
        if hi > self.limit:
            hi = self.limit
        with nogil:
            flags = <unsigned char*>malloc(SEGMENT_ODDS)
            next_multiple = <uint64_t*>calloc(self.nbase + 1, sizeof(uint64_t))
            if flags == NULL or next_multiple == NULL:
                self.results[i] = UINT64_MAX
            else:
                self.results[i] = count_odd_primes(lo, hi, self.base, self.nbase,
                                                   PRESIEVE_PATTERN, flags, next_multiple)
            free(flags)
            free(next_multiple)

    def total(self):
        cdef uint64_t total = 1  # the prime 2, which the odd-only sieve skips
        cdef Py_ssize_t i
        for i in range(self.chunks):
            if self.results[i] == UINT64_MAX:
                raise MemoryError("count_primes: not enough memory for a sieve segment")
            total += self.results[i]
        return total


# --- the Python API -----------------------------------------------------------------

def is_prime(n, /):
    """Return True if the integer ``n`` is prime.

    Deterministic Miller-Rabin with the first twelve primes as bases: exact for
    every ``n`` below 2**64, in about a microsecond. Negative numbers, 0 and 1 are
    not prime. ``n`` must be an integer (anything with ``__index__``, like
    ``math.isqrt`` accepts): a float, str or Decimal raises TypeError. ``bool`` is
    an integer to Python and so here: ``is_prime(True)`` is ``is_prime(1)``,
    False. Raises OverflowError for ``n >= 2**64`` rather than guess.
    """
    value = PyNumber_Index(n)
    if value < 2:
        return False
    if value >= TWO_POW_64:
        raise OverflowError(
            f"is_prime() is exact only below 2**64; got an integer of "
            f"{value.bit_length()} bits (use sympy.isprime for larger ones)"
        )
    return miller_rabin(<uint64_t>value)


cpdef bint is_prime_trial(object n):
    """Return True if ``n`` is prime, by trial division: the talk's algorithm, fixed.

    Tries every divisor from 2 to ``isqrt(n)`` inclusive. Exact for every ``n`` in
    [-2**63, 2**63) (the range of a C ``long long``; outside it OverflowError), but
    slow: about sqrt(n) divisions, seconds near 2**60. Releases the GIL while it
    divides, so threads can run it in parallel. Integers only, as ``is_prime``.
    """
    # PyNumber_Index, not Cython's own conversion to long long, which would take
    # the float 7.0 as 7: CPython's integer functions refuse every float.
    cdef long long value = long_long_index(n, "is_prime_trial")
    cdef bint result
    if value < 2:
        return False
    if value < (1 << 24):
        # At most 4096 divisions: cheaper than releasing and taking back the GIL.
        return trial_division(<uint64_t>value)
    with nogil:
        result = trial_division(<uint64_t>value)
    return result


cdef long long long_long_index(object n, str function) except? -1:
    """n as a C long long, refusing non-integers (TypeError) and out-of-range
    integers (OverflowError) with messages that name the function."""
    value = PyNumber_Index(n)
    if not -(1 << 63) <= value < (1 << 63):
        raise OverflowError(
            f"{function}() takes integers in [-2**63, 2**63) (a C long long), "
            f"not one of {value.bit_length()} bits")
    return value


def count_primes(limit, /, threads=1):
    """Return the number of primes below ``limit`` (pi(limit - 1)).

    A segmented sieve of Eratosthenes over odd numbers, run with the GIL released.
    ``threads`` splits the range into that many chunks, each counted by its own
    thread (the calling thread counts one). ``limit`` must be an integer from 0 to
    2**40 (ValueError below, OverflowError above: the sieve would take hours);
    ``threads`` an integer from 1 to 256 (ValueError otherwise).

    >>> count_primes(10**6)
    78498
    """
    cdef object limit_value = PyNumber_Index(limit)
    cdef object thread_value = PyNumber_Index(threads)
    if limit_value < 0:
        raise ValueError(f"count_primes() limit must be >= 0, not {limit_value}")
    if limit_value > MAX_COUNT_LIMIT:
        raise OverflowError(
            f"count_primes() limit must be <= 2**40, not {limit_value}: "
            "the sieve would run for hours")
    if not 1 <= thread_value <= MAX_THREADS:
        raise ValueError(
            f"count_primes() threads must be from 1 to {MAX_THREADS}, not {thread_value}")
    if limit_value <= 2:
        return 0
    # No more threads than segments: a thread with no whole segment to sieve
    # costs more to start than it saves.
    cdef Py_ssize_t chunks = min(thread_value, max(1, limit_value // (2 * SEGMENT_ODDS)))
    job = _SieveJob(limit_value, chunks)
    workers = [threading.Thread(target=job.run, args=(i,), name=f"count_primes-{i}")
               for i in range(1, chunks)]
    for worker in workers:
        worker.start()
    try:
        job.run(0)
    finally:
        # Joined before `job` (and the memory every worker reads) can be freed.
        for worker in workers:
            worker.join()
    return job.total()
