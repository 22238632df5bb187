# cython: language_level=3
"""glue.with_cython: the glue API in Cython.

Python-looking code with C types: Cython writes the argument conversion, the error
checks and the reference counting that with_capi.c does by hand.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.number cimport PyNumber_Index
from libc.stdint cimport uint64_t

cdef extern from "glue_work.h":
    # `except -1`: a -1 from glue_call_back means "a Python exception is set",
    # so Cython checks for it after the call and raises it.
    ctypedef int (*glue_callback)(void *ctx) except -1
    void glue_noop() noexcept nogil
    bint glue_is_prime(uint64_t n) noexcept nogil
    uint64_t glue_count_primes(uint64_t lo, uint64_t hi) noexcept nogil
    void glue_reverse(const char *src, size_t n, char *dst) noexcept nogil
    int glue_call_back(glue_callback callback, void *ctx, uint64_t n) except -1


cdef uint64_t as_u64(obj) except? 0:
    # A parameter typed `uint64_t n` would take 7.5 and truncate it to 7 (Cython
    # falls back on __int__). PyNumber_Index refuses floats with TypeError, as
    # CPython's own functions do; Cython then raises OverflowError below 0 or
    # above 2**64 - 1 when it converts the int.
    return PyNumber_Index(obj)


def noop():
    """noop() -> None: call a C function that does nothing."""
    glue_noop()


def is_prime(n):
    """is_prime(n) -> bool: True if 0 <= n < 2**64 is prime."""
    return glue_is_prime(as_u64(n))


def is_prime_u64(uint64_t n):
    # Cython's own conversion of a typed parameter, kept to show what it accepts.
    return glue_is_prime(n)


def count_primes(lo, hi):
    """count_primes(lo, hi) -> int: count the primes in [lo, hi), GIL released."""
    cdef uint64_t first = as_u64(lo), last = as_u64(hi), count
    with nogil:
        count = glue_count_primes(first, last)
    return count


def reverse(bytes data not None):
    """reverse(data) -> bytes: the bytes of data in reverse order."""
    cdef Py_ssize_t size = len(data)
    # A bytes object of the right size, filled in place: no second copy.
    out = PyBytes_FromStringAndSize(NULL, size)
    glue_reverse(data, size, PyBytes_AS_STRING(out))
    return out


cdef int call_python(void *ctx) except -1:
    # ctx is the callable, borrowed from call_back's frame, which keeps it alive.
    (<object>ctx)()
    return 0


def call_back(func, n):
    """call_back(func, n) -> None: call func() n times from C."""
    glue_call_back(call_python, <void *>func, as_u64(n))
