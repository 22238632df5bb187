"""The lesson's trial division at every step: the fixed ones are right, the slides'
ones are demonstrably wrong."""

from __future__ import annotations

from pathlib import Path

import primes
import primes.pure
import pytest
import sympy
from hypothesis import example, given
from hypothesis import strategies as st
from primes.steps import c_reference, cython_slides, cython_untyped, python_slides

SLIDES = Path(__file__).resolve().parents[1] / "slides"

FIXED = {
    "pure": primes.pure.is_prime_trial,
    "cython_untyped": cython_untyped.is_prime_trial,
    "cython_typed": primes.is_prime_trial,
    "c_reference": c_reference.is_prime_trial,
}


@pytest.mark.parametrize("name", FIXED)
def test_fixed_steps_on_small_numbers(name):
    found = [n for n in range(-20, 5_000) if FIXED[name](n)]
    assert found == list(sympy.primerange(0, 5_000))


# Trial division costs sqrt(n) divisions, so the examples stop at 2**40 (10**6
# divisions at most); the top of the long long range is checked with composites.
@pytest.mark.parametrize("name", FIXED)
@given(n=st.integers(min_value=-(2**63), max_value=2**40))
def test_fixed_steps_agree_with_sympy(name, n):
    assert FIXED[name](n) == sympy.isprime(n)


@pytest.mark.parametrize("name", FIXED)
@pytest.mark.parametrize("n", [2**63 - 1, 2**63 - 2, 2**62 + 1, 3 * 3074457345618258602])
def test_fixed_steps_near_the_top_of_long_long(name, n):
    assert FIXED[name](n) is False


@pytest.mark.parametrize("name", ["cython_typed", "c_reference"])
def test_large_prime_and_prime_square(name):
    # A 44-bit prime (2**22 divisions) and the square of a 22-bit prime, which the
    # slides' bound range(2, floor(sqrt(n))) misses.
    p = 4194301
    assert FIXED[name](17592186044399) is True
    assert FIXED[name](p * p) is False


def slides_python(n):
    return python_slides.am_i_prime(n)


def slides_cython(n):
    return cython_slides.call_am_i_prime(n)


def wrong_or_crashing(check, n):
    """True if the slides' check gives a wrong answer (or an error) for n."""
    try:
        return check(n) != sympy.isprime(n)
    except (ValueError, OverflowError):
        return True


@pytest.mark.parametrize("check", [slides_python, slides_cython], ids=["python", "cython"])
@pytest.mark.parametrize("n, why", [
    (0, "0 is not prime"), (1, "1 is not prime"), (-7, "negatives are not prime"),
    (4, "range(2, floor(sqrt(4))) is empty"), (9, "misses the divisor 3 = sqrt(9)"),
    (25, "misses 5"), (49, "misses 7"),
])
def test_slides_are_wrong_on_known_cases(check, n, why):
    assert wrong_or_crashing(check, n), why


def test_slides_python_crashes_on_negatives():
    with pytest.raises(ValueError, match="math domain error"):
        python_slides.am_i_prime(-7)


def test_slides_cython_overflows_int():
    # `int x` is 32 bits: 2**31 does not fit, and the call fails.
    with pytest.raises(OverflowError):
        cython_slides.call_am_i_prime(2**31)


def test_slides_cython_is_not_importable():
    """`cdef` functions exist for C only: Python cannot import them."""
    with pytest.raises(ImportError):
        from primes.steps.cython_slides import am_i_prime  # noqa: F401


def test_a_property_test_finds_the_slides_bugs():
    """What lab 03 does: hypothesis, given only 'agree with sympy', finds a
    counterexample for each slides' version without being told where to look."""
    from hypothesis import find
    for check in (slides_python, slides_cython):
        counterexample = find(st.integers(min_value=-(2**31), max_value=2**31 - 1),
                              lambda n, check=check: wrong_or_crashing(check, n))
        assert wrong_or_crashing(check, counterexample)


@given(n=st.integers(min_value=2, max_value=2**31 - 1))
@example(n=4)
def test_slides_agree_with_each_other(n):
    """Same algorithm, same bugs: both slide versions give the same answers."""
    assert slides_python(n) == slides_cython(n)


@pytest.mark.parametrize("slides_file, module_file", [
    ("prime_checker.py", "python_slides.py"),
    ("prime_checker.pyx", "cython_slides.pyx"),
])
def test_steps_keep_the_slides_code_unchanged(slides_file, module_file):
    """primes.steps runs the slides' code; it must be the code in slides/
    (blank lines aside, which formatters like to change)."""
    source_dir = Path(__file__).resolve().parents[1] / "src" / "primes" / "steps"

    def code_lines(path):
        return "\n".join(line for line in path.read_text().splitlines() if line.strip())

    assert code_lines(SLIDES / slides_file) in code_lines(source_dir / module_file)
