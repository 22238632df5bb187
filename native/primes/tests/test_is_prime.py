"""is_prime against an independent oracle (sympy.isprime), over its whole domain."""

from __future__ import annotations

import primes
import primes.pure
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

IMPLEMENTATIONS = [primes.is_prime, primes.pure.is_prime]
ids = ["cython", "pure"]

# Numbers that break careless checks: 0, 1, negatives, squares of primes (the
# slides' off-by-one), Carmichael numbers, strong pseudoprimes to small bases,
# and the edges of 32-, 63- and 64-bit integers.
EDGES = [
    -(2**63), -(2**63) + 1, -7, -2, -1, 0, 1, 2, 3, 4, 9, 25, 49, 121, 169,
    561, 1105, 1729, 2047, 3215031751, 341550071728321, 3825123056546413051,
    318665857834031151167461,  # strong pseudoprime to bases 2..37 (> 2**64)
    2**31 - 1, 2**31, 2**32 - 5, 2**32 + 15, 2**61 - 1, 2**62 - 57,
    2**63 - 25, 2**63 - 1, 2**63, 2**64 - 59, 2**64 - 1,
    4294967291**2, 4294967279 * 4294967291,  # products of two 32-bit primes
]
IN_DOMAIN = [n for n in EDGES if n < 2**64]


@pytest.mark.parametrize("is_prime", IMPLEMENTATIONS, ids=ids)
@pytest.mark.parametrize("n", IN_DOMAIN)
def test_edges_agree_with_sympy(is_prime, n):
    assert is_prime(n) == sympy.isprime(n)


@pytest.mark.parametrize("is_prime", IMPLEMENTATIONS, ids=ids)
def test_every_small_number(is_prime):
    assert [n for n in range(-50, 10_000) if is_prime(n)] == list(sympy.primerange(0, 10_000))


@pytest.mark.parametrize("is_prime", IMPLEMENTATIONS, ids=ids)
@given(n=st.integers(min_value=-(2**63), max_value=2**64 - 1))
def test_whole_domain_agrees_with_sympy(is_prime, n):
    assert is_prime(n) == sympy.isprime(n)


# 4294967279 and 4294967291 are the two largest 32-bit primes: p*q stays < 2**64.
@given(n=st.integers(min_value=2, max_value=4294967278))
def test_products_of_two_primes_are_composite(n):
    """Semiprimes p*q are the hard case for a probable-prime test."""
    p = sympy.nextprime(n)
    q = sympy.nextprime(p)
    assert not primes.is_prime(p * q)
    assert primes.is_prime(p) and primes.is_prime(q)


@given(n=st.integers(min_value=-(2**80), max_value=2**64 - 1))
def test_cython_and_pure_agree(n):
    assert primes.is_prime(n) == primes.pure.is_prime(n)


@pytest.mark.parametrize("is_prime", IMPLEMENTATIONS, ids=ids)
def test_all_negatives_are_not_prime(is_prime):
    """Below -2**63 too: the answer is known without any arithmetic."""
    assert not is_prime(-(2**200))


@pytest.mark.parametrize("is_prime", IMPLEMENTATIONS, ids=ids)
@pytest.mark.parametrize("n", [2**64, 2**64 + 13, 2**127 - 1, 10**100])
def test_too_large_raises_overflow_error(is_prime, n):
    with pytest.raises(OverflowError, match=r"below 2\*\*64"):
        is_prime(n)
