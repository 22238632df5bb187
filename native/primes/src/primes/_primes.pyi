"""Type stubs for the compiled ``primes._primes`` (Cython keeps no signatures)."""

from typing import SupportsIndex

TWO_POW_64: int
MAX_COUNT_LIMIT: int
MAX_THREADS: int

def is_prime(n: SupportsIndex, /) -> bool: ...
def is_prime_trial(n: SupportsIndex) -> bool: ...
def count_primes(limit: SupportsIndex, /, threads: SupportsIndex = 1) -> int: ...
