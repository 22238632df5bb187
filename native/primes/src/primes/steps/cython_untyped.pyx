# cython: language_level=3
"""``primes.pure.is_prime_trial`` compiled by Cython as it is: no type declarations.

Every variable is still a Python object, so each ``n % i`` and each step of the
loop is a call into CPython's integer code: what compiling alone buys.
"""

import math
import operator


def is_prime_trial(n):
    n = operator.index(n)
    if not -(2**63) <= n < 2**63:
        raise OverflowError("is_prime_trial() takes integers in [-2**63, 2**63)")
    if n < 2:
        return False
    for i in range(2, math.isqrt(n) + 1):
        if n % i == 0:
            return False
    return True
