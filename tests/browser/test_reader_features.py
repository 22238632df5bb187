"""What a reader does on the site: search, unfold a solution, copy code."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from built_site import lab_pages, page_html, page_text

# Words a reader may search for, each expected to find at least one lab. Extend freely.
# `required` queries must find a lab today; the others become active once a lab
# mentions the word (stage 3's lab for "poller"), so adding a query never breaks CI
# before its content lands.
SEARCHES = [
    pytest.param("reference", True, id="reference"),
    pytest.param("poller", False, id="poller"),
]


def labs_mentioning(word: str) -> list[str]:
    return [lab for lab in lab_pages() if word.lower() in page_text(lab).lower()]


@pytest.mark.parametrize(("query", "required"), SEARCHES)
def test_search_finds_a_lab(open_page, query, required):
    if not required and not labs_mentioning(query):
        pytest.skip(f"no lab mentions {query!r} yet")
    page = open_page(f"search.html?q={quote(query)}").page
    # Sphinx's search runs in the browser after the index loads; the summary
    # paragraph appears when it has finished.
    page.locator("#search-results .search-summary").wait_for()
    hits = page.locator("#search-results ul.search li a")
    hrefs = [hits.nth(i).get_attribute("href") or "" for i in range(hits.count())]
    assert any(h.startswith("labs/") for h in hrefs), (
        f"searching {query!r} found no lab; results: {hrefs or 'none'}")


LABS_WITH_SOLUTIONS = [lab for lab in lab_pages() if "tag_hide-input" in page_html(lab)]


@pytest.mark.skipif(not LABS_WITH_SOLUTIONS, reason="no lab has a folded solution yet")
@pytest.mark.parametrize("lab", LABS_WITH_SOLUTIONS)
def test_solution_is_folded_until_clicked(open_page, lab):
    page = open_page(lab).page
    folded = page.locator("div.cell.tag_hide-input")
    assert folded.count() > 0
    for i in range(folded.count()):
        cell = folded.nth(i)
        source = cell.locator("div.cell_input")
        toggle = cell.locator("details > summary").first
        assert not source.is_visible(), f"{lab}: solution {i + 1} is shown before any click"
        toggle.scroll_into_view_if_needed()
        toggle.click()
        source.wait_for(state="visible")
        assert source.inner_text().strip(), f"{lab}: solution {i + 1} unfolds to nothing"
        toggle.click()
        source.wait_for(state="hidden")


@pytest.mark.parametrize("lab", lab_pages())
def test_copy_button_copies_a_cell(open_page, site_url, lab):
    page = open_page(lab).page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url)
    blocks = page.locator("div.cell:not(.tag_hide-input) div.cell_input div.highlight")
    assert blocks.count() > 0, f"{lab} shows no code cell to copy"
    block = blocks.first
    block.scroll_into_view_if_needed()
    block.hover()
    block.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    shown = block.locator("pre").inner_text()
    assert copied.strip(), f"{lab}: the copy button put nothing on the clipboard"
    assert copied.strip() == shown.strip(), f"{lab}: copied text differs from the cell"


@pytest.mark.parametrize("lab", lab_pages())
def test_lab_downloads_as_an_executed_notebook(open_page, site_url, lab):
    page = open_page(lab).page
    links = page.locator("a[href$='.ipynb']")
    assert links.count() > 0, f"{lab}: the download menu offers no .ipynb"
    response = page.request.get(links.first.evaluate("a => a.href"))
    assert response.ok, f"{lab}: the .ipynb link answers HTTP {response.status}"
    notebook = response.json()
    outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert outputs, f"{lab}: the downloaded notebook has no outputs (not the executed one)"
