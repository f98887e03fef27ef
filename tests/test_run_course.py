"""tools/run_course.py: one chapter's run reports a kernel that cannot start, and never hangs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import sys
from pathlib import Path
sys.path.insert(0, {tools!r})
from run_course import run_one
try:
    run_one(Path({notebook!r}), Path({out!r}), 60, html=False)
except Exception as err:
    print("failed:", type(err).__name__)
"""


def test_a_kernel_that_cannot_start_fails_the_chapter_and_the_process_exits(tmp_path):
    # A "python3" kernel whose program does not exist (a deleted virtual environment).
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(tmp_path / "gone" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    notebook = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")]), notebook)
    script = RUN.format(tools=str(ROOT / "tools"), notebook=str(notebook), out=str(tmp_path))
    environ = {**os.environ, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
               "JUPYTER_PATH": str(tmp_path / "jupyter")}
    done = subprocess.run([sys.executable, "-c", script], env=environ, capture_output=True,
                          text=True, timeout=120)  # it used to hang at exit, in nbclient's hook
    assert done.returncode == 0, done.stderr[-2000:]
    assert "failed: FileNotFoundError" in done.stdout


def test_a_failing_cell_gives_one_line_and_the_hook_sees_every_cell_started(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    from run_course import failure_line, run_one

    notebook = tmp_path / "chapter.ipynb"
    cells = [nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("x = 1"),
             nbformat.v4.new_code_cell("x / 0"), nbformat.v4.new_code_cell("never = True")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), notebook)
    started = []
    try:
        run_one(notebook, tmp_path, 60, html=False,
                on_cell_start=lambda cell, cell_index: started.append(cell_index))
    except Exception as err:  # noqa: BLE001 - what the runners catch
        line = failure_line(err)
    else:
        raise AssertionError("the failing cell did not fail the run")
    assert line == "ZeroDivisionError: division by zero"
    assert started == [0, 1, 2]  # every cell, markdown too, up to the one that failed
    assert failure_line(RuntimeError("kernel died\nmore")) == "RuntimeError: kernel died"
