"""Write the learners' copies of the labs: every lab without its worked solutions.

    python tools/learner_copies.py OUT_DIR        (or: python3 noxw -s student)

A lab's exercise is three kinds of cells, by tag:

- ``starter``: the learner's starting point (executed first on the site too);
- ``solution`` (plus ``hide-input``, so the site folds it): the worked answer,
  executed after the starter and overwriting it;
- ``check``: raises AssertionError, with a message saying what is wrong, until the
  exercise is solved.

The learners' copy drops the ``solution`` cells and keeps everything else, so each
check fails until the learner fills in the starter. Each lab is written twice, as
MyST markdown (``.md``, what the repository holds) and as a notebook (``.ipynb``,
what most people open), beside copies of the helper modules the labs import.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import jupytext
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "labs"
SOLUTION_TAG = "solution"


def tags(cell: NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def lab_files(labs: Path = LABS) -> list[Path]:
    """The labs in teaching order: labs/NN-name.md."""
    return sorted(labs.glob("[0-9][0-9]-*.md"))


def without_solutions(notebook: NotebookNode) -> NotebookNode:
    """The same notebook with every cell tagged ``solution`` left out."""
    learner = jupytext.reads(jupytext.writes(notebook, fmt="ipynb"), fmt="ipynb")
    learner.cells = [cell for cell in learner.cells if SOLUTION_TAG not in tags(cell)]
    for cell in learner.cells:
        cell.get("outputs", []).clear()  # a copy to fill in, not a record of a run
        if "execution_count" in cell:
            cell.execution_count = None
    return learner


def write_learner_copy(lab: Path, out_dir: Path) -> list[Path]:
    """Write ``lab`` without solutions as ``.md`` and ``.ipynb`` into ``out_dir``."""
    learner = without_solutions(jupytext.read(lab))
    md_path = out_dir / lab.name
    ipynb_path = md_path.with_suffix(".ipynb")
    jupytext.write(learner, md_path, fmt="md:myst")
    jupytext.write(learner, ipynb_path, fmt="ipynb")
    return [md_path, ipynb_path]


def write_all(out_dir: Path, labs: Path = LABS) -> list[Path]:
    """Every lab's learner copy, plus the helper modules (labtools.py...) they import."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for helper in sorted(labs.glob("*.py")):
        written.append(Path(shutil.copy2(helper, out_dir / helper.name)))
    for lab in lab_files(labs):
        written += write_learner_copy(lab, out_dir)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where to write the copies")
    args = parser.parse_args(argv)
    written = write_all(args.out_dir)
    labs = sorted({p.stem for p in written if p.suffix == ".ipynb"})
    print(f"{len(labs)} labs without solutions in {args.out_dir}:")
    for name in labs:
        print(f"  {name}.md / {name}.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
