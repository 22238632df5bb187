"""The pure-Python twin of ``primes``: the same API, the same answers, no compiler.

Read it as the specification of the Cython module; the tests check that both agree.
"""

from __future__ import annotations

import math
import operator

__all__ = ["count_primes", "is_prime", "is_prime_trial"]

# The first twelve primes. As Miller-Rabin bases they decide every n < 3.3e24
# (Sorenson and Webster, 2015), so every 64-bit n.
_FIRST12 = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
MAX_COUNT_LIMIT = 1 << 40
MAX_THREADS = 256


def is_prime(n: int, /) -> bool:
    """Return True if the integer ``n`` is prime (exact for every n < 2**64).

    Same contract as ``primes.is_prime``: TypeError for non-integers, bool counts
    as 0/1, False for n < 2, OverflowError for n >= 2**64.
    """
    n = operator.index(n)
    if n < 2:
        return False
    if n >= 1 << 64:
        raise OverflowError(
            f"is_prime() is exact only below 2**64; got an integer of "
            f"{n.bit_length()} bits (use sympy.isprime for larger ones)"
        )
    for p in _FIRST12:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in _FIRST12:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False  # a proves n composite
    return True


def is_prime_trial(n: int) -> bool:
    """Return True if ``n`` is prime, by trial division (every divisor 2..isqrt(n)).

    The talk's algorithm with its bugs fixed: the bound includes the square root
    (so 4, 9, 25 are composite), numbers below 2 are not prime, and integers are
    exact (``math.isqrt``, not a float ``sqrt``). Accepts [-2**63, 2**63) like the
    Cython version's C ``long long``; OverflowError outside.
    """
    n = operator.index(n)
    if not -(2**63) <= n < 2**63:
        raise OverflowError("is_prime_trial() takes integers in [-2**63, 2**63)")
    if n < 2:
        return False
    for i in range(2, math.isqrt(n) + 1):
        if n % i == 0:
            return False
    return True


def count_primes(limit: int, /, threads: int = 1) -> int:
    """Return the number of primes below ``limit``, by a sieve of Eratosthenes.

    Same contract and errors as ``primes.count_primes``. ``threads`` is checked
    and then ignored: Python threads would only take turns holding the GIL.
    Memory is one byte per number, so keep ``limit`` below about 10**8 here.
    """
    limit = operator.index(limit)
    threads = operator.index(threads)
    if limit < 0:
        raise ValueError(f"count_primes() limit must be >= 0, not {limit}")
    if limit > MAX_COUNT_LIMIT:
        raise OverflowError(
            f"count_primes() limit must be <= 2**40, not {limit}: "
            "the sieve would run for hours")
    if not 1 <= threads <= MAX_THREADS:
        raise ValueError(
            f"count_primes() threads must be from 1 to {MAX_THREADS}, not {threads}")
    if limit <= 2:
        return 0
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for p in range(2, math.isqrt(limit - 1) + 1):
        if sieve[p]:
            sieve[p * p::p] = bytes(len(range(p * p, limit, p)))
    return sum(sieve)
