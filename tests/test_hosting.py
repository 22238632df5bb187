"""Binder's postBuild and Read the Docs' steps, run as those hosts run them.

Neither host can be reached from here (and there is no Docker for repo2docker), so a
broken image would otherwise show up in front of a room. Both steps run in one fresh
virtual environment made from the files the hosts read: binder/requirements.txt,
binder/postBuild and .readthedocs.yaml's install and build jobs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Minutes of building: CI runs them always; elsewhere they are asked for by name.
pytestmark = pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("WORKSHOP_HOSTING_TESTS")),
    reason="builds a fresh environment (minutes): set WORKSHOP_HOSTING_TESTS=1 (CI does)")
UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def run(command: list[str] | str, env: dict, timeout: float = 900) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, shell=isinstance(command, str),
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{command!r} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def host_env(tmp_path_factory) -> dict:
    """A fresh venv holding binder/requirements.txt, as repo2docker would make it."""
    base = tmp_path_factory.mktemp("host")
    venv = base / "venv"
    python = Path(sys._base_executable if hasattr(sys, "_base_executable") else sys.executable)
    env = {**os.environ, "HOME": str(base / "home"), "VIRTUAL_ENV": str(venv),
           "PATH": os.pathsep.join([str(venv / "bin"), os.environ["PATH"]])}
    env.pop("PYTHONPATH", None)
    run([UV, "venv", "--quiet", "--seed", "--python", str(python), str(venv)], env)
    run([UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "-r", str(ROOT / "binder" / "requirements.txt")], env)
    return env


def test_binder_postbuild_builds_the_stages_and_passes_the_setup_check(host_env):
    out = run(["bash", str(ROOT / "binder" / "postBuild")], host_env)
    assert "installing" in out
    probe = run(["python", "-c", "import hello, primes, cq.aio; print(hello.__file__)"],
                host_env)
    assert str(Path(host_env["VIRTUAL_ENV"])) in probe, "the stages went into another Python"


def test_read_the_docs_steps_build_the_site(host_env, tmp_path):
    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    jobs = config["build"]["jobs"]
    env = {**host_env, "READTHEDOCS_OUTPUT": str(tmp_path / "rtd")}
    for command in jobs["install"] + jobs["build"]["html"]:
        run(command, env)
    assert (tmp_path / "rtd" / "html" / "labs" / "01-hello-c-extension.html").is_file()
