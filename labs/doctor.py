"""Is this machine ready for the workshop? Each check builds something real and says
in plain words what to install when it fails.

    python3 noxw -s doctor      (or: python labs/doctor.py; or run lab 00)

The checks go from the bottom of the toolchain up (the interpreter, its headers, the
compilers, Cython, the build backend) and end by compiling and importing a tiny
extension, which needs all of them at once. Each check runs in a scratch folder,
each compiler or interpreter in a child process with a time limit, so a broken
toolchain gives a report, never a hang or a crash.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 10)  # stage 1's abi3 binary targets the 3.10 Limited API
MIN_CYTHON = (3, 1)
TIME_LIMIT = 120  # seconds for one compiler or interpreter run


@dataclass
class Result:
    name: str
    ok: bool
    detail: str  # what was found (a version, a path) or what went wrong
    advice: str = ""  # what to do about it, in plain words; empty when ok


class CheckFailed(Exception):
    """Raised inside a check: its message is the detail, `advice` what to do."""

    def __init__(self, detail: str, advice: str):
        super().__init__(detail)
        self.advice = advice


def system() -> str:
    """'debian', 'fedora', 'macos', 'windows' or 'linux' (other), to pick advice."""
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return "linux"
    family = {release.get("ID", "")} | set(release.get("ID_LIKE", "").split())
    for name in ("debian", "ubuntu", "fedora", "rhel"):
        if name in family:
            return {"ubuntu": "debian", "rhel": "fedora"}.get(name, name)
    return "linux"


INSTALL = {
    "c": {
        "debian": "sudo apt-get install build-essential",
        "fedora": "sudo dnf install gcc gcc-c++ make",
        "macos": "xcode-select --install   (Apple's command line tools: clang)",
        "windows": "use WSL2 with Ubuntu for this workshop (stage 3 is POSIX only)",
        "linux": "install gcc (or clang) with your distribution's package manager",
    },
    "headers": {
        "debian": "sudo apt-get install python3-dev   (python3.X-dev for a specific X)",
        "fedora": "sudo dnf install python3-devel",
        "macos": "brew install python   (or use the python.org installer: both ship headers)",
        "windows": "use WSL2 with Ubuntu, then: sudo apt-get install python3-dev",
        "linux": "install your distribution's python3 development package",
    },
    "python": {
        "debian": "sudo apt-get install python3.11 python3.11-dev python3.11-venv (or pyenv)",
        "fedora": "sudo dnf install python3.11 python3.11-devel",
        "macos": "brew install python@3.12",
        "windows": "use WSL2 with Ubuntu and its python3",
        "linux": "install Python 3.10 or newer (pyenv works everywhere)",
    },
}
INSTALL["c++"] = {**INSTALL["c"], "debian": "sudo apt-get install g++   (build-essential has it)",
                  "fedora": "sudo dnf install gcc-c++"}


def advice(kind: str) -> str:
    return INSTALL[kind][system()]


def pip_advice(package: str) -> str:
    return (f"run the workshop through nox (python3 noxw -s lab), which installs it, or: "
            f"{shlex.quote(sys.executable)} -m pip install -r requirements.txt "
            f"(it provides {package})")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its combined output, or CheckFailed-ready text if it fails."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              timeout=TIME_LIMIT, env=env)
    except FileNotFoundError:
        raise RuntimeError(f"`{cmd[0]}` was not found") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"`{shlex.join(cmd)}` took over {TIME_LIMIT} s") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise RuntimeError(f"`{shlex.join(cmd)}` failed (exit {done.returncode}):\n"
                           + textwrap.indent(output[-1500:], "    "))
    return (done.stdout + done.stderr).strip()


def c_compiler() -> list[str]:
    """The C compiler this Python was built with, as build backends will call it."""
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def cxx_compiler() -> list[str]:
    configured = os.environ.get("CXX") or sysconfig.get_config_var("CXX")
    if configured and shutil.which(shlex.split(configured)[0]):
        return shlex.split(configured)
    return [next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), "c++")]


# --- the checks, bottom of the toolchain first ------------------------------------------

def check_python(scratch: Path) -> str:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.implementation.name != "cpython":
        raise CheckFailed(f"{sys.implementation.name} {version}: the C API is CPython's",
                          advice("python"))
    if sys.version_info < MIN_PYTHON:
        raise CheckFailed(f"Python {version} is too old: the workshop needs "
                          f"{'.'.join(map(str, MIN_PYTHON))} or newer", advice("python"))
    return f"CPython {version} at {sys.executable}"


def check_headers(scratch: Path) -> str:
    header = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not header.is_file():
        raise CheckFailed(f"no Python.h in {header.parent}: this Python has no development "
                          "headers, so nothing can be compiled against it", advice("headers"))
    return str(header)


def check_c_compiler(scratch: Path) -> str:
    source = scratch / "probe.c"
    source.write_text("#include <stdio.h>\nint main(void) { puts(\"c ok\"); return 0; }\n")
    cc = c_compiler()
    try:
        run([*cc, str(source), "-o", str(scratch / "probe_c")], scratch)
        run([str(scratch / "probe_c")], scratch)
        version = run([*cc, "--version"], scratch).splitlines()[0]
    except RuntimeError as exc:
        raise CheckFailed(f"the C compiler does not work: {exc}", advice("c")) from None
    return f"{shlex.join(cc)}: {version}"


def check_cxx_compiler(scratch: Path) -> str:
    source = scratch / "probe.cc"
    source.write_text("#include <atomic>\n#include <thread>\n#include <cstdio>\n"
                      "int main() { std::atomic<int> n{0};\n"
                      "  std::thread t([&] { n += 1; }); t.join();\n"
                      "  std::printf(\"c++ %d\\n\", n.load()); return 0; }\n")
    cxx = cxx_compiler()
    try:
        run([*cxx, "-std=c++17", "-pthread", str(source), "-o", str(scratch / "probe_cc")],
            scratch)
        run([str(scratch / "probe_cc")], scratch)
        version = run([*cxx, "--version"], scratch).splitlines()[0]
    except RuntimeError as exc:
        raise CheckFailed(f"the C++ compiler (needed by stage 3) does not work: {exc}",
                          advice("c++")) from None
    return f"{shlex.join(cxx)}: {version}"


def check_build_backend(scratch: Path) -> str:
    found = []
    for package in ("meson-python", "meson", "ninja"):
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            raise CheckFailed(f"{package} is not installed in this Python",
                              pip_advice(package)) from None
    try:
        import mesonpy  # noqa: F401  (the PEP 517 backend itself)
    except ImportError as exc:
        raise CheckFailed(f"meson-python does not import: {exc}",
                          pip_advice("meson-python")) from None
    return ", ".join(found)


def check_cython(scratch: Path) -> str:
    try:
        import Cython
    except ImportError:
        raise CheckFailed("Cython is not installed in this Python",
                          pip_advice("cython")) from None
    version = tuple(int(p) for p in Cython.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_CYTHON:
        raise CheckFailed(f"Cython {Cython.__version__} is too old (the labs need "
                          f"{'.'.join(map(str, MIN_CYTHON))}+)", pip_advice("cython>=3.1"))
    (scratch / "doctor_cy.pyx").write_text(
        "def triangle(int n):\n    cdef long total = 0\n    cdef int i\n"
        "    for i in range(n + 1):\n        total += i\n    return total\n")
    try:
        run([sys.executable, "-m", "cython", "-3", "doctor_cy.pyx", "-o", "doctor_cy.c"],
            scratch)
        compile_extension(scratch / "doctor_cy.c", "doctor_cy", scratch)
        answer = run([sys.executable, "-c", "import doctor_cy; print(doctor_cy.triangle(100))"],
                     scratch, env={**os.environ, "PYTHONPATH": str(scratch)})
    except RuntimeError as exc:
        raise CheckFailed(f"Cython is installed but its module did not build: {exc}",
                          "check the C compiler and headers above first") from None
    if answer.strip() != "5050":
        raise CheckFailed(f"the Cython module answered {answer!r}, not 5050",
                          "reinstall Cython: " + pip_advice("cython"))
    return f"Cython {Cython.__version__}: compiled and imported a .pyx module"


EXTENSION = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *doctor_ext_add(PyObject *module, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll:add", &a, &b)) {
        return NULL;
    }
    return PyLong_FromLong(a + b);
}

static PyMethodDef doctor_ext_methods[] = {
    {"add", doctor_ext_add, METH_VARARGS, "add(a, b) -> a + b"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef doctor_ext_module = {
    PyModuleDef_HEAD_INIT, "doctor_ext", NULL, 0, doctor_ext_methods,
};

PyMODINIT_FUNC PyInit_doctor_ext(void) { return PyModule_Create(&doctor_ext_module); }
"""


def compile_extension(source: Path, module: str, scratch: Path) -> Path:
    """One C file into an importable module, with this Python's own flags (as lab 01)."""
    output = scratch / (module + sysconfig.get_config_var("EXT_SUFFIX"))
    run([*c_compiler(), "-shared", "-fPIC", "-O1", "-w",
         f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(output)], scratch)
    return output


def check_extension(scratch: Path) -> str:
    (scratch / "doctor_ext.c").write_text(EXTENSION)
    try:
        built = compile_extension(scratch / "doctor_ext.c", "doctor_ext", scratch)
        answer = run([sys.executable, "-c", "import doctor_ext; print(doctor_ext.add(2, 40))"],
                     scratch, env={**os.environ, "PYTHONPATH": str(scratch)})
    except RuntimeError as exc:
        raise CheckFailed(f"a one-file C extension did not build or import: {exc}",
                          "fix the checks above first; if they all pass, ask a helper "
                          "and show them this message") from None
    if answer.strip() != "42":
        raise CheckFailed(f"the extension answered {answer!r}, not 42", "ask a helper")
    return f"built {built.name} and imported it: add(2, 40) == 42"


CHECKS: list[tuple[str, Callable[[Path], str]]] = [
    ("Python 3.10+ (CPython)", check_python),
    ("Python headers (Python.h)", check_headers),
    ("C compiler", check_c_compiler),
    ("C++ compiler", check_cxx_compiler),
    ("build backend (meson-python, meson, ninja)", check_build_backend),
    ("Cython compiles a module", check_cython),
    ("a C extension compiles and imports", check_extension),
]


def run_checks() -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="workshop-doctor-") as tmp:
        for name, check in CHECKS:
            scratch = Path(tmp) / check.__name__
            scratch.mkdir()
            try:
                results.append(Result(name, True, check(scratch)))
            except CheckFailed as failed:
                results.append(Result(name, False, str(failed), failed.advice))
            except Exception as exc:  # a surprise is still a report, never a crash
                results.append(Result(name, False, f"{type(exc).__name__}: {exc}",
                                      "ask a helper and show them this message"))
    return results


def report(results: list[Result]) -> str:
    lines = []
    for result in results:
        lines.append(f"[{'ok' if result.ok else 'FAIL'}] {result.name}")
        lines.append(textwrap.indent(result.detail, "       "))
        if result.advice:
            lines.append(f"       what to do: {result.advice}")
    failed = [r for r in results if not r.ok]
    if failed:
        lines.append(f"\n{len(failed)} of {len(results)} checks failed: fix the first one "
                     "first (later checks often fail because of it), then run this again.")
    else:
        lines.append(f"\nAll {len(results)} checks passed: this machine is ready.")
    return "\n".join(lines)


def main() -> int:
    results = run_checks()
    print(report(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
