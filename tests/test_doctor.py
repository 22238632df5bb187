"""The setup check (labs/doctor.py): passes here, and fails in plain words when a
piece of the toolchain is missing, instead of crashing or hanging."""

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


def run_doctor(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(DOCTOR)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_every_check_passes_on_the_machine_that_builds_the_site():
    done = run_doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All 7 checks passed" in done.stdout
    assert done.stdout.count("[ok]") == len(doctor.CHECKS)


def test_a_missing_c_compiler_is_reported_with_what_to_install(tmp_path):
    done = run_doctor(CC=str(tmp_path / "no-such-cc"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[FAIL] C compiler" in done.stdout
    assert "was not found" in done.stdout
    assert "what to do: " + doctor.advice("c") in done.stdout
    # The headers and the interpreter are still fine: only what needs CC fails.
    assert "[ok] Python headers" in done.stdout
    assert "[FAIL] a C extension compiles and imports" in done.stdout
    assert "fix the first one first" in done.stdout


def test_a_broken_c_compiler_shows_its_own_error(tmp_path):
    fake = tmp_path / "cc"
    fake.write_text("#!/bin/sh\necho 'cc: fatal error: no licence for this CPU' >&2\nexit 4\n")
    fake.chmod(0o755)
    done = run_doctor(CC=str(fake))
    assert "[FAIL] C compiler" in done.stdout
    assert "no licence for this CPU" in done.stdout and "exit 4" in done.stdout


def test_missing_headers_are_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(doctor.sysconfig, "get_paths", lambda: {"include": str(tmp_path)})
    (result,) = [r for r in doctor.run_checks() if r.name.startswith("Python headers")]
    assert not result.ok
    assert "no Python.h" in result.detail
    assert result.advice == doctor.advice("headers")


@pytest.mark.parametrize("kind", sorted(doctor.INSTALL))
def test_there_is_advice_for_every_system(kind):
    for system in ("debian", "fedora", "macos", "windows", "linux"):
        assert doctor.INSTALL[kind][system].strip()
