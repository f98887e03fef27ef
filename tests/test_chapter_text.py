"""The student's page holds what teaches (issue 29): about 2,500 words of text at most, no
sentence addressed to the course's authors, and a header that states the quick-mode run time
CI holds it to."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

sys.path.insert(0, str(ROOT / "tools"))
import executor  # noqa: E402

MAX_WORDS = 2600  # "about 2,500": words of the markdown cells, split at white space
BUDGET = 60  # seconds of quick mode on a quiet 2-core CPU (the header's lower figure)
# Chapters not yet within the limits (issues 27 and 29 stay open for them); each entry must
# still be over, so the list shrinks as chapters are fixed.
OVER_WORDS: set[str] = set()
OVER_BUDGET: set[str] = set()
# Phrases that speak to the course's authors or describe how the course was verified.
FOR_AUTHORS = re.compile(
    r"when we tried|we measured|over (five|ten|\d+) seeds|fingerprint|test machine|benchmarks/"
    r"|stable output|== course helper|PASS: ours|throttl|threshold_margins|nbval",
    re.IGNORECASE,
)


def words(notebook: nbformat.NotebookNode) -> int:
    """Words of text a student reads: the markdown cells, split at white space."""
    return sum(len(c.source.split()) for c in notebook.cells if c.cell_type == "markdown")


def test_the_word_count_counts_markdown_only():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("two words\n$x$"),
            nbformat.v4.new_code_cell("print('not counted')"),
        ]
    )
    assert words(nb) == 3


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem[:2])
def test_a_chapter_has_at_most_about_2500_words(path: Path):
    count = words(nbformat.read(path, as_version=4))
    if path.name[:2] in OVER_WORDS:
        assert count > MAX_WORDS, f"{path.name} is within the limit now: drop it from OVER_WORDS"
        return
    assert count <= MAX_WORDS, f"{path.name}: {count} words of text (at most about 2,500)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem[:2])
def test_no_sentence_is_written_for_the_authors(path: Path):
    nb = nbformat.read(path, as_version=4)
    found = [
        m.group(0)
        for c in nb.cells
        if c.cell_type == "markdown"
        for m in FOR_AUTHORS.finditer(c.source)
    ]
    assert not found, f"{path.name}: author-facing text on the student's page: {found}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem[:2])
def test_the_header_states_the_quick_mode_run_time(path: Path):
    stated = executor.stated_run_time(nbformat.read(path, as_version=4))
    assert stated is not None, f"{path.name}: no '**Run time**: quick mode LOW-HIGH s' header"
    low, high = stated  # low: a quiet 2-core CPU; high: the same with other work beside it
    assert 0 < low <= high, f"{path.name}: quick mode {low:g}-{high:g} s"
    if path.name[:2] in OVER_BUDGET:
        assert low > BUDGET, f"{path.name} is within budget now: drop it from OVER_BUDGET"
        return
    assert low <= BUDGET, f"{path.name}: quick mode from {low:g} s, over the {BUDGET} s budget"
