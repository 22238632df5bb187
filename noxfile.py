"""The one place that knows how to build, test and benchmark each stage and the site.

``nox -l`` lists the sessions. Each stage in ``native/`` gets three sessions made
from the same pattern (``<stage>-build``, ``<stage>-test``, ``<stage>-bench``):
adding a stage is one entry in ``STAGES``. ``tests`` runs every test (the README's
test command) and ``docs`` builds the site with every lab executed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
NATIVE = ROOT / "native"
# WORKSHOP_BUILD lets two builds (say, two people or two helpers) not share _build/.
BUILD = Path(os.environ.get("WORKSHOP_BUILD", ROOT / "_build")).resolve()
BENCH_RESULTS = ROOT / "docs" / "benchmarks" / "results"

# Teaching order. Each name is a folder in native/ holding a PEP 517 package of
# the same import name, its tests in tests/ and its benchmark in bench/bench_<name>.py.
STAGES: tuple[str, ...] = ("hello",)

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
}


def install_requirements(session: nox.Session) -> None:
    session.install("-r", str(ROOT / "requirements.txt"))


def install_stages(session: nox.Session, *stages: str) -> None:
    """Build and install stages from source against the tools in requirements.txt.

    ``--no-build-isolation`` so that the build uses the venv's meson/Cython (the same
    ones the labs call by hand); a forced reinstall because uv would otherwise reuse a
    cached wheel of a local folder whose C sources changed.
    """
    names = stages or STAGES
    paths = [str(NATIVE / name) for name in names]
    if session.venv_backend == "uv":
        reinstall = [f"--reinstall-package={name}" for name in names]
        session.install("--no-build-isolation", "--no-cache", *reinstall, *paths)
    else:
        session.install("--no-build-isolation", "--force-reinstall", "--no-deps", *paths)


def stage_tests(stage: str) -> list[str]:
    return [str(NATIVE / stage / "tests")]


def build_site(session: nox.Session, *extra: str) -> None:
    """Sphinx with warnings as errors; myst-nb executes every lab (cached)."""
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", "-d", str(BUILD / "doctrees"),
        str(ROOT), str(BUILD / "html"), *extra,
        env=CACHE_ENV,
    )


def _stage_sessions(stage: str) -> None:
    @nox.session(name=f"{stage}-build")
    def build(session: nox.Session) -> None:
        install_requirements(session)
        install_stages(session, stage)
        session.run("python", "-c", f"import {stage}; print({stage}.__file__)")

    build.__doc__ = f"Build and install native/{stage} from source."

    @nox.session(name=f"{stage}-test")
    def test(session: nox.Session) -> None:
        install_requirements(session)
        install_stages(session, stage)
        session.run("pytest", *stage_tests(stage), *session.posargs, env=CACHE_ENV)

    test.__doc__ = f"Run native/{stage}'s tests (pytest arguments pass through)."

    @nox.session(name=f"{stage}-bench")
    def bench(session: nox.Session) -> None:
        install_requirements(session)
        install_stages(session, stage)
        BENCH_RESULTS.mkdir(parents=True, exist_ok=True)
        out = BENCH_RESULTS / f"{stage}.json"
        script = NATIVE / stage / "bench" / f"bench_{stage}.py"
        # benchmeta.py (machine, versions, statistics) is shared by every stage's bench.
        session.run(
            "python", str(script), "--out", str(out), *session.posargs,
            env={"PYTHONPATH": str(NATIVE)},
        )

    bench.__doc__ = f"Benchmark native/{stage}; writes docs/benchmarks/results/{stage}.json."


for _stage in STAGES:
    _stage_sessions(_stage)


@nox.session
def tests(session: nox.Session) -> None:
    """Run every test: each stage's suite, then the built site in a headless browser."""
    install_requirements(session)
    install_stages(session)
    session.run("pytest", *[p for s in STAGES for p in stage_tests(s)], *session.posargs,
                env=CACHE_ENV)
    build_site(session)
    session.run("pytest", str(ROOT / "tests"), env=CACHE_ENV)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site (every lab executed, warnings as errors) into _build/html."""
    install_requirements(session)
    install_stages(session)
    build_site(session, *session.posargs)
    session.log(f"open {BUILD / 'html' / 'index.html'}")


@nox.session(name="docs-clean")
def docs_clean(session: nox.Session) -> None:
    """Delete the built site and the notebook cache, so the next build runs everything."""
    for path in (BUILD / "html", BUILD / "doctrees", BUILD / ".jupyter_cache",
                 BUILD / "jupyter_execute"):
        shutil.rmtree(path, ignore_errors=True)


@nox.session
def lab(session: nox.Session) -> None:
    """Start JupyterLab on labs/ with every stage importable (MyST files open as notebooks)."""
    install_requirements(session)
    install_stages(session)
    first = sorted(p.name for p in (ROOT / "labs").glob("[0-9]*.md"))[0]
    session.run(
        "jupyter", "lab", f"--notebook-dir={ROOT / 'labs'}", first, *session.posargs,
        env=CACHE_ENV,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Lint Python with ruff and check C/C++ formatting with clang-format."""
    session.install("ruff", "clang-format")
    session.run("ruff", "check", str(ROOT))
    sources = sorted(
        str(p) for ext in ("*.c", "*.h", "*.cc", "*.hh", "*.cpp", "*.hpp")
        for p in NATIVE.rglob(ext) if "build" not in p.parts
    )
    if sources:
        session.run("clang-format", "--dry-run", "--Werror", *sources)


if os.environ.get("CI"):
    # CI starts from a clean clone: never reuse a stale venv there.
    nox.options.reuse_venv = "no"
