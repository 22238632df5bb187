"""Every page of the built site, opened in Chromium: it loads cleanly and its links hold.

One test case per page, found by walking the built site, so new labs and pages are
covered the moment they are built.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from built_site import SITE, lab_pages, site_pages

PAGES = site_pages()

# Every URL a page refers to: links, images, scripts, stylesheets, icons.
REFERENCES_JS = """() => {
  const refs = [];
  for (const el of document.querySelectorAll('a[href], link[href]'))
    refs.push([el.tagName.toLowerCase(), el.href, el.getAttribute('href')]);
  for (const el of document.querySelectorAll('img[src], script[src], source[src]'))
    refs.push([el.tagName.toLowerCase(), el.src, el.getAttribute('src')]);
  return refs;
}"""


def local_target(url: str, site_url: str) -> tuple[Path, str] | None:
    """The file a same-site URL points at, and its #fragment; None for other sites."""
    if not url.startswith(site_url):
        return None
    parts = urlsplit(url)
    path = SITE / unquote(parts.path.removeprefix(urlsplit(site_url).path))
    if path.is_dir():
        path = path / "index.html"
    return path, unquote(parts.fragment)


def has_anchor(page: Path, fragment: str, cache: dict[Path, str]) -> bool:
    if page not in cache:
        cache[page] = page.read_text(encoding="utf-8", errors="replace")
    return re.search(rf'\b(id|name)="{re.escape(fragment)}"', cache[page]) is not None


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_errors(open_page_once, page):
    opened = open_page_once(page)
    assert opened.page.title().strip(), f"{page} has no <title>"
    assert opened.page.locator("main, article, [role=main]").count() > 0, f"{page} is empty"
    report = opened.problems.report()
    assert not report, f"{page}:\n{report}"


@pytest.mark.parametrize("page", PAGES)
def test_every_local_link_and_image_resolves(open_page_once, site_url, page):
    opened = open_page_once(page)
    broken: list[str] = []
    anchors: dict[Path, str] = {}
    for tag, url, written in opened.page.evaluate(REFERENCES_JS):
        if not written or written.startswith(("javascript:", "mailto:")):
            continue
        target = local_target(url, site_url)
        if target is None:
            continue
        path, fragment = target
        if not path.is_file():
            broken.append(f"<{tag}> {written!r} -> missing {path.relative_to(SITE)}")
        elif fragment and path.suffix == ".html" and not has_anchor(path, fragment, anchors):
            broken.append(f"<{tag}> {written!r} -> no #{fragment} in {path.relative_to(SITE)}")
    assert not broken, f"{page} has broken references:\n" + "\n".join(sorted(set(broken)))


# Resolves to the <img> elements that failed: loaded eagerly (a lazy image below the
# fold would otherwise never load), then decoded, which fails for a broken image.
BROKEN_IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  const results = await Promise.all(imgs.map(img =>
    img.decode().then(() => img.naturalWidth > 0 ? null : img.src, () => img.src)));
  return results.filter(r => r !== null);
}"""


@pytest.mark.parametrize("page", PAGES)
def test_every_image_has_loaded(open_page_once, page):
    opened = open_page_once(page)
    broken = opened.page.evaluate(BROKEN_IMAGES_JS)
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("lab", lab_pages())
def test_lab_shows_its_executed_outputs(open_page_once, lab):
    page = open_page_once(lab).page
    cells = page.locator("div.cell").count()
    outputs = page.locator("div.cell_output").count()
    assert cells > 0, f"{lab} has no code cells: was it built as a notebook?"
    assert outputs > 0, f"{lab} shows no outputs: were its cells executed?"
    tracebacks = page.locator("div.cell_output .traceback, div.output.traceback")
    assert tracebacks.count() == 0, f"{lab} shows a traceback:\n{tracebacks.first.inner_text()}"


def test_the_site_has_pages_to_test(site_url):
    # Guards the parametrized tests above: with no built pages they would all vanish.
    assert "index.html" in PAGES and lab_pages(), f"no pages or no labs found in {SITE}"
