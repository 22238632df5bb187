"""Bad input raises what CPython's own integer functions raise (math.isqrt, range)."""

from __future__ import annotations

import decimal
import fractions
import math

import primes
import primes.pure
import pytest
from primes.steps import c_reference, cython_untyped

CHECKS = {
    "is_prime": primes.is_prime,
    "pure.is_prime": primes.pure.is_prime,
    "is_prime_trial": primes.is_prime_trial,
    "pure.is_prime_trial": primes.pure.is_prime_trial,
    "untyped.is_prime_trial": cython_untyped.is_prime_trial,
    "c_reference.is_prime_trial": c_reference.is_prime_trial,
}
NOT_INTEGERS = [7.0, 2.5, float("nan"), "7", b"7", None, decimal.Decimal(7),
                fractions.Fraction(7, 1), 7 + 0j, [7], object()]


@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
def test_non_integers_raise_type_error(name, value):
    with pytest.raises(TypeError):
        math.isqrt(value)  # CPython's own behaviour, for the record
    with pytest.raises(TypeError):
        CHECKS[name](value)


class Index:
    """Not an int, but usable as one (like numpy.int64): __index__ is the protocol."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


@pytest.mark.parametrize("name", CHECKS)
def test_objects_with_index_are_accepted(name):
    assert CHECKS[name](Index(97)) is True
    assert CHECKS[name](Index(91)) is False


@pytest.mark.parametrize("name", CHECKS)
def test_bool_is_the_integer_it_is(name):
    """Documented choice: bool is an int subclass, as math.isqrt(True) == 1 says,
    so True means 1 and False means 0; neither is prime."""
    assert CHECKS[name](True) is False
    assert CHECKS[name](False) is False


@pytest.mark.parametrize("name", ["is_prime_trial", "pure.is_prime_trial",
                                  "untyped.is_prime_trial", "c_reference.is_prime_trial"])
@pytest.mark.parametrize("n", [2**63, -(2**63) - 1, 10**30])
def test_trial_outside_long_long_raises_overflow_error(name, n):
    with pytest.raises(OverflowError):
        CHECKS[name](n)


COUNTERS = [primes.count_primes, primes.pure.count_primes]


@pytest.mark.parametrize("count_primes", COUNTERS, ids=["cython", "pure"])
@pytest.mark.parametrize("limit", [1.5, "10", None, decimal.Decimal(10)], ids=repr)
def test_count_primes_limit_must_be_an_integer(count_primes, limit):
    with pytest.raises(TypeError):
        count_primes(limit)


@pytest.mark.parametrize("count_primes", COUNTERS, ids=["cython", "pure"])
def test_count_primes_limit_range(count_primes):
    with pytest.raises(ValueError, match="limit must be >= 0"):
        count_primes(-1)
    with pytest.raises(OverflowError, match=r"limit must be <= 2\*\*40"):
        count_primes(2**40 + 1)


@pytest.mark.parametrize("count_primes", COUNTERS, ids=["cython", "pure"])
@pytest.mark.parametrize("threads", [0, -1, 257])
def test_count_primes_threads_range(count_primes, threads):
    with pytest.raises(ValueError, match="threads must be from 1 to 256"):
        count_primes(100, threads=threads)


@pytest.mark.parametrize("count_primes", COUNTERS, ids=["cython", "pure"])
@pytest.mark.parametrize("threads", [2.0, "2", None])
def test_count_primes_threads_must_be_an_integer(count_primes, threads):
    with pytest.raises(TypeError):
        count_primes(100, threads=threads)


def test_private_sieve_job_refuses_what_would_corrupt_memory():
    """count_primes' helper is private, but a wrong call must still not crash."""
    from primes._primes import _SieveJob

    for limit, chunks in [(0, 1), (2, 1), (2**41, 1), (100, 0), (100, 1000)]:
        with pytest.raises(ValueError):
            _SieveJob(limit, chunks)
    job = _SieveJob(1000, 2)
    for chunk in (-1, 2, 10**6):
        with pytest.raises(IndexError):
            job.run(chunk)
