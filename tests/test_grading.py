"""An instructor grades chapter 00 (the quickest) with nbgrader and the course's
tools/nbgrader_config.py: the assignment nbgrader releases is the student notebook, stubs score
0, the solutions score every point, and a planted mistake loses exactly its exercise's point."""

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
STEM = "00_setup_and_image_basics"
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
    (course / "source" / "ch00").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "nbgrader_config.py", course / "nbgrader_config.py")
    nb_tool.write_instructor(ROOT / "notebooks" / f"{STEM}.py", course / "source" / "ch00")
    nbgrader(course, "generate_assignment", "ch00", "--force")

    released = nbformat.read(course / "release" / "ch00" / f"{STEM}.ipynb", as_version=4)
    student = nbformat.read(ROOT / "notebooks" / f"{STEM}.ipynb", as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in student.cells]

    solved = nbformat.read(course / "source" / "ch00" / f"{STEM}.ipynb", as_version=4)
    planted = nbformat.from_dict(solved)  # weights in RGB order on BGR pixels: 0.1 fails
    cell = next(c for c in planted.cells if "def bgr_to_grey" in c.source)
    cell.source = cell.source.replace("[0.114, 0.587, 0.299]", "[0.299, 0.587, 0.114]")
    assert "[0.299, 0.587, 0.114]" in cell.source
    for who, nb in (("stubs", student), ("solved", solved), ("planted", planted)):
        folder = course / "submitted" / who / "ch00"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{STEM}.ipynb")
    nbgrader(course, "autograde", "ch00", "--create", "--force")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))

    with open(course / "grades.csv") as f:
        scores = {
            row["student_id"]: (float(row["score"]), float(row["max_score"]))
            for row in csv.DictReader(f)
        }
    assert scores == {"stubs": (0.0, 3.0), "solved": (3.0, 3.0), "planted": (2.0, 3.0)}, scores
