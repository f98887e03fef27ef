"""Build chapter notebooks from their paired text files and record their checked outputs.

The chapters are written as jupytext "percent" files (notebooks/NN_slug.py), which diff
cleanly; the .ipynb beside each is what students open. Usage:

    python tools/nb.py build  [notebooks/05_convnet_basics.py ...]   # .py -> .ipynb, no outputs
    python tools/nb.py record [notebooks/05_convnet_basics.ipynb ...] # run in quick mode, keep
                                                                    # only checked cells' outputs
    python tools/nb.py sync   [notebooks/05_convnet_basics.py ...]   # .py -> .ipynb, keeping the
                                                                    # recorded checked outputs
    python tools/nb.py instructor [notebooks/05_convnet_basics.py ...] # .py -> instructor/*.ipynb

Without file arguments each command takes every chapter.

Exercises: the percent file holds each solution between `### BEGIN SOLUTION` and
`### END SOLUTION`, and tags each check cell `exercise-check`. The student notebook (what
`build` writes into notebooks/) has every solution replaced by nbgrader's stub (its
ClearSolutions preprocessor) and its check cells checked (they must print NOT DONE).
The instructor notebook (`build` and `instructor` write it into instructor/, which git ignores)
keeps the solutions. Both carry nbgrader's cell metadata, so an instructor can hand the
instructor notebook to `nbgrader generate_assignment` and grade with `nbgrader autograde`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
NOTEBOOKS = ROOT / "notebooks"
INSTRUCTOR = ROOT / "instructor"
CHECK_TAG = "nbval-check-output"  # nbval compares the outputs of cells tagged so
EXERCISE_TAG = "exercise-check"  # a cell that checks an exercise (prints PASS, FAIL or NOT DONE)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """True for code cells whose output every run compares with the stored one."""
    return cell.cell_type == "code" and CHECK_TAG in cell.metadata.get("tags", [])


def chapter_sources(suffix: str, args: list[str]) -> list[Path]:
    if args:
        return [Path(a).resolve().with_suffix(suffix) for a in args]
    return sorted(p for p in NOTEBOOKS.glob(f"[0-9][0-9]_*{suffix}"))


def is_exercise_check(cell: nbformat.NotebookNode) -> bool:
    """True for the code cells that check an exercise."""
    return cell.cell_type == "code" and EXERCISE_TAG in cell.metadata.get("tags", [])


def has_solution(cell: nbformat.NotebookNode) -> bool:
    """True for code cells holding a solution between the solution markers."""
    return cell.cell_type == "code" and BEGIN in cell.source


def _nbgrader(stem: str, kind: str, number: int, grade: bool) -> dict:
    meta = {
        "grade": grade,
        "grade_id": f"{stem}-{kind}-{number}",
        "locked": grade,
        "schema_version": 3,
        "solution": not grade,
        "task": False,
    }
    if grade:
        meta["points"] = 1
    return {"nbgrader": meta}


def instructor_notebook(py: Path) -> nbformat.NotebookNode:
    """The chapter with its solutions, clean metadata, nbgrader's marks and no outputs."""
    nb = jupytext.read(py)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",  # Colab opens the chapter on a GPU runtime when one is free
        "colab": {"provenance": []},
    }
    solutions = checks = 0
    for cell in nb.cells:
        tags = [t for t in cell.metadata.get("tags", []) if t in (CHECK_TAG, EXERCISE_TAG)]
        if BEGIN in cell.source and cell.cell_type != "code":
            raise SystemExit(f"{py.name}: solution markers in a text cell; exercises are code")
        if has_solution(cell) and EXERCISE_TAG in tags:
            raise SystemExit(f"{py.name}: a check cell holds a solution; keep them apart")
        cell.metadata = {"tags": tags} if tags else {}
        if has_solution(cell):
            solutions += 1
            cell.metadata.update(_nbgrader(py.stem, "solution", solutions, grade=False))
        elif EXERCISE_TAG in tags:
            checks += 1
            cell.metadata.update(_nbgrader(py.stem, "check", checks, grade=True))
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def student_notebook(py: Path) -> nbformat.NotebookNode:
    """The chapter as students get it: solutions replaced by stubs, check cells checked."""
    from nbgrader.preprocessors import ClearSolutions  # an instructor-side tool

    nb = instructor_notebook(py)
    nb, _ = ClearSolutions(begin_solution_delimeter=BEGIN, end_solution_delimeter=END).preprocess(
        nb, {}
    )
    for cell in nb.cells:
        if is_exercise_check(cell) and CHECK_TAG not in cell.metadata["tags"]:
            cell.metadata["tags"].append(CHECK_TAG)  # unsolved, it must print NOT DONE
    return nb


def build(py: Path, instructor_dir: Path | None = None) -> Path:
    """Write the student .ipynb beside a percent file (and the instructor's, when given a
    folder)."""
    out = py.with_suffix(".ipynb")
    nbformat.write(student_notebook(py), out)
    if instructor_dir is not None:
        write_instructor(py, instructor_dir)
    return out


def write_instructor(py: Path, folder: Path = INSTRUCTOR) -> Path:
    """Write the instructor's notebook (solutions kept) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = instructor_notebook(py)
    for cell in nb.cells:  # its checks print PASS with fresh numbers: nothing to compare
        if is_exercise_check(cell):
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != CHECK_TAG]
    out = folder / py.with_suffix(".ipynb").name
    nbformat.write(nb, out)
    return out


def record(ipynb: Path, timeout: int = 900) -> Path:
    """Execute a notebook in quick mode (tools/executor.py, offline, a throw-away checkpoint
    folder) and store the outputs of its checked cells only."""
    import executor

    work = Path(tempfile.mkdtemp(prefix="record-"))
    run = executor.run_one(
        ipynb.resolve(),
        executor.Runtime(name="record"),
        work / "executed",
        checkpoints=work / "checkpoints",
        grade=False,
        timeout=timeout,
        compare=False,
    )
    if not run.ok:
        raise SystemExit(f"{ipynb.name}: {run.failure} (nothing recorded)")
    nb = nbformat.read(work / "executed" / ipynb.name, as_version=4)
    nb.metadata.pop("course_run", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # nbclient's timestamps: noise in every diff
        if cell.cell_type == "code" and not is_checked(cell):
            cell.outputs = []  # checked cells keep outputs and count: comparisons need both
            cell.execution_count = None
    nbformat.write(nb, ipynb)
    return ipynb


def sync(py: Path) -> Path:
    """Copy edited cell sources into the .ipynb without running it, keeping checked outputs.

    Text cells and unchecked code cells may be edited, added or removed. Refuses (and changes
    nothing) when a checked cell was added, removed or changed: then build and record. The
    executor still runs every chapter, so a new cell that changes a checked output is caught there.
    """
    text, out = student_notebook(py), py.with_suffix(".ipynb")
    nb = nbformat.read(out, as_version=4)
    checked_now = [c for c in text.cells if is_checked(c)]
    checked_before = [c for c in nb.cells if is_checked(c)]
    if [c.source for c in checked_now] != [c.source for c in checked_before]:
        raise SystemExit(
            f"{py.name}: a checked cell was added, removed or changed: build and record it"
        )
    pairs = list(zip(text.cells, nb.cells, strict=False))
    if len(text.cells) == len(nb.cells) and all(a.cell_type == b.cell_type for a, b in pairs):
        for new, old in pairs:
            old.source, old.metadata = new.source, new.metadata
        nbformat.write(nb, out)
        return out
    build(py)
    rebuilt = nbformat.read(out, as_version=4)
    for new, old in zip([c for c in rebuilt.cells if is_checked(c)], checked_before, strict=True):
        new.outputs, new.execution_count = old.outputs, old.execution_count
    nbformat.write(rebuilt, out)
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "record", "sync", "instructor"):
        print(__doc__)
        return 2
    command, args = argv[0], argv[1:]
    if command == "build":
        for py in chapter_sources(".py", args):
            print("built", build(py, INSTRUCTOR).relative_to(ROOT))
    elif command == "instructor":
        for py in chapter_sources(".py", args):
            print("wrote", write_instructor(py).relative_to(ROOT))
    elif command == "sync":
        for py in chapter_sources(".py", args):
            print("synced", sync(py).relative_to(ROOT))
    else:
        for nb in chapter_sources(".ipynb", args):
            print("recorded", record(nb).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
