"""The binary keeps the promise its name makes: only the 3.10 stable ABI.

`Py_LIMITED_API` hides what is outside the Limited API from the compiler, but a
function declared by hand, or a macro that expands to a newer or private symbol,
still links into an `.abi3.so` that then fails to load on an older Python.
abi3audit (a PyPA tool) reads the symbols the binary imports and checks each
against the stable ABI of a given version.

The version is given, not read from the wheel: meson-python tags an abi3 wheel
with the interpreter that built it (cp311-abi3 from 3.11), whatever
`limited_api` says, and abi3audit would then check against 3.11 and let a
3.11-only function through. Stage 1 promises 3.10, so 3.10 is what is checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

HELLO = Path(__file__).resolve().parents[1]


def need_abi3audit() -> None:
    try:
        import abi3audit  # noqa: F401
    except ImportError:
        reason = "abi3audit is not installed (pip install abi3audit; requirements.txt has it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build native/hello's wheel as pip does (the PEP 517 hook), with this venv's
    meson (no build isolation: no download) and a build folder outside the sources."""
    out = tmp_path_factory.mktemp("wheel")
    build = {"build-dir": str(out / "build")}
    done = subprocess.run(
        [sys.executable, "-c",
         "import json, sys, mesonpy\n"
         "print(mesonpy.build_wheel(sys.argv[1], json.loads(sys.argv[2])))",
         str(out), json.dumps(build)],
        cwd=HELLO, capture_output=True, text=True, timeout=600,
        # meson and ninja from this venv, even when it is not activated.
        env={**os.environ, "PATH": os.pathsep.join([sysconfig.get_path("scripts"),
                                                    os.environ.get("PATH", "")])})
    assert done.returncode == 0, done.stdout + done.stderr
    return out / done.stdout.splitlines()[-1].strip()


def test_the_wheel_is_abi3_tagged_by_the_interpreter_that_built_it(wheel):
    # meson-python's rule (see the module docstring): a wheel built here installs on
    # this Python and later ones; the binary inside it is named for every version.
    tag = f"-cp{sys.version_info[0]}{sys.version_info[1]}-abi3-"
    assert tag in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as zf:
        assert "hello.abi3.so" in zf.namelist(), zf.namelist()


def test_abi3audit_finds_only_the_310_stable_abi(wheel, tmp_path):
    need_abi3audit()
    with zipfile.ZipFile(wheel) as zf:
        binary = Path(zf.extract("hello.abi3.so", tmp_path))
    done = subprocess.run([sys.executable, "-m", "abi3audit", "--strict", "--summary",
                           "--verbose", "--assume-minimum-abi3", "3.10", str(binary)],
                          capture_output=True, text=True, timeout=300)
    report = " ".join((done.stdout + done.stderr).split())  # rich wraps its lines
    assert done.returncode == 0, report
    # It did read the module (a file it could not parse would not count as scanned).
    assert "1 extensions scanned; 0 ABI version mismatches and 0 ABI violations" in report, \
        report
