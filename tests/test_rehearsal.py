"""course_utils.rehearsal (fit and evaluate capped in `make rehearse-full`), env.expect, and the
estimates of tools/rehearse_full.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils import env, rehearsal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import rehearse_full  # noqa: E402


@pytest.fixture
def rehearsing(monkeypatch, tmp_path):
    """A rehearsal in this process; Keras' own fit and evaluate come back afterwards."""
    monkeypatch.setenv("COURSE_REHEARSAL", "1")
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_REHEARSAL_LOG", str(tmp_path / "fits.jsonl"))
    monkeypatch.setattr(keras.Model, "fit", keras.Model.fit)
    monkeypatch.setattr(keras.Model, "evaluate", keras.Model.evaluate)
    rehearsal.install()
    return tmp_path / "fits.jsonl"


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Batches(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.train, self.test = 0, 0

    def on_train_batch_end(self, batch, logs=None):
        self.train += 1

    def on_test_batch_end(self, batch, logs=None):
        self.test += 1


def test_install_refuses_outside_a_rehearsal(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.delenv("COURSE_REHEARSAL", raising=False)
    with pytest.raises(RuntimeError, match="rehearse-full"):
        rehearsal.install()
    monkeypatch.setenv("COURSE_REHEARSAL", "1")
    monkeypatch.setenv("COURSE_MODE", "quick")  # quick mode is never capped
    assert not rehearsal.active()


def test_fit_is_capped_and_logs_what_the_full_run_would_take(rehearsing):
    x, y = np.random.rand(1000, 4), np.random.randint(0, 2, 1000)
    seen = Batches()
    history = tiny_model().fit(
        x, y, batch_size=10, epochs=30, validation_data=(x, y), callbacks=[seen], verbose=0
    )
    assert len(history.history["loss"]) == rehearsal.CAP_EPOCHS
    assert seen.train == rehearsal.CAP_EPOCHS * rehearsal.CAP_STEPS
    assert seen.test == rehearsal.CAP_EPOCHS * rehearsal.CAP_VALIDATION_STEPS
    record = json.loads(rehearsing.read_text().splitlines()[-1])
    assert record["planned_steps"] == 100 and record["planned_epochs"] == 30
    assert record["steps_run"] == seen.train and record["median_step_s"] > 0
    # what the full fit's arithmetic is counted from: a 4 -> 2 dense layer is 8 multiply-adds
    # forward, 16 to train (no layer below it needs a gradient)
    assert (record["batch"], record["validation_examples"]) == (10, 1000)
    assert (record["train_macs"], record["forward_macs"]) == (16, 8)


def test_a_resumed_fit_runs_its_next_epochs(rehearsing):
    import tensorflow as tf

    x, y = np.random.rand(64, 4), np.random.randint(0, 2, 64)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = tiny_model().fit(data, epochs=10, initial_epoch=5, shuffle=False, verbose=0)
    assert history.epoch == [5, 6]
    record = json.loads(rehearsing.read_text().splitlines()[-1])
    assert record["planned_steps"] == 8 and record["planned_epochs"] == 5
    assert (record["batch"], record["validation_examples"]) == (8, 0)


def test_a_run_resumed_by_backup_and_restore_trains_on_from_its_backup(rehearsing, tmp_path):
    class Disconnect(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise ConnectionError("runtime disconnected")

    x, y = np.random.rand(200, 4), np.random.randint(0, 2, 200)
    backup = str(tmp_path / "backup")
    with pytest.raises(ConnectionError):
        tiny_model().fit(
            x,
            y,
            epochs=20,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), Disconnect()],
        )
    history = tiny_model().fit(
        x, y, epochs=20, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup)]
    )
    assert history.epoch == [1, 2]  # epoch 1 was backed up; two more run, then the cap stops it
    record = json.loads(rehearsing.read_text().splitlines()[-1])
    assert record["planned_epochs"] == 19 and record["epochs_run"] == 2


def test_evaluate_is_capped(rehearsing):
    x, y = np.random.rand(1000, 4), np.random.randint(0, 2, 1000)
    seen = Batches()
    tiny_model().evaluate(x, y, batch_size=10, callbacks=[seen], verbose=0)
    assert seen.test == rehearsal.CAP_EVALUATE_STEPS


def test_expect_checks_outside_a_rehearsal_and_only_reports_inside(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    env.expect(True, "accuracy 0.9 above 0.8", passed="PASS")
    assert capsys.readouterr().out == "PASS\n"
    with pytest.raises(AssertionError, match="expected accuracy 0.1 above 0.8"):
        env.expect(False, "accuracy 0.1 above 0.8", passed="PASS")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_REHEARSAL", "1")
    env.expect(False, "accuracy 0.1 above 0.8", passed="PASS")
    assert (
        capsys.readouterr().out
        == "rehearsal: accuracy not checked (expected accuracy 0.1 above 0.8)\n"
    )


def test_estimate_scales_each_fit_to_its_full_length():
    fits = [
        {"planned_steps": 100, "planned_epochs": 30, "median_step_s": 0.01, "wall_s": 2.0},
        {"planned_steps": 10, "planned_epochs": 5, "median_step_s": 0.2, "wall_s": 3.0},
    ]
    cpu, t4 = rehearse_full.estimate(fits, wall_s=15.0, speedup=10.0)
    assert cpu == pytest.approx(
        10.0 + 30.0 + 10.0
    )  # the rest as run, plus 30 s and 10 s of training
    assert t4 == pytest.approx(10.0 + 4.0)
    finished = {"planned_steps": 100, "planned_epochs": 0, "median_step_s": None, "wall_s": 0.0}
    assert rehearse_full.estimate([*fits, finished], wall_s=15.0, speedup=10.0) == (cpu, t4)
    fits[1]["planned_steps"] = None  # a dataset of unknown length: no estimate, not a wrong one
    assert rehearse_full.estimate(fits, wall_s=15.0, speedup=10.0) == (None, None)


def test_peak_memory_names_the_cell_that_was_running(tmp_path):
    import subprocess

    import nbformat

    notebook = tmp_path / "chapter.ipynb"
    cells = [
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("# a comment first\nbig = bytearray(300_000_000)"),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), notebook)
    assert rehearse_full.cell_label(notebook, 1) == "cell 1: big = bytearray(300_000_000)"
    assert rehearse_full.cell_label(notebook, None) == "?"
    # The executor's PeakMemory follows one process (a kernel) and its children: here a
    # fresh process stands in for the kernel, holding 300 MB more in its second "cell".
    import time

    sys.path.insert(0, str(Path(rehearse_full.__file__).parent))
    import executor

    kernel = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(1.0); b = bytearray(300_000_000); time.sleep(1.2)",
        ]
    )
    memory = executor.PeakMemory(kernel.pid).start()
    memory.cell = 0
    time.sleep(0.8)
    memory.cell = 1
    kernel.wait()
    memory.stop()
    assert memory.peak_cell == 1 and memory.peaks[1] > memory.peaks[0] + 250e6, memory.peaks


def test_counted_estimate_adds_each_fits_arithmetic_at_the_t4_rate():
    fit = {
        "planned_steps": 100,
        "planned_epochs": 10,
        "batch": 32,
        "validation_examples": 500,
        "train_macs": 3e9,
        "forward_macs": 1e9,
        "wall_s": 5.0,
        "median_step_s": 0.5,
    }
    flops = 2 * 10 * (100 * 32 * 3e9 + 500 * 1e9)
    assert rehearse_full.fit_flops(fit) == flops
    rate = rehearse_full.T4_SUSTAINED_GFLOPS["mixed_float16"] * 1e9
    assert rehearse_full.flop_estimate([fit], wall_s=65.0) == pytest.approx(60.0 + flops / rate)
    assert (
        rehearse_full.fit_flops({**fit, "planned_epochs": 0}) == 0.0
    )  # finished: nothing to train
    assert rehearse_full.flop_estimate([{**fit, "train_macs": None}], wall_s=65.0) is None
    needed = rate / (2 * 3e9)  # examples per second a T4 trains this model at
    assert rehearse_full.pipeline_margin(
        [{**fit, "pipeline_examples_per_s": 2 * needed}]
    ) == pytest.approx(2.0)
    assert rehearse_full.pipeline_margin([fit]) is None


def test_a_fit_on_a_pipeline_logs_what_the_pipeline_delivers(rehearsing):
    import tensorflow as tf

    x, y = np.random.rand(640, 4), np.random.randint(0, 2, 640)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    assert rehearsal.pipeline_rate(data) > 0
    tiny_model().fit(data, epochs=3, shuffle=False, verbose=0)
    record = json.loads(rehearsing.read_text().splitlines()[-1])
    assert record["pipeline_examples_per_s"] > 0 and record["batch"] == 32
    assert rehearsal.pipeline_rate(np.zeros((10, 4))) is None  # arrays are no pipeline


def test_a_second_rehearsal_in_the_same_folder_is_refused(tmp_path):
    """Two rehearsals at once would wipe each other's data folder and checkpoints: while one holds
    the folder's lock, a second exits 2 naming the first, before it writes or deletes anything."""
    import subprocess

    out = tmp_path / "rehearsal"
    (out / "data").mkdir(parents=True)
    (out / "data" / "unpacked.txt").write_text("the first run's files")
    first = rehearse_full.hold_lock(out)
    try:
        with pytest.raises(rehearse_full.RehearsalRunning, match=f"pid {os.getpid()}"):
            rehearse_full.hold_lock(out)  # a second open file, even in this process, is refused
        second = subprocess.run(
            [sys.executable, rehearse_full.__file__, "--out", str(out), "notebooks/none.ipynb"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stderr
        assert "another rehearsal is running" in second.stderr
        assert f"pid {os.getpid()}" in second.stderr  # names the run that holds the folder
        assert "--out" in second.stderr  # and says what to do
        # Nothing of the first run was touched: no hub written, data and lock note kept.
        assert sorted(p.name for p in out.iterdir()) == ["data", rehearse_full.LOCK_NAME]
        assert (out / "data" / "unpacked.txt").read_text() == "the first run's files"
        assert f"pid {os.getpid()}" in (out / rehearse_full.LOCK_NAME).read_text()
    finally:
        first.close()
    rehearse_full.hold_lock(out).close()  # released: the next run may start
