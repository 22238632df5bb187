"""In markupsafe's spirit: many calls must not leave Python objects behind."""

from __future__ import annotations

import gc
import tracemalloc

import hello
import pytest

CALLS = {
    "hello_world": lambda: hello.hello_world(),
    "greet": lambda: hello.greet("leak check"),
    "greet_error": lambda: _swallow(hello.greet, 1),
    "call_noargs": lambda: hello.call_noargs(),
    "call_o": lambda: hello.call_o(1),
    "call_varargs": lambda: hello.call_varargs(1),
    "call_varargs_error": lambda: _swallow(hello.call_varargs),
    "call_fastcall": lambda: hello.call_fastcall(1),
    "call_fastcall_error": lambda: _swallow(hello.call_fastcall, 1, 2),
}


def _swallow(func, *args):
    try:
        func(*args)
    except TypeError:
        pass


def _live_objects(call, times: int) -> int:
    for _ in range(times):
        call()
    gc.collect()
    return len(gc.get_objects())


@pytest.mark.parametrize("name", CALLS)
def test_live_objects_stay_flat(name, capfd):
    call = CALLS[name]
    _live_objects(call, 1_000)  # warm up caches (interned strings, specialisation)
    counts = [_live_objects(call, 20_000) for _ in range(3)]
    capfd.readouterr()
    # A leak of one object per call would add 20,000 between two rounds.
    assert max(counts) - min(counts) < 50, counts


@pytest.mark.parametrize("name", ["greet", "greet_error", "call_varargs_error"])
def test_traced_memory_stays_flat(name):
    # gc.get_objects() only sees containers: a leaked str result would hide from it,
    # so memory itself is traced too.
    call = CALLS[name]
    for _ in range(1_000):
        call()
    tracemalloc.start()
    try:
        for _ in range(20_000):
            call()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(20_000):
            call()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One leaked 60-byte string per call would be ~1 MB here.
    assert second - first < 64 * 1024, (first, second)
