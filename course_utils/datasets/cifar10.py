"""CIFAR-10: 32x32 colour images in ten classes.

full:  the real 50,000 / 10,000 set (the python pickle batches, through the course registry).
quick: no package ships CIFAR-10, so a generated stand-in with the same layout: ten classes of
       32x32x3 uint8 images, each class a family of shapes / textures / colours drawn with
       strong variation (position, size, rotation, colour, background, noise), made
       deterministically from a seed. It is not CIFAR-10, and the chapters say so.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from course_utils import env
from course_utils.datasets import Split, announce
from course_utils.download import fetch


CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
# What each class of the quick-mode stand-in draws (same index as CIFAR10_CLASSES).
STANDIN_PATTERNS: tuple[str, ...] = (
    "disc", "square", "triangle", "ring", "bars",
    "cross", "diagonal stripes", "checker patch", "two blobs", "bar pair",
)
FULL_TRAIN, FULL_TEST = 50_000, 10_000
QUICK_TRAIN, QUICK_TEST = 5_000, 1_000
SIZE = 32

# Mean foreground / background colour of each stand-in class. Several classes share a
# colour family on purpose, so colour alone cannot tell them apart.
_FG = np.array([
    [220, 60, 50], [60, 110, 220], [230, 200, 60], [220, 60, 50], [60, 180, 80],
    [60, 110, 220], [230, 200, 60], [200, 90, 200], [60, 180, 80], [200, 90, 200],
], dtype=np.float32)
_BG = np.array([
    [90, 130, 170], [120, 110, 90], [80, 120, 80], [150, 150, 150], [110, 90, 130],
    [100, 140, 120], [130, 110, 140], [90, 130, 170], [120, 110, 90], [80, 120, 80],
], dtype=np.float32)


# ----------------------------------------------------------------------------- full: real set
class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickle CIFAR-10 batches: plain containers and NumPy arrays only, nothing executable."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in a protocol-2 pickle
    }

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"Refusing {module}.{name} in a CIFAR-10 batch: the file is not a plain "
                "CIFAR-10 pickle. Delete it and download it again."
            )
        if module.startswith("numpy.core"):  # written by old NumPy; numpy 2 calls it numpy._core
            module = "numpy._core" + module[len("numpy.core"):]
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


def load_cifar10_full(cache_dir: Path | None = None) -> tuple[Split, Split]:
    """The real CIFAR-10 (50,000 / 10,000), downloaded once and verified through the registry."""
    root = fetch("cifar10", cache_dir=cache_dir) / "cifar-10-batches-py"
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
def _smooth_noise(rng: np.random.Generator, n: int, cells: int = 4) -> np.ndarray:
    """Low-frequency colour noise (n, 32, 32, 3) in about [-1, 1]: a coarse grid, upsampled."""
    grid = rng.normal(size=(n, cells, cells, 3)).astype(np.float32)
    pos = np.linspace(0, cells - 1, SIZE, dtype=np.float32)
    lo = np.floor(pos).astype(int).clip(0, cells - 2)
    w = pos - lo
    up = np.zeros((SIZE, cells), dtype=np.float32)  # linear interpolation matrix
    up[np.arange(SIZE), lo] = 1 - w
    up[np.arange(SIZE), lo + 1] = w
    return np.einsum("ya,nabc,xb->nyxc", up, grid, up, optimize=True)


def _soft(signed: np.ndarray) -> np.ndarray:
    """Anti-aliased mask from a signed distance (positive inside), one pixel wide edge."""
    return np.clip(signed + 0.5, 0.0, 1.0)


def _shape_masks(label: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """Foreground masks (n, 32, 32) in [0, 1] for one stand-in class, with random pose."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    cy = (15.5 + rng.normal(0, 4.0, n)).astype(np.float32)[:, None, None]
    cx = (15.5 + rng.normal(0, 4.0, n)).astype(np.float32)[:, None, None]
    r = rng.uniform(5.0, 11.0, n).astype(np.float32)[:, None, None]
    a = rng.uniform(0, np.pi, n).astype(np.float32)[:, None, None]
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(a) + dy * np.sin(a)  # coordinates in the shape's own rotated frame
    v = -dx * np.sin(a) + dy * np.cos(a)
    dist = np.sqrt(dx**2 + dy**2)
    if label == 0:  # disc
        return _soft(r - dist)
    if label == 1:  # square
        return _soft(0.85 * r - np.maximum(np.abs(u), np.abs(v)))
    if label == 2:  # triangle: three half-planes 120 degrees apart
        sides = [u * np.cos(t) + v * np.sin(t) for t in (np.pi / 2, np.pi / 2 + 2.094, np.pi / 2 + 4.189)]
        return _soft(0.55 * r - np.max(np.stack(sides), axis=0))
    if label == 3:  # ring
        return _soft(0.3 * r - np.abs(dist - 0.8 * r))
    if label == 4:  # a patch of parallel bars
        period = rng.uniform(4.0, 7.0, n).astype(np.float32)[:, None, None]
        bars = np.sin(2 * np.pi * v / period) * period / 4
        return _soft(bars) * _soft(1.1 * r - np.maximum(np.abs(u), np.abs(v)))
    if label == 5:  # plus sign
        arm = np.minimum(np.abs(u), np.abs(v))
        return _soft(0.3 * r - arm) * _soft(r - np.maximum(np.abs(u), np.abs(v)))
    if label == 6:  # diagonal stripes over the whole image (a texture, no object)
        period = rng.uniform(5.0, 9.0, n).astype(np.float32)[:, None, None]
        flip = rng.random(n)[:, None, None] < 0.5  # stripes lean left or right
        phase = rng.uniform(0, 10, n).astype(np.float32)[:, None, None]
        t = np.where(flip, xx - yy, xx + yy) / np.sqrt(2) + phase
        return _soft(np.sin(2 * np.pi * t / period) * period / 4) * 0.9
    if label == 7:  # checkerboard patch
        cell = rng.uniform(2.5, 4.5, n).astype(np.float32)[:, None, None]
        check = np.sin(np.pi * u / cell) * np.sin(np.pi * v / cell) * cell
        return _soft(check) * _soft(1.1 * r - np.maximum(np.abs(u), np.abs(v)))
    if label == 8:  # two blobs side by side
        off = 0.7 * r
        d1 = np.sqrt((u - off) ** 2 + v**2)
        d2 = np.sqrt((u + off) ** 2 + v**2)
        return np.maximum(_soft(0.55 * r - d1), _soft(0.55 * r - d2))
    if label == 9:  # two long parallel bars
        return _soft(0.25 * r - np.abs(np.abs(v) - 0.5 * r)) * _soft(1.2 * r - np.abs(u))
    raise ValueError(f"label must be 0..9, got {label}")


def _draw_class(label: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """n float32 images (n, 32, 32, 3) of one stand-in class, values roughly 0..255."""
    mask = _shape_masks(label, rng, n)[..., None]
    # Colours: the class's mean, moved a lot per image (shared hue shift + brightness).
    fg = _FG[label] + rng.normal(0, 45, (n, 3)).astype(np.float32)
    fg *= rng.uniform(0.6, 1.25, (n, 1)).astype(np.float32)
    bg = 0.5 * _BG[label] + 0.5 * rng.uniform(30, 220, (n, 3)).astype(np.float32)
    # Background: a flat colour with a random gradient and smooth blotches.
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1) - 0.5
    g = rng.normal(0, 40, (n, 2)).astype(np.float32)
    grad = (g[:, 0, None, None] * yy + g[:, 1, None, None] * xx)[..., None]
    back = bg[:, None, None, :] + grad + 30 * _smooth_noise(rng, n)
    img = back * (1 - mask) + fg[:, None, None, :] * mask
    img += rng.normal(0, 18, img.shape).astype(np.float32)  # sensor-like pixel noise
    return img


def make_cifar10_standin(n: int, seed: int | np.random.SeedSequence = 0) -> Split:
    """Generate n stand-in images (n // 10 per class, shuffled) and their int64 labels."""
    if n < 10 or n % 10:
        raise ValueError(f"n={n}: the stand-in has ten balanced classes, so n must be a multiple of 10.")
    rng = np.random.default_rng(seed)
    per = n // 10
    images = np.concatenate([_draw_class(c, rng, per) for c in range(10)])
    labels = np.repeat(np.arange(10, dtype=np.int64), per)
    order = rng.permutation(n)
    return np.clip(images[order], 0, 255).round().astype(np.uint8), labels[order]


def load_cifar10_quick(n_train: int = QUICK_TRAIN, n_test: int = QUICK_TEST, seed: int = 0) -> tuple[Split, Split]:
    """The generated stand-in: train and test drawn from independent streams of one seed."""
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    return make_cifar10_standin(n_train, train_seed), make_cifar10_standin(n_test, test_seed)


def load_cifar10(
    n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> tuple[Split, Split]:
    """CIFAR-10 for the current mode: ((x_train, y_train), (x_test, y_test)), uint8 32x32x3.

    n_train / n_test: None means the whole set (full: 50,000 / 10,000; quick: 5,000 / 1,000
    generated). In full mode a number keeps the first n images of the real files.
    """
    if env.is_quick():
        (xtr, ytr), (xte, yte) = load_cifar10_quick(n_train or QUICK_TRAIN, n_test or QUICK_TEST, seed)
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
            + ("" if whole else ", first images of each split") + ")"
        )
    return (xtr, ytr), (xte, yte)
