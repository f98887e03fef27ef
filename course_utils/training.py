"""Training that survives a disconnect: resume at the last finished epoch, keep the best model.

`fit_resumable` wraps `model.fit` with three things, all in one folder per run under
`env.checkpoint_dir()` (Google Drive in Colab):

- `backup/`: Keras' `BackupAndRestore` state (weights, optimizer state, epoch number).
- `best.keras`: the whole model at its best epoch so far (lowest validation loss by default), as
  Keras' `ModelCheckpoint(save_best_only=True)` keeps it, also across restarts.
- `history.json`: every epoch's metrics, so the curves show the whole run, not just the part
  after the last restart.

The backup and the best model are written together, after an epoch that ends 10 s
(`backup_seconds`) or more after the last write, and after the last epoch. Epochs longer than
that are all written. Quick mode's epochs of a fraction of a second are not: a write costs
0.05-0.2 s even for a small model, a third of such an epoch or more. Run the same cell again
after a crash or a disconnect and training goes on from the backup instead of from scratch: at
most the epoch in progress and those of the last 10 seconds are lost.

A finished run is not trained again: calling `fit_resumable` a second time restores the final
weights and returns the stored history (pass `fresh=True` to start over). If the model changed
(other layers, shapes, trainable flags, optimizer or learning rate), the old run is set aside and
training starts fresh, with a message.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_utils import atomic, env

if TYPE_CHECKING:
    import keras

HISTORY_FILE = "history.json"
BEST_FILE = "best.keras"
BACKUP_DIR = "backup"
RUN_FILE = "run.json"
BACKUP_SECONDS = 10.0


@dataclass
class TrainingRun:
    """What `fit_resumable` did: the whole history, where the files are, where it resumed."""

    history: dict[str, list[float]]
    run_dir: Path
    initial_epoch: int
    epochs: int
    monitor: str
    notes: list[str] = field(default_factory=list)

    @property
    def best_model_path(self) -> Path:
        return self.run_dir / BEST_FILE

    def best_epoch(self) -> int:
        """1-based epoch with the best monitored value."""
        values = self.history[self.monitor]
        best = (max if _direction(self.monitor) == "max" else min)(values)
        return values.index(best) + 1

    def load_best(self) -> keras.Model:
        """Load the best model saved during the run."""
        import keras

        if not self.best_model_path.exists():
            raise FileNotFoundError(
                f"No best model at {self.best_model_path}: did the run record '{self.monitor}'? "
                "Pass validation data so val_* metrics exist."
            )
        return keras.models.load_model(self.best_model_path)


def _direction(monitor: str) -> str:
    """'max' for accuracy-like metrics, 'min' for losses and errors (Keras' 'auto' rule)."""
    name = monitor.removeprefix("val_")
    return "max" if any(k in name for k in ("acc", "auc", "precision", "recall", "iou")) else "min"


def model_fingerprint(model: keras.Model) -> str:
    """A short hash of what must match to resume: layer types, weight shapes, trainable flags,
    optimizer class and learning rate. Layer names are left out: Keras numbers them per session."""
    parts: list[Any] = []

    def walk(layer: Any) -> None:
        for sub in getattr(layer, "layers", []):
            parts.append([type(sub).__name__, bool(sub.trainable),
                          [list(w.shape) for w in sub.weights]])
            walk(sub)

    walk(model)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        lr = optimizer.learning_rate
        parts.append([type(optimizer).__name__, repr(float(lr)) if hasattr(lr, "__float__") else str(lr)])
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def _write_json(path: Path, value: Any) -> None:
    """Write whole or not at all: a kill mid-write never leaves half a file."""
    atomic.write_text(path, json.dumps(value, indent=1))


def backed_up_epoch(run_dir: Path) -> int:
    """Number of epochs the backup in `run_dir` holds (0 if there is none)."""
    meta = _read_json(run_dir / BACKUP_DIR / "training_metadata.json", {})
    return int(meta.get("epoch", 0))


def _history_logger(path: Path, history: dict[str, list[float]]):
    import keras

    class HistoryFile(keras.callbacks.Callback):
        """Append each epoch's logs to the history file."""

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            # Before epoch `epoch` (0-based) the history holds exactly `epoch` entries, also when
            # the backup fell back to its previous copy and an epoch is being run again.
            for values in history.values():
                del values[epoch:]

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            for key, value in (logs or {}).items():
                history.setdefault(key, []).append(float(value))
            _write_json(path, history)

    return HistoryFile()


def checkpoint_callback(run_dir: Path, monitor: str = "val_loss", threshold: float | None = None,
                        every_seconds: float = BACKUP_SECONDS,
                        clock: Callable[[], float] = time.monotonic,
                        ) -> keras.callbacks.BackupAndRestore:
    """Keras' `BackupAndRestore` (into `run_dir/backup/`) and `ModelCheckpoint(save_best_only=True)`
    (into `run_dir/best.keras`) in one callback, written together, and only after an epoch that
    ends `every_seconds` or more after the last write (or the start), and after the last epoch.

    Keras' callbacks write after every epoch and every improvement. A write costs 0.05-0.2 s
    even for a small model: a third of a quick-mode epoch or more, or all of it.
    In between, the best epoch's weights wait in memory. `threshold`: the best `monitor` value
    of earlier runs, which a new best must beat.
    """
    import keras

    maximize = _direction(monitor) == "max"

    def improves(value: float, best: float | None) -> bool:
        return best is None or (value > best if maximize else value < best)

    class Checkpoints(keras.callbacks.BackupAndRestore):
        def on_train_begin(self, logs: dict | None = None) -> None:
            super().on_train_begin(logs)  # restores the backup, if there is one
            self.last_write = clock()
            self.unsaved_epoch: int | None = None
            self.best, self.best_weights = threshold, None

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            value = (logs or {}).get(monitor)
            if value is not None and improves(value, self.best):
                self.best, self.best_weights = float(value), self.model.get_weights()
            self.unsaved_epoch = epoch
            if clock() - self.last_write >= every_seconds:
                self.write(logs)

        def on_train_end(self, logs: dict | None = None) -> None:
            if self.unsaved_epoch is not None:  # the last epoch (or the one EarlyStopping ended on)
                self.write(logs)
            super().on_train_end(logs)

        def write(self, logs: dict | None) -> None:
            # The best model first: a kill between the two writes leaves a backup that is not
            # newer than best.keras, so no epoch the history keeps has a better model left unsaved.
            if self.best_weights is not None:
                current = self.model.get_weights()
                part = Path(run_dir) / f"{Path(BEST_FILE).stem}.part.keras"
                part.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self.model.set_weights(self.best_weights)
                    self.model.save(part)
                finally:
                    self.model.set_weights(current)  # training goes on from the last epoch
                part.replace(Path(run_dir) / BEST_FILE)
                self.best_weights = None
            super().on_epoch_end(self.unsaved_epoch, logs)  # Keras' backup of this epoch
            self.last_write, self.unsaved_epoch = clock(), None

    return Checkpoints(Path(run_dir) / BACKUP_DIR, double_checkpoint=True, delete_checkpoint=False)


def log_epochs(
    history: dict[str, list[float]], epoch: int, epochs: int, lines: int = 8,
    seconds: float | None = None,
) -> str | None:
    """The one-line summary of `epoch` (0-based) if it is among `lines` evenly spaced ones, else None.

    The first and the last epoch are always shown; a run of up to `lines` epochs shows every one.
    """
    if lines < 2:
        raise ValueError(f"lines={lines}: show at least the first and the last epoch (lines >= 2).")
    shown = {round(i * (epochs - 1) / (lines - 1)) for i in range(lines)} if epochs > lines \
        else set(range(epochs))
    if epoch not in shown:
        return None
    width = len(str(epochs))
    parts = [f"epoch {epoch + 1:>{width}}/{epochs}"]
    parts += [f"{k} {v[-1]:.4f}" for k, v in history.items() if v]
    if seconds is not None:
        parts.append(f"{seconds:.1f} s")
    return "  ".join(parts)


def best_epoch_line(history: dict[str, list[float]], monitor: str) -> str:
    """'best val_loss 0.3412 at epoch 7 of 20', or a note that the monitor was never logged."""
    values = history.get(monitor) or []
    if not values:
        return f"{monitor} was not logged (no validation data?)"
    pick = max if _direction(monitor) == "max" else min
    best = pick(range(len(values)), key=values.__getitem__)
    return f"best {monitor} {values[best]:.4f} at epoch {best + 1} of {len(values)}"


def compact_log(epochs: int, lines: int = 8, monitor: str | None = "val_loss"):
    """A Keras callback printing at most `lines` epoch lines and, at the end, the best epoch.

    Use it with `verbose=0` instead of Keras' progress output, which prints one line per epoch
    (or per step) and buries the lesson under 60-90 log lines.
    """
    import keras

    class CompactLog(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.history: dict[str, list[float]] = {}

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            line = log_epochs(self.history, epoch, epochs, lines,
                              time.perf_counter() - self.started)
            if line:
                print(line)

        def on_train_end(self, logs: dict | None = None) -> None:
            if monitor and self.history.get(monitor):
                print(best_epoch_line(self.history, monitor))

    return CompactLog()


def fit_resumable(
    model: keras.Model,
    x: Any,
    *,
    epochs: int,
    run_name: str,
    validation_data: Any = None,
    monitor: str = "val_loss",
    fresh: bool = False,
    checkpoint_root: Path | None = None,
    callbacks: list | tuple = (),
    verbose: int | str = "compact",
    backup_seconds: float = BACKUP_SECONDS,
    **fit_kwargs: Any,
) -> TrainingRun:
    """`model.fit` that resumes after a crash or disconnect and keeps the best model; see module doc.

    verbose="compact" prints at most eight epoch lines and the best epoch; 0, 1, 2 are Keras' own.
    backup_seconds=0 writes the backup after every epoch, as Keras' `BackupAndRestore` does.
    """
    import keras

    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built: give it a keras.Input(...) first layer, or call it "
            "on one batch, before fit_resumable (a backup can only be restored into built weights)."
        )
    if getattr(model, "optimizer", None) is None:
        raise ValueError(f"Model '{model.name}' is not compiled: call model.compile(...) first.")
    if backup_seconds < 0:
        raise ValueError(f"backup_seconds={backup_seconds}: use 0 (after every epoch) or more.")
    if "initial_epoch" in fit_kwargs:
        raise ValueError("fit_resumable finds the initial epoch itself; do not pass initial_epoch.")
    if not run_name or any(c in run_name for c in "/\\"):
        raise ValueError(f"run_name={run_name!r}: use a plain folder name like 'cats_dogs_baseline'.")

    run_dir = Path(checkpoint_root or env.checkpoint_dir()) / run_name
    fingerprint = model_fingerprint(model)
    notes: list[str] = []
    stored = _read_json(run_dir / RUN_FILE, {})
    if run_dir.exists() and fresh:
        shutil.rmtree(run_dir)
        notes.append(f"starting over (fresh=True): the previous '{run_name}' run was deleted")
    elif run_dir.exists() and stored.get("fingerprint") != fingerprint:
        # Probably an edited model: keep the old run (it may hold hours of training) aside.
        old = run_dir.with_name(f"{run_name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
        run_dir.replace(old)
        notes.append(f"starting over: the model or optimizer differs from the saved run, "
                     f"which was moved to {old}")
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_json(run_dir / RUN_FILE, {"fingerprint": fingerprint, "model": model.name,
                                     "monitor": monitor})

    done = backed_up_epoch(run_dir)
    history: dict[str, list[float]] = _read_json(run_dir / HISTORY_FILE, {})
    # Epochs logged after the last backup were lost with the crash: they will be run again.
    history = {k: v[:done] for k, v in history.items()}
    _write_json(run_dir / HISTORY_FILE, history)
    if done:
        notes.append(
            f"resuming '{run_name}' after epoch {done} of {epochs}"
            + (": already finished, nothing to train" if done >= epochs else f", at epoch {done + 1}")
        )

    threshold = None
    if history.get(monitor):
        threshold = (max if _direction(monitor) == "max" else min)(history[monitor])
    checkpoints = checkpoint_callback(run_dir, monitor, threshold, backup_seconds)
    # Order matters: the history file is written first and the backup last, so the history never
    # holds fewer epochs than the backup; epochs it holds beyond the backup are trimmed above.
    all_callbacks = [*callbacks, _history_logger(run_dir / HISTORY_FILE, history), checkpoints]
    if "shuffle" not in fit_kwargs and type(x).__module__.startswith("tensorflow"):
        fit_kwargs["shuffle"] = False  # a tf.data pipeline shuffles itself; Keras would warn
    compact = verbose == "compact"
    if compact:
        all_callbacks.insert(0, compact_log(epochs, monitor=None))
    for note in notes:
        print(note)
    model.fit(x, validation_data=validation_data, epochs=epochs, callbacks=all_callbacks,
              verbose=0 if compact else verbose, **fit_kwargs)
    if compact and history.get(monitor):
        print(best_epoch_line(history, monitor))  # over the whole run, resumed parts included
    total = len(next(iter(history.values()), []))
    return TrainingRun(history=history, run_dir=run_dir, initial_epoch=min(done, epochs),
                       epochs=max(total, min(done, epochs)), monitor=monitor, notes=notes)
