"""hello in sub-interpreters: what multi-phase init gives, what the 3.10 Limited API costs.

hello.c returns its PyModuleDef from PyInit_hello (multi-phase init, PEP 489), so
every interpreter creates a module of its own. It declares no module slots: the
one that would allow an interpreter with its own GIL (Py_mod_multiple_interpreters)
is not in the 3.10 Limited API. So on 3.12+ an isolated interpreter refuses hello,
and an interpreter sharing the main GIL ("legacy") takes it. Both halves are
checked here, so the docs cannot drift from the binary.

Each check runs in a child process: a broken extension in a sub-interpreter can
take the whole process down, and that must fail one test, not the run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Runs inside the sub-interpreter: reports what importing hello gave, as JSON.
IN_SUBINTERPRETER = """
import json
try:
    import hello
    report = {"greet": hello.greet("sub"),
              # A module of its own: its functions are bound to this interpreter's
              # module, not to a copy of the main interpreter's (single-phase init).
              "own_module": hello.greet.__self__ is hello}
except Exception as exc:
    report = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(report), flush=True)
"""

# Runs in the child process: imports hello in the main interpreter first (where a
# single-phase module would be cached for the whole process), then in a new one.
DRIVER = """
import sys
kind, script = sys.argv[1], sys.argv[2]
import hello
try:
    import _interpreters as interpreters  # 3.13+
    interp = interpreters.create(kind)
except ImportError:
    import _xxsubinterpreters as interpreters  # 3.8-3.12, the same module's old name
    if sys.version_info >= (3, 12):
        interp = interpreters.create(isolated=(kind == "isolated"))
    else:
        assert kind == "legacy", "no isolated interpreters before 3.12"
        interp = interpreters.create()
failure = interpreters.run_string(interp, script)  # 3.13+ returns an uncaught error
interpreters.destroy(interp)
if failure is not None:
    sys.exit(f"the sub-interpreter's script failed: {failure}")
"""


def has_subinterpreter_module() -> bool:
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            __import__(name)
        except ImportError:
            continue
        return True
    return False


needs_subinterpreters = pytest.mark.skipif(
    not has_subinterpreter_module(),
    reason="this CPython has neither _interpreters nor _xxsubinterpreters "
           "(both are private modules a distribution may leave out)")


def import_in_subinterpreter(kind: str) -> dict:
    done = subprocess.run([sys.executable, "-c", DRIVER, kind, IN_SUBINTERPRETER],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = done.stdout.splitlines()
    return json.loads(line)


@needs_subinterpreters
def test_a_subinterpreter_sharing_the_gil_gets_a_module_of_its_own():
    assert import_in_subinterpreter("legacy") == {"greet": "Hello, sub!", "own_module": True}


@needs_subinterpreters
@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="an interpreter with its own GIL (isolated config, PEP 684) "
                           "arrived in CPython 3.12")
def test_an_isolated_subinterpreter_refuses_the_310_abi3_module():
    # The price of one binary for 3.10+: without Py_mod_multiple_interpreters (3.12's
    # Limited API) CPython cannot know hello is safe beside a second GIL, so it says so.
    report = import_in_subinterpreter("isolated")
    assert report.get("error", "").startswith("ImportError: "), report
    assert "does not support loading in subinterpreters" in report["error"], report
