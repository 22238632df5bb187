"""The lesson's trial division, one module per step, for lab 03 and the benchmark.

Each step runs the same algorithm (try every divisor from 2 up to the square
root), so the timings compare what the *language* buys, not a better algorithm:

==========================  ==============================================  =========
step                        what changed                                    correct?
==========================  ==============================================  =========
``python_slides``           the talk's Python, as on the slide              no
``primes.pure``             the same, fixed (``is_prime_trial``)            yes
``cython_untyped``          the fixed Python compiled by Cython, no types   yes
``cython_slides``           the talk's Cython, as on the slide              no
``primes.is_prime_trial``   typed Cython: ``cpdef``, typed loop, libc sqrt  yes
``c_reference``             the same loop in plain C, called from Cython    yes
==========================  ==============================================  =========
"""
