"""Every lab has the shape attendees rely on: it opens with its objectives and time,
and closes with its key points (the Carpentries' episode shape)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "labs").glob("[0-9][0-9]-*.md"))


def admonitions(text: str) -> list[tuple[str, str]]:
    """(title, body) of every colon-fenced admonition, in order."""
    return re.findall(r"^:::\{admonition\} *(.+?)\n(.*?)^:::\s*$", text, flags=re.M | re.S)


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_opens_with_objectives_and_time(lab):
    text = lab.read_text(encoding="utf-8")
    boxes = admonitions(text)
    assert boxes, f"{lab.name} has no admonition: open with ':::{{admonition}} In this lab'"
    title, body = boxes[0]
    assert title.strip() == "In this lab", f"{lab.name} opens with {title!r}, not 'In this lab'"
    assert re.search(r"\*\*Time\*\*: about \d+", body), f"{lab.name}: say how long it takes"
    assert "**You will**" in body, f"{lab.name}: list what the learner will do"
    first_cell = text.find("```{code-cell}")
    assert first_cell == -1 or text.find(":::{admonition} In this lab") < first_cell, (
        f"{lab.name}: the objectives must come before the first code cell")


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_closes_with_key_points(lab):
    text = lab.read_text(encoding="utf-8")
    title, body = admonitions(text)[-1]
    assert title.strip() == "Key points", f"{lab.name} ends with {title!r}, not 'Key points'"
    assert body.count("\n- ") >= 2, f"{lab.name}: the key points should be a list"
    tail = text[text.rfind(":::{admonition} Key points"):]
    assert "```{code-cell}" not in tail, f"{lab.name}: nothing should run after the key points"


# Labs whose teaching shape (predictions, reasoning prompts, platforms) is checked
# below. Labs 02 and 05 are being written by others: they join this list once they
# follow the same shape.
TEACHING_SHAPE = [lab for lab in LABS if lab.name[:2] in {"00", "01", "03", "04", "06"}]


@pytest.mark.parametrize("lab", TEACHING_SHAPE, ids=lambda p: p.stem)
def test_lab_asks_for_a_prediction_before_a_run(lab):
    text = lab.read_text(encoding="utf-8")
    boxes = [title.strip() for title, _ in admonitions(text)]
    assert "Predict, then run" in boxes, (
        f"{lab.name}: ask the learner to predict an outcome before a cell shows it "
        "(':::{admonition} Predict, then run')")


@pytest.mark.parametrize("lab", TEACHING_SHAPE, ids=lambda p: p.stem)
def test_lab_states_its_platforms(lab):
    _title, body = admonitions(lab.read_text(encoding="utf-8"))[0]
    assert "**Platforms**:" in body, (
        f"{lab.name}: say in the opening box where the lab runs (Linux, WSL2, Binder) "
        "and where it is partial (macOS)")


@pytest.mark.parametrize("lab", TEACHING_SHAPE, ids=lambda p: p.stem)
def test_stretch_sections_are_marked_as_such(lab):
    text = lab.read_text(encoding="utf-8")
    for heading in re.findall(r"^#+ .*[Ss]tretch.*$", text, flags=re.M):
        after = text[text.index(heading):]
        next_cell = after.find("```{code-cell}")
        box = after.find(":::{admonition} Stretch section")
        assert box != -1 and (next_cell == -1 or box < next_cell), (
            f"{lab.name}: '{heading}' needs a 'Stretch section' box saying how long it "
            "takes and that it can be skipped")


def test_home_page_schedule_matches_each_labs_time():
    """The day's schedule on the home page gives each lab the time its own page
    claims (a lab split over two slots gets the sum)."""
    schedule = (ROOT / "index.md").read_text(encoding="utf-8")
    slots: dict[str, int] = {}
    for number, minutes in re.findall(r"^\| \d\d:\d\d \| Lab (\d\d)[^|]*?\(about (\d+) min",
                                      schedule, flags=re.M):
        slots[number] = slots.get(number, 0) + int(minutes)
    for lab in LABS:
        claimed = re.search(r"\*\*Time\*\*: about (\d+)", lab.read_text(encoding="utf-8"))
        number = lab.name[:2]
        if number == "00":
            continue  # done at home, before the day
        assert number in slots, f"index.md's schedule has no slot for lab {number}"
        assert slots[number] == int(claimed.group(1)), (
            f"lab {number} says about {claimed.group(1)} minutes, the schedule gives it "
            f"{slots[number]}")
