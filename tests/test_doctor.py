"""The setup check (labs/doctor.py): ready here, and when a tool is missing it says
so in plain words, with the command that installs it, instead of crashing or
hanging. Missing tools are planted for real: a PATH without them, a CC that does
not exist or fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCTOR = ROOT / "labs" / "doctor.py"
sys.path.insert(0, str(ROOT / "labs"))

import doctor  # noqa: E402

REQUIRED = [c for c in doctor.CHECKS if c.required]
OPTIONAL = [c for c in doctor.CHECKS if not c.required]


def run_doctor(*args: str, python: str = sys.executable, **env: str):
    return subprocess.run([python, str(DOCTOR), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


def path_without(tmp_path: Path, *missing: str) -> str:
    """A PATH with every program of this one except `missing`: one folder of links.

    Only the named tools disappear, so the compilers and everything else still work.
    """
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or not Path(folder).is_dir():
            continue
        for entry in Path(folder).iterdir():
            link = shadow / entry.name
            if entry.name in missing or link.exists() or link.is_symlink():
                continue
            if entry.is_file() and os.access(entry, os.X_OK):
                link.symlink_to(entry)
    return str(shadow)


def test_the_machine_that_builds_the_site_is_ready():
    done = run_doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Ready: all {len(REQUIRED)} required checks passed." in done.stdout
    for check in REQUIRED:
        assert f"[ok] {check.name}\n" in done.stdout, done.stdout
    if os.environ.get("CI"):
        # CI installs every optional part (.ci/run): there, nothing may be skipped.
        assert "[skip]" not in done.stdout, done.stdout
        assert "nothing will be skipped" in done.stdout


def test_missing_optional_tools_are_named_with_their_install_commands(tmp_path):
    """Ready without them, but each is reported with what it would have served."""
    path = path_without(tmp_path, "gdb", "valgrind")
    done = run_doctor(PATH=path, WORKSHOP_CHROMIUM=str(tmp_path / "no-chromium"))
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert f"Ready: all {len(REQUIRED)} required checks passed." in out
    assert "Optional parts that will be skipped until you install what they need:" in out
    for check_id, kind in [("gdb", "gdb"), ("valgrind", "valgrind"),
                           ("chromium", "chromium"), ("python-gdb", "gdb")]:
        (check,) = [c for c in OPTIONAL if c.id == check_id]
        assert f"[skip] {check.name} (optional)" in out, out
        # (python-gdb may add its own package: "...; and then: <python-gdb's>")
        assert f"  - {check.needed_for}: {doctor.advice(kind)}" in out, out
    assert "gdb is not on PATH" in out and "valgrind is not on PATH" in out
    assert f"no Chromium at {tmp_path / 'no-chromium'}" in out


def test_a_bare_python_without_graphviz_or_redis(tmp_path):
    """No venv (the system Python, isolated), no `dot`, no redis binaries: the
    newcomer's machine. Each absent part names the command that installs it."""
    path = path_without(tmp_path, "dot", "graphviz-pure", "redis-server", "redis-cli",
                        "redis-benchmark")
    base_python = getattr(sys, "_base_executable", sys.executable)
    done = subprocess.run([base_python, "-I", str(DOCTOR), "--only", "dot", "redis"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": path})
    out = done.stdout
    assert done.returncode == 0, out + done.stderr  # optional only: nothing required failed
    assert "[skip] Graphviz dot (the site's diagrams) (optional)" in out, out
    assert f"what to do: {doctor.advice('dot')}" in out
    assert "not found: redis-server, redis-cli, redis-benchmark" in out
    assert f"what to do: {doctor.advice('redis')}" in out
    if doctor.system() == "debian":
        assert "sudo apt-get install graphviz" in out
        assert "sudo apt-get install redis-server redis-tools" in out


def test_a_missing_c_compiler_is_reported_with_what_to_install(tmp_path):
    done = run_doctor("--only", "headers", "c", "extension", CC=str(tmp_path / "no-such-cc"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[FAIL] C compiler" in done.stdout
    assert "was not found" in done.stdout
    assert "what to do: " + doctor.advice("c") in done.stdout
    # The headers are still fine: only what needs CC fails.
    assert "[ok] Python headers" in done.stdout
    assert "[FAIL] a C extension compiles and imports" in done.stdout
    assert "Not ready: 2 of 3 required checks failed: fix the first one first" in done.stdout


def test_a_broken_c_compiler_shows_its_own_error(tmp_path):
    fake = tmp_path / "cc"
    fake.write_text("#!/bin/sh\necho 'cc: fatal error: no licence for this CPU' >&2\nexit 4\n")
    fake.chmod(0o755)
    done = run_doctor("--only", "c", CC=str(fake))
    assert "[FAIL] C compiler" in done.stdout
    assert "no licence for this CPU" in done.stdout and "exit 4" in done.stdout


def test_missing_headers_are_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(doctor.sysconfig, "get_paths", lambda: {"include": str(tmp_path)})
    (result,) = doctor.run_checks(only=["headers"])
    assert not result.ok and result.required
    assert "no Python.h" in result.detail
    assert result.advice == doctor.advice("headers")
    assert not doctor.ready([result])


def test_probes_are_importable_for_other_labs(tmp_path):
    assert doctor.find_tool("sh")  # every POSIX system has one
    assert doctor.find_tool("no-such-tool-for-the-workshop") is None
    with pytest.raises(ValueError, match="no such check: nonsense"):
        doctor.run_checks(only=["nonsense"])
    bad = run_doctor("--only", "nonsense")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_every_check_has_an_id_a_name_and_optional_ones_say_what_they_serve():
    ids = [c.id for c in doctor.CHECKS]
    assert len(ids) == len(set(ids))
    for check in OPTIONAL:
        assert check.needed_for, check.id


@pytest.mark.parametrize("kind", sorted(doctor.INSTALL))
def test_there_is_advice_for_every_system(kind):
    for system in ("debian", "fedora", "macos", "windows", "linux"):
        assert doctor.INSTALL[kind][system].strip()
