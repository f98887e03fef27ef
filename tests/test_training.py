"""Resumable training, for real: a training process killed with SIGKILL resumes where it
stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

from course_utils import training  # noqa: E402
from course_utils.training import fit_resumable  # noqa: E402

EPOCHS = 5

# The child trains a small model on fixed data without shuffling, with deterministic ops, so an
# interrupted-and-resumed run can be compared number for number with an uninterrupted one.
CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras, tensorflow as tf
    from course_utils.training import fit_resumable

    root, out, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])

    class SlowEpochs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            time.sleep(pause)  # room for the parent to kill us between two epochs

    run = fit_resumable(model, x[:192], y=y[:192], validation_data=(x[192:], y[192:]),
                        epochs=EPOCHS, run_name="run", checkpoint_root=root, shuffle=False,
                        batch_size=32, callbacks=[SlowEpochs()], verbose=0, backup_seconds=0)
    now = run.epochs - run.initial_epoch
    json.dump({"initial_epoch": run.initial_epoch, "epochs_run_now": now,
               "epochs": run.epochs, "history": run.history, "notes": run.notes}, open(out, "w"))
    """
).replace("epochs=EPOCHS,", f"epochs={EPOCHS},")


def trained_now(run: training.TrainingRun) -> int:
    """Epochs this call of fit_resumable trained (0 when the run had already finished)."""
    return run.epochs - run.initial_epoch


def _validation_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("float32")
    return x[192:], y[192:]


def _child_cmd(script: Path, root: Path, out: Path, pause: float) -> list[str]:
    return [sys.executable, str(script), str(root), str(out), str(pause)]


def _child_env() -> dict[str, str]:
    repo = Path(__file__).resolve().parent.parent
    return {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_sigkill_after_epoch_2_resumes_at_epoch_3(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    killed_root, reference_root = tmp_path / "killed", tmp_path / "reference"

    # An uninterrupted run, started now beside the one to be killed (compared in step 3).
    reference_run = subprocess.Popen(
        _child_cmd(script, reference_root, tmp_path / "reference.json", 0.0),
        env=_child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # 1. Start training and kill it hard as soon as the backup says two epochs are done.
    child = subprocess.Popen(
        _child_cmd(script, killed_root, tmp_path / "first.json", 1.5),
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    epoch_at_kill = 0
    while time.monotonic() < deadline and child.poll() is None:
        epoch_at_kill = training.backed_up_epoch(killed_root / "run")
        if epoch_at_kill >= 2:
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()[-2000:]
    assert epoch_at_kill == 2
    assert not (tmp_path / "first.json").exists(), "the first run must not have finished"
    history_after_kill = json.loads((killed_root / "run" / "history.json").read_text())
    assert len(history_after_kill["loss"]) in (2, 3)  # epoch 3 may have logged before the kill

    # 2. Run the same script again: it must resume at epoch 3 and run exactly epochs 3..5.
    subprocess.run(
        _child_cmd(script, killed_root, tmp_path / "resumed.json", 0.0),
        env=_child_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    resumed = json.loads((tmp_path / "resumed.json").read_text())
    assert resumed["initial_epoch"] == 2
    assert resumed["epochs_run_now"] == EPOCHS - 2
    assert any("at epoch 3" in note for note in resumed["notes"]), resumed["notes"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(resumed["history"][key]) == EPOCHS, key
    assert resumed["history"]["loss"][:2] == history_after_kill["loss"][:2]

    # 3. An uninterrupted run gives the same numbers: weights and optimizer state were restored.
    assert reference_run.wait(timeout=300) == 0, reference_run.stderr.read().decode()[-2000:]
    reference = json.loads((tmp_path / "reference.json").read_text())
    assert reference["initial_epoch"] == 0 and reference["epochs_run_now"] == EPOCHS
    np.testing.assert_allclose(resumed["history"]["loss"], reference["history"]["loss"], rtol=1e-4)
    np.testing.assert_allclose(
        resumed["history"]["val_loss"], reference["history"]["val_loss"], rtol=1e-4
    )

    # 4. The best-model file loads, and it is the epoch with the lowest validation loss.
    best = keras.models.load_model(killed_root / "run" / "best.keras")
    x_val, y_val = _validation_data()
    val_loss = best.evaluate(x_val, y_val, verbose=0)[0]
    assert val_loss == pytest.approx(min(resumed["history"]["val_loss"]), rel=1e-4)


def _backed_up_epochs(
    run_dir: Path, every_seconds: float, seconds_per_epoch: float, epochs: int = 5
) -> tuple[list[int], int]:
    """Train with `checkpoint_callback` on a fake clock that advances `seconds_per_epoch` per
    epoch;
    return the epoch the backup held at the start of each epoch, and the one it held at the end."""
    now = [0.0]

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(training.backed_up_epoch(run_dir))
            now[0] += seconds_per_epoch

    seen: list[int] = []
    x, y = _data()
    checkpoints = training.checkpoint_callback(
        run_dir, "loss", None, every_seconds, clock=lambda: now[0]
    )
    _small_model().fit(x, y, epochs=epochs, callbacks=[Clock(), checkpoints], verbose=0)
    return seen, training.backed_up_epoch(run_dir)


def test_backup_is_written_once_enough_time_has_passed_and_after_the_last_epoch(
    tmp_path: Path,
) -> None:
    # Epochs of 0.6 s against a 1 s interval: written after epochs 2 and 4, and the last, 5.
    assert _backed_up_epochs(tmp_path / "a", 1.0, 0.6) == ([0, 0, 2, 2, 4], 5)
    # Epochs longer than the interval, or an interval of 0: written after every epoch.
    assert _backed_up_epochs(tmp_path / "b", 1.0, 3.0) == ([0, 1, 2, 3, 4], 5)
    assert _backed_up_epochs(tmp_path / "c", 0.0, 0.0) == ([0, 1, 2, 3, 4], 5)
    # An interval longer than the run: only the last epoch is written.
    assert _backed_up_epochs(tmp_path / "d", 1e9, 1.0) == ([0, 0, 0, 0, 0], 5)


def test_best_model_kept_in_memory_is_the_best_epoch_and_training_goes_on_from_the_last(
    tmp_path: Path,
) -> None:
    """Written only at the end, best.keras still holds the best epoch, and the model in memory
    ends with the last epoch's weights, not the best one's."""
    x, y = _data()
    x_val, y_val = x[:16] + 0.8, y[:16]  # shifted: validation loss turns up while training goes on
    model = _small_model(lr=5e-2)
    run = fit_resumable(
        model,
        x,
        y=y,
        validation_data=(x_val, y_val),
        epochs=12,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
        backup_seconds=1e9,
    )
    val_loss = run.history["val_loss"]
    assert run.best_epoch() < 12, val_loss  # else this test would not tell best from last
    best = keras.models.load_model(run.best_model_path)
    assert best.evaluate(x_val, y_val, verbose=0)[0] == pytest.approx(min(val_loss), rel=1e-5)
    assert model.evaluate(x_val, y_val, verbose=0)[0] == pytest.approx(val_loss[-1], rel=1e-5)
    assert not list(run.run_dir.glob("*.part*"))


def test_run_stopped_early_is_backed_up_at_the_epoch_it_stopped(tmp_path: Path) -> None:
    x, y = _data()

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    run = fit_resumable(
        _small_model(),
        x,
        y=y,
        validation_data=(x, y),
        epochs=5,
        run_name="r",
        checkpoint_root=tmp_path,
        callbacks=[StopAfterTwo()],
        verbose=0,
        backup_seconds=1e9,
    )
    assert len(run.history["loss"]) == 2
    assert training.backed_up_epoch(run.run_dir) == 2


def _small_model(seed: int = 0, lr: float = 1e-2) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(lr), "binary_crossentropy", metrics=["accuracy"])
    return model


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, (x.sum(axis=1) > 0).astype("float32")


def test_finished_run_is_not_trained_again(tmp_path: Path) -> None:
    x, y = _data()
    first = fit_resumable(
        _small_model(),
        x,
        y=y,
        validation_data=(x, y),
        epochs=3,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    assert trained_now(first) == 3 and len(first.history["val_loss"]) == 3
    trained = keras.models.load_model(first.best_model_path)

    model = _small_model(seed=5)  # other initial weights: the backup must replace them
    again = fit_resumable(
        model,
        x,
        y=y,
        validation_data=(x, y),
        epochs=3,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    assert trained_now(again) == 0
    assert again.history == first.history
    assert "already finished" in again.notes[0]
    assert again.best_epoch() == int(np.argmin(first.history["val_loss"])) + 1
    assert trained.count_params() == model.count_params()


def test_more_epochs_continue_and_best_threshold_survives_restart(tmp_path: Path) -> None:
    x, y = _data()
    run = fit_resumable(
        _small_model(),
        x,
        y=y,
        validation_data=(x, y),
        epochs=2,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    best_file = run.best_model_path
    # Pretend epoch 1 was unbeatable: after the restart no epoch may overwrite best.keras.
    history = json.loads((run.run_dir / "history.json").read_text())
    history["val_loss"][0] = 0.0
    (run.run_dir / "history.json").write_text(json.dumps(history))
    stamp = best_file.stat().st_mtime_ns

    more = fit_resumable(
        _small_model(),
        x,
        y=y,
        validation_data=(x, y),
        epochs=4,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    assert more.initial_epoch == 2 and trained_now(more) == 2
    assert len(more.history["loss"]) == 4
    assert best_file.stat().st_mtime_ns == stamp
    assert more.best_epoch() == 1


def test_changed_model_starts_fresh_and_keeps_old_run(tmp_path: Path) -> None:
    x, y = _data()
    fit_resumable(
        _small_model(),
        x,
        y=y,
        validation_data=(x, y),
        epochs=2,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    changed = fit_resumable(
        _small_model(lr=1e-3),
        x,
        y=y,
        validation_data=(x, y),
        epochs=2,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    assert changed.initial_epoch == 0 and trained_now(changed) == 2
    assert "differs" in changed.notes[0]
    assert len(list(tmp_path.glob("r.old-*"))) == 1

    fresh = fit_resumable(
        _small_model(lr=1e-3),
        x,
        y=y,
        validation_data=(x, y),
        epochs=2,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
        fresh=True,
    )
    assert fresh.initial_epoch == 0 and "fresh=True" in fresh.notes[0]


def test_history_is_trimmed_to_the_backup(tmp_path: Path) -> None:
    """A kill between the history write and the backup write: the extra epoch is dropped."""
    x, y = _data()
    run = fit_resumable(
        _small_model(),
        x,
        y=y,
        validation_data=(x, y),
        epochs=2,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    history = json.loads((run.run_dir / "history.json").read_text())
    history = {k: v + [v[-1]] for k, v in history.items()}  # an epoch 3 the backup never saw
    (run.run_dir / "history.json").write_text(json.dumps(history))
    more = fit_resumable(
        _small_model(),
        x,
        y=y,
        validation_data=(x, y),
        epochs=3,
        run_name="r",
        checkpoint_root=tmp_path,
        verbose=0,
    )
    assert more.initial_epoch == 2 and len(more.history["loss"]) == 3


def test_bad_calls_get_clear_errors(tmp_path: Path) -> None:
    x, y = _data()
    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    unbuilt.compile("adam", "mse")
    with pytest.raises(ValueError, match="not built"):
        fit_resumable(unbuilt, x, y=y, epochs=1, run_name="r", checkpoint_root=tmp_path)
    uncompiled = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="not compiled"):
        fit_resumable(uncompiled, x, y=y, epochs=1, run_name="r", checkpoint_root=tmp_path)
    with pytest.raises(ValueError, match="run_name"):
        fit_resumable(_small_model(), x, y=y, epochs=1, run_name="a/b", checkpoint_root=tmp_path)
    with pytest.raises(ValueError, match="backup_seconds"):
        fit_resumable(
            _small_model(),
            x,
            y=y,
            epochs=1,
            run_name="r",
            checkpoint_root=tmp_path,
            backup_seconds=-1,
        )
    with pytest.raises(ValueError, match="initial_epoch"):
        fit_resumable(
            _small_model(),
            x,
            y=y,
            epochs=1,
            run_name="r",
            checkpoint_root=tmp_path,
            initial_epoch=1,
        )


def test_fingerprint_ignores_layer_names_but_not_shapes() -> None:
    assert training.model_fingerprint(_small_model()) == training.model_fingerprint(_small_model())
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(9), keras.layers.Dense(1)])
    other.compile(keras.optimizers.Adam(1e-2), "mse")
    assert training.model_fingerprint(other) != training.model_fingerprint(_small_model())


def test_log_epochs_shows_first_last_and_at_most_the_asked_lines() -> None:
    hist = {"loss": [0.5], "val_loss": [0.6]}
    shown = [e for e in range(30) if training.log_epochs(hist, e, 30, lines=8)]
    assert shown[0] == 0 and shown[-1] == 29 and len(shown) == 8
    assert [e for e in range(5) if training.log_epochs(hist, e, 5, lines=8)] == [0, 1, 2, 3, 4]
    line = training.log_epochs(hist, 29, 30, lines=8, seconds=1.25)
    assert line == "epoch 30/30  loss 0.5000  val_loss 0.6000  1.2 s"
    # Many metrics: the seconds are left out rather than the line made wider than 79.
    wide = {k: [0.5] for k in ("accuracy", "loss", "val_accuracy", "val_loss")}
    line = training.log_epochs(wide, 29, 30, lines=8, seconds=1.25)
    assert line == (
        "epoch 30/30  accuracy 0.5000  loss 0.5000  val_accuracy 0.5000  val_loss 0.5000"
    )
    assert len(line) <= training.WIDTH
    # More still (a 3-digit epoch count): 'accuracy' shortened; then wrapped, indented.
    line = training.log_epochs(wide, 99, 100, lines=8, seconds=1.25)
    assert line == ("epoch 100/100  acc 0.5000  loss 0.5000  val_acc 0.5000  val_loss 0.5000")
    wider = dict(wide, mean_io_u=[0.5], val_mean_io_u=[0.4])
    lines = training.log_epochs(wider, 29, 30, lines=8).splitlines()
    assert len(lines) == 2 and all(len(x) <= training.WIDTH for x in lines), lines
    assert lines[1].startswith(" " * 13) and lines[1].endswith("0.4000"), lines
    with pytest.raises(ValueError, match="lines >= 2"):
        training.log_epochs(hist, 0, 30, lines=1)


def test_best_epoch_line_follows_the_monitor_direction() -> None:
    hist = {"val_loss": [0.9, 0.4, 0.7], "val_accuracy": [0.5, 0.6, 0.8]}
    assert training.best_epoch_line(hist, "val_loss") == "best val_loss 0.4000 at epoch 2 of 3"
    assert (
        training.best_epoch_line(hist, "val_accuracy")
        == "best val_accuracy 0.8000 at epoch 3 of 3"
    )
    assert "not logged" in training.best_epoch_line(hist, "val_auc")


def test_fit_resumable_prints_a_compact_log(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    x, y = _data()
    model = _small_model()
    training.fit_resumable(
        model,
        x,
        y=y,
        epochs=20,
        validation_split=0.25,
        batch_size=32,
        run_name="r",
        checkpoint_root=tmp_path,
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 9, lines  # eight epoch lines and the best epoch
    assert lines[0].startswith("epoch  1/20") and lines[7].startswith("epoch 20/20")
    assert lines[8].startswith("best val_loss ")
