"""Full-mode rehearsal (`make rehearse-full`): every chapter's full-mode code path, training cut
short.

A rehearsal runs the chapters in full mode against generated files in the real formats
(tools/rehearsal_hub.py), offline, with COURSE_REHEARSAL=1. `env.setup()` then calls `install()`,
which caps every Keras `fit` and `evaluate` call: at most CAP_EPOCHS epochs (from wherever the
run starts or resumes) of CAP_STEPS batches each, CAP_VALIDATION_STEPS validation batches and
CAP_EVALUATE_STEPS evaluation batches.
Everything else (downloads, extraction, splits, image sizes, model shapes, checkpoints, predict
calls) runs at full size.

Each capped `fit` appends one JSON line to COURSE_REHEARSAL_LOG (when set): the steps and epochs
the full run would take, the examples per step and per validation pass, the model's multiply-adds
per training and per forward example (course_utils/flops.py), the steps run, and the median
seconds per training step, from which tools/rehearse_full.py estimates a full run's training
time two ways: by counting its arithmetic, and by scaling the step time measured here.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

CAP_EPOCHS = 2  # two, so a second epoch (and resuming after the first) runs too
CAP_STEPS = 4
CAP_VALIDATION_STEPS = 2
CAP_EVALUATE_STEPS = 4


def active() -> bool:
    """True inside a full-mode rehearsal (COURSE_REHEARSAL=1 with COURSE_MODE=full)."""
    from course_utils import env

    return env.rehearsing()


def planned_steps(x: Any, batch_size: int | None, steps_per_epoch: int | None) -> int | None:
    """Training steps per epoch the uncapped `fit` would take (None when it cannot be known)."""
    if steps_per_epoch:
        return int(steps_per_epoch)
    try:
        import tensorflow as tf

        if isinstance(x, tf.data.Dataset):
            n = int(x.cardinality())
            return n if n >= 0 else None
    except ImportError:  # pragma: no cover - TensorFlow is always there in the course
        pass
    if hasattr(x, "__len__") and not isinstance(x, dict):
        first = x[0] if isinstance(x, (list, tuple)) else x
        if hasattr(first, "shape"):
            return math.ceil(len(first) / (batch_size or 32))
        if hasattr(x, "__getitem__") and hasattr(x, "on_epoch_end"):  # a keras PyDataset
            return len(x)
    return None


def _first_batch_size(data: Any) -> int | None:
    """How many examples the first batch of a tf.data dataset or a PyDataset holds."""
    try:
        import tensorflow as tf

        if isinstance(data, tf.data.Dataset):
            first = next(iter(data.take(1)))
            first = first[0] if isinstance(first, (tuple, list)) else first
            first = next(iter(first.values())) if isinstance(first, dict) else first
            return int(first.shape[0])
    except (ImportError, StopIteration, TypeError, IndexError):
        return None
    if hasattr(data, "__getitem__") and hasattr(data, "on_epoch_end"):  # a keras PyDataset
        try:
            batch = data[0]
            return len(batch[0] if isinstance(batch, (tuple, list)) else batch)
        except (IndexError, TypeError):
            return None
    return None


def examples_per_step(x: Any, batch_size: int | None) -> int | None:
    """Examples in one training step of `fit(x, batch_size=...)` (None when unknown)."""
    if hasattr(x, "shape") or (isinstance(x, (list, tuple)) and x and hasattr(x[0], "shape")):
        return int(batch_size or 32)
    return _first_batch_size(x)


def validation_examples(data: Any, batch_size: int | None) -> int:
    """Examples in one pass over `fit`'s validation_data (0 when there is none or it is
    unknown)."""
    if data is None:
        return 0
    if isinstance(data, (tuple, list)) and data and hasattr(data[0], "shape"):
        return len(data[0])
    steps = planned_steps(data, batch_size, None)
    size = _first_batch_size(data)
    return steps * size if steps and size else 0


PIPELINE_BATCHES = 8


def pipeline_rate(data: Any, batches: int = PIPELINE_BATCHES) -> float | None:
    """Examples per second an input pipeline (a tf.data dataset or a PyDataset) delivers on its
    first pass, decoding and augmenting included: `batches` batches timed after a first one."""
    try:
        import tensorflow as tf

        is_dataset = isinstance(data, tf.data.Dataset)
    except ImportError:
        is_dataset = False
    if is_dataset:
        iterator = iter(data.take(batches + 1))
        take = lambda: next(iterator)  # noqa: E731
    elif hasattr(data, "__getitem__") and hasattr(data, "on_epoch_end"):  # a keras PyDataset
        index = iter(range(min(len(data), batches + 1)))
        take = lambda: data[next(index)]  # noqa: E731
    else:
        return None
    try:
        take()  # the first batch pays for starting the pipeline
        examples, start = 0, time.perf_counter()
        for _ in range(batches):
            batch = take()
            first = batch[0] if isinstance(batch, (tuple, list)) else batch
            first = next(iter(first.values())) if isinstance(first, dict) else first
            examples += int(first.shape[0])
        seconds = time.perf_counter() - start
    except StopIteration:
        return None
    return examples / seconds if seconds > 0 and examples else None


def _arithmetic(model: Any) -> tuple[int | None, int | None]:
    """(training, forward) multiply-adds per example of a model, or (None, None)."""
    from course_utils import flops

    try:
        return flops.training_macs(model), flops.forward_macs(model)
    except (ValueError, AttributeError, TypeError):
        return None, None


def _monitor(max_epochs: int):
    """A Keras callback that stops training after `max_epochs` epochs of this call and records
    the first epoch it ran (`first_epoch`, later than initial_epoch when BackupAndRestore resumed
    a run), the epochs run and the seconds of each training batch."""
    import keras

    class RehearsalMonitor(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.first_epoch: int | None = None
            self.epochs_run = 0
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            if self.first_epoch is None:
                self.first_epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            self.epochs_run += 1
            if self.epochs_run >= max_epochs:
                self.model.stop_training = True

        def on_train_batch_begin(self, batch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return RehearsalMonitor()


def _log(record: dict) -> None:
    path = os.environ.get("COURSE_REHEARSAL_LOG", "").strip()
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


def _capped_fit(fit: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(fit)

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        # Only what the caller passed goes on to Keras (changed where capped), so Keras sees the
        # call as written, its own defaults included.
        given = signature.bind(self, *args, **kwargs).arguments
        epochs = given.get("epochs", 1)
        planned = planned_steps(
            given.get("x"), given.get("batch_size"), given.get("steps_per_epoch")
        )
        batch = examples_per_step(given.get("x"), given.get("batch_size"))
        validation = validation_examples(given.get("validation_data"), given.get("batch_size"))
        pipeline = pipeline_rate(given.get("x"))
        monitor = _monitor(CAP_EPOCHS)  # a callback, so a run resumed by BackupAndRestore runs on
        given["steps_per_epoch"] = min(CAP_STEPS, planned) if planned else CAP_STEPS
        given["validation_steps"] = min(
            given.get("validation_steps") or CAP_VALIDATION_STEPS, CAP_VALIDATION_STEPS
        )
        given["callbacks"] = [*(given.get("callbacks") or []), monitor]
        started = time.perf_counter()
        history = fit(**given)
        seconds = sorted(monitor.seconds[1:] or monitor.seconds)  # the first step compiles
        first = monitor.first_epoch if monitor.first_epoch is not None else epochs
        train_macs, forward_macs = _arithmetic(self)
        _log(
            {
                "model": self.name,
                "planned_steps": planned,
                "planned_epochs": epochs - first,
                "batch": batch,
                "validation_examples": validation,
                "train_macs": train_macs,
                "forward_macs": forward_macs,
                "pipeline_examples_per_s": pipeline,
                "steps_run": len(monitor.seconds),
                "epochs_run": monitor.epochs_run,
                "median_step_s": seconds[len(seconds) // 2] if seconds else None,
                "wall_s": time.perf_counter() - started,
            }
        )
        return history

    wrapper.__dict__["rehearsal_cap"] = True  # the mark install() looks for
    return wrapper


def _capped_evaluate(evaluate: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(evaluate)
    def wrapper(self, *args, steps=None, **kwargs):
        return evaluate(
            self, *args, steps=min(steps or CAP_EVALUATE_STEPS, CAP_EVALUATE_STEPS), **kwargs
        )

    wrapper.__dict__["rehearsal_cap"] = True  # the mark install() looks for
    return wrapper


def install() -> None:
    """Cap Keras' `fit` and `evaluate` for the rest of this process (a rehearsal only)."""
    if not active():
        raise RuntimeError(
            "rehearsal caps are for `make rehearse-full` only (COURSE_REHEARSAL=1, "
            "COURSE_MODE=full); a real run trains in full"
        )
    import keras

    if not getattr(keras.Model.fit, "rehearsal_cap", False):
        keras.Model.fit = _capped_fit(keras.Model.fit)
    if not getattr(keras.Model.evaluate, "rehearsal_cap", False):
        keras.Model.evaluate = _capped_evaluate(keras.Model.evaluate)
    print(
        f"REHEARSAL   generated data; every fit capped at {CAP_EPOCHS} epochs of {CAP_STEPS} "
        f"batches: no result of training means anything"
    )
