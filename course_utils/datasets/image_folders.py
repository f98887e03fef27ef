"""A data set as a folder of class folders, the layout `keras.utils.image_dataset_from_directory`
reads: base/<split>/<class>/<image>. `check_image_folders` checks one before Keras reads it: every
split has the same classes, no class is empty, and images that cannot be decoded are moved
aside (Keras would stop at the first one, deep inside an epoch).
"""

from __future__ import annotations

import shutil
from pathlib import Path

SPLITS = ("train", "validation", "test")
IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
)  # what image_dataset_from_directory reads
UNREADABLE_DIR = "_unreadable"


class ImageFolderError(ValueError):
    """A class-folder data set is missing a class, has an empty class, or is not laid out right."""


def is_decodable(path: Path) -> bool:
    """True when the file decodes as an image the way image_dataset_from_directory will read it:
    with TensorFlow (`format="tf"`) where TensorFlow is installed, else with PIL (what its
    `format="grain"` uses, on Colab's TPU runtime)."""
    import importlib.util

    try:
        data = path.read_bytes()
    except OSError:
        return False
    if not data:
        return False
    if importlib.util.find_spec("tensorflow") is None:
        import io

        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.convert("RGB").load()
            return True
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return False
    import tensorflow as tf

    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
        return True
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
        return False


def image_files(folder: Path) -> list[Path]:
    """Image files in one class folder (by suffix, as Keras picks them), sorted by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def check_image_folders(
    base: Path, splits: tuple[str, ...] = SPLITS, classes: tuple[str, ...] | None = None
) -> dict[str, dict[str, int]]:
    """Check a split/class folder tree before Keras reads it; move unreadable images aside.

    Raises ImageFolderError for a missing split or class folder, an empty class, or splits with
    different classes. Files TensorFlow cannot decode are moved to `base/_unreadable/` and
    reported, so `image_dataset_from_directory` never meets them. Returns images per class.
    """
    base = Path(base)
    counts: dict[str, dict[str, int]] = {}
    moved: list[str] = []
    for split in splits:
        split_dir = base / split
        if not split_dir.is_dir():
            raise ImageFolderError(
                f"{split_dir} is missing: expected folders {list(splits)} in {base}."
            )
        found = tuple(sorted(p.name for p in split_dir.iterdir() if p.is_dir()))
        wanted = tuple(sorted(classes)) if classes else found
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise ImageFolderError(
                f"{split_dir} has no folder for class {missing} (found {list(found)}). Each split "
                f"needs one folder per class: {list(wanted)}. Rebuild it, or delete {base} and "
                "run "
                "the loader again."
            )
        if len(wanted) < 2:
            raise ImageFolderError(
                f"{split_dir} has {len(wanted)} class folder(s); a classifier needs two or more."
            )
        counts[split] = {}
        for cls in wanted:
            kept = 0
            for path in image_files(split_dir / cls):
                if is_decodable(path):
                    kept += 1
                    continue
                target = base / UNREADABLE_DIR / split / cls / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), target)
                moved.append(f"{split}/{cls}/{path.name}")
            if kept == 0:
                raise ImageFolderError(
                    f"{split_dir / cls} holds no readable image (jpg, png, bmp or gif). Put "
                    "images "
                    f"there, or delete {base} and run the loader again."
                )
            counts[split][cls] = kept
        if classes is None and split != splits[0] and set(counts[split]) != set(counts[splits[0]]):
            raise ImageFolderError(
                f"{split_dir} has classes {sorted(counts[split])} but {base / splits[0]} has "
                f"{sorted(counts[splits[0]])}: every split needs the same class folders."
            )
    if moved:
        shown = ", ".join(moved[:5]) + (" ..." if len(moved) > 5 else "")
        print(
            f"skipped {len(moved)} unreadable image(s), moved to {base / UNREADABLE_DIR}: {shown}"
        )
    return counts
