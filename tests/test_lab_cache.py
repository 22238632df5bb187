"""After a stage is rebuilt, the labs that use it run again (tools/lab_cache.py).

The notebook cache keys a lab on its own code only; without this, lab 06 would
replay outputs of an old native/cq after the core changed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
from jupyter_cache.base import CacheBundleIn

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("lab_cache", ROOT / "tools" / "lab_cache.py")
lab_cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab_cache)


def names(paths):
    return {p.name for p in paths}


def test_each_stage_is_used_by_the_labs_that_import_it():
    assert "06-completion-queue-asyncio.md" in names(lab_cache.labs_using("cq"))
    assert "03-cython-primes.md" in names(lab_cache.labs_using("primes"))
    assert "01-hello-c-extension.md" in names(lab_cache.labs_using("hello"))
    assert "06-completion-queue-asyncio.md" not in names(lab_cache.labs_using("hello"))


def test_forget_removes_only_the_records_of_labs_using_the_stage(tmp_path, monkeypatch):
    import jupyter_cache
    cache = jupyter_cache.get_cache(tmp_path / "cache")
    for lab in ("06-completion-queue-asyncio.md", "03-cython-primes.md"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print('{lab}')")])
        cache.cache_notebook_bundle(
            CacheBundleIn(nb, str(ROOT / "labs" / lab)), check_validity=False)
    monkeypatch.setattr(lab_cache, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(lab_cache, "TO_RERUN", tmp_path / "labs-to-rerun.txt")

    assert lab_cache.forget(["cq"]) == ["06-completion-queue-asyncio.md"]
    left = [Path(r.uri).name for r in cache.list_cache_records()]
    assert left == ["03-cython-primes.md"]
    # ... and Sphinx is told to read the page again (conf.py), or it would keep the
    # old outputs without executing anything.
    listed = (tmp_path / "labs-to-rerun.txt").read_text().split()
    assert "labs/06-completion-queue-asyncio" in listed
    assert "labs/03-cython-primes" not in listed
