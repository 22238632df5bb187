"""Forget the cached outputs of the labs that use a stage, after that stage is rebuilt.

    python tools/lab_cache.py forget cq primes

myst-nb replays a lab from its notebook cache while the lab's code is unchanged. The
code a lab imports is not part of that key, so after `native/cq` changes, lab 06 would
show outputs of the old build. nox runs this after every stage it rebuilds (and when
files a lab compiles itself change, such as native/debugging/); a lab "uses" a stage
when it imports it or reads files under native/<stage>/. The forgotten labs are
listed in TO_RERUN, which conf.py reads so that Sphinx executes them again.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("WORKSHOP_BUILD", ROOT / "_build")).resolve()
CACHE = BUILD / ".jupyter_cache"
# The labs forgotten since the last build: conf.py has Sphinx read them again (an
# unchanged page would otherwise keep its old outputs without being executed).
TO_RERUN = BUILD / "labs-to-rerun.txt"


def labs_using(stage: str) -> list[Path]:
    uses = re.compile(rf"^\s*(import|from)\s+{stage}\b|native/{stage}\b|\b{stage}\.", re.M)
    return [lab for lab in sorted((ROOT / "labs").glob("[0-9]*.md"))
            if uses.search(lab.read_text(encoding="utf-8"))]


def forget(stages: list[str]) -> list[str]:
    """Remove the cache records of every lab that uses one of `stages`."""
    if not CACHE.exists():
        return []
    from jupyter_cache import get_cache

    labs = {lab.resolve() for stage in stages for lab in labs_using(stage)}
    listed = set(TO_RERUN.read_text().split()) if TO_RERUN.is_file() else set()
    TO_RERUN.write_text("".join(f"{name}\n" for name in sorted(
        listed | {lab.relative_to(ROOT).with_suffix("").as_posix() for lab in labs})))
    cache = get_cache(CACHE)
    forgotten = []
    for record in cache.list_cache_records():
        if Path(record.uri).with_suffix(".md").resolve() in labs:
            cache.remove_cache(record.pk)
            forgotten.append(Path(record.uri).name)
    return forgotten


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "forget":
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    forgotten = forget(argv[1:])
    if forgotten:
        print(f"lab_cache: {', '.join(sorted(forgotten))} will run again "
              f"(they use {', '.join(argv[1:])}, just rebuilt)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
