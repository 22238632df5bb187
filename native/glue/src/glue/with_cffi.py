"""glue.with_cffi: the glue API through cffi's API mode, compiled out of line.

``glue._glue_cffi`` was generated from the declarations in ``cffi_build.py`` and
compiled at build time, so its ``lib`` calls the C functions directly, checking each
argument against its declared C type. What a C signature cannot say (bytes in and
out, a Python callback that may raise) is written here in Python.
"""

from __future__ import annotations

from collections.abc import Callable

from glue._glue_cffi import ffi, lib

# cffi already raises what CPython would (TypeError, OverflowError) for a bad int, and
# releases the GIL around every call into C: these are the C functions themselves.
noop = lib.glue_noop
is_prime = lib.glue_is_prime
count_primes = lib.glue_count_primes


def reverse(data: bytes) -> bytes:
    """The bytes of data in reverse order."""
    if not isinstance(data, bytes):
        # cffi would also take a list of one-byte bytes for `const char *`: refuse it.
        raise TypeError(f"reverse() argument must be bytes, not {type(data).__name__}")
    out = ffi.new("char[]", len(data))
    lib.glue_reverse(data, len(data), out)
    return ffi.buffer(out)[:]


class _Call:
    """One call_back() in progress: the callable, and the exception it raised."""

    __slots__ = ("error", "func")

    def __init__(self, func: Callable[[], object]) -> None:
        self.func = func
        self.error: BaseException | None = None


@ffi.def_extern()
def glue_cffi_call_python(ctx):
    # An exception escaping here would be printed and swallowed by cffi (C has no
    # exceptions): keep it, stop the C loop with -1, and raise it in call_back.
    call = ffi.from_handle(ctx)
    try:
        call.func()
    except BaseException as exc:  # re-raised by call_back
        call.error = exc
        return -1
    return 0


def call_back(func: Callable[[], object], n: int) -> None:
    """Call func() n times from C; its first exception stops the loop."""
    call = _Call(func)
    handle = ffi.new_handle(call)  # keeps `call` alive while C holds the pointer
    if lib.glue_call_back(lib.glue_cffi_call_python, handle, n) != 0:
        raise call.error
