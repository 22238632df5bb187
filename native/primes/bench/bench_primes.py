"""Stage 2's benchmark: what each step of the lesson buys, measured in one run.

Three questions, each answered as ratios between rows measured side by side:

- ``trial``: the same trial division in pure Python, the slides' Python, Cython
  without types, the slides' Cython, typed Cython and plain C;
- ``sieve``: counting primes below a limit with our segmented sieve (1 and 2
  threads) against primesieve, the practical limit;
- ``threads``: the same work from 1 and 2 Python threads, with the GIL held or
  released (``primes.gil.count_range``).

Writes JSON (machine, versions, medians and spread); run by ``nox -s primes-bench``.
``--quick`` takes a few seconds, for labs and CI. The labs import ``run_trial``,
``run_sieve`` and ``run_threads`` to time the same things on the reader's machine.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

import benchmeta
import primes
import primes.pure
from primes import gil
from primes.steps import c_reference, cython_slides, cython_untyped, python_slides

try:
    import primesieve
except ImportError:  # the benchmark still runs; the comparison row is missing
    primesieve = None

# Primes just below 2**31, so that the slides' Cython (`int x`) can run them too:
# each needs about 46,000 divisions, the same for every step.
TRIAL_WORK = (2147483647, 2147483629, 2147483587)

# (label, what the step is, function). Same algorithm in every row.
TRIAL_STEPS: list[tuple[str, str, Callable[[int], bool]]] = [
    ("Python (slides)", "the talk's pure Python", python_slides.am_i_prime),
    ("Python (fixed)", "primes.pure.is_prime_trial", primes.pure.is_prime_trial),
    ("Cython, untyped", "the fixed Python compiled as it is", cython_untyped.is_prime_trial),
    ("Cython (slides)", "cdef am_i_prime(int x), loop variable untyped",
     cython_slides.call_am_i_prime),
    ("Cython, typed", "primes.is_prime_trial: typed loop, libc sqrt", primes.is_prime_trial),
    ("C reference", "the same loop in plain C", c_reference.is_prime_trial),
]
BASELINE = "Python (fixed)"


def time_once(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def interleaved(cases: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Median and spread of each case's seconds. The cases take turns repeat by
    repeat, so a burst of load on the machine slows every case alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for function in cases.values():
        function()  # warm up: imports, caches, first-call costs
    for _ in range(repeats):
        for name, function in cases.items():
            samples[name].append(time_once(function))
    return {name: benchmeta.summarize(values) for name, values in samples.items()}


def run_trial(repeats: int = 5, work: tuple[int, ...] = TRIAL_WORK) -> dict:
    def checker(function):
        return lambda: [function(n) for n in work]

    stats = interleaved({label: checker(f) for label, _, f in TRIAL_STEPS}, repeats)
    base = stats[BASELINE]["median"]
    c_time = stats["C reference"]["median"]
    return {
        "work": list(work),
        "results": [
            {"name": label, "what": what, "seconds": stats[label],
             "speedup_vs_python": base / stats[label]["median"],
             "time_vs_c": stats[label]["median"] / c_time}
            for label, what, _ in TRIAL_STEPS
        ],
    }


def run_sieve(limit: int, repeats: int = 5) -> dict:
    cases = {
        "count_primes, 1 thread": lambda: primes.count_primes(limit, threads=1),
        "count_primes, 2 threads": lambda: primes.count_primes(limit, threads=2),
    }
    if primesieve is not None:
        def primesieve_on(threads):
            def count():
                primesieve.set_num_threads(threads)
                return primesieve.count_primes(limit)
            return count

        cases["primesieve, 1 thread"] = primesieve_on(1)
        cases["primesieve, 2 threads"] = primesieve_on(2)
    if limit <= 10**7:
        cases["pure Python sieve"] = lambda: primes.pure.count_primes(limit)
    answers = {name: function() for name, function in cases.items()}
    assert len(set(answers.values())) == 1, f"the sieves disagree: {answers}"
    stats = interleaved(cases, repeats)
    return {
        "limit": limit,
        "count": next(iter(answers.values())),
        "results": [{"name": name, "seconds": s} for name, s in stats.items()],
    }


def threaded_wall_time(threads: int, lo: int, hi: int, release_gil: bool,
                       algorithm: str = "trial") -> float:
    """Seconds for `threads` Python threads to count primes in [lo, hi), each
    taking an equal slice, all released at once by a barrier."""
    barrier = threading.Barrier(threads + 1)
    bounds = [lo + (hi - lo) * i // threads for i in range(threads + 1)]

    def worker(i):
        barrier.wait()
        gil.count_range(bounds[i], bounds[i + 1], algorithm=algorithm,
                        release_gil=release_gil)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    start = time.perf_counter()
    barrier.wait()
    for t in pool:
        t.join()
    return time.perf_counter() - start


def run_threads(span: int = 20_000, repeats: int = 5, lo: int = 10**10) -> dict:
    """The same total work (primes in [lo, lo + span) by trial division) from 1 and
    2 threads, with the GIL held and released."""
    cases = {
        f"{threads} thread{'s' if threads > 1 else ''}, GIL {mode}":
            (lambda threads=threads, release=release:
             threaded_wall_time(threads, lo, lo + span, release))
        for mode, release in (("held", False), ("released", True))
        for threads in (1, 2)
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, run in cases.items():
            samples[name].append(run())
    stats = {name: benchmeta.summarize(values) for name, values in samples.items()}
    return {
        "work": {"lo": lo, "hi": lo + span, "algorithm": "trial"},
        "results": [{"name": name, "seconds": s} for name, s in stats.items()],
    }


def ratios(trial: dict, sieve: dict, threads: dict) -> dict:
    def median(section, name):
        return next(r["seconds"]["median"] for r in section["results"] if r["name"] == name)

    out = {
        "typed_cython_speedup_vs_python": median(trial, BASELINE) / median(trial, "Cython, typed"),
        "typed_cython_time_vs_c": median(trial, "Cython, typed") / median(trial, "C reference"),
        "count_primes_2_threads_speedup": (median(sieve, "count_primes, 1 thread")
                                           / median(sieve, "count_primes, 2 threads")),
        "gil_released_2_threads_speedup": (median(threads, "1 thread, GIL released")
                                           / median(threads, "2 threads, GIL released")),
        "gil_held_2_threads_speedup": (median(threads, "1 thread, GIL held")
                                       / median(threads, "2 threads, GIL held")),
    }
    if primesieve is not None:
        for k in (1, 2):
            s = "s" if k > 1 else ""
            out[f"count_primes_time_vs_primesieve_{k}_thread{s}"] = (
                median(sieve, f"count_primes, {k} thread{s}")
                / median(sieve, f"primesieve, {k} thread{s}"))
    return out


def run(quick: bool) -> dict:
    repeats = 5 if quick else 21
    trial = run_trial(repeats)
    sieve = run_sieve(10**8, repeats)
    threads = run_threads(span=20_000 if quick else 100_000, repeats=repeats)
    return {
        "benchmark": "primes: trial division steps, sieve, threads",
        "unit": "seconds",
        "quick": quick,
        "machine": benchmeta.machine(["primes", "cython", "primesieve", "sympy"]),
        "trial": trial,
        "sieve": sieve,
        "threads": threads,
        "ratios": ratios(trial, sieve, threads),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="a few seconds (labs, CI)")
    args = parser.parse_args()
    payload = run(args.quick)
    for section in ("trial", "sieve", "threads"):
        print(f"-- {section}")
        for row in payload[section]["results"]:
            s = row["seconds"]
            print(f"   {row['name']:<26} {s['median'] * 1e3:10.3f} ms "
                  f"(IQR {s['q1'] * 1e3:.3f}-{s['q3'] * 1e3:.3f})")
    print("-- ratios")
    for name, value in payload["ratios"].items():
        print(f"   {name:<42} {value:6.2f}")
    benchmeta.write(args.out, payload)


if __name__ == "__main__":
    main()
