"""Build and install every stage listed in noxfile.py's STAGES into this Python.

    python tools/install_stages.py

For hosts that build one environment without nox: Binder/JupyterHub (binder/postBuild)
and Read the Docs (.readthedocs.yaml). Reads STAGES without importing noxfile.py
(nox need not be installed), so the list of stages stays in one place.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stages() -> tuple[str, ...]:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and getattr(target, "id", "") == "STAGES":
            return tuple(ast.literal_eval(node.value))
    raise SystemExit("noxfile.py has no STAGES tuple")


def main() -> int:
    paths = [str(ROOT / "native" / name) for name in stages()]
    print("installing", ", ".join(stages()))
    # Against the meson/Cython already installed from requirements.txt, as nox does.
    # meson-python runs `meson` from PATH: make it this Python's, even when not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.call([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                            "--no-deps", *paths], env={**os.environ, "PATH": path})


if __name__ == "__main__":
    sys.exit(main())
