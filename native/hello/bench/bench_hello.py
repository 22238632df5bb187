"""How long does one call take: a Python def against the four C calling conventions.

Every function does the same trivial work (return None), so the differences are the
cost of CPython passing arguments. Writes JSON with the machine and versions; the
docs' benchmark page plots it. Run by ``nox -s hello-bench``.
"""

from __future__ import annotations

import argparse
import timeit

import benchmeta
import hello


def py_noargs():
    return None


def py_onearg(obj):
    return None


# (label, calling convention, statement, globals): one argument where the
# convention takes one, so each row pays exactly what its convention costs.
CASES = [
    ("Python def, no args", "def", "f()", {"f": py_noargs}),
    ("Python def, one arg", "def", "f(x)", {"f": py_onearg}),
    ("C METH_NOARGS", "METH_NOARGS", "f()", {"f": hello.call_noargs}),
    ("C METH_O", "METH_O", "f(x)", {"f": hello.call_o}),
    ("C METH_VARARGS", "METH_VARARGS", "f(x)", {"f": hello.call_varargs}),
    ("C METH_FASTCALL", "METH_FASTCALL", "f(x)", {"f": hello.call_fastcall}),
]


def measure(stmt: str, env: dict, number: int, repeats: int) -> list[float]:
    """Nanoseconds per call, one figure per repeat (the loop's own cost removed)."""
    env = {**env, "x": 1}
    timer = timeit.Timer(stmt, globals=env)
    empty = timeit.Timer("pass", globals=env)
    per_call = []
    for _ in range(repeats):
        total = timer.timeit(number) - empty.timeit(number)
        per_call.append(total / number * 1e9)
    return per_call


def run(number: int, repeats: int) -> dict:
    # Interleave the cases repeat by repeat, so a burst of load on the machine
    # slows every case alike instead of one case only.
    samples: dict[str, list[float]] = {label: [] for label, *_ in CASES}
    for _ in range(repeats):
        for label, _conv, stmt, env in CASES:
            samples[label] += measure(stmt, env, number, 1)
    baseline = benchmeta.summarize(samples["Python def, one arg"])["median"]
    results = []
    for label, conv, _stmt, _env in CASES:
        stats = benchmeta.summarize(samples[label])
        results.append({
            "name": label,
            "convention": conv,
            "ns_per_call": stats,
            "ratio_to_python_def_one_arg": stats["median"] / baseline,
        })
    return {
        "benchmark": "hello: nanoseconds per call",
        "unit": "ns per call",
        "number": number,
        "machine": benchmeta.machine(["hello"]),
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="few repeats (for labs and CI)")
    args = parser.parse_args()
    number, repeats = (20_000, 5) if args.quick else (200_000, 31)
    payload = run(number, repeats)
    for row in payload["results"]:
        print(f"{row['name']:<22} {row['ns_per_call']['median']:7.1f} ns "
              f"(IQR {row['ns_per_call']['q1']:.1f}-{row['ns_per_call']['q3']:.1f})")
    benchmeta.write(args.out, payload)


if __name__ == "__main__":
    main()
