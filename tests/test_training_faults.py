"""Resumable training under faults (issue 31): damaged backups, and a kill at every step of a
backup write (the folder as each step leaves it, and real SIGKILLs). Each fault ends in an exact
resume from the last whole backup, or a clean restart, with one line saying which and why;
history.json is never cut before a restore."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

from course_utils import training  # noqa: E402
from course_utils.training import fit_resumable  # noqa: E402

EPOCHS = 5
REPO = Path(__file__).resolve().parent.parent


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("float32")
    return x[:192], y[:192], (x[192:], y[192:])


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
    return model


def _fit(root: Path, epochs: int = EPOCHS, model: keras.Model | None = None):
    x, y, val = _data()
    model = model or _model()
    run = fit_resumable(
        model,
        x,
        y=y,
        validation_data=val,
        epochs=epochs,
        run_name="run",
        checkpoint_root=root,
        shuffle=False,
        batch_size=32,
        verbose=0,
        backup_seconds=0,
    )
    return run, model


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of EPOCHS epochs: its history and final weights."""
    run, model = _fit(tmp_path_factory.mktemp("reference"))
    return run.history, model.get_weights()


def _assert_same_as(reference, run, model) -> None:
    history, weights = reference
    assert sorted(run.history) == sorted(history)
    for key in history:
        np.testing.assert_allclose(
            run.history[key], history[key], rtol=1e-5, atol=1e-6, err_msg=key
        )
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _newest(backup: Path, pattern: str) -> Path:
    """The most recently written file called `pattern` in the backup folder (any layout)."""
    return max(backup.rglob(pattern), key=lambda p: p.stat().st_mtime_ns)


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip()]


# --- 5. truncated weights -----------------------------------------------------------------------


def test_truncated_weights_of_the_only_backup_restart_cleanly_with_one_line(
    tmp_path, reference, capsys
):
    _fit(tmp_path, epochs=3)
    weights = _newest(tmp_path / "run" / "backup", "*.weights.h5")
    for other in (tmp_path / "run" / "backup").rglob("*.weights.h5*"):
        if other != weights:  # leave one backup only, as a quick run with backup_seconds=10 does
            other.unlink()
    weights.write_bytes(weights.read_bytes()[:2000])
    history_before = (tmp_path / "run" / "history.json").read_text()
    capsys.readouterr()
    run, model = _fit(tmp_path)
    lines = _lines(capsys.readouterr().out)
    assert len(lines) == 1 and lines[0].startswith("starting 'run' over: no backup of it is whole")
    assert "truncated" in lines[0] and "moved to" in lines[0]
    assert run.initial_epoch == 0
    _assert_same_as(reference, run, model)
    [old] = tmp_path.glob("run.damaged-*")  # the damaged run, its history not cut
    assert (old / "history.json").read_text() == history_before
    assert (old / "best.keras").exists() and str(old) in lines[0]
    capsys.readouterr()
    again, _ = _fit(tmp_path)  # a rerun: finished, no error, no line about damage
    assert again.initial_epoch == EPOCHS
    assert "damaged" not in capsys.readouterr().out


def test_truncated_weights_of_the_newest_backup_resume_from_the_one_before(
    tmp_path, reference, capsys
):
    _fit(tmp_path, epochs=3)
    weights = _newest(tmp_path / "run" / "backup", "*.weights.h5")
    weights.write_bytes(weights.read_bytes()[:2000])
    capsys.readouterr()
    run, model = _fit(tmp_path)
    lines = _lines(capsys.readouterr().out)
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        "resuming 'run' after epoch 2 of 5, at epoch 3 (a newer backup was "
        "damaged and deleted: the backup of epoch 3:"
    )
    assert run.initial_epoch == 2
    _assert_same_as(reference, run, model)


# --- 6. truncated or invalid metadata -----------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "not a number", "not an object"])
def test_damaged_metadata_resumes_from_the_last_whole_backup(tmp_path, reference, capsys, damage):
    _fit(tmp_path, epochs=3)
    meta = _newest(tmp_path / "run" / "backup", "training_metadata.json")
    text = meta.read_text()
    meta.write_text(
        {
            "truncated": text[: len(text) // 2],
            "not a number": json.dumps({**json.loads(text), "epoch": "3"}),
            "not an object": "[3]",
        }[damage]
    )
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["loss"]) == 3
    capsys.readouterr()
    run, model = _fit(tmp_path)
    lines = _lines(capsys.readouterr().out)
    assert len(lines) == 1 and "after epoch 2 of 5, at epoch 3" in lines[0], lines
    assert "training_metadata.json" in lines[0]
    _assert_same_as(reference, run, model)


def test_history_is_not_cut_when_no_backup_can_be_restored(tmp_path, reference, capsys):
    _fit(tmp_path, epochs=3)
    for meta in (tmp_path / "run" / "backup").rglob("training_metadata.json"):
        meta.write_text('{"epo')
    history_before = (tmp_path / "run" / "history.json").read_text()
    run, model = _fit(tmp_path)
    [old] = tmp_path.glob("run.damaged-*")
    assert (old / "history.json").read_text() == history_before
    assert json.loads(history_before)["loss"] == reference[0]["loss"][:3]
    _assert_same_as(reference, run, model)


def test_keras_own_backup_of_an_earlier_version_is_resumed_and_replaced(
    tmp_path, reference, capsys
):
    """Runs backed up by Keras' BackupAndRestore (the course before issue 31): a truncated
    latest.weights.h5 falls back to Keras' previous copy, and the model gets none of the
    half-loaded weights."""
    x, y, val = _data()
    first = _model()
    keras_backup = keras.callbacks.BackupAndRestore(
        tmp_path / "run" / "backup", double_checkpoint=True, delete_checkpoint=False
    )
    first.fit(
        x,
        y,
        validation_data=val,
        epochs=3,
        shuffle=False,
        batch_size=32,
        verbose=0,
        callbacks=[keras_backup],
    )
    (tmp_path / "run" / "run.json").write_text(
        json.dumps(
            {
                "fingerprint": training.model_fingerprint(first),
                "model": first.name,
                "monitor": "val_loss",
            }
        )
    )
    (tmp_path / "run" / "history.json").write_text(
        json.dumps({k: v[:3] for k, v in reference[0].items()})
    )
    latest = tmp_path / "run" / "backup" / "latest.weights.h5"
    latest.write_bytes(latest.read_bytes()[:5000])
    os.utime(latest, ns=(0, 0))  # older than its metadata: only the truncation is wrong
    capsys.readouterr()
    run, model = _fit(tmp_path)
    lines = _lines(capsys.readouterr().out)
    assert len(lines) == 1 and "after epoch 2 of 5, at epoch 3" in lines[0]
    assert "Keras' backup: latest.weights.h5 does not load" in lines[0]
    _assert_same_as(reference, run, model)
    assert sorted(p.name for p in (tmp_path / "run" / "backup").iterdir()) == [
        "epoch-0004",
        "epoch-0005",
    ]


# --- 7. a kill between two writes, and at every step of a backup write ------------------------

CHILD = textwrap.dedent(
    """
    import builtins, io, os, shutil, sys, time
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras
    from course_utils import training
    from course_utils.training import fit_resumable

    root, mode, stop = sys.argv[1], sys.argv[2], int(sys.argv[3])
    steps, counting = [], []

    def pause(what):
        steps.append(what)
        print(f"STEP {len(steps)} {what}", flush=True)
        if stop == 0:  # copy the folder as a kill here would leave it, and go on
            counting.append(False)  # the copy's own writes are not steps
            try:
                shutil.copytree(root, f"{root}-step-{len(steps)}")
            finally:
                counting.pop()
        elif len(steps) == stop:
            print("PAUSED", flush=True)
            time.sleep(600)  # the parent kills us here

    real_save_weights = keras.Model.save_weights
    saves = []

    def save_weights(self, *args, **kwargs):
        real_save_weights(self, *args, **kwargs)
        saves.append(1)
        if mode == "weights" and len(saves) == 3:  # the backup of epoch 3: weights written
            pause("weights of epoch 3 written")
        elif counting and counting[-1]:
            pause(f"save_weights {args[0] if args else kwargs}")

    keras.Model.save_weights = save_weights

    if mode == "steps":  # every change to the disk while epoch 3's backup is written
        real_backup = training.save_backup

        def save_backup(run_dir, model, epoch):
            counting.append(epoch == 3)
            try:
                return real_backup(run_dir, model, epoch)
            finally:
                counting.pop()

        training.save_backup = save_backup

        def counted(module, name):
            real = getattr(module, name)

            def wrapper(*args, **kwargs):
                result = real(*args, **kwargs)
                if counting and counting[-1]:
                    pause(f"{name} {args[0] if args else ''}")
                return result

            setattr(module, name, wrapper)

        for name in ("mkdir", "rename", "replace", "unlink", "remove", "rmdir"):
            counted(os, name)
        real_open = builtins.open

        def opened(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if counting and counting[-1] and any(c in mode for c in "wax+"):
                real_close = handle.close

                def close():
                    real_close()
                    pause(f"wrote {file}")

                handle.close = close
            return handle

        builtins.open = io.open = opened  # pathlib writes through io.open

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
    fit_resumable(model, x[:192], y=y[:192], validation_data=(x[192:], y[192:]), epochs=3,
                  run_name="run", checkpoint_root=root, shuffle=False, batch_size=32,
                  verbose=0, backup_seconds=0)
    print("FINISHED", flush=True)
    """
)


def _child(tmp_path: Path, root: Path, mode: str, stop: int) -> tuple[list[str], bool]:
    """Run the child; kill it with SIGKILL when it pauses at step `stop`. Returns its STEP lines
    and whether it was killed (False: it had fewer steps and finished). With `stop` 0 it copies
    `root` to `root`-step-N after each step N and finishes."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.Popen(
        [sys.executable, str(script), str(root), mode, str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    steps, killed = [], False
    for line in child.stdout:
        if line.startswith("STEP"):
            steps.append(line.strip())
        if line.startswith("PAUSED"):
            child.send_signal(signal.SIGKILL)
            killed = True
            break
    child.wait(timeout=300)
    expected = -signal.SIGKILL if killed else 0
    assert child.returncode == expected, child.stderr.read()[-3000:]
    return steps, killed


def test_a_kill_between_the_weights_and_the_metadata_resumes_exactly(tmp_path, reference, capsys):
    assert _child(tmp_path, tmp_path / "ckpt", "weights", 1)[1]
    capsys.readouterr()
    run, model = _fit(tmp_path / "ckpt")
    lines = _lines(capsys.readouterr().out)
    assert lines == ["resuming 'run' after epoch 2 of 5, at epoch 3"]
    assert run.initial_epoch == 2
    _assert_same_as(reference, run, model)


def _listing(root: Path) -> list[str]:
    """The files and folders under `root`, temporary folders' random suffixes left out."""
    names = (str(p.relative_to(root)) for p in root.rglob("*"))
    return sorted(re.sub(r"\.tmp-[^/]+", ".tmp-*", name) for name in names)


def _resumes_exactly(root: Path, done: int, reference, capsys, why) -> None:
    capsys.readouterr()
    run, model = _fit(root)
    lines = _lines(capsys.readouterr().out)
    assert lines == [f"resuming 'run' after epoch {done} of 5, at epoch {done + 1}"], why
    _assert_same_as(reference, run, model)
    backups = sorted(p.name for p in (root / "run" / "backup").iterdir())
    assert backups == ["epoch-0004", "epoch-0005"], (why, backups)  # nothing left behind


def test_a_kill_at_every_step_of_a_backup_write_leaves_a_whole_backup(tmp_path, reference, capsys):
    """The child copies its checkpoint folder after step 1, 2, ... of the write of epoch 3's
    backup (every change it makes to the disk): each copy, what a kill at that instant leaves,
    resumes exactly. Then a real SIGKILL just before the rename leaves the same folder."""
    root = tmp_path / "ckpt"
    steps, killed = _child(tmp_path, root, "steps", 0)
    # the folder, the weights, the metadata, the rename, the old backup's two files and folder
    assert not killed and len(steps) >= 7, steps
    renamed = next(n for n, s in enumerate(steps, 1) if "replace" in s and "epoch-0003.tmp" in s)
    listings = {}
    for n in range(1, len(steps) + 1):
        copy = Path(f"{root}-step-{n}")
        listings[n] = _listing(copy)
        _resumes_exactly(copy, 3 if n >= renamed else 2, reference, capsys, (n, steps))

    stop = renamed - 1  # the new backup whole in its temporary folder, not yet renamed
    killed_steps, killed = _child(tmp_path, tmp_path / "killed", "steps", stop)

    def same(lines, root):  # a step's text without the folder's name and random suffix
        return [re.sub(r"\.tmp-[^/ ]+", ".tmp-*", s.replace(str(root), "ROOT")) for s in lines]

    assert killed and same(killed_steps, tmp_path / "killed") == same(steps[:stop], root)
    assert _listing(tmp_path / "killed") == listings[stop]
    _resumes_exactly(tmp_path / "killed", 2, reference, capsys, killed_steps)
