"""tools/parallel_notebooks.py runs the notebooks before Sphinx reads them, as myst-nb
would: Sphinx must then find every one of them in the cache (no second run), the
measuring one at normal priority and the other beside it at a lower one, and a
notebook whose code changed must run again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What makes a Markdown page a notebook for myst-nb.
FRONT_MATTER = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

NOTEBOOK = FRONT_MATTER + """# {title}

```{{code-cell}} ipython3
import os
print("{title} niceness", os.getpriority(os.PRIO_PROCESS, 0))
```
"""

CONF = f"""
import sys
sys.path.insert(0, {str(ROOT / "tools")!r})
extensions = ["myst_nb", "parallel_notebooks"]
nb_execution_mode = "cache"
nb_execution_cache_path = "_cache"  # in the project: the build runs there
nb_kernel_rgx_aliases = {{".*": "python3"}}
parallel_notebooks_lanes = 2
parallel_notebooks_measuring = ["measuring"]
exclude_patterns = ["_cache"]
"""


def build(project: Path) -> str:
    # The output beside the sources, not in them: myst-nb writes ../jupyter_execute.
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-b", "html", str(project),
         str(project.parent / "out" / "html")],
        capture_output=True, text=True, timeout=600, cwd=project,
        env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="niceness per thread is Linux's")
def test_notebooks_run_once_side_by_side_and_again_when_changed(tmp_path):
    site = tmp_path / "out" / "html"
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text(CONF)
    (source / "index.md").write_text(
        "# Home\n\n```{toctree}\nmeasuring\nbeside\n```\n")
    for title in ("measuring", "beside"):
        (source / f"{title}.md").write_text(NOTEBOOK.format(title=title))
    base = os.getpriority(os.PRIO_PROCESS, 0)

    log = build(source)
    assert "executing 2 notebooks: measuring one after the other, and beside them beside" in log
    # Sphinx took both from the cache: myst-nb would say "Executing notebook" otherwise.
    assert log.count("Using cached notebook") == 2, log
    assert "Executing notebook" not in log, log
    page = {title: (site / f"{title}.html").read_text()
            for title in ("measuring", "beside")}
    assert f"measuring niceness {base}" in page["measuring"]
    assert f"beside niceness {min(19, base + 10)}" in page["beside"]

    # Unchanged: nothing runs. Changed code: that notebook runs again, alone.
    assert "executing" not in build(source)
    changed = source / "beside.md"
    changed.write_text(changed.read_text().replace("niceness", "niceness now"))
    log = build(source)
    assert "executing 1 notebooks: none one after the other, and beside them beside" in log
    assert log.count("Using cached notebook") == 1, log
    assert "beside niceness now" in (site / "beside.html").read_text()


PLOT = FRONT_MATTER + """# Plot

```{code-cell} ipython3
from pathlib import Path
print("plotted", Path("data.txt").read_text().strip())
```
"""

# As the site's conf.py does for the benchmark pages: the page depends on its data file.
RERUN_CONF = CONF + """
parallel_notebooks_rerun_when_read = ["plots/*"]
exclude_patterns += ["plots/data.txt"]

def setup(app):
    def depends_on_data(app, docname, source):
        if docname.startswith("plots/"):
            app.env.note_dependency("plots/data.txt")
    app.connect("source-read", depends_on_data)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="niceness per thread is Linux's")
def test_a_page_drawing_a_data_file_runs_again_beside_when_the_file_changes(tmp_path):
    site = tmp_path / "out" / "html"
    source = tmp_path / "src"
    (source / "plots").mkdir(parents=True)
    (source / "conf.py").write_text(RERUN_CONF)
    (source / "index.md").write_text("# Home\n\n```{toctree}\nplots/plot\n```\n")
    (source / "plots" / "plot.md").write_text(PLOT)
    data = source / "plots" / "data.txt"
    data.write_text("first\n")

    build(source)
    assert "plotted first" in (site / "plots" / "plot.html").read_text()
    # Unchanged page and data: Sphinx does not read it, nothing runs.
    assert "executing" not in build(source)

    # The code is unchanged, so the notebook cache alone would replay "first".
    data.write_text("second\n")
    log = build(source)
    assert "executing 1 notebooks: none one after the other, and beside them plots/plot" in log
    assert "Executing notebook" not in log, log  # it ran beside, not while Sphinx read
    page = (site / "plots" / "plot.html").read_text()
    assert "plotted second" in page, page[-2000:]
