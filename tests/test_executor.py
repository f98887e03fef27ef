"""tools/executor.py: one run of a chapter proves what nbval and the instructor pass proved."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import executor  # noqa: E402
import nb as nb_tool  # noqa: E402

CHAPTER = '''\
# %% [markdown]
# # 98 · A tiny chapter
#
# **Run time**: quick mode 1-60 s on a 2-core CPU

# %%
import os
import numpy as np

# %% tags=["nbval-check-output"]
print("mode", os.environ["COURSE_MODE"], "backend", os.environ["KERAS_BACKEND"])
print("took 1.25 s")

# %%
{body}

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise 98.1 ★ Double it

# %%
def double(x):
    """Return 2 x."""
    ### BEGIN SOLUTION
    return {solution}
    ### END SOLUTION


# %% tags=["exercise-check"]
from course_utils.exercises import checking
result = checking.run("98.1", lambda: (checking.call(double, 3) == 6,
                                    f"double(3) = {{checking.call(double, 3)}}"))

# %% [markdown]
# ## Recap
'''


def not_done() -> str:
    """What the check prints for the student's stub."""
    import contextlib
    import io

    from course_utils.exercises import checking

    def double(x):
        raise NotImplementedError()

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        checking.run("98.1", lambda: (checking.call(double, 3) == 6, ""))
    return printed.getvalue()


def make_chapter(
    folder: Path, body: str = "x = 1", solution: str = "2 * x", stored: str | None = None
) -> Path:
    """A chapter in a course folder of its own: percent file, student notebook with its
    checked outputs recorded as `stored` (default: what the cell prints), sanitize.cfg."""
    notebooks = folder / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    (notebooks / "sanitize.cfg").write_text((ROOT / "notebooks" / "sanitize.cfg").read_text())
    py = notebooks / "98_tiny.py"
    py.write_text(CHAPTER.format(body=body, solution=solution))
    nb = nb_tool.student_notebook(py)
    printed = stored if stored is not None else "mode quick backend tensorflow\ntook 1.25 s\n"
    for cell in nb.cells:
        if nb_tool.is_checked(cell) and "print(" in cell.source and "mode" in cell.source:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
            cell.execution_count = 1
        elif nb_tool.is_exercise_check(cell):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=not_done())]
            cell.execution_count = 2
    path = py.with_suffix(".ipynb")
    nbformat.write(nb, path)
    return path


def run(path: Path, tmp_path: Path, **runtime) -> executor.ChapterRun:
    runtime.setdefault("record_fits", False)  # no Keras to import: each test a few seconds
    rt = executor.Runtime(course=path.parent.parent, **runtime)
    return executor.run_chapters(
        [path],
        rt,
        tmp_path / "out",
        workers=1,
        checkpoints=tmp_path / "ckpt",
        report=lambda _: None,
    )[0]


def test_a_clean_chapter_passes_and_its_solution_is_graded_in_the_same_kernel(tmp_path):
    path = make_chapter(tmp_path / "course")
    result = run(path, tmp_path)
    assert result.ok, result.failure
    assert result.exercises["98.1"][0] == "NOT DONE"
    assert result.exercises["98.1"][1].startswith("PASS      Exercise 98.1: double(3) = 6")
    executed = nbformat.read(tmp_path / "out" / "98_tiny.ipynb", as_version=4)
    assert executed.metadata["course_run"]["mode"] == "quick"
    assert executed.metadata["course_run"]["source"] == executor.source_digest(
        nbformat.read(path, as_version=4)
    )
    # the executed notebook is the student's: the solution ran, but is not in it
    assert "raise NotImplementedError()" in "".join(c.source for c in executed.cells)
    assert [c.index for c in result.cells] == [
        i for i, c in enumerate(executed.cells) if c.cell_type == "code"
    ]
    record = json.loads((tmp_path / "out" / "98_tiny.run.json").read_text())
    assert record["ok"] and record["versions"]["python"]


def test_a_changed_checked_output_fails_and_shows_the_difference(tmp_path):
    path = make_chapter(tmp_path / "course", stored="mode quick backend jax\ntook 9 s\n")
    result = run(path, tmp_path)
    assert not result.ok
    assert "checked cell" in result.failure
    # the sanitiser masks durations (1.25 s against 9 s); the backend is a real difference
    assert "-mode quick backend jax" in result.mismatches[0]
    assert "+mode quick backend tensorflow" in result.mismatches[0]
    assert "took" not in result.mismatches[0]


def test_a_solution_that_does_not_pass_fails_the_chapter(tmp_path):
    path = make_chapter(tmp_path / "course", solution="x + x + 1")
    result = run(path, tmp_path)
    assert not result.ok
    assert result.failure.startswith("graded solution did not pass: CheckFailed: FAIL")
    assert "Exercise 98.1" in result.failure


def test_a_stub_that_prints_something_else_fails(tmp_path):
    path = make_chapter(tmp_path / "course")
    # a check cell that forgets to call the student's function prints PASS for the stub
    forgetful = 'result = checking.run("98.1", lambda: (True, "double was never called"))'
    py = path.with_suffix(".py")
    text = py.read_text()
    start = text.index("result = checking.run")
    py.write_text(
        text[:start] + forgetful + "\n" + text[text.index("# %% [markdown]\n# ## Recap") :]
    )
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if nb_tool.is_exercise_check(cell):
            cell.source = cell.source[: cell.source.index("result = ")] + forgetful
    nbformat.write(nb, path)
    result = run(path, tmp_path)
    assert not result.ok and "did not print NOT DONE" in result.failure + "".join(
        result.mismatches
    )


def test_a_failing_cell_stops_the_chapter_with_one_line(tmp_path):
    path = make_chapter(tmp_path / "course", body="1 / 0")
    result = run(path, tmp_path)
    assert result.failure == "ZeroDivisionError: division by zero"
    assert result.exercises == {}  # nothing after the failing cell ran


@pytest.mark.parametrize("how", ["kernel", "child process"])
def test_offline_runs_refuse_and_report_every_connection(tmp_path, how):
    code = "socket.create_connection(('192.0.2.1', 80), timeout=2)"
    child = "subprocess.run([sys.executable, '-c', 'import socket; ' + " + repr(code) + "])"
    body = textwrap.dedent(f"""\
        import socket, subprocess, sys
        try:
            {code if how == "kernel" else child}
        except OSError as err:
            print(err)""")
    path = make_chapter(tmp_path / "course", body=body)
    result = run(path, tmp_path)
    assert not result.ok
    assert result.connections == ["('192.0.2.1', 80)"]
    assert "tried to connect to ('192.0.2.1', 80) in an offline run" in result.failure
    online = run(path, tmp_path / "online", offline=False)  # full mode may connect
    assert online.connections == [] and online.ok, online.failure


def test_the_runtime_names_the_interpreter_mode_and_backend(tmp_path):
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexport RUNTIME_MARK=colab-like\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    body = "print(os.environ.get('RUNTIME_MARK'))"
    path = make_chapter(
        tmp_path / "course", body=body, stored="mode full backend jax\ntook 1.25 s\n"
    )
    result = run(path, tmp_path, python=str(wrapper), mode="full", backend="jax", offline=False)
    assert result.ok, result.failure
    executed = nbformat.read(tmp_path / "out" / "98_tiny.ipynb", as_version=4)
    printed = [c for c in executed.cells if c.cell_type == "code" and "RUNTIME_MARK" in c.source]
    assert printed[0].outputs[0]["text"] == "colab-like\n"


def test_a_kernel_that_cannot_start_fails_the_chapter_and_the_process_exits(tmp_path):
    path = make_chapter(tmp_path / "course")
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT / "tools")!r})
        import executor
        rt = executor.Runtime(python={str(tmp_path / "gone" / "python")!r},
                              course=Path({str(tmp_path / "course")!r}))
        [r] = executor.run_chapters([Path({str(path)!r})], rt, Path({str(tmp_path / "out")!r}),
                                    workers=1, report=lambda _: None)
        print("failed:", r.failure)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )  # it used to hang at exit, in nbclient's hook
    assert done.returncode == 0, done.stderr[-2000:]
    assert "failed: FileNotFoundError" in done.stdout


def test_chapter_11_runs_after_10_on_one_worker_and_the_longest_go_first():
    paths = [Path(f"notebooks/{n}_x.ipynb") for n in ("05", "09", "10", "11", "12")]
    history = {"05_x": 80, "09_x": 20, "10_x": 70, "11_x": 30, "12_x": 45}
    chains = executor.schedule(paths, history)
    assert [[p.name[:2] for p in chain] for chain in chains] == [
        ["10", "11"],
        ["05"],
        ["12"],
        ["09"],
    ]
    alone = executor.schedule([paths[3]], history)  # 11 without 10: runs, trains its own
    assert [[p.name[:2] for p in c] for c in alone] == [["11"]]


def test_each_pass_starts_with_an_empty_checkpoint_folder_inside_a_relative_out(
    tmp_path, monkeypatch
):
    body = textwrap.dedent("""\
        import os, pathlib
        mark = pathlib.Path(os.environ["COURSE_CHECKPOINT_DIR"]) / "finished"
        assert not mark.exists(), "a run of an earlier pass was left behind"
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text("done")""")
    path = make_chapter(tmp_path / "course", body=body)
    monkeypatch.chdir(tmp_path)  # `--out build/runs/x`, relative, as the Makefile passes it
    rt = executor.Runtime(course=path.parent.parent, record_fits=False)
    for _ in range(2):
        [r] = executor.run_chapters(
            [path], rt, Path("out"), workers=1, grade=False, report=lambda _: None
        )
        assert r.ok, r.failure
    assert (tmp_path / "out" / "checkpoints" / "finished").is_file()
    assert not (path.parent / "out").exists()  # not beside the chapter, where the kernel runs


def test_a_fresh_clone_schedules_by_the_headers_stated_run_times():
    paths = [
        Path("notebooks/00_setup_and_image_basics.ipynb"),
        Path("notebooks/04_activations_initialisation.ipynb"),
    ]
    expected = executor.expected_seconds(paths, {})
    low, high = executor.stated_run_time(nbformat.read(paths[1], as_version=4))
    assert expected[paths[1].stem] == (low + high) / 2 > expected[paths[0].stem]
    measured = executor.expected_seconds(paths, {paths[1].stem: 5.0})
    assert measured[paths[1].stem] == 5.0  # an earlier run's time wins


def test_the_checked_outputs_are_compared_as_nbval_compares_them():
    patterns = executor.sanitize_patterns()
    stored = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="took 3 s\n"),
        nbformat.v4.new_output(
            "display_data", data={"image/png": "AAA", "text/plain": "<Figure>"}
        ),
    ]
    same = [
        nbformat.v4.new_output("stream", name="stdout", text="a\ntook 0.5 s\n"),
        nbformat.v4.new_output(
            "display_data", data={"image/png": "BBB", "text/plain": "<Figure>"}
        ),
    ]
    cell = nbformat.v4.new_code_cell("print('a')", outputs=same)
    assert executor.compare_checked(3, cell, stored, patterns) == ""
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="b\ntook 0.5 s\n")]
    found = executor.compare_checked(3, cell, stored, patterns)
    assert found.startswith("cell 3 (print('a')): ")


def test_a_header_run_time_is_held_to_the_measured_time_within_a_factor_of_two(tmp_path):
    def header(text: str) -> nbformat.NotebookNode:
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])

    assert executor.stated_run_time(
        header("# 05\n**Run time**: quick mode 40-60 s on a 2-core CPU; full mode 20 min")
    ) == (40, 60)
    assert executor.stated_run_time(header("**Run time**: quick mode about 2 minutes")) == (
        120,
        120,
    )
    assert executor.stated_run_time(header("**Run time**: a few seconds")) is None
    path = tmp_path / "05_x.ipynb"
    nbformat.write(header("**Run time**: quick mode 40-60 s on a 2-core CPU"), path)
    assert executor.run_time_claim(path, 25) == ""  # 40 / 2 = 20 <= 25
    assert executor.run_time_claim(path, 110) == ""
    assert "this run took 130 s" in executor.run_time_claim(path, 130)
    assert "this run took 15 s" in executor.run_time_claim(path, 15)


def test_every_fit_and_check_is_recorded_for_the_report(tmp_path):
    body = textwrap.dedent("""\
        import keras
        from course_utils import env
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)], name="tiny")
        model.compile("sgd", "mse")
        model.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, verbose=0)
        env.check("a result", 0.75, at_least=0.5)""")
    path = make_chapter(tmp_path / "course", body=body)
    result = run(path, tmp_path, record_fits=True)
    assert result.ok, result.failure
    assert [(f["model"], f["epochs"]) for f in result.fits] == [("tiny", 3)]
    assert result.training_seconds > 0
    assert result.checks == [{"what": "a result", "value": 0.75, "at_least": 0.5, "at_most": None}]
    table = (tmp_path / "out" / "measured.md").read_text()
    assert "| 98_tiny | quick | tensorflow | none: CPU |" in table and "a result: 0.75" in table


def test_a_chapter_that_ends_on_another_backend_than_asked_fails(tmp_path):
    """The executor records the backend Keras ran on; a JAX pass that ran TensorFlow is no
    proof."""
    chosen = "import keras\nprint(keras.backend.backend())"
    path = make_chapter(
        tmp_path / "course", body=chosen, stored="mode quick backend jax\ntook 1 s\n"
    )
    result = run(path, tmp_path / "jax", backend="jax")
    assert result.ok, result.failure
    assert result.versions["backend"] == "jax" and result.backend == "jax"
    switched = "import os\nos.environ['KERAS_BACKEND'] = 'tensorflow'\n" + chosen
    path = make_chapter(
        tmp_path / "other", body=switched, stored="mode quick backend jax\ntook 1 s\n"
    )
    result = run(path, tmp_path / "switched", backend="jax")
    assert result.failure == "the chapter ran on the tensorflow backend, not on jax"
