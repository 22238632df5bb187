"""count_primes counts the primes *below* limit, on any number of threads."""

from __future__ import annotations

import primes
import primes.pure
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st


def pi_below(limit: int) -> int:
    return int(sympy.primepi(limit - 1)) if limit > 0 else 0


@pytest.mark.parametrize("count_primes", [primes.count_primes, primes.pure.count_primes],
                         ids=["cython", "pure"])
def test_small_limits(count_primes):
    assert [count_primes(n) for n in range(200)] == [pi_below(n) for n in range(200)]


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
@pytest.mark.parametrize("limit, expected", [(10**6, 78498), (10**7, 664579)])
def test_known_values(limit, expected, threads):
    assert primes.count_primes(limit, threads=threads) == expected


def test_pure_known_value():
    assert primes.pure.count_primes(10**6) == 78498


# Limits around segment edges (65536 numbers) and chunk edges.
@given(limit=st.integers(min_value=0, max_value=400_000), threads=st.integers(1, 8))
def test_agrees_with_sympy(limit, threads):
    assert primes.count_primes(limit, threads=threads) == pi_below(limit)


@given(limit=st.integers(min_value=0, max_value=200_000))
def test_cython_and_pure_agree(limit):
    assert primes.count_primes(limit) == primes.pure.count_primes(limit)


def test_larger_limit_on_many_threads():
    # pi(10**8) is a known value; 16 threads on 2 cores still add up correctly.
    assert primes.count_primes(10**8, threads=16) == 5761455


def test_pi_of_a_billion():
    # Base primes up to 31622, thousands of segments and pattern wrap-arounds.
    assert primes.count_primes(10**9, threads=2) == 50847534
