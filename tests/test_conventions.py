"""Every chapter follows the course's conventions (docs/AUTHORING.md)."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_utils import env

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("nb_tool", ROOT / "tools" / "nb.py")
nb_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nb_tool)
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LEGACY = re.compile(
    r"ImageDataGenerator|K\.gradients|cm\.get_cmap|fit_generator|keras\.preprocessing\.image"
    r"|layers\.experimental|from tensorflow\.keras|import tensorflow\.keras|lr="
)
SETUP_CELL = f'''import importlib.util, os, subprocess, sys
REPO_URL = "{env.REPO_URL}"
COURSE = "/content/keras-cv-course"
# Colab: fetch the course helpers once
if importlib.util.find_spec("course_utils") is None:
    if not os.path.isdir(COURSE):
        clone = ["git", "clone", "-q", "--depth=1", REPO_URL, COURSE]
        subprocess.run(clone, check=True)
    sys.path.insert(0, COURSE)
    from course_utils import extras
    extras.install_colab_extras()
from course_utils import env
ENV = env.setup()'''


def checked(cell) -> bool:
    return cell.cell_type == "code" and "nbval-check-output" in cell.metadata.get("tags", [])


def test_chapters_are_numbered_from_00_without_gaps():
    numbers = [int(path.name[:2]) for path in CHAPTERS]
    assert len(numbers) >= 2 and numbers == list(range(len(numbers))), [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_conventions(path: Path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), "name must be NN_slug.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = nb.cells
    head = cells[0]
    assert head.cell_type == "markdown" and head.source.startswith(f"# {path.name[:2]} · ")
    assert "**What you will learn**" in head.source
    assert "**Run time**" in head.source
    repo_path = env.REPO_URL.removeprefix("https://github.com/")
    badge = f"https://colab.research.google.com/github/{repo_path}/blob/{env.REPO_BRANCH}/notebooks/{path.name}"
    assert badge in head.source, "the Open in Colab badge must point at this chapter"
    code = [c for c in cells if c.cell_type == "code"]
    assert code[0].source == SETUP_CELL, "the first code cell must be the standard setup cell"
    assert code[1].source.startswith("env.banner("), (
        "the second code cell must be the quick-mode banner: env.banner(quick_data, full_data, "
        "reference)"
    )
    assert any(c.cell_type == "markdown" and c.source.startswith("## Recap") for c in cells)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(code):
        assert not LEGACY.search(cell.source), (
            f"code cell {i} uses a removed Keras 2 / matplotlib API"
        )
        assert "NBVAL_" not in cell.source, (
            f"code cell {i}: mark a checked cell with the tag, '# %% "
            'tags=["nbval-check-output"]\', '
            "not with a comment students see"
        )
        if checked(cell):
            assert cell.outputs, f"checked cell {i} has no recorded output: run tools/nb.py record"
            assert all(o.get("name") != "stderr" for o in cell.outputs), (
                f"checked cell {i} writes to stderr"
            )
        else:
            assert not cell.outputs, f"code cell {i} stores outputs but is not a checked cell"
            assert cell.execution_count is None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_matches_its_percent_file(path: Path):
    """The .py (what authors edit) and the .ipynb (what students open) say the same thing."""
    source = path.with_suffix(".py")
    assert source.exists(), f"{source.name} is missing: chapters are authored as percent files"
    text = nb_tool.student_notebook(source)  # what the build makes of it: solutions as stubs
    nb = nbformat.read(path, as_version=4)

    def cells(notebook) -> list:
        return [(c.cell_type, c.source, checked(c)) for c in notebook.cells]

    assert cells(text) == cells(nb), (
        f"{path.name} is out of date: run tools/nb.py build and record"
    )


MAX_CODE_LINES = 15
PREDICT = re.compile(r"\*\*Predict")
ANSWER = re.compile(r"\*\*Answer")
UNMARKED_PREDICT = re.compile(r"\b[Pp]redict(:| before| first| the)")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_cells_are_short(path: Path):
    """A code cell shows one step: at most 15 lines (plumbing goes into course_utils)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"][
        1:
    ]  # the setup cell is the same everywhere
    long = [
        (c.source.splitlines() or [""])[0]
        for c in code
        if len(c.source.rstrip().splitlines()) > MAX_CODE_LINES
    ]
    assert not long, f"{len(long)} code cell(s) over {MAX_CODE_LINES} lines, starting: {long}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_prediction_question_is_answered(path: Path):
    """A **Predict** question is answered (**Answer**) in the first text after the cell that
    runs it."""
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"\*\*Predict[^*]*\*\*", "", cell.source)
        assert not UNMARKED_PREDICT.search(text), (
            f"markdown cell {i} asks for a prediction without the **Predict** marker: "
            f"{cell.source[:80]!r}"
        )
        if not PREDICT.search(cell.source):
            continue
        question = PREDICT.search(cell.source).start()
        assert not ANSWER.search(cell.source[question:]), (
            f"markdown cell {i} answers its question before the code runs"
        )
        later = cells[i + 1 :]
        code_at = next((k for k, c in enumerate(later) if c.cell_type == "code"), None)
        assert code_at is not None, f"markdown cell {i} asks a question no code cell follows"
        reply = next((c for c in later[code_at:] if c.cell_type == "markdown"), None)
        assert reply is not None and ANSWER.search(reply.source), (
            f"the question in markdown cell {i} ({cell.source[question : question + 60]!r}) needs "
            "an "
            "**Answer** in the first text cell after its code"
        )
        if PREDICT.search(reply.source):
            assert ANSWER.search(reply.source).start() < PREDICT.search(reply.source).start()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_come_with_checks_and_nothing_else_uses_them(path: Path):
    """2-5 exercises before the Recap, each a solution cell then its check; student notebooks
    print NOT DONE in every check, and no other cell calls a student's function."""
    text = jupytext.read(path.with_suffix(".py"))
    cells = text.cells
    heads = [
        i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## ")
    ]
    start = next((i for i in heads if cells[i].source.startswith("## Exercises")), None)
    assert start is not None, "the chapter needs an ## Exercises section"
    recap = next(i for i in heads if cells[i].source.startswith("## Recap"))
    assert start < recap and not [i for i in heads if start < i < recap], (
        "## Exercises comes just before ## Recap"
    )
    solutions = [i for i, c in enumerate(cells) if nb_tool.has_solution(c)]
    checks = [i for i, c in enumerate(cells) if nb_tool.is_exercise_check(c)]
    assert 2 <= len(solutions) <= 5 and len(checks) == len(solutions), (
        len(solutions),
        len(checks),
    )
    assert all(start < s < c < recap for s, c in zip(solutions, checks, strict=True)), (
        "each solution cell, then its check"
    )
    titles = [
        c.source
        for c in cells[start:recap]
        if c.cell_type == "markdown" and c.source.startswith("### Exercise")
    ]
    assert len(titles) == len(solutions) and all(
        re.match(r"### Exercise \d+\.\d+ ★{1,3} ", t) for t in titles
    ), titles
    defined: dict[str, int] = {}
    for s in solutions:
        for node in ast.parse(cells[s].source).body:
            assert isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)), (
                f"solution cell {s} does more than define: the student's stub would stop the "
                "notebook"
            )
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined[node.name] = s

    def names(i: int) -> set[str]:
        return {n.id for n in ast.walk(ast.parse(cells[i].source)) if isinstance(n, ast.Name)}

    mine = set(solutions) | set(checks)
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and i not in mine:
            assert not names(i) & set(defined), (
                f"code cell {i} uses a student's function {names(i) & set(defined)}"
            )
    for s, c in zip(
        solutions, checks, strict=True
    ):  # an exercise stands alone: skipping one blocks no other
        others = {name for name, where in defined.items() if where != s}
        assert not (names(s) | names(c)) & others, (
            f"exercise in cells {s}-{c} uses another exercise's function "
            f"{(names(s) | names(c)) & others}"
        )
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if nb_tool.is_exercise_check(cell):
            text = "".join(o.get("text", "") for o in cell.outputs)
            lines = [line for line in text.splitlines() if not line.startswith(" ")]  # unwrapped
            assert lines and all(line.startswith("NOT DONE") for line in lines), (
                f"an unsolved check should print NOT DONE: {lines}"
            )
