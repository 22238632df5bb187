"""Where the built site is and which pages it has (shared by the browser tests).

The page lists are read when the tests are collected, so each page is its own test
case: a page added by any stage or lab is tested without anyone editing a test.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("WORKSHOP_BUILD", ROOT / "_build")).resolve() / "html"


def site_pages() -> list[str]:
    """Every HTML page of the built site, relative to its root (_static & co. excluded)."""
    if not SITE.is_dir():
        return []
    return sorted(
        p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
        if not p.relative_to(SITE).parts[0].startswith("_")
    )


def lab_pages() -> list[str]:
    return [p for p in site_pages() if p.startswith("labs/")]


def page_html(relative: str) -> str:
    return (SITE / relative).read_text(encoding="utf-8")


def page_text(relative: str) -> str:
    """A page's visible words, tags stripped (good enough to ask "is X mentioned?")."""
    raw = page_html(relative)
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))
