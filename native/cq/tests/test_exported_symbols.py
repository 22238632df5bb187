"""The package is one extension module that exports nothing but PyInit__cq.

The core is linked once (into cq._cq); two modules would each carry a copy of
it, and a queue allocated by one copy would be driven by the other's functions.
Every other symbol stays hidden, so that no core or libstdc++ symbol can be
interposed by (or interpose on) another library loaded into the process.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import cq
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the ELF dynamic symbol table (Linux)")


def extension_modules() -> list[Path]:
    return sorted(Path(cq.__file__).parent.rglob("*.so"))


def exported(module: Path) -> list[str]:
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not installed")
    out = subprocess.run([nm, "-D", "--defined-only", str(module)], check=True,
                         capture_output=True, text=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def test_one_extension_module_holds_the_core():
    names = [module.name.split(".")[0] for module in extension_modules()]
    assert names == ["_cq"], f"expected only cq/_cq*.so, found {names}"


def test_only_the_module_init_is_exported():
    for module in extension_modules():
        symbols = exported(module)
        others = [name for name in symbols if not name.startswith("PyInit_")]
        assert symbols, f"{module.name} exports nothing (not even PyInit_)"
        assert not others, (f"{module.name} exports {len(others)} symbols besides PyInit_*: "
                            f"{others[:20]}")


def test_the_poller_module_is_the_binding():
    from cq import _aio, _cq

    assert _aio.Poller is _cq.Poller
