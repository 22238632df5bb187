"""Workshop stage 2: prime checks in Cython, from the talk's version to a fast one.

- ``is_prime(n)``: exact for every integer below 2**64 (Miller-Rabin).
- ``is_prime_trial(n)``: the talk's trial division, fixed and typed.
- ``count_primes(limit, threads=1)``: primes below ``limit``, a segmented sieve that
  runs without the GIL, on ``threads`` native threads.

``primes.pure`` has the same API in pure Python; ``primes.steps`` the lesson's
intermediate versions; ``primes.gil`` the same work with and without the GIL.
"""

from primes._primes import count_primes, is_prime, is_prime_trial

__all__ = ["count_primes", "is_prime", "is_prime_trial"]
