"""Every code line of every chapter fits the page: at most 79 characters (PEP 8's limit, set
for the chapters in notebooks/ruff.toml), so a book page, the course site at 1,280 px and
Colab's cells show it without a horizontal scroll bar. Checked in the percent sources (what
authors edit, solutions included), code cells only: Markdown cells are prose and wrap. The
lines a chapter prints (its stored outputs in the student notebook: printed text and values)
are held to the same width."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LIMIT = tomllib.loads((ROOT / "notebooks" / "ruff.toml").read_text())["line-length"]


def test_the_limit_is_peps():
    assert LIMIT == 79


def test_every_chapter_is_checked():
    assert len(SOURCES) >= 13, [p.name for p in SOURCES]


def long_lines(source: Path) -> list[str]:
    """'cell N, line M (K chars): text' for each code line over the limit."""
    found = []
    cells = [c for c in jupytext.read(source).cells if c.cell_type == "code"]
    for n, cell in enumerate(cells):
        for m, line in enumerate(cell.source.splitlines(), start=1):
            if len(line) > LIMIT:
                found.append(f"code cell {n}, line {m} ({len(line)} chars): {line.strip()[:60]}")
    return found + fenced_long_lines(source)


def fenced_long_lines(source: Path) -> list[str]:
    """The same for code quoted in Markdown cells (between ``` fences): the site shows it as
    a code block too."""
    found = []
    cells = [c for c in jupytext.read(source).cells if c.cell_type == "markdown"]
    for n, cell in enumerate(cells):
        fenced = False
        for line in cell.source.splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif fenced and len(line) > LIMIT:
                found.append(f"markdown cell {n} ({len(line)} chars): {line.strip()[:60]}")
    return found


def test_a_long_line_is_found(tmp_path: Path):
    chapter = tmp_path / "99_probe.py"
    chapter.write_text(
        "# %% [markdown]\n# " + "prose " * 30 + "\n\n# %%\nx = 1\n" + "y = " + "1 + " * 20 + "1\n"
    )
    assert [re.sub(r" \(.*", "", f) for f in long_lines(chapter)] == ["code cell 0, line 2"]
    chapter.write_text("# %% [markdown]\n# ```python\n# " + "z = 1 + " * 12 + "1\n# ```\n")
    assert [re.sub(r" \(.*", "", f) for f in long_lines(chapter)] == ["markdown cell 0"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name[:2])
def test_code_lines_fit_79_characters(source: Path):
    found = long_lines(source)
    assert not found, (
        f"{source.name}: {len(found)} code line(s) over {LIMIT} characters "
        "(wrap the call, name a value first, or shorten a long name):\n  " + "\n  ".join(found)
    )


def long_output_lines(notebook: Path) -> list[str]:
    """'cell N (K chars): text' for each printed line over the limit (stdout and values shown;
    warnings on stderr are the libraries' own)."""
    found = []
    cells = json.loads(notebook.read_text())["cells"]
    for n, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            if out.get("name") == "stderr":
                continue
            text = out.get("text") or out.get("data", {}).get("text/plain") or ""
            for line in "".join(text).splitlines():
                if len(line) > LIMIT:
                    found.append(f"cell {n} ({len(line)} chars): {line.strip()[:60]}")
    return found


def test_a_long_printed_line_is_found(tmp_path: Path):
    notebook = tmp_path / "99_probe.ipynb"
    cells = [
        {
            "cell_type": "code",
            "source": "",
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["short\n", "x" * 80 + "\n"]},
                {"output_type": "stream", "name": "stderr", "text": ["w" * 90]},
            ],
        }
    ]
    notebook.write_text(json.dumps({"cells": cells}))
    assert [re.sub(r" \(.*", "", f) for f in long_output_lines(notebook)] == ["cell 0"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_printed_lines_fit_79_characters(notebook: Path):
    found = long_output_lines(notebook)
    assert not found, (
        f"{notebook.name}: {len(found)} printed line(s) over {LIMIT} characters "
        "(print fewer items a line, or wrap with env.fit_page):\n  " + "\n  ".join(found)
    )
