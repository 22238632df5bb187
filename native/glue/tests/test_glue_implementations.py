"""One test file for all six implementations of the glue API.

Every test runs once per tool (C API, Cython, pybind11, nanobind, cffi, ctypes): the
same answers, the same exception *types* for bad input (the messages are each tool's
own, and the lab shows them), the GIL released around count_primes, and no leaks.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import tracemalloc

import glue
import pytest


@pytest.fixture(params=glue.IMPLEMENTATIONS)
def impl(request):
    return glue.load(request.param)


def is_prime_oracle(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


# --- answers --------------------------------------------------------------------------


def test_every_function_is_there(impl):
    missing = [name for name in glue.API if not callable(getattr(impl, name, None))]
    assert not missing, f"{impl.__name__} lacks {missing}"


def test_noop_returns_none(impl):
    assert impl.noop() is None


def test_is_prime_matches_the_oracle(impl):
    wrong = [n for n in range(3000) if impl.is_prime(n) is not is_prime_oracle(n)]
    assert not wrong, f"wrong answers (or not a bool) for {wrong[:10]}"


@pytest.mark.parametrize("n, expected", [
    (2**31 - 1, True),  # a Mersenne prime: 46,340 trial divisions
    (2**64 - 1, False),  # the largest value accepted (divisible by 3)
    (4294967291 * 3, False),
    (True, False),  # bool is an int
])
def test_is_prime_at_the_edges(impl, n, expected):
    assert impl.is_prime(n) is expected


def test_count_primes(impl):
    assert impl.count_primes(0, 1000) == 168
    assert impl.count_primes(1000, 1000) == 0
    assert impl.count_primes(10, 5) == 0  # an empty range, as range(10, 5)


@pytest.mark.parametrize("data", [b"", b"a", b"abc", b"a\0b\xff", bytes(range(256)) * 4096])
def test_reverse(impl, data):
    out = impl.reverse(data)
    assert type(out) is bytes
    assert out == data[::-1]


@pytest.mark.parametrize("n", [0, 1, 5])
def test_call_back_calls_n_times(impl, n):
    calls = []
    assert impl.call_back(lambda: calls.append(1), n) is None
    assert len(calls) == n


def test_call_back_stops_at_the_first_exception_and_raises_it(impl):
    raised = KeyError("third call")
    calls = []

    def func():
        calls.append(1)
        if len(calls) == 3:
            raise raised

    with pytest.raises(KeyError) as info:
        impl.call_back(func, 10)
    assert info.value is raised, "the callable's own exception must reach the caller"
    assert len(calls) == 3, "the C loop must stop at the first exception"


# --- bad input: the exception CPython itself would raise -------------------------------

def _nothing():
    return None


BAD_CALLS = {
    "is_prime(str)": ("is_prime", ("7",), TypeError),
    "is_prime(float)": ("is_prime", (7.0,), TypeError),
    "is_prime(None)": ("is_prime", (None,), TypeError),
    "is_prime(-1)": ("is_prime", (-1,), OverflowError),
    "is_prime(2**64)": ("is_prime", (2**64,), OverflowError),
    "is_prime()": ("is_prime", (), TypeError),
    "is_prime(1, 2)": ("is_prime", (1, 2), TypeError),
    "noop(1)": ("noop", (1,), TypeError),
    "count_primes(-1, 10)": ("count_primes", (-1, 10), OverflowError),
    "count_primes(0, 2**64)": ("count_primes", (0, 2**64), OverflowError),
    "count_primes(0, '9')": ("count_primes", (0, "9"), TypeError),
    "count_primes(0)": ("count_primes", (0,), TypeError),
    "reverse(str)": ("reverse", ("abc",), TypeError),
    "reverse(None)": ("reverse", (None,), TypeError),
    "reverse(int)": ("reverse", (3,), TypeError),
    "reverse(list)": ("reverse", ([b"a", b"b"],), TypeError),  # cffi alone would take it
    "call_back(not callable)": ("call_back", (42, 3), TypeError),
    "call_back(n=-1)": ("call_back", (_nothing, -1), OverflowError),
    "call_back(n=2**64)": ("call_back", (_nothing, 2**64), OverflowError),
    "call_back(n=str)": ("call_back", (_nothing, "3"), TypeError),
}


@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_what_cpython_would(impl, case):
    name, args, expected = BAD_CALLS[case]
    with pytest.raises(expected) as info:
        getattr(impl, name)(*args)
    # Exactly the type, not a subclass such as ctypes.ArgumentError or a tool's own.
    assert type(info.value) is expected, f"{case}: {type(info.value).__name__}: {info.value}"
    assert str(info.value), f"{case}: the {expected.__name__} has no message"


# --- the GIL ----------------------------------------------------------------------------

# About 0.1 s of trial division on a quiet machine: long enough for the main thread
# to be scheduled while a worker is inside it, whatever the load.
GIL_WORK = (0, 300_000)
GIL_ATTEMPTS = 10


def main_thread_ran_during_the_call(impl) -> bool:
    """Start a worker that calls count_primes; True if this thread ran before it returned.

    With a switch interval of 1,000 s, CPython never takes the GIL from a thread that
    holds it: the worker keeps it from the moment it starts until it blocks or ends.
    So `start()`, which waits for the worker to start, returns while the worker is
    still inside count_primes only if count_primes released the GIL. No timing: if
    the GIL is held, this thread *cannot* see `finished` empty.
    """
    finished = []
    worker = threading.Thread(target=lambda: finished.append(impl.count_primes(*GIL_WORK)))
    worker.start()
    ran_during = not finished
    worker.join()
    assert finished == [25997]
    return ran_during


@pytest.mark.timeout(300)
def test_count_primes_releases_the_gil(impl):
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    try:
        # A loaded machine may not schedule this thread before the worker's C loop
        # ends: try again, but a held GIL can never pass.
        ran = [main_thread_ran_during_the_call(impl) for _ in range(GIL_ATTEMPTS)]
    finally:
        sys.setswitchinterval(old)
    assert any(ran), (f"{impl.__name__}.count_primes kept the GIL: no other thread ran "
                      f"during any of {GIL_ATTEMPTS} calls")


# --- leaks ------------------------------------------------------------------------------


def _swallow(func, *args):
    try:
        func(*args)
    except (TypeError, OverflowError, KeyError):
        pass


def _raise_key_error():
    raise KeyError("leak check")


# Every path through the glue: results, conversions, errors, callbacks, exceptions.
LEAK_CALLS = {
    "noop": lambda m: m.noop(),
    "is_prime": lambda m: m.is_prime(7919),
    "is_prime_error": lambda m: _swallow(m.is_prime, -1),
    "is_prime_type_error": lambda m: _swallow(m.is_prime, "7"),
    "count_primes": lambda m: m.count_primes(0, 50),
    "reverse": lambda m: m.reverse(b"leak check"),
    "reverse_error": lambda m: _swallow(m.reverse, "leak check"),
    "call_back": lambda m: m.call_back(_nothing, 3),
    "call_back_error": lambda m: _swallow(m.call_back, _raise_key_error, 3),
}
ROUND = 10_000


def _live_objects(impl, call) -> int:
    for _ in range(ROUND):
        call(impl)
    gc.collect()
    return len(gc.get_objects())


@pytest.mark.parametrize("name", LEAK_CALLS)
def test_live_objects_stay_flat(impl, name):
    call = LEAK_CALLS[name]
    _live_objects(impl, call)  # warm up caches (interned strings, specialisation)
    counts = [_live_objects(impl, call) for _ in range(3)]
    # A leak of one object per call would add 10,000 between two rounds.
    assert max(counts) - min(counts) < 50, counts


REFCOUNTED_ARGUMENTS = {
    # Made at run time, so no constant or cache shares them.
    "is_prime": lambda: (int("1000003"),),
    "count_primes": lambda: (int("1000000"), int("1000100")),
    "reverse": lambda: (b"-".join([b"refcount", b"probe"]),),
    "call_back": lambda: ((lambda: None), 3),
}


def _watched(args) -> list:
    # Small ints are shared by the whole interpreter: their counts move on their own.
    return [arg for arg in args if not (type(arg) is int and -5 <= arg <= 256)]


@pytest.mark.parametrize("name", REFCOUNTED_ARGUMENTS)
def test_arguments_are_borrowed(impl, name):
    # An extra or missing reference to an argument leaks it (or frees it while in use)
    # without creating any object: only its reference count shows it.
    args = REFCOUNTED_ARGUMENTS[name]()
    func = getattr(impl, name)
    func(*args)
    before = [sys.getrefcount(arg) for arg in _watched(args)]
    for _ in range(ROUND):
        func(*args)
    gc.collect()
    assert [sys.getrefcount(arg) for arg in _watched(args)] == before


@pytest.mark.parametrize("name", ["reverse", "is_prime_error", "call_back_error"])
def test_traced_memory_stays_flat(impl, name):
    # gc.get_objects() sees only containers: a leaked bytes result would hide from
    # it, so memory itself is traced too.
    call = LEAK_CALLS[name]
    for _ in range(1_000):
        call(impl)
    tracemalloc.start()
    try:
        rounds = []
        for _ in range(3):
            for _ in range(ROUND):
                call(impl)
            gc.collect()
            rounds.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    # One leaked 43-byte bytes object per call would be ~400 kB per round.
    assert max(rounds) - min(rounds) < 64 * 1024, rounds
