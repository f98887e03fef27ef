"""CIFAR-10: 32x32 colour images in ten classes.

full:  the real 50,000 / 10,000 set (the python pickle batches, through the course registry).
quick: no package ships CIFAR-10, so a generated stand-in with the same layout
       (`synthetic.cifar10_standin`): ten classes of 32x32x3 uint8 images, each class a family
       of shapes / textures / colours drawn with strong variation, made deterministically
       from a seed. It is not CIFAR-10, and the chapters say so.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from course_utils import env
from course_utils.datasets import Split, announce
from course_utils.datasets.synthetic import cifar10_standin
from course_utils.download import fetch

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
FULL_TRAIN, FULL_TEST = 50_000, 10_000
QUICK_TRAIN, QUICK_TEST = 5_000, 1_000
SIZE = 32


# ----------------------------------------------------------------------------- full: real set
class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickle CIFAR-10 batches: plain containers and NumPy arrays only, nothing executable."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in a protocol-2 pickle
    }

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"Refusing {module}.{name} in a CIFAR-10 batch: the file is not a plain "
                "CIFAR-10 pickle. Delete it and download it again."
            )
        if module.startswith("numpy.core"):  # written by old NumPy; numpy 2 calls it numpy._core
            module = "numpy._core" + module[len("numpy.core") :]
        return super().find_class(module, name)


def read_batch(path: Path) -> Split:
    """One CIFAR-10 python batch file -> (images uint8 (N, 32, 32, 3), labels int64 (N,))."""
    with open(path, "rb") as f:
        batch = _ArrayOnlyUnpickler(f, encoding="bytes").load()
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 batch (no b'data' / b'labels').")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * SIZE * SIZE:
        raise ValueError(f"{path}: data has shape {data.shape}, expected (N, 3072).")
    # Each row is 1024 red, then 1024 green, then 1024 blue values, row-major.
    images = data.reshape(-1, 3, SIZE, SIZE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(batch[b"labels"], dtype=np.int64)


def load_cifar10_full() -> tuple[Split, Split]:
    """The real CIFAR-10 (50,000 / 10,000), downloaded once and verified through the registry."""
    root = fetch("cifar10") / "cifar-10-batches-py"
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root} is missing: the CIFAR-10 archive did not unpack as expected. Delete its "
            "folder and the .tar.gz in the data folder, then run the cell again."
        )
    parts = [read_batch(root / f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return (x_train, y_train), read_batch(root / "test_batch")


# ------------------------------------------------------------------- quick: generated stand-in
def load_cifar10_quick(
    n_train: int = QUICK_TRAIN, n_test: int = QUICK_TEST, seed: int = 0
) -> tuple[Split, Split]:
    """The generated stand-in: train and test drawn from independent streams of one seed."""
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    return cifar10_standin(n_train, train_seed), cifar10_standin(n_test, test_seed)


def load_cifar10(
    n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> tuple[Split, Split]:
    """CIFAR-10 for the current mode: ((x_train, y_train), (x_test, y_test)), uint8 32x32x3.

    n_train / n_test: None means the whole set (full: 50,000 / 10,000; quick: 5,000 / 1,000
    generated). In full mode a number keeps the first n images of the real files.
    """
    if env.is_quick():
        (xtr, ytr), (xte, yte) = load_cifar10_quick(
            n_train or QUICK_TRAIN, n_test or QUICK_TEST, seed
        )
        announce(
            f"CIFAR-10 stand-in, quick mode: generated shapes/textures in 10 classes (not real "
            f"photos), {len(xtr):,} train / {len(xte):,} test, seed {seed}"
        )
    else:
        (xtr, ytr), (xte, yte) = load_cifar10_full()
        xtr, ytr = xtr[:n_train], ytr[:n_train]
        xte, yte = xte[:n_test], yte[:n_test]
        whole = len(xtr) == FULL_TRAIN and len(xte) == FULL_TEST
        announce(
            f"CIFAR-10, full: {len(xtr):,} train / {len(xte):,} test (the real set"
            + ("" if whole else ", first images of each split")
            + ")"
        )
    return (xtr, ytr), (xte, yte)
