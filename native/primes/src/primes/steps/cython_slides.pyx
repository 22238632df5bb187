# cython: language_level=3
"""The talk's Cython prime checker, exactly as the slide shows it, plus a door.

``am_i_prime`` is a ``cdef`` function: C can call it, Python cannot even see it
(``from primes.steps.cython_slides import am_i_prime`` fails). ``call_am_i_prime``
is a ``def`` that only forwards to it, so lab 03 and the tests can run the slide's
code unchanged. The code between the markers matches
``native/primes/slides/prime_checker.pyx`` (a test checks it).
"""

# --- the slide's code, unchanged ---
from libc.math cimport sqrt, floor

cdef am_i_prime(int x):
    cdef double root = sqrt(<double>x)
    for i in range(2, <int>floor(root)):
        if x % i == 0:
            return False
    return True
# --- end of the slide's code ---


def call_am_i_prime(x):
    """Python's way in to the slide's ``cdef am_i_prime(int x)``."""
    return am_i_prime(x)
