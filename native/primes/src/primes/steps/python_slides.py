"""The talk's pure-Python prime checker, exactly as the slide shows it.

Kept wrong on purpose (lab 03's property test finds how); the fixed version is
``primes.pure.is_prime_trial``. The function body matches
``native/primes/slides/prime_checker.py`` (a test checks it).
"""

import math

def am_i_prime(x: int) -> bool:
    for i in range(2, math.floor(math.sqrt(x))):
        if x % i == 0:
            return False
    return True
