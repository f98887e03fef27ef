"""Training that survives a disconnect: resume at the last finished epoch, keep the best model.

`fit_resumable` wraps `model.fit` with three things, all in one folder per run under
`env.checkpoint_dir()` (Google Drive in Colab):

- `backup/`: the training state (weights, optimizer state, epoch number), one folder per backup
  (`backup/epoch-0003/`), as Keras' `BackupAndRestore` keeps it but written so that a kill at
  any instant leaves a complete earlier backup: each backup is written into a temporary folder
  of its own and renamed into place only when whole, and the previous one is kept until then.
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

A backup is used only if it is whole: its metadata reads, and its weights file has the size and
sha256 its metadata recorded and loads. A damaged backup (a truncated file, a half-synced Drive)
is deleted and the one before it used, with one line saying so; if none is whole, training
starts over with one line saying why, and the damaged run is moved aside. The history is cut
to the restored epoch only after the restore succeeded.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import tempfile
import textwrap
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
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "training_metadata.json"
KEEP_BACKUPS = 2  # the newest backup and the one before it, as Keras' double_checkpoint keeps
# What Keras' own BackupAndRestore wrote (earlier versions of the course): read, then replaced.
LEGACY_WEIGHTS = "latest.weights.h5"


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
            parts.append(
                [type(sub).__name__, bool(sub.trainable), [list(w.shape) for w in sub.weights]]
            )
            walk(sub)

    walk(model)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        lr = optimizer.learning_rate
        parts.append(
            [type(optimizer).__name__, repr(float(lr)) if hasattr(lr, "__float__") else str(lr)]
        )
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


# --- backups: written whole, read only when whole ------------------------------------------


class DamagedBackupError(ValueError):
    """A backup that cannot be used: a file missing, truncated, changed, or not readable."""


@dataclass
class _Backup:
    """One backup: its weights and metadata files, and the folder to delete if it is damaged."""

    label: str  # "the backup of epoch 3"
    weights: Path
    metadata: Path
    folder: Path | None  # None for Keras' own layout (files directly in backup/)


def _generation(backup_dir: Path, epoch: int) -> Path:
    return backup_dir / f"epoch-{epoch:04d}"


def _backups(backup_dir: Path) -> list[_Backup]:
    """The backups in `backup_dir`, newest first (Keras' own layout after the course's)."""
    found = []
    for folder in backup_dir.glob("epoch-*"):
        match = re.fullmatch(r"epoch-(\d+)", folder.name)
        if match and folder.is_dir():
            found.append((int(match[1]), folder))
    backups = [
        _Backup(
            f"the backup of epoch {epoch}", folder / WEIGHTS_FILE, folder / METADATA_FILE, folder
        )
        for epoch, folder in sorted(found, reverse=True)
    ]
    for suffix, which in (("", "Keras' backup"), (".bkp", "Keras' previous backup")):
        weights, metadata = (
            backup_dir / (LEGACY_WEIGHTS + suffix),
            backup_dir / (METADATA_FILE + suffix),
        )
        if weights.exists() or metadata.exists():
            backups.append(_Backup(which, weights, metadata, None))
    return backups


def _read_metadata(backup: _Backup) -> dict:
    """The metadata of `backup`, checked against its weights file (without hashing it)."""
    try:
        meta = json.loads(backup.metadata.read_text())
    except FileNotFoundError:
        raise DamagedBackupError(f"{backup.label} has no {METADATA_FILE}") from None
    except (OSError, ValueError) as err:
        raise DamagedBackupError(
            f"{backup.label}: {METADATA_FILE} is not readable JSON (truncated?): {err}"
        ) from None
    epoch = meta.get("epoch") if isinstance(meta, dict) else None
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise DamagedBackupError(f"{backup.label}: {METADATA_FILE} holds no epoch number")
    try:
        stat = backup.weights.stat()
    except FileNotFoundError:
        raise DamagedBackupError(f"{backup.label} has no {backup.weights.name}") from None
    if backup.folder is None:  # Keras wrote the weights, then the metadata, each in place
        if stat.st_mtime_ns > backup.metadata.stat().st_mtime_ns:
            raise DamagedBackupError(
                f"{backup.label}: its weights were written after its "
                "metadata (a kill between the two writes)"
            )
    elif stat.st_size != meta.get("weights_size"):
        raise DamagedBackupError(
            f"{backup.label}: {WEIGHTS_FILE} has {stat.st_size:,} bytes "
            f"of {meta.get('weights_size')} (truncated?)"
        )
    elif backup.folder.name != f"epoch-{epoch:04d}":
        raise DamagedBackupError(f"{backup.label}: its metadata says epoch {epoch}")
    return meta


def _check(backup: _Backup) -> int:
    """The epoch `backup` holds, once its metadata and weights are found whole; else raise."""
    meta = _read_metadata(backup)
    if backup.folder is not None and _sha256(backup.weights) != meta.get("weights_sha256"):
        raise DamagedBackupError(
            f"{backup.label}: {WEIGHTS_FILE} does not match the sha256 "
            "recorded when it was written (changed or damaged)"
        )
    return meta["epoch"]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def backed_up_epoch(run_dir: Path) -> int:
    """Number of epochs the newest backup in `run_dir` holds (0 if there is none).

    Read from its metadata, checked against the weights file's size (not its sha256)."""
    for backup in _backups(Path(run_dir) / BACKUP_DIR):
        try:
            return _read_metadata(backup)["epoch"]
        except (DamagedBackupError, OSError):
            continue
    return 0


def _remove_unfinished(backup_dir: Path) -> None:
    """Delete temporary backup folders whose writer was killed (see atomic.abandoned)."""
    for tmp in backup_dir.glob("epoch-*.tmp-*"):
        tag = re.fullmatch(r"epoch-\d+\.tmp-([0-9a-f]{6}-\d+)-[0-9a-f]{8}", tmp.name)
        if tag and atomic.abandoned(tag[1], tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def save_backup(run_dir: Path, model: keras.Model, epoch: int) -> Path:
    """Back up `model` (weights and optimizer state) as having finished `epoch` epochs.

    Written into a temporary folder of its own, then renamed to `backup/epoch-NNNN`: a kill at
    any instant leaves either the new backup whole or the earlier ones as they were. Then all but
    the newest KEEP_BACKUPS backups are deleted, oldest first.
    """
    backup_dir = Path(run_dir) / BACKUP_DIR
    backup_dir.mkdir(parents=True, exist_ok=True)
    _remove_unfinished(backup_dir)
    tmp = backup_dir / f"epoch-{epoch:04d}.tmp-{atomic.owner()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    final = _generation(backup_dir, epoch)
    try:
        model.save_weights(tmp / WEIGHTS_FILE)
        meta = {
            "epoch": epoch,
            "weights_size": (tmp / WEIGHTS_FILE).stat().st_size,
            "weights_sha256": _sha256(tmp / WEIGHTS_FILE),
        }
        (tmp / METADATA_FILE).write_text(json.dumps(meta))
        if final.exists():  # a backup of the same epoch from an earlier attempt: replaced
            shutil.rmtree(final)
        tmp.replace(final)  # the new backup is complete from here on
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in _backups(backup_dir)[KEEP_BACKUPS:][::-1]:  # the oldest first
        _delete(old)
    return final


def _delete(backup: _Backup) -> None:
    if backup.folder is not None:
        shutil.rmtree(backup.folder, ignore_errors=True)
    else:
        backup.weights.unlink(missing_ok=True)
        backup.metadata.unlink(missing_ok=True)


def _load(model: keras.Model, weights: Path) -> None:
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # its slots must exist to be loaded
    if weights.name.endswith(".weights.h5"):
        model.load_weights(weights)
        return
    with tempfile.TemporaryDirectory() as tmp:  # Keras' `.bkp` copy: Keras reads it by this name
        shutil.copyfile(weights, Path(tmp) / "previous.weights.h5")
        model.load_weights(Path(tmp) / "previous.weights.h5")


def restore_backup(run_dir: Path, model: keras.Model) -> tuple[int, str | None]:
    """Load the newest whole backup in `run_dir` into `model`; return (its epoch, what was
    damaged or None).

    Damaged backups met on the way are deleted. (0, None): there was no backup. (0, reason):
    none was whole, and `model` is as it was before the call.
    """
    backup_dir = Path(run_dir) / BACKUP_DIR
    if backup_dir.is_dir():
        _remove_unfinished(backup_dir)
    damaged: list[tuple[_Backup, str]] = []
    before = None
    for backup in _backups(backup_dir):
        try:
            epoch = _check(backup)
            if before is None:  # a load that fails half-way must not leave half of its weights
                if model.optimizer is not None and not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)
                before = [v.numpy() for v in _variables(model)]
            _load(model, backup.weights)
        except (DamagedBackupError, OSError, ValueError, KeyError) as err:
            why = f"{type(err).__name__}: {err}"
            reason = (
                str(err)
                if isinstance(err, DamagedBackupError)
                else f"{backup.label}: {backup.weights.name} does not load ({why})"
            )
            damaged.append((backup, reason.splitlines()[0] if reason else type(err).__name__))
            if before is not None:
                for variable, value in zip(_variables(model), before, strict=True):
                    variable.assign(value)
            continue
        for bad, _ in damaged:
            _delete(bad)
        return epoch, "; ".join(reason for _, reason in damaged) or None
    return 0, "; ".join(reason for _, reason in damaged) or None


def _variables(model: keras.Model) -> list:
    optimizer = getattr(model, "optimizer", None)
    return [*model.weights, *(optimizer.variables if optimizer is not None else [])]


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


def checkpoint_callback(
    run_dir: Path,
    monitor: str = "val_loss",
    threshold: float | None = None,
    every_seconds: float = BACKUP_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> keras.callbacks.BackupAndRestore:
    """Keras' `BackupAndRestore` (into `run_dir/backup/`, see `save_backup`) and
    `ModelCheckpoint(save_best_only=True)` (into `run_dir/best.keras`) in one callback, written
    together, and only after an epoch that ends `every_seconds` or more after the last write (or
    the start), and after the last epoch. At the start of training it restores the newest whole
    backup (`restore_backup`), unless `fit_resumable` did so already.

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
        restored: int | None = None  # set by fit_resumable when it has restored the backup itself

        def on_train_begin(self, logs: dict | None = None) -> None:
            epoch = self.restored
            if epoch is None:  # used on its own: restore here, as Keras' callback does
                epoch, damaged = restore_backup(run_dir, self.model)
                if damaged:
                    start = f"resuming after epoch {epoch}" if epoch else "starting from epoch 1"
                    print(f"{start}: a damaged backup was deleted ({damaged})")
            self._current_epoch = epoch
            self.model._initial_epoch = epoch or None  # Keras' fit starts there
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
            if (
                self.unsaved_epoch is not None
            ):  # the last epoch (or the one EarlyStopping ended on)
                self.write(logs)
            super().on_train_end(logs)

        def write(self, logs: dict | None) -> None:
            epoch = self.unsaved_epoch
            if epoch is None:  # nothing trained since the last write
                return
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
            save_backup(run_dir, self.model, epoch + 1)
            self._current_epoch = epoch + 1
            self.last_write, self.unsaved_epoch = clock(), None

    return Checkpoints(Path(run_dir) / BACKUP_DIR, delete_checkpoint=False)


WIDTH = 79  # characters of a printed line that fit a notebook's output block


def log_epochs(
    history: dict[str, list[float]],
    epoch: int,
    epochs: int,
    lines: int = 8,
    seconds: float | None = None,
) -> str | None:
    """The one-line summary of `epoch` (0-based) if it is among `lines` evenly spaced ones, else
    None.

    The first and the last epoch are always shown; a run of up to `lines` epochs shows every one.
    The epoch's seconds end the line only where it still fits in WIDTH characters (a notebook's
    output block), so that many metrics leave out the time, not wrap.
    """
    if lines < 2:
        raise ValueError(
            f"lines={lines}: show at least the first and the last epoch (lines >= 2)."
        )
    shown = (
        {round(i * (epochs - 1) / (lines - 1)) for i in range(lines)}
        if epochs > lines
        else set(range(epochs))
    )
    if epoch not in shown:
        return None
    width = len(str(epochs))
    parts = [f"epoch {epoch + 1:>{width}}/{epochs}"]
    parts += [f"{k} {v[-1]:.4f}" for k, v in history.items() if v]
    if seconds is not None and len("  ".join(parts + [f"{seconds:.1f} s"])) <= WIDTH:
        parts.append(f"{seconds:.1f} s")
    line = "  ".join(parts)
    if len(line) > WIDTH:  # still too wide: Keras' long metric name shortened, then wrapped
        line = line.replace("accuracy", "acc")
    if len(line) > WIDTH:
        line = textwrap.fill(
            line, WIDTH, subsequent_indent=" " * (len(parts[0]) + 2), break_long_words=False
        )
    return line


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
            line = log_epochs(
                self.history, epoch, epochs, lines, time.perf_counter() - self.started
            )
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
    """`model.fit` that resumes after a crash or disconnect and keeps the best model; see module
    doc.

    verbose="compact" prints at most eight epoch lines and the best epoch; 0, 1, 2 are Keras' own.
    backup_seconds=0 writes the backup after every epoch, as Keras' `BackupAndRestore` does.
    """

    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built: give it a keras.Input(...) first layer, or call "
            "it "
            "on one batch, before fit_resumable (a backup can only be restored into built "
            "weights)."
        )
    if getattr(model, "optimizer", None) is None:
        raise ValueError(f"Model '{model.name}' is not compiled: call model.compile(...) first.")
    if backup_seconds < 0:
        raise ValueError(f"backup_seconds={backup_seconds}: use 0 (after every epoch) or more.")
    if "initial_epoch" in fit_kwargs:
        raise ValueError(
            "fit_resumable finds the initial epoch itself; do not pass initial_epoch."
        )
    if not run_name or any(c in run_name for c in "/\\"):
        raise ValueError(
            f"run_name={run_name!r}: use a plain folder name like 'cats_dogs_baseline'."
        )

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
        notes.append(
            f"starting over: the model or optimizer differs from the saved run, "
            f"which was moved to {old}"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_json(
        run_dir / RUN_FILE, {"fingerprint": fingerprint, "model": model.name, "monitor": monitor}
    )

    done, damaged = restore_backup(run_dir, model)  # before the history is touched
    if damaged and not done:
        # Nothing whole to resume from: start over, and keep the damaged run (its best model
        # and history may hold hours of training) aside, as for a changed model.
        old = run_dir.with_name(f"{run_name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        run_dir.replace(old)
        run_dir.mkdir(parents=True)
        _write_json(
            run_dir / RUN_FILE,
            {"fingerprint": fingerprint, "model": model.name, "monitor": monitor},
        )
        notes.append(
            f"starting '{run_name}' over: no backup of it is whole ({damaged}); "
            f"the damaged run was moved to {old}"
        )
    history: dict[str, list[float]] = _read_json(run_dir / HISTORY_FILE, {})
    # Epochs logged after the last backup were lost with the crash: they will be run again.
    history = {k: v[:done] for k, v in history.items()}
    _write_json(run_dir / HISTORY_FILE, history)
    if done:
        notes.append(
            f"resuming '{run_name}' after epoch {done} of {epochs}"
            + (
                ": already finished, nothing to train"
                if done >= epochs
                else f", at epoch {done + 1}"
            )
            + (f" (a newer backup was damaged and deleted: {damaged})" if damaged else "")
        )

    threshold = None
    if history.get(monitor):
        threshold = (max if _direction(monitor) == "max" else min)(history[monitor])
    checkpoints = checkpoint_callback(run_dir, monitor, threshold, backup_seconds)
    checkpoints.restored = done
    # Order matters: the history file is written first and the backup last, so the history never
    # holds fewer epochs than the backup; epochs it holds beyond the backup are trimmed above.
    all_callbacks = [*callbacks, _history_logger(run_dir / HISTORY_FILE, history), checkpoints]
    if "shuffle" not in fit_kwargs and type(x).__module__.startswith(("tensorflow", "grain")):
        fit_kwargs["shuffle"] = False  # tf.data and grain shuffle themselves; Keras would warn
    compact = verbose == "compact"
    if compact:
        all_callbacks.insert(0, compact_log(epochs, monitor=None))
    for note in notes:
        print(note)
    model.fit(
        x,
        validation_data=validation_data,
        epochs=epochs,
        callbacks=all_callbacks,
        verbose=0 if compact else verbose,
        **fit_kwargs,
    )
    if compact and history.get(monitor):
        print(best_epoch_line(history, monitor))  # over the whole run, resumed parts included
    total = len(next(iter(history.values()), []))
    return TrainingRun(
        history=history,
        run_dir=run_dir,
        initial_epoch=min(done, epochs),
        epochs=max(total, min(done, epochs)),
        monitor=monitor,
        notes=notes,
    )
