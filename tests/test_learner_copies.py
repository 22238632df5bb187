"""The learners' copies: solutions gone, and every exercise check tells the learner so.

Each lab with a ``check`` cell is executed twice in a real kernel, up to its last
check: the learner's copy (every check must fail with an AssertionError that says
what is wrong) and the lab as written (every check must pass). Cells after the
last check are not run: they teach, they do not grade, and the site build runs them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbclient
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from learner_copies import lab_files, tags, without_solutions, write_all  # noqa: E402

# A message shorter than this is not advice ("assert x == y" gives none at all).
MIN_HELPFUL_MESSAGE = 20
CELL_TIMEOUT = 180  # seconds, as the site build allows each cell


def cells_tagged(notebook, tag: str) -> list:
    return [cell for cell in notebook.cells if tag in tags(cell)]


LABS = lab_files()
LABS_WITH_CHECKS = [lab for lab in LABS if cells_tagged(jupytext.read(lab), "check")]


def test_learner_copies_keep_everything_but_the_solutions(tmp_path):
    written = write_all(tmp_path)
    assert (tmp_path / "labtools.py").exists(), "the labs import labtools: copy it"
    for lab in LABS:
        solved = jupytext.read(lab)
        for suffix in (".md", ".ipynb"):
            copy_path = (tmp_path / lab.name).with_suffix(suffix)
            assert copy_path in written
            copy = jupytext.read(copy_path)
            assert not cells_tagged(copy, "solution"), f"{copy_path.name} shows a solution"
            for tag in ("starter", "check"):
                assert len(cells_tagged(copy, tag)) == len(cells_tagged(solved, tag)), (
                    f"{copy_path.name} lost a {tag} cell")
            kept = [c.source for c in solved.cells if "solution" not in tags(c)]
            assert [c.source for c in copy.cells] == kept, f"{copy_path.name} differs"


def test_every_exercise_has_a_starter_and_a_check():
    for lab in LABS:
        notebook = jupytext.read(lab)
        solutions = cells_tagged(notebook, "solution")
        if solutions:
            assert cells_tagged(notebook, "check"), f"{lab.name}: solutions, but no check"
            assert cells_tagged(notebook, "starter"), f"{lab.name}: solutions, no starter"
        for cell in solutions:
            assert "hide-input" in tags(cell), (
                f"{lab.name}: a solution cell without hide-input is shown unfolded on the site")


def run_up_to_last_check(notebook, cwd: Path):
    """Execute the notebook's cells up to its last check cell, errors recorded not raised."""
    last = max(i for i, cell in enumerate(notebook.cells) if "check" in tags(cell))
    notebook.cells = notebook.cells[: last + 1]
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return notebook


def errors_of(cell) -> list:
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def describe(cell) -> str:
    first = cell.source.splitlines()[0] if cell.source else "(empty cell)"
    return f"cell starting {first!r}"


@pytest.fixture
def lab_env(tmp_path, monkeypatch):
    """A private scratch folder for the labs' build products (the kernel inherits it)."""
    monkeypatch.setenv("WORKSHOP_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("WORKSHOP_ROOT", str(ROOT))
    return tmp_path


@pytest.mark.parametrize("lab", LABS_WITH_CHECKS, ids=lambda p: p.stem)
def test_checks_fail_helpfully_on_the_learners_copy(lab, lab_env):
    write_all(lab_env / "student")
    copy = jupytext.read(lab_env / "student" / lab.with_suffix(".ipynb").name)
    ran = run_up_to_last_check(copy, lab_env / "student")
    for cell in ran.cells:
        errors = errors_of(cell)
        if "check" in tags(cell):
            assert errors, f"{lab.name}: {describe(cell)} passed without a solution"
            error = errors[0]
            assert error.ename == "AssertionError", (
                f"{lab.name}: {describe(cell)} raised {error.ename}: {error.evalue}; "
                "a check should raise AssertionError saying what is missing")
            assert len(error.evalue.strip()) >= MIN_HELPFUL_MESSAGE, (
                f"{lab.name}: {describe(cell)} failed with the unhelpful message "
                f"{error.evalue!r}")
        else:
            assert not errors, (
                f"{lab.name}: {describe(cell)} fails in the learner's copy before any "
                f"exercise: {errors[0].ename}: {errors[0].evalue}")


@pytest.mark.parametrize("lab", LABS_WITH_CHECKS, ids=lambda p: p.stem)
def test_checks_pass_on_the_solved_lab(lab, lab_env):
    ran = run_up_to_last_check(jupytext.read(lab), ROOT / "labs")
    for cell in ran.cells:
        errors = errors_of(cell)
        assert not errors, (
            f"{lab.name}: {describe(cell)} fails with the solutions in place: "
            f"{errors[0].ename}: {errors[0].evalue}")


def test_without_solutions_leaves_the_lab_itself_alone():
    lab = LABS[0]
    notebook = jupytext.read(lab)
    before = len(notebook.cells)
    without_solutions(notebook)
    assert len(notebook.cells) == before
