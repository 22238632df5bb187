"""glue.with_ctypes: the glue API through ctypes, over a plain C shared library.

Nothing is compiled for Python: libglue is glue_work.c built as an ordinary shared
library, and ctypes calls it by declaring each function's C types at run time. ctypes
checks little (it wraps a negative int into an unsigned one, and raises its own
ArgumentError, not TypeError), so this module checks what CPython's functions would.
"""

from __future__ import annotations

import ctypes
import operator
import sys
from collections.abc import Callable
from pathlib import Path

_U64_LIMIT = 1 << 64


def _find_library() -> Path:
    # Installed next to this file by meson (libglue.so; libglue.dylib on macOS).
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return Path(__file__).with_name("libglue" + suffix)


# CDLL releases the GIL around every call (ctypes.PyDLL would keep it).
_lib = ctypes.CDLL(str(_find_library()))

_lib.glue_noop.argtypes = []
_lib.glue_noop.restype = None
_lib.glue_is_prime.argtypes = [ctypes.c_uint64]
_lib.glue_is_prime.restype = ctypes.c_bool
_lib.glue_count_primes.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
_lib.glue_count_primes.restype = ctypes.c_uint64
_lib.glue_reverse.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
_lib.glue_reverse.restype = None
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_lib.glue_call_back.argtypes = [_CALLBACK, ctypes.c_void_p, ctypes.c_uint64]
_lib.glue_call_back.restype = ctypes.c_int


def _as_u64(value) -> int:
    """What CPython does for an unsigned C integer: ctypes would wrap -1 silently."""
    n = operator.index(value)  # TypeError: '...' object cannot be interpreted as an integer
    if n < 0:
        raise OverflowError("can't convert negative int to unsigned")
    if n >= _U64_LIMIT:
        raise OverflowError("int too big to convert")
    return n


def noop() -> None:
    """Call a C function that does nothing."""
    # Not `noop = _lib.glue_noop`: a foreign function ignores extra arguments.
    _lib.glue_noop()


def is_prime(n: int) -> bool:
    """True if 0 <= n < 2**64 is prime."""
    return _lib.glue_is_prime(_as_u64(n))


def count_primes(lo: int, hi: int) -> int:
    """Count the primes in [lo, hi); the GIL is released (CDLL)."""
    return _lib.glue_count_primes(_as_u64(lo), _as_u64(hi))


def reverse(data: bytes) -> bytes:
    """The bytes of data in reverse order."""
    if not isinstance(data, bytes):
        raise TypeError(f"reverse() argument must be bytes, not {type(data).__name__}")
    out = ctypes.create_string_buffer(len(data))
    # c_char_p passes a pointer to the bytes object's own buffer: no copy.
    _lib.glue_reverse(data, len(data), out)
    return out.raw


def call_back(func: Callable[[], object], n: int) -> None:
    """Call func() n times from C; its first exception stops the loop."""
    if not callable(func):
        raise TypeError(f"'{type(func).__name__}' object is not callable")
    n = _as_u64(n)
    error: list[BaseException] = []

    def call_python(ctx):
        # ctypes prints and swallows an exception raised here: keep it, return -1.
        try:
            func()
        except BaseException as exc:  # re-raised below
            error.append(exc)
            return -1
        return 0

    # The CFUNCTYPE object must outlive the C call: `callback` holds it until we return.
    callback = _CALLBACK(call_python)
    if _lib.glue_call_back(callback, None, n) != 0:
        raise error[0]
