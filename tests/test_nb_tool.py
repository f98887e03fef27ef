"""tools/nb.py sync: text edits reach the .ipynb, recorded checked outputs stay."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("nb_tool", ROOT / "tools" / "nb.py")
nb_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nb_tool)

CHAPTER = """# %% [markdown]
# # 99 · A chapter

# %% tags=["nbval-check-output"]
print(6 * 7)

# %% [markdown]
# The end.
"""


def recorded(tmp_path: Path, text: str = CHAPTER) -> Path:
    py = tmp_path / "99_chapter.py"
    py.write_text(text)
    out = nb_tool.build(py)
    nb = nbformat.read(out, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    nb.cells[1].execution_count = 1
    nbformat.write(nb, out)
    return py


def test_sync_keeps_checked_outputs_when_unchecked_cells_are_added(tmp_path):
    py = recorded(tmp_path)
    py.write_text(
        CHAPTER.replace(
            "# %% tags", "# %%\nprint('banner')\n\n# %% [markdown]\n# New text.\n\n# %% tags"
        )
    )
    nb = nbformat.read(nb_tool.sync(py), as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "markdown", "code", "markdown"]
    assert nb.cells[1].source == "print('banner')" and nb.cells[1].outputs == []
    assert nb.cells[3].outputs[0]["text"] == "42\n" and nb.cells[3].execution_count == 1


def test_sync_refuses_a_changed_checked_cell_and_leaves_the_notebook_alone(tmp_path):
    py = recorded(tmp_path)
    before = py.with_suffix(".ipynb").read_text()
    py.write_text(CHAPTER.replace("6 * 7", "6 * 8"))
    with pytest.raises(SystemExit, match="build and record"):
        nb_tool.sync(py)
    assert py.with_suffix(".ipynb").read_text() == before


def test_build_keeps_the_check_tag_and_no_other_cell_metadata(tmp_path):
    py = tmp_path / "99_chapter.py"
    py.write_text(
        CHAPTER.replace(
            '# %% tags=["nbval-check-output"]', '# %% tags=["nbval-check-output", "x"] id="c1"'
        )
    )
    nb = nbformat.read(nb_tool.build(py), as_version=4)
    assert nb.cells[1].metadata == {"tags": ["nbval-check-output"]} and nb_tool.is_checked(
        nb.cells[1]
    )
    assert nb.cells[1].source == "print(6 * 7)" and nb.cells[0].metadata == {}


EXERCISE = CHAPTER.replace(
    "# %% [markdown]\n# The end.",
    '''# %%
def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


# %% tags=["exercise-check"]
check(double)

# %% [markdown]
# The end.''',
)


def test_build_writes_stubs_for_students_and_solutions_for_instructors(tmp_path):
    py = tmp_path / "99_chapter.py"
    py.write_text(EXERCISE)
    student = nbformat.read(nb_tool.build(py, tmp_path / "instructor"), as_version=4)
    teacher = nbformat.read(tmp_path / "instructor" / "99_chapter.ipynb", as_version=4)
    assert (
        "raise NotImplementedError()" in student.cells[2].source
        and "2 * x" not in student.cells[2].source
    )
    assert (
        "return 2 * x" in teacher.cells[2].source and "BEGIN SOLUTION" in teacher.cells[2].source
    )
    assert student.cells[2].metadata["nbgrader"]["solution"] is True
    check = student.cells[3].metadata
    assert check["nbgrader"]["grade"] is True and check["nbgrader"]["points"] == 1
    assert check["tags"] == ["exercise-check", "nbval-check-output"]  # unsolved: prints NOT DONE
    assert teacher.cells[3].metadata["tags"] == [
        "exercise-check"
    ]  # solved: fresh numbers each run
    assert [c.source for c in student.cells if c.source != student.cells[2].source] == [
        c.source for c in teacher.cells if c.source != teacher.cells[2].source
    ]


def test_build_refuses_a_solution_inside_a_check_cell(tmp_path):
    py = tmp_path / "99_chapter.py"
    py.write_text(
        EXERCISE.replace(
            "check(double)", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\ncheck(double)"
        )
    )
    with pytest.raises(SystemExit, match="check cell holds a solution"):
        nb_tool.build(py)
