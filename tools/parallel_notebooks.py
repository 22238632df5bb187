"""A Sphinx extension: execute the notebooks Sphinx is about to read, side by side.

myst-nb executes a page's notebook while Sphinx reads that page, one page after the
other: one lab's kernel runs while the machine's other cores wait. Just before Sphinx
reads, this runs every notebook whose outputs are not in myst-nb's cache yet, as
myst-nb would (the same reader, kernel, working folder, timeout, and the same
jupyter-cache records); Sphinx then reads them from the cache.

The labs named in `parallel_notebooks_measuring` print and check figures that
measure the machine (a call's cost, two threads' speed-up, an event loop's latency),
so they run one after the other at normal priority. The others run beside them, in
`parallel_notebooks_lanes` - 1 lanes, at a lower CPU priority (nice 10, inherited by
everything their kernel starts): they take what the measuring lab leaves idle, and
yield a core as soon as it wants both.

Pages named in `parallel_notebooks_rerun_when_read` (glob patterns) draw files that
their code does not contain, such as benchmark results: whenever Sphinx reads one
again (its source or a file it depends on changed), its cached outputs are dropped
and it runs again here, beside the others, rather than alone while Sphinx reads.

Only myst-nb's "cache" mode is run here. A notebook that fails is not cached, so
myst-nb runs it again while reading and reports the failure as it always does.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from fnmatch import fnmatch
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)
# A lab beside a measuring one gets about a tenth of a core that both want (CFS
# weights 110 against 1024), and all of an idle one.
BESIDE_NICENESS = 10


def _notebook(app, docname: str):
    """The notebook myst-nb's parser would make of this page (and its config), or None
    when myst-nb would not take it from the cache."""
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.nb_to_tokens import nb_node_to_dict
    from myst_nb.core.read import create_nb_reader

    path = Path(app.env.doc2path(docname))
    nb_config: NbParserConfig = app.env.mystnb_config
    reader = create_nb_reader(str(path), app.env.myst_config, nb_config,
                              path.read_text(encoding="utf-8"))
    if reader is None:  # a plain Markdown page
        return None
    notebook = reader.read(path.read_text(encoding="utf-8"))
    # As myst_nb.sphinx_.Parser.parse: the kernel alias and the page's own settings.
    kernel = notebook.metadata.get("kernelspec", {}).get("name")
    for pattern, alias in nb_config.kernel_rgx_aliases.items():
        if kernel is not None and re.fullmatch(pattern, kernel):
            notebook.metadata["kernelspec"]["name"] = alias
            break
    if nb_config.metadata_key in notebook.metadata:
        overrides = nb_node_to_dict(notebook.metadata[nb_config.metadata_key])
        overrides.pop("output_folder", None)
        nb_config = nb_config.copy(**overrides)
    if nb_config.execution_mode != "cache" or any(
            path.match(pattern) for pattern in nb_config.execution_excludepatterns):
        return None
    return path, notebook, nb_config, reader.read_fmt


def execute_side_by_side(app, env, docnames: list[str]) -> None:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.db import NbProjectRecord
    from jupyter_cache.executors.utils import single_nb_execution

    cache = get_cache(env.mystnb_config.execution_cache_path or ".jupyter_cache")
    jobs = {}
    for docname in sorted(docnames):
        found = _notebook(app, docname)
        if found is None:
            continue
        try:
            record = cache.match_cache_notebook(found[1])
        except KeyError:
            jobs[docname] = found
            continue
        if any(fnmatch(docname, pattern)
               for pattern in app.config.parallel_notebooks_rerun_when_read):
            cache.remove_cache(record.pk)
            jobs[docname] = found
    if not jobs:
        return

    def run(docname: str):
        path, notebook, nb_config, _ = jobs[docname]
        # In a worker thread: only the kernel runs here; the cache's database is
        # written by the main thread.
        return single_nb_execution(notebook, cwd=str(path.parent),
                                   allow_errors=nb_config.execution_allow_errors,
                                   timeout=nb_config.execution_timeout, meta_override=True)

    def finish(docname: str, result, beside: str) -> None:
        path, notebook, _, read_fmt = jobs[docname]
        if result.err is not None:
            # Not a warning: this run's failure may come from its neighbour's load;
            # the run while Sphinx reads decides, and reports it as myst-nb does.
            logger.info(f"{docname}: failed beside another notebook, so it runs again "
                        f"while Sphinx reads it:\n{(result.exc_string or '')[-2000:]}")
            return
        record = cache.add_nb_to_project(str(path), read_data=read_fmt)
        NbProjectRecord.remove_tracebacks([record.pk], cache.db)
        cache.cache_notebook_bundle(
            CacheBundleIn(notebook, record.uri, data={"execution_seconds": result.time}),
            check_validity=False, overwrite=True)
        logger.info(f"{docname}: executed in {result.time:.1f} s {beside}")

    measuring = [name for name in jobs if name in app.config.parallel_notebooks_measuring]
    # Longest first (the size of the page stands in for its run time), so that the
    # last one to start does not run on while the other lanes sit idle.
    beside = sorted((name for name in jobs if name not in measuring),
                    key=lambda name: -jobs[name][0].stat().st_size)
    lanes = max(1, app.config.parallel_notebooks_lanes)
    if lanes == 1:
        measuring, beside = measuring + beside, []
    # With nothing measuring, every lane runs the others.
    beside_lanes = max(1, lanes - 1) if measuring else lanes

    # Relative to the build's own: under `nice -n -20 nox -s docs` the others still
    # yield to the measuring lab, not to everything else on the machine.
    beside_niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + BESIDE_NICENESS)

    def run_measuring():
        return [(name, run(name)) for name in measuring]

    def run_beside(name: str):
        # Niceness is a thread's own on Linux, and a process started from this thread
        # (the kernel, and then its compilers and debuggers) inherits it.
        if sys.platform == "linux":
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), beside_niceness)
        return [(name, run(name))]

    start = time.monotonic()
    logger.info(f"executing {len(jobs)} notebooks: {', '.join(measuring) or 'none'} one "
                f"after the other, and beside them {', '.join(beside) or 'none'} "
                f"({beside_lanes} at a time, nice {beside_niceness})")
    with ThreadPoolExecutor(max_workers=1) as first, \
            ThreadPoolExecutor(max_workers=beside_lanes) as others:
        futures = {first.submit(run_measuring): "normal priority"}
        futures.update({others.submit(run_beside, name): f"beside, nice {beside_niceness}"
                        for name in beside})
        for future in as_completed(futures):
            for name, result in future.result():
                finish(name, result, f"({futures[future]})")
    logger.info(f"executed {len(jobs)} notebooks in {time.monotonic() - start:.0f} s")


def setup(app):
    # Two lanes fill a 2-core laptop; more cores, more lanes (each lab is mostly one
    # busy process: its kernel, or a compiler it started).
    app.add_config_value("parallel_notebooks_lanes", min(4, os.cpu_count() or 1), "env")
    app.add_config_value("parallel_notebooks_measuring", [], "env")
    app.add_config_value("parallel_notebooks_rerun_when_read", [], "env")
    app.connect("env-before-read-docs", execute_side_by_side)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
