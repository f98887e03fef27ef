"""An instructor grades chapter 01 with nbgrader and the course's tools/nbgrader_config.py:
the assignment nbgrader releases is the student notebook, stubs score 0, the solutions score
every point, and a planted mistake loses exactly its exercise's point."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
STEM = "01_knn_cross_validation"
_spec = importlib.util.spec_from_file_location("nb_tool", ROOT / "tools" / "nb.py")
nb_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nb_tool)


def nbgrader(course: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_GRADING", "COURSE_MODE")}
    env["COURSE_CHECKPOINT_DIR"] = str(course / "checkpoints")
    env["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), env.get("PATH", "")]
    )  # its alembic
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]


def test_nbgrader_grades_a_chapter_with_the_course_config(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ch01").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "nbgrader_config.py", course / "nbgrader_config.py")
    nb_tool.write_instructor(ROOT / "notebooks" / f"{STEM}.py", course / "source" / "ch01")
    nbgrader(course, "generate_assignment", "ch01", "--force")

    released = nbformat.read(course / "release" / "ch01" / f"{STEM}.ipynb", as_version=4)
    student = nbformat.read(ROOT / "notebooks" / f"{STEM}.ipynb", as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in student.cells]

    solved = nbformat.read(course / "source" / "ch01" / f"{STEM}.ipynb", as_version=4)
    planted = nbformat.from_dict(solved)  # L2 squared where L1 was asked: exercise 1.1 fails
    cell = next(c for c in planted.cells if "def l1_no_loop" in c.source)
    cell.source = cell.source.replace(
        "np.abs(A[:, None, :] - B[None, :, :])", "(A[:, None, :] - B[None, :, :]) ** 2"
    )
    assert "** 2" in cell.source
    for who, nb in (("stubs", student), ("solved", solved), ("planted", planted)):
        folder = course / "submitted" / who / "ch01"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{STEM}.ipynb")
    nbgrader(course, "autograde", "ch01", "--create", "--force")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))

    with open(course / "grades.csv") as f:
        scores = {
            row["student_id"]: (float(row["score"]), float(row["max_score"]))
            for row in csv.DictReader(f)
        }
    assert scores == {"stubs": (0.0, 3.0), "solved": (3.0, 3.0), "planted": (2.0, 3.0)}, scores
