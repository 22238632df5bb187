"""One small API implemented with each gluing tool the talk compares.

Every submodule ``glue.with_<tool>`` has the same five functions over the same C work
(``src/work/glue_work.c``): ``noop()``, ``is_prime(n)``, ``count_primes(lo, hi)``
(GIL released), ``reverse(data)`` (bytes in, bytes out) and ``call_back(func, n)``
(C calls Python back).
"""

from __future__ import annotations

import importlib
from types import ModuleType

# In the order the lab reads them: by hand, then generated, then declared at run time.
IMPLEMENTATIONS: tuple[str, ...] = ("capi", "cython", "pybind11", "nanobind", "cffi", "ctypes")
API: tuple[str, ...] = ("noop", "is_prime", "count_primes", "reverse", "call_back")


def load(tool: str) -> ModuleType:
    """The module implementing the API with `tool` (one of IMPLEMENTATIONS)."""
    if tool not in IMPLEMENTATIONS:
        raise ValueError(f"tool must be one of {IMPLEMENTATIONS}, not {tool!r}")
    return importlib.import_module(f"glue.with_{tool}")
