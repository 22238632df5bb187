"""Each exercise's check rejects a *plausible* wrong solution, with a message that teaches.

The learner-copy tests prove a check fails on the untouched starter and passes on the
solution. That leaves the dangerous middle: a solution that looks done but is wrong
(a driver that waits 0.2 s on the event loop, a loop left yellow, a GIL never
released). Here each lab runs in a real kernel with its solution cell replaced by
such a mistake, up to the check that grades it; the check must raise AssertionError
whose message names the problem, within the cell's time limit (a check that hangs
on a hanging solution fails this test by timing out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbclient
import pytest

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "labs"
CELL_TIMEOUT = 180  # seconds, as the site build allows each cell


@dataclass
class Mistake:
    lab: str
    solution_marker: str  # a string found only in the solution cell to replace
    old: str  # the line(s) of the solution that the mistake changes
    new: str
    expected: tuple[str, ...]  # every one must appear in the check's message
    why: str

    @property
    def id(self) -> str:
        return f"{self.lab[:2]}-{self.why}"


MISTAKES = [
    Mistake("06-completion-queue-asyncio.md", "def start_driver", "event = q.next(0)",
            "event = q.next(0.2)", ("next(0.2)", "any timeout other than 0"),
            "driver-waits-200ms"),
    Mistake("06-completion-queue-asyncio.md", "def start_driver", "event = q.next(0)",
            "event = q.next()", ("did not finish within", "next()", "for ever"),
            "driver-waits-for-ever"),
    Mistake("06-completion-queue-asyncio.md", "outstanding = 32", "outstanding = 32",
            "outstanding = 2", ("more than once per 20", "keep more requests open"),
            "too-few-requests-open"),
    Mistake("04-gil-threads.md", "def count_primes_in",
            "    with nogil:  # C data only from here on\n",
            "    if True:  # forgot to release the GIL\n", ("GIL is still held",),
            "gil-never-released"),
    Mistake("03-cython-primes.md", "cpdef bint is_prime_trial", "# cython: cdivision=True\n", "",
            ("still calls into Python", "cdivision"), "pythons-modulo-left"),
    Mistake("03-cython-primes.md", "cpdef bint is_prime_trial",
            "for i in range(2, root + 1):", "for i in range(2, root):",
            ("the bound must include the root",), "root-not-tried"),
    Mistake("01-hello-c-extension.md", "static PyObject *only_strs",
            "            Py_DECREF(result);\n            return PyErr_Format",
            "            return PyErr_Format", ("rose by", "raise TypeError"),
            "leak-on-error-path"),
    Mistake("01-hello-c-extension.md", "static PyObject *repeat(",
            "    if (times < 0) {", "    if (times < -1000) {", ("ValueError",),
            "negative-times-accepted"),
    Mistake("00-setup-check.md", "abi3_file =",
            'abi3_file = "hello" + next(s for s in importlib.machinery.EXTENSION_SUFFIXES '
            'if "abi3" in s)',
            'abi3_file = "hello" + sysconfig.get_config_var("EXT_SUFFIX")',
            ("names this interpreter's version",), "version-specific-suffix"),
]


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def with_mistake(mistake: Mistake):
    """The lab up to the check that grades the exercise, its solution made wrong."""
    notebook = jupytext.read(LABS / mistake.lab)
    index = next(i for i, cell in enumerate(notebook.cells)
                 if "solution" in tags(cell) and mistake.solution_marker in cell.source)
    cell = notebook.cells[index]
    assert cell.source.count(mistake.old) == 1, (
        f"{mistake.lab}: the solution no longer contains {mistake.old!r} exactly once: "
        "update this test's mistake to the new solution")
    cell.source = cell.source.replace(mistake.old, mistake.new)
    check = next(i for i in range(index + 1, len(notebook.cells))
                 if "check" in tags(notebook.cells[i]))
    notebook.cells = notebook.cells[: check + 1]
    return notebook


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_check_rejects_a_plausible_wrong_solution(mistake, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("WORKSHOP_ROOT", str(ROOT))
    notebook = with_mistake(mistake)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(LABS)}})
    client.execute()
    *before, check = notebook.cells
    for cell in before:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors, (f"{mistake.lab}: a cell before the check failed: "
                            f"{errors[0].ename}: {errors[0].evalue}")
    errors = [o for o in check.get("outputs", []) if o.output_type == "error"]
    assert errors, f"{mistake.lab}: the check passed a wrong solution ({mistake.why})"
    error = errors[0]
    assert error.ename == "AssertionError", (
        f"{mistake.lab}: the check raised {error.ename} ({error.evalue}), not an "
        "AssertionError with advice")
    missing = [phrase for phrase in mistake.expected if phrase not in error.evalue]
    assert not missing, (f"{mistake.lab}: the check's message does not say {missing}: "
                         f"{error.evalue!r}")
