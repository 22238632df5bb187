"""The one place that knows how to build, test and benchmark each stage and the site.

``nox -l`` lists the sessions. Each stage in ``native/`` gets three sessions made
from the same pattern (``<stage>-build``, ``<stage>-test``, ``<stage>-bench``):
adding a stage is one entry in ``STAGES``. ``tests`` runs every test (the README's
test command) and ``docs`` builds the site with every lab executed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).resolve().parent
NATIVE = ROOT / "native"
# WORKSHOP_BUILD lets two builds (say, two people or two helpers) not share _build/.
BUILD = Path(os.environ.get("WORKSHOP_BUILD", ROOT / "_build")).resolve()
BENCH_RESULTS = ROOT / "docs" / "benchmarks" / "results"

# Teaching order. Each name is a folder in native/ holding a PEP 517 package of
# the same import name, its tests in tests/ and its benchmark in bench/bench_<name>.py.
STAGES: tuple[str, ...] = ("hello", "glue", "primes", "cq")
# Sources that labs compile themselves rather than import from a stage: when they
# change, the labs using them run again (lab 05 builds its planted bugs on the fly).
LAB_SOURCES = {"debugging": ("native/debugging", "labs/debugtools.py")}
# What a stage is compiled with (beside the interpreter): a new version rebuilds it.
BUILD_TOOLS = ("cython", "meson", "meson-python", "ninja", "pybind11", "nanobind", "cffi")
# Benchmark peers that need a system library, so they are not in requirements.txt:
# a stage's bench installs them where it can and measures without them elsewhere.
BENCH_EXTRAS = {"primes": ("primesieve", "libprimesieve-dev (Debian/Ubuntu), primesieve (brew)")}

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

# Caches that Cython's %%cython magic, matplotlib and Jupyter would otherwise put in
# the user's home: kept inside _build/ so a clean clone builds the same way twice.
CACHE_ENV = {
    "XDG_CACHE_HOME": str(BUILD / "cache"),
    "MPLCONFIGDIR": str(BUILD / "cache" / "matplotlib"),
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "WORKSHOP_BUILD": str(BUILD),
    # Labs find native/ through it, even as learners' copies outside labs/.
    "WORKSHOP_ROOT": str(ROOT),
}

USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")

# requirements.txt is the readable list; requirements.lock pins every package (made
# by `nox -s lock`), so a room of laptops, CI, Binder and Read the Docs get the same.
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"


def _fingerprint(paths: list[Path], *extra: str) -> str:
    """A hash of the files (and facts) that decide what an install produces."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    for fact in extra:
        digest.update(b"\0" + fact.encode())
    return digest.hexdigest()


def _stage_sources(stage: str) -> list[Path]:
    """What a stage's wheel is built from: not its tests, benchmark or caches."""
    root = NATIVE / stage
    skip = {"tests", "bench", "build", "__pycache__"}
    return [p for p in root.rglob("*") if p.is_file()
            and not skip & set(p.relative_to(root).parts)
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def requirements_digest() -> str:
    """A hash of what requirements.txt asks for (its comments can change freely)."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    return hashlib.sha256("\n".join(sorted(filter(None, lines))).encode()).hexdigest()


def lock_is_current() -> bool:
    """The lock records the hash of the requirements it was made from."""
    return LOCK.is_file() and (
        f"# requirements.txt sha256: {requirements_digest()}" in LOCK.read_text())


def _uv() -> str | None:
    """uv, which noxw installs beside nox; None under a nox installed without it."""
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


class Timed:
    """Log what a long step does, and how long it took (a newcomer sees progress)."""

    def __init__(self, session: nox.Session, what: str) -> None:
        self.session, self.what = session, what

    def __enter__(self) -> None:
        self.start = time.monotonic()
        self.session.log(f"{self.what} ...")

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.session.log(f"{self.what}: done in {time.monotonic() - self.start:.0f} s")


class WorkshopEnv:
    """The one virtual environment that the site, the labs, the tests and the
    benchmarks share: the locked requirements plus every stage built from source.

    Sessions that need it run without a nox venv of their own (venv_backend "none")
    and call this environment's programs, so `docs`, `tests`, `lab` and the stage
    sessions install the requirements once, not four times (with uv, a new
    environment is hard links into uv's cache). WORKSHOP_PYTHON picks another
    interpreter (say python3.13): it gets an environment of its own beside this one.
    """

    def __init__(self, session: nox.Session) -> None:
        self.session = session
        self.python = os.environ.get("WORKSHOP_PYTHON") or getattr(
            sys, "_base_executable", sys.executable)
        version = subprocess.run(
            [self.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=True).stdout.strip()
        self.location = ROOT / ".nox" / f"workshop-py{version}"
        self.bin = self.location / ("Scripts" if os.name == "nt" else "bin")
        self.uv = _uv()
        self.env = {**CACHE_ENV, "VIRTUAL_ENV": str(self.location),
                    "PATH": os.pathsep.join([str(self.bin), os.environ.get("PATH", "")]),
                    # Package caches stay the user's (CACHE_ENV moves XDG_CACHE_HOME
                    # into _build/), so a second clone installs from them in seconds.
                    "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR") or str(USER_CACHE / "uv"),
                    "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or str(USER_CACHE / "pip"),
                    # This environment is ours: let Python cache bytecode in it even
                    # where the shell forbids it, or every build recompiles Sphinx,
                    # Jupyter and matplotlib from source (seconds, every time).
                    "PYTHONDONTWRITEBYTECODE": ""}
        if not (self.bin / "python").exists():
            with Timed(session, f"creating {self.location.relative_to(ROOT)} ({self.python})"):
                if self.uv:
                    session.run(self.uv, "venv", "--quiet", "--seed", "--python", self.python,
                                str(self.location), external=True)
                else:
                    session.run(self.python, "-m", "venv", str(self.location), external=True)

    def run(self, program: str, *args: str, env: dict | None = None, **kwargs):
        """Run a program, this environment's own when it has one by that name (nox
        looks programs up on its own PATH, not on the one passed in `env`)."""
        own = self.bin / program
        return self.session.run(str(own) if own.exists() else program, *args,
                                env={**self.env, **(env or {})}, external=True, **kwargs)

    def pip_install(self, *args: str) -> None:
        if self.uv:
            self.run(self.uv, "pip", "install", "--quiet", "--python",
                     str(self.bin / "python"), *args)
        else:
            self.run(str(self.bin / "python"), "-m", "pip", "install", "--quiet", *args)

    def _install_once(self, name: str, fingerprint: str, what: str, install) -> bool:
        """Run `install` unless this env already holds what the same inputs produced.

        Rebuilding every stage on every `docs` run would dominate a rebuild where
        nothing changed. The stamp lives in the environment, so a new one (CI's, or
        after deleting .nox/) always installs. Returns whether it installed.
        """
        stamp = self.location / f".installed-{name}.sha256"
        if stamp.is_file() and stamp.read_text() == fingerprint:
            return False
        with Timed(self.session, what):
            install()
        stamp.write_text(fingerprint)
        return True

    def install_requirements(self) -> None:
        if not lock_is_current():
            self.session.error("requirements.txt changed since requirements.lock was made: "
                               "run `python3 noxw -s lock` and commit both")
        count = sum(1 for line in LOCK.read_text().splitlines()
                    if line and not line[0].isspace() and not line.startswith("#"))
        self._install_once("requirements", _fingerprint([LOCK]),
                           f"installing {count} locked packages (requirements.lock)",
                           lambda: self.pip_install("-r", str(LOCK)))

    def toolchain(self) -> str:
        """The interpreter and build tools a stage is compiled with: part of its hash."""
        return self.run("python", "-c", (
            "import sys, importlib.metadata as m; print(sys.version, sys.executable, "
            f"*[m.version(p) for p in {BUILD_TOOLS!r}])"), silent=True).strip()

    def install_stages(self, *stages: str) -> list[str]:
        """Build and install stages from source against the tools in the lock.

        ``--no-build-isolation`` so that the build uses this env's meson/Cython (the
        same ones the labs call by hand); a forced reinstall, without the wheel cache,
        because a cached wheel of a local folder whose C sources changed would be
        reused. A stage is rebuilt when its sources, the build tools or the
        interpreter changed. Returns the stages it rebuilt.

        Every stage that needs building goes to one installer call: uv builds them
        side by side, so one stage's serial steps (meson's setup, Cython's
        translation, a single long C++ file) fill the core another leaves idle.
        """
        self.install_requirements()
        toolchain = self.toolchain()
        stale = {}
        for name in stages or STAGES:
            stamp = self.location / f".installed-stage-{name}.sha256"
            fingerprint = _fingerprint(_stage_sources(name), toolchain)
            if not (stamp.is_file() and stamp.read_text() == fingerprint):
                stale[name] = (stamp, fingerprint)
        rebuilt = list(stale)
        if stale:
            paths = [str(NATIVE / name) for name in stale]
            if self.uv:
                args = ["--no-build-isolation", "--no-deps", "--no-cache",
                        *[f"--reinstall-package={name}" for name in stale], *paths]
            else:
                args = ["--no-build-isolation", "--no-deps", "--force-reinstall", *paths]
            what = ", ".join(f"native/{name}" for name in stale)
            with Timed(self.session, f"building {what} from source"):
                self.pip_install(*args)
            # Stamped only once all of them are in: a failed build leaves none stamped.
            for stamp, fingerprint in stale.values():
                stamp.write_text(fingerprint)
        for name, paths in LAB_SOURCES.items():
            files = [f for p in paths for f in ([ROOT / p] if (ROOT / p).is_file()
                                                 else (ROOT / p).rglob("*")) if f.is_file()]
            if self._install_once(f"lab-sources-{name}", _fingerprint(files),
                                  f"noting changed lab sources: {', '.join(paths)}",
                                  lambda: None):
                rebuilt.append(name)
        if rebuilt:
            # A lab that uses a rebuilt stage must run again: its cached outputs came
            # from the old build (the notebook cache keys on the lab's code only).
            self.run("python", str(ROOT / "tools" / "lab_cache.py"), "forget", *rebuilt)
        return rebuilt


def stage_tests(stage: str) -> list[str]:
    return [str(NATIVE / stage / "tests")]


def build_site(env: WorkshopEnv, *extra: str) -> None:
    """Sphinx with warnings as errors; myst-nb executes every lab (cached)."""
    env.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", "-d", str(BUILD / "doctrees"),
        str(ROOT), str(BUILD / "html"), *extra,
    )


def _stage_sessions(stage: str) -> None:
    @nox.session(name=f"{stage}-build", venv_backend="none")
    def build(session: nox.Session) -> None:
        env = WorkshopEnv(session)
        env.install_stages(stage)
        env.run("python", "-c", f"import {stage}; print({stage}.__file__)")

    build.__doc__ = f"Build and install native/{stage} from source."

    @nox.session(name=f"{stage}-test", venv_backend="none")
    def test(session: nox.Session) -> None:
        env = WorkshopEnv(session)
        env.install_stages(stage)
        env.run("python", "-m", "pytest", *stage_tests(stage), *session.posargs)

    test.__doc__ = f"Run native/{stage}'s tests (pytest arguments pass through)."

    @nox.session(name=f"{stage}-bench", venv_backend="none")
    def bench(session: nox.Session) -> None:
        env = WorkshopEnv(session)
        env.install_stages(stage)
        if stage in BENCH_EXTRAS:
            package, system_package = BENCH_EXTRAS[stage]
            try:
                env.pip_install(package)
            except CommandFailed:
                session.warn(f"{package} could not be built, so it is left out of the "
                             f"comparison: install {system_package}, then run this again")
        args = list(session.posargs)
        # The published figures change only on purpose: --save writes the page's JSON.
        if "--save" in args:
            args.remove("--save")
            out = BENCH_RESULTS / f"{stage}.json"
        else:
            out = BUILD / "bench" / f"{stage}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        script = NATIVE / stage / "bench" / f"bench_{stage}.py"
        # benchmeta.py (machine, versions, statistics) is shared by every stage's bench.
        with Timed(session, f"benchmarking native/{stage}"):
            env.run("python", str(script), "--out", str(out), *args,
                    env={"PYTHONPATH": str(NATIVE)})
        if out.parent != BENCH_RESULTS:
            session.log(f"wrote {out}; to publish these figures on the site instead, "
                        f"run `python3 noxw -s {stage}-bench -- --save`")

    bench.__doc__ = (f"Benchmark native/{stage} into _build/bench/{stage}.json "
                     f"(-- --save: into docs/benchmarks/results/, which the site plots).")


for _stage in STAGES:
    _stage_sessions(_stage)


# --- stage 3 under memory checkers ----------------------------------------------------
# The sanitizer and valgrind runs need the build tools and the tests' own peers (the
# fuzz target's hypothesis, redis-py with hiredis), not the site.
CQ_CHECK_TOOLS = ("meson-python", "meson", "ninja", "cython", "pytest", "pytest-timeout",
                  "hypothesis", "redis", "hiredis", "uvloop")
# Under valgrind everything runs ~30x slower: a subset that still crosses every path
# (alarms, client, server, ordering, shutdown, disconnects, garbage, tags, errors).
CQ_VALGRIND_TESTS = ("test_alarm.py", "test_client_vs_redis.py", "test_shutdown.py",
                     "test_disconnect.py", "test_garbage_input.py", "test_tags.py",
                     "test_errors.py", "test_pollable_fd.py", "test_server_order.py",
                     "test_interrupt.py", "test_aio_tags.py", "test_handle_lifecycle.py",
                     "test_aio_cancel_rule.py", "test_hardening_half_close.py",
                     "test_hardening_bad_type_byte.py", "test_hardening_fork.py",
                     "test_unix_sockets.py", "test_spinner.py")


def install_requirement_subset(session: nox.Session, names: tuple[str, ...]) -> None:
    """Install only the named packages, at the versions requirements.lock pins."""
    # With their markers: the universal lock may pin one package twice, per Python.
    pins = [line.strip() for line in LOCK.read_text().splitlines()
            if re.split(r"[=<>!~ ;\[]", line.strip(), maxsplit=1)[0].lower() in names]
    session.install(*pins)


def install_stage_with(session: nox.Session, stage: str, *setup_args: str) -> None:
    """Build a stage from source into this session's own venv (not the shared one),
    with extra meson options; a fresh build each time."""
    config = [f"-Csetup-args={arg}" for arg in setup_args]
    flags = [f"--reinstall-package={stage}"] if session.venv_backend == "uv" else [
        "--force-reinstall"]
    session.install("--no-build-isolation", "--no-deps", "--no-cache-dir", *flags, *config,
                    str(NATIVE / stage))


def venv_interpreter(session: nox.Session) -> str:
    """The venv's python, checked to be the real binary: LD_PRELOAD must reach the
    interpreter itself, not a shim script (pyenv) that execs it."""
    python = str(Path(session.bin) / "python")
    real = Path(python).resolve()
    if real.read_bytes()[:4] != b"\x7fELF":
        session.error(f"{python} resolves to {real}, which is not an ELF binary")
    return python


@nox.session(name="cq-asan")
def cq_asan(session: nox.Session) -> None:
    """Run native/cq's tests with the core and binding built with ASan + UBSan."""
    # uvloop too: the aio tests run on both loops under ASan (valgrind, ~30x
    # slower, keeps to asyncio's loop).
    install_requirement_subset(session, (*CQ_CHECK_TOOLS, "uvloop"))
    install_stage_with(session, "cq", "-Db_sanitize=address,undefined", "-Ddebug=true",
                    "-Doptimization=1", "-Db_lundef=false")
    runtimes = [session.run("gcc", f"-print-file-name={lib}", silent=True,
                            external=True).strip() for lib in ("libasan.so", "libubsan.so")]
    env = {
        **CACHE_ENV,
        "LD_PRELOAD": " ".join(runtimes),
        "PYTHONMALLOC": "malloc",  # every Python allocation visible to ASan
        # CPython keeps objects alive until exit on purpose: leak reports there are
        # noise; use-after-free, overflows and UB still abort the test run.
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:strict_init_order=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        "CQ_REQUIRE_REDIS": "1",
    }
    session.run(venv_interpreter(session), "-m", "pytest", *stage_tests("cq"), "-p",
                "no:cacheprovider", *session.posargs, env=env)


@nox.session(name="cq-valgrind")
def cq_valgrind(session: nox.Session) -> None:
    """Run a representative subset of native/cq's tests under valgrind memcheck."""
    install_requirement_subset(session, CQ_CHECK_TOOLS)
    install_stage_with(session, "cq", "-Dbuildtype=debugoptimized")
    tests = [str(NATIVE / "cq" / "tests" / name) for name in CQ_VALGRIND_TESTS]
    env = {**CACHE_ENV, "PYTHONMALLOC": "malloc", "CQ_REQUIRE_REDIS": "1",
           "CQ_UNDER_VALGRIND": "1"}
    session.run(
        "valgrind", "--tool=memcheck", "--error-exitcode=99", "--track-origins=yes",
        "--trace-children=no", "--leak-check=no", "--quiet",
        f"--suppressions={NATIVE / 'cq' / 'tests' / 'valgrind-python.supp'}",
        # Not -I: it implies -E, which would ignore PYTHONMALLOC.
        venv_interpreter(session), "-m", "pytest", *tests, "-p", "no:cacheprovider",
        "--timeout=600", *session.posargs,
        env=env, external=True,
    )


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run every test: each stage's suite, then the built site in a headless browser."""
    env = WorkshopEnv(session)
    env.install_stages()
    with Timed(session, "testing the stages: " + ", ".join(STAGES)):
        env.run("python", "-m", "pytest", *[p for s in STAGES for p in stage_tests(s)],
                *session.posargs)
    with Timed(session, "building the site (labs run when they or a stage changed)"):
        build_site(env)
    with Timed(session, "testing the site, the labs and the learners' copies"):
        env.run("python", "-m", "pytest", str(ROOT / "tests"))


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Build the site (every lab executed, warnings as errors) into _build/html."""
    env = WorkshopEnv(session)
    env.install_stages()
    with Timed(session, "building the site (labs run when they or a stage changed)"):
        build_site(env, *session.posargs)
    session.log(f"open {BUILD / 'html' / 'index.html'}")


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Pin every package of requirements.txt into requirements.lock (Python 3.10+)."""
    uv = _uv() or session.error("the lock is made with uv: run through python3 noxw")
    digest = requirements_digest()
    session.run(uv, "pip", "compile", "--quiet", "--universal", "--python-version", "3.10",
                "--no-header", "--upgrade", str(REQUIREMENTS), "-o", str(LOCK), external=True)
    LOCK.write_text(
        "# Every package of requirements.txt, pinned, for Python 3.10+ on any platform.\n"
        "# Made by `python3 noxw -s lock`; edit requirements.txt, never this file.\n"
        f"# requirements.txt sha256: {digest}\n" + LOCK.read_text())


@nox.session(name="docs-clean")
def docs_clean(session: nox.Session) -> None:
    """Delete the built site and the notebook cache, so the next build runs everything."""
    for path in (BUILD / "html", BUILD / "doctrees", BUILD / ".jupyter_cache",
                 BUILD / "jupyter_execute"):
        shutil.rmtree(path, ignore_errors=True)


@nox.session(venv_backend="none")
def lab(session: nox.Session) -> None:
    """Start JupyterLab on the repository with every stage importable; labs open as notebooks."""
    env = WorkshopEnv(session)
    env.install_stages()
    # A double click on a MyST .md opens it as a notebook (jupytext), not as text. The
    # setting goes into this venv's etc/jupyter, which JupyterLab reads, never ~/.jupyter.
    settings = env.location / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
    env.run("jupytext-config", f"--settings-file={settings}",
            "set-default-viewer", "markdown", "myst", silent=True)
    # The repository root, so native/*/src sits beside the labs; labs run in labs/.
    first = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "labs").glob("[0-9]*.md"))[0]
    as_root = ["--allow-root"] if os.geteuid() == 0 else []  # containers, CI
    env.run("jupyter", "lab", f"--notebook-dir={ROOT}", *as_root, first, *session.posargs)


@nox.session
def doctor(session: nox.Session) -> None:
    """Check this machine for the workshop, required and optional parts (as lab 00)."""
    install_requirement_subset(session, ("cython", "meson-python", "meson", "ninja"))
    # Arguments pass through: `nox -s doctor -- --only gdb valgrind`.
    session.run("python", str(ROOT / "labs" / "doctor.py"), *session.posargs)


@nox.session
def student(session: nox.Session) -> None:
    """Write the labs without their solutions (.md and .ipynb) to _build/student/."""
    install_requirement_subset(session, ("jupytext",))
    out = BUILD / "student"
    session.run("python", str(ROOT / "tools" / "learner_copies.py"), str(out))
    session.log(f"open them in JupyterLab (python3 noxw -s lab): {out}")


# Stubs checked against the compiled modules (mypy.stubtest). Cython's own module
# attributes (doctest table, pickling helpers, a .pxd's C-API table) are in the
# allowlist: generated, not API.
STUBTEST_MODULES = {
    "hello": ("hello",),
    "primes": ("primes._primes", "primes.gil", "primes.steps.cython_slides",
               "primes.steps.cython_untyped", "primes.steps.c_reference"),
    "cq": ("cq._cq", "cq._aio"),
}
STUBTEST_ALLOWLIST = NATIVE / "stubtest-allowlist.txt"


def _sources(root: Path, patterns: tuple[str, ...], skip: frozenset[str] = frozenset({"build"})
             ) -> list[str]:
    """The files under ``root`` matching ``patterns``: not in a folder named in
    ``skip``, nor in a hidden one (meson-python's .mesonpy-* scratch folders,
    left behind by an interrupted build, hold megabytes of generated C)."""
    return sorted(str(p) for pattern in patterns for p in root.rglob(pattern)
                  if not skip & set(p.relative_to(root).parts)
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _cython_sources(stage: str) -> list[str]:
    """A stage's .pyx/.pxd/.pxi files; not the talk's slides either, which are
    kept exactly as the slides show them (ruff.toml skips them too)."""
    return _sources(NATIVE / stage, ("*.pyx", "*.pxd", "*.pxi"), frozenset({"build", "slides"}))


# At the versions requirements.lock pins (see requirements.txt for why they are pinned);
# typing-extensions for the stubs' @disjoint_base.
LINT_TOOLS = ("ruff", "clang-format", "cython-lint", "mypy", "typing-extensions")


@nox.session
def lint(session: nox.Session) -> None:
    """Lint: ruff, clang-format, cython-lint on the .pyx files, stubtest on the .pyi stubs."""
    install_requirement_subset(session, LINT_TOOLS)
    session.run("ruff", "check", str(ROOT))
    sources = _sources(NATIVE, ("*.c", "*.h", "*.cc", "*.hh", "*.cpp", "*.hpp"))
    if sources:
        session.run("clang-format", "--dry-run", "--Werror", *sources)
    # The same line length as ruff.toml; pycodestyle (E/W codes) is run by cython-lint.
    cython_lint = ("cython-lint", "--max-line-length", "100")
    for stage in STAGES:
        if files := _cython_sources(stage):
            session.run(*cython_lint, *files)
    # stubtest imports the compiled modules: build them into this venv. The packages'
    # stubs are installed with them (py.typed); hello's is a single-module stub, which
    # mypy never looks for in site-packages (PEP 561 has no py.typed for it), so it is
    # read from the source folder.
    install_requirement_subset(session, ("meson-python", "meson", "ninja", "cython"))
    for stage in STUBTEST_MODULES:
        install_stage_with(session, stage)
    env = {"MYPYPATH": str(NATIVE / "hello" / "src")}
    stubtest = ("python", "-m", "mypy.stubtest", f"--allowlist={STUBTEST_ALLOWLIST}")
    for modules in STUBTEST_MODULES.values():
        session.run(*stubtest, "--ignore-unused-allowlist", *modules, env=env)


if os.environ.get("CI"):
    # CI starts from a clean clone: never reuse a stale venv there.
    nox.options.reuse_venv = "no"
