"""The gluing tools side by side: cost per call, build time, size, lines of glue, ABI.

The same five functions (``glue.API``) over the same C work, through six tools
(``glue.IMPLEMENTATIONS``), so differences are the glue's. Per-call times interleave
the tools repeat by repeat (a burst of load slows all alike) and report medians with
their interquartile range. Build times compile each extension alone from a clean
build directory. Writes JSON with the machine and versions; the docs' benchmark page
plots it. Run by ``nox -s glue-bench``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import timeit
import tokenize
from pathlib import Path

import benchmeta
import glue

HERE = Path(__file__).resolve().parent
STAGE = HERE.parent
SRC = STAGE / "src" / "glue"

# --- nanoseconds per call -------------------------------------------------------------

PAYLOAD = bytes(range(64))
CALLBACKS_PER_CALL = 100


def _nothing():
    return None


# (function, statement, calls of the measured thing per statement). call_back is
# reported per callback: one C -> Python crossing, the talk's other direction.
CASES = [
    ("noop", "f()", 1),
    ("is_prime", "f(97)", 1),
    ("count_primes", "f(0, 10)", 1),
    ("reverse", "f(data)", 1),
    ("call_back", f"f(cb, {CALLBACKS_PER_CALL})", CALLBACKS_PER_CALL),
]


def _timer(tool: str, function: str, stmt: str) -> tuple[timeit.Timer, timeit.Timer]:
    env = {"f": getattr(glue.load(tool), function), "data": PAYLOAD, "cb": _nothing}
    return timeit.Timer(stmt, globals=env), timeit.Timer("pass", globals=env)


def per_call(number: int, repeats: int) -> list[dict]:
    """Median ns per call of every function through every tool, interleaved.

    Many short samples (`number` calls each) rather than a few long ones: on a shared
    machine a sample that the scheduler interrupts is an outlier the median ignores,
    while a long sample would almost always contain an interruption.
    """
    timers = {(tool, fn): (_timer(tool, fn, stmt), per)
              for fn, stmt, per in CASES for tool in glue.IMPLEMENTATIONS}
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in timers}
    for _ in range(repeats):
        for key, ((timer, empty), per) in timers.items():
            calls = max(number // per, 1)
            total = timer.timeit(calls) - empty.timeit(calls)
            samples[key].append(total / (calls * per) * 1e9)
    rows = []
    for fn, _stmt, per in CASES:
        baseline = benchmeta.summarize(samples[("capi", fn)])["median"]
        for tool in glue.IMPLEMENTATIONS:
            stats = benchmeta.summarize(samples[(tool, fn)])
            rows.append({"function": fn, "tool": tool, "ns_per_call": stats,
                         "per": "callback" if per > 1 else "call",
                         "ratio_to_capi": stats["median"] / baseline})
    return rows


# --- lines of glue a human wrote ---------------------------------------------------------

GLUE_FILES = {
    "capi": ["with_capi.c"],
    "cython": ["with_cython.pyx"],
    "pybind11": ["with_pybind11.cpp"],
    "nanobind": ["with_nanobind.cpp"],
    "cffi": ["cffi_build.py", "with_cffi.py"],
    "ctypes": ["with_ctypes.py"],
}
# The numbered sections of meson.build ("# --- 3. pybind11 ...") in IMPLEMENTATIONS order.
MESON_SECTION = re.compile(r"^# --- (\d)\. ", re.M)


def code_lines_c(text: str) -> int:
    """Lines with code once comments are gone (C, C++)."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group().count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return sum(1 for line in text.splitlines() if line.strip())


def code_lines_python(text: str) -> int:
    """Lines with code: no blank lines, comments or docstrings (Python, Cython)."""
    lines: set[int] = set()
    previous = tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER):
            if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                previous = tok.type
            continue
        docstring = tok.type == tokenize.STRING and previous in (
            tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
        previous = tok.type
        if not docstring:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines)


def meson_lines() -> dict[str, int]:
    text = (STAGE / "meson.build").read_text()
    marks = list(MESON_SECTION.finditer(text))
    counts = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else text.find("\npy.install_sources")
        body = text[mark.end():end]
        tool = glue.IMPLEMENTATIONS[int(mark.group(1)) - 1]
        counts[tool] = sum(1 for line in body.splitlines()[1:]
                           if line.strip() and not line.strip().startswith("#"))
    return counts


def glue_lines() -> dict[str, dict]:
    build = meson_lines()
    out = {}
    for tool, files in GLUE_FILES.items():
        count = 0
        for name in files:
            text = (SRC / name).read_text()
            count += code_lines_c(text) if name.endswith((".c", ".cpp")) else \
                code_lines_python(text)
        out[tool] = {"files": [f"src/glue/{n}" for n in files], "code_lines": count,
                     "meson_build_lines": build.get(tool, 0)}
    return out


# --- what was built -----------------------------------------------------------------------

MODULES = {"capi": "glue.with_capi", "cython": "glue.with_cython",
           "pybind11": "glue.with_pybind11", "nanobind": "glue.with_nanobind",
           "cffi": "glue._glue_cffi"}


def built_files() -> dict[str, Path]:
    files = {tool: Path(importlib.util.find_spec(name).origin) for tool, name in MODULES.items()}
    files["ctypes"] = Path(glue.__file__).with_name(
        "libglue.dylib" if sys.platform == "darwin" else "libglue.so")
    return files


def sizes() -> dict[str, dict]:
    out = {}
    for tool, path in built_files().items():
        stripped = None
        strip = shutil.which("strip")
        if strip:
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / path.name
                subprocess.run([strip, "--strip-unneeded", str(path), "-o", str(copy)],
                               check=True, capture_output=True)
                stripped = copy.stat().st_size
        out[tool] = {"file": path.name, "bytes": path.stat().st_size,
                     "stripped_bytes": stripped}
    return out


# --- build time from clean ----------------------------------------------------------------

# ninja's targets are the files meson will write (meson compile cannot name a target
# whose name holds dots, as with_capi.cpython-311-x86_64-linux-gnu does).
BUILD_TARGETS = {
    **{tool: module.rsplit(".", 1)[1] + sysconfig.get_config_var("EXT_SUFFIX")
       for tool, module in MODULES.items()},
    "ctypes": "libglue.dylib" if sys.platform == "darwin" else "libglue.so",
}


def build_times(repeats: int) -> dict[str, dict]:
    """Seconds to compile and link each extension alone, from a clean build directory.

    One job (-j 1), so a tool's time is its compiler work, not how well it parallelises
    on a machine that others share; the shared C work (one small file) is included.
    """
    meson = [sys.executable, "-m", "mesonbuild.mesonmain"]
    ninja = [shutil.which("ninja") or "ninja"]
    samples: dict[str, list[float]] = {tool: [] for tool in BUILD_TARGETS}
    with tempfile.TemporaryDirectory(prefix="glue-build-") as tmp:
        build = Path(tmp) / "build"
        subprocess.run([*meson, "setup", str(build), str(STAGE), "-Dbuildtype=release"],
                       check=True, capture_output=True)
        for _ in range(repeats):
            for tool, target in BUILD_TARGETS.items():
                subprocess.run([*ninja, "-C", str(build), "-t", "clean"],
                               check=True, capture_output=True)
                start = time.perf_counter()
                subprocess.run([*ninja, "-C", str(build), "-j", "1", target],
                               check=True, capture_output=True)
                samples[tool].append(time.perf_counter() - start)
    return {tool: benchmeta.summarize(s) for tool, s in samples.items()}


# --- abi3 and free-threading: facts, checked here where this machine can ------------------

def _compiles(source: Path, language: str, *flags: str) -> bool:
    """Does `source` compile (to an object file) with these flags, against this Python?"""
    compiler = (sysconfig.get_config_var("CXX") if language == "c++" else
                sysconfig.get_config_var("CC")) or ("c++" if language == "c++" else "cc")
    includes = [f"-I{sysconfig.get_paths()['include']}", f"-I{STAGE / 'src' / 'work'}"]
    if language == "c++":
        import nanobind
        import pybind11
        includes += [f"-I{pybind11.get_include()}", f"-I{nanobind.include_dir()}",
                     "-std=c++17"]
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([*compiler.split(), "-c", "-fPIC", *includes, *flags,
                               str(source), "-o", str(Path(tmp) / "probe.o")],
                              capture_output=True, text=True)
    return done.returncode == 0


def capabilities() -> dict[str, dict]:
    limited = "-DPy_LIMITED_API=0x030A0000"
    with tempfile.TemporaryDirectory() as tmp:
        cffi_c = Path(tmp) / "_glue_cffi.c"
        subprocess.run([sys.executable, str(SRC / "cffi_build.py"), str(cffi_c)], check=True,
                       capture_output=True)
        cffi_limited = "Py_LIMITED_API" in cffi_c.read_text()
    nm = shutil.which("nm")
    libglue = built_files()["ctypes"]
    needs_python = None
    if nm:
        undefined = subprocess.run([nm, "-D", "--undefined-only", str(libglue)],
                                   capture_output=True, text=True).stdout
        needs_python = bool(re.search(r"\bPy", undefined))
    return {
        "capi": {
            "abi3": "yes",
            "abi3_checked_here": _compiles(SRC / "with_capi.c", "c", limited),
            "abi3_how": "written for the Limited API of 3.10: the same file compiles "
                        "with Py_LIMITED_API (stage 1 ships one abi3 binary)",
            "free_threading": "yes: a Py_mod_gil slot (CPython 3.13+) declares it",
            "source": "https://docs.python.org/3/howto/free-threading-extensions.html",
        },
        "cython": {
            "abi3": "yes, since Cython 3.1 (Limited API support, still maturing)",
            "abi3_checked_here": None,
            "abi3_how": "compile the generated C with Py_LIMITED_API",
            "free_threading": "yes, Cython 3.1+: the freethreading_compatible directive",
            "source": "https://cython.readthedocs.io/en/latest/src/userguide/freethreading.html",
        },
        "pybind11": {
            "abi3": "no",
            "abi3_checked_here": not _compiles(SRC / "with_pybind11.cpp", "c++", limited),
            "abi3_how": "pybind11 uses CPython internals outside the Limited API: "
                        "with_pybind11.cpp does not compile with Py_LIMITED_API",
            "free_threading": "yes, 2.13+: py::mod_gil_not_used()",
            "source": "https://github.com/pybind/pybind11/issues/1755, "
                      "https://github.com/pybind/pybind11/pull/5148",
        },
        "nanobind": {
            "abi3": "yes, for CPython 3.12+ (its STABLE_ABI build option)",
            "abi3_checked_here": None,  # this machine's Python is older than 3.12
            "abi3_how": "needs features nanobind's author added to the 3.12 stable ABI",
            "free_threading": "yes, 2.2+: the FREE_THREADED build option",
            "source": "https://github.com/wjakob/nanobind/pull/37, "
                      "https://nanobind.readthedocs.io/en/latest/free_threaded.html",
        },
        "cffi": {
            "abi3": "yes, by default",
            "abi3_checked_here": cffi_limited,
            "abi3_how": "the C that emit_c_code writes defines Py_LIMITED_API itself",
            "free_threading": "yes, cffi 2.0+ on CPython 3.14t",
            "source": "https://github.com/python-cffi/cffi/releases/tag/v2.0.0",
        },
        "ctypes": {
            "abi3": "not needed: no extension module, libglue knows nothing of Python",
            "abi3_checked_here": (not needs_python) if needs_python is not None else None,
            "abi3_how": "libglue.so imports no Py* symbol (nm -D), so one build serves "
                        "every Python",
            "free_threading": "ctypes is part of CPython, free-threaded builds included; "
                              "the C library must be thread-safe itself",
            "source": "https://docs.python.org/3/library/ctypes.html",
        },
    }


# --- main ------------------------------------------------------------------------------------

def versions() -> list[str]:
    return ["glue", "cython", "pybind11", "nanobind", "cffi", "meson", "meson-python"]


def run(number: int, repeats: int, build_repeats: int = 0) -> dict:
    payload = {
        "benchmark": "glue: one API through six gluing tools",
        "unit": "ns per call",
        "number": number,
        "implementations": list(glue.IMPLEMENTATIONS),
        "machine": benchmeta.machine(versions()),
        "per_call": per_call(number, repeats),
        "glue_lines": glue_lines(),
        "module_size": sizes(),
    }
    if build_repeats:
        payload["build_seconds"] = build_times(build_repeats)
        payload["capabilities"] = capabilities()
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="few repeats (for labs and CI)")
    args = parser.parse_args()
    number, repeats, build_repeats = (2_000, 31, 1) if args.quick else (5_000, 201, 3)
    payload = run(number, repeats, build_repeats)
    for row in payload["per_call"]:
        stats = row["ns_per_call"]
        print(f"{row['function']:<13} {row['tool']:<9} {stats['median']:8.1f} ns/{row['per']} "
              f"(IQR {stats['q1']:.1f}-{stats['q3']:.1f}) {row['ratio_to_capi']:5.2f}x C API")
    for tool, stats in payload["build_seconds"].items():
        print(f"build {tool:<9} {stats['median']:6.2f} s")
    benchmeta.write(args.out, payload)


if __name__ == "__main__":
    main()
