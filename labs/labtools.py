"""Small helpers the labs share: where to put build products, and how to compile a
one-file C extension by hand exactly as lab 01 teaches (so later labs can do it in
one line once the learner has seen every flag).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path


def workdir(lab: str) -> Path:
    """A scratch folder for one lab's files, outside the repository.

    nox sets WORKSHOP_BUILD (normally _build/), so a site build keeps everything
    under it; a notebook opened elsewhere falls back to the system's temp dir.
    """
    base = Path(os.environ.get("WORKSHOP_BUILD") or Path(tempfile.gettempdir()) / "workshop")
    path = base / "labs" / lab
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    """The workshop repository (the folder holding native/ and noxfile.py).

    Found from the current folder or this file, walking up, so a lab works both in
    labs/ and as a learner's copy under _build/student/; WORKSHOP_ROOT (set by the
    nox sessions) wins, for copies written outside the repository.
    """
    if os.environ.get("WORKSHOP_ROOT"):
        return Path(os.environ["WORKSHOP_ROOT"]).resolve()
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "native").is_dir() and (folder / "noxfile.py").is_file():
                return folder
    raise RuntimeError("cannot find the workshop repository from here: "
                       "set WORKSHOP_ROOT to the folder that holds native/")


def compile_command(source: Path, module: str, extra_flags: tuple[str, ...] = ()) -> list[str]:
    """The compiler command a build backend would run for a one-file extension."""
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    output = source.with_name(module + sysconfig.get_config_var("EXT_SUFFIX"))
    return [
        *cc,
        "-shared", "-fPIC", "-O2", "-Wall", "-Wextra",
        # The C API's own idioms (unused `self`, positional PyModuleDef) trip these two.
        "-Wno-unused-parameter", "-Wno-missing-field-initializers",
        f"-I{sysconfig.get_paths()['include']}",
        *extra_flags,
        str(source), "-o", str(output),
    ]


def compile_extension(source: Path, module: str, extra_flags: tuple[str, ...] = (),
                      show: bool = True) -> Path:
    """Compile `source` into an importable module named `module`, beside the source.

    Raises RuntimeError with the compiler's own messages when compilation fails, so
    a learner's typo shows as the compiler reported it.
    """
    cmd = compile_command(source, module, extra_flags)
    if show:
        print("$", shlex.join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the compiler failed (exit {done.returncode}):\n{done.stderr}")
    if done.stderr.strip():
        print(done.stderr)
    return Path(cmd[-1])


def run_python(code: str, path: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter with `path` first on sys.path.

    A fresh process, because a module built by hand cannot be reloaded into a running
    interpreter, and because a buggy extension may crash the interpreter that runs it.
    """
    env = {**os.environ, "PYTHONPATH": str(path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout)
