"""Cats vs dogs: the small-data split of chapters 06 and 07, as class folders on disk.

full:  the Microsoft release of the Kaggle "Dogs vs. Cats" photos (12,500 cats and 12,500
       dogs), downloaded once through the registry (mirrors, sha256). If that fails and
       KAGGLE_USERNAME / KAGGLE_KEY are set in the environment, the Kaggle competition's
       train.zip is fetched with them instead (never a prompt). Files TensorFlow cannot
       decode are removed and counted, then the first 2,000 readable photos of each class
       are copied into train/ (1,000), validation/ (500) and test/ (500) class folders.
quick: no package ships these photos. The stand-in is the 200 real 25x25 grey photos of the
       `lfw_subset` that ships in scikit-image: 100 faces and 100 non-faces (crops of the
       same photos without a face), written as JPEGs into the same train/validation/test
       class-folder layout, 60/20/20 per class, read by the same
       `keras.utils.image_dataset_from_directory` code. Two classes, real photos, but faces
       vs non-faces, not cats vs dogs.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
import urllib.request
from pathlib import Path

from course_utils import atomic, env
from course_utils.datasets import announce

SPLITS = ("train", "validation", "test")
FULL_PER_CLASS = {"train": 1000, "validation": 500, "test": 500}
QUICK_PER_CLASS = {"train": 60, "validation": 20, "test": 20}
FULL_CLASSES = ("cat", "dog")
QUICK_CLASSES = ("face", "non_face")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")  # what image_dataset_from_directory reads
KAGGLE_URL = "https://www.kaggle.com/api/v1/competitions/data/download/dogs-vs-cats/train.zip"
UNREADABLE_DIR = "_unreadable"


class ImageFolderError(ValueError):
    """A class-folder data set is missing a class, has an empty class, or is not laid out right."""


# --- reading and checking images -------------------------------------------------------------

def is_decodable(path: Path) -> bool:
    """True when TensorFlow decodes the file as an image (what image_dataset_from_directory does)."""
    import tensorflow as tf

    try:
        data = path.read_bytes()
        if not data:
            return False
        tf.io.decode_image(data, channels=3, expand_animations=False)
        return True
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError, OSError):
        return False


def image_files(folder: Path) -> list[Path]:
    """Image files in one class folder (by suffix, as Keras picks them), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


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
            raise ImageFolderError(f"{split_dir} is missing: expected folders {list(splits)} in {base}.")
        found = tuple(sorted(p.name for p in split_dir.iterdir() if p.is_dir()))
        wanted = tuple(sorted(classes)) if classes else found
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise ImageFolderError(
                f"{split_dir} has no folder for class {missing} (found {list(found)}). Each split "
                f"needs one folder per class: {list(wanted)}. Rebuild it, or delete {base} and run "
                "the loader again."
            )
        if len(wanted) < 2:
            raise ImageFolderError(f"{split_dir} has {len(wanted)} class folder(s); a classifier needs two or more.")
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
                    f"{split_dir / cls} holds no readable image (jpg, png, bmp or gif). Put images "
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
        print(f"skipped {len(moved)} unreadable image(s), moved to {base / UNREADABLE_DIR}: {shown}")
    return counts


# --- full mode: download, scrub, split --------------------------------------------------------

def _kaggle_credentials() -> tuple[str, str] | None:
    """KAGGLE_USERNAME and KAGGLE_KEY from the environment, or None. Never prompts."""
    user, key = os.environ.get("KAGGLE_USERNAME", ""), os.environ.get("KAGGLE_KEY", "")
    return (user, key) if user and key else None


def download_from_kaggle(dest_dir: Path, url: str | None = None) -> Path:
    """Fetch Kaggle's dogs-vs-cats train.zip with credentials from the environment; return it."""
    from course_utils.download import DownloadError

    credentials = _kaggle_credentials()
    if credentials is None:
        raise DownloadError(
            "No Kaggle credentials: set KAGGLE_USERNAME and KAGGLE_KEY in the environment (from "
            "kaggle.com > Settings > API > Create New Token), accept the rules of the "
            "'dogs-vs-cats' competition on its page, and run the cell again."
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    archive = dest_dir / "kaggle_dogs_vs_cats_train.zip"
    part = archive.with_name(archive.name + ".part")
    token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    request = urllib.request.Request(url or KAGGLE_URL, headers={
        "Authorization": f"Basic {token}", "User-Agent": "keras-cv-course"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except OSError as err:
        part.unlink(missing_ok=True)
        hint = " (401/403: wrong key, or the competition's rules are not accepted yet)" \
            if getattr(err, "code", None) in (401, 403) else ""
        raise DownloadError(f"Kaggle download failed{hint}: {err}") from err
    part.replace(archive)
    # Kaggle publishes no checksum for this file; its content is checked when it is split.
    return archive


def extract_release(archive: Path, into: Path) -> Path:
    """Unpack a release zip (refusing members that escape `into`), and any zip inside it."""
    from course_utils.download import safe_extract

    safe_extract(archive, into)
    for inner in list(Path(into).rglob("*.zip")):  # Kaggle's file may come zipped once more
        safe_extract(inner, inner.parent)
        inner.unlink()
    return Path(into)


_MS_PATTERN = re.compile(r"^(\d+)\.jpe?g$", re.IGNORECASE)            # PetImages/Cat/123.jpg
_KAGGLE_PATTERN = re.compile(r"^(cat|dog)\.(\d+)\.jpe?g$", re.IGNORECASE)  # train/cat.123.jpg


def collect_class_files(root: Path) -> dict[str, list[Path]]:
    """Cat and dog photos under an extracted release, in numeric order (Microsoft or Kaggle layout)."""
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
        start = 0
        for split in SPLITS:
            folder = Path(out) / split / cls
            folder.mkdir(parents=True)
            for path in paths[start:start + per_class[split]]:
                number = re.findall(r"\d+", path.name)[-1]
                shutil.copyfile(path, folder / f"{cls}.{number}.jpg")
            start += per_class[split]
    return check_image_folders(out, classes=FULL_CLASSES)


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
        return {"source": source, "removed_unreadable": scrub["removed"],
                "checked": scrub["checked"], "removed_files": scrub["files"], "counts": counts}

    return out, atomic.build_folder(out, build)


def _download_release(out: Path) -> tuple[Path, str]:
    """The release zip (downloaded once, or found in the downloads folder) and its name."""
    from course_utils.download import DownloadError, cached_file, fetch

    known = cached_file("cats_vs_dogs")
    if known is not None:
        print(f"{known.name} is already in {known.parent}: building the split from it into {out}, "
              "no download needed.")
    try:
        return fetch("cats_vs_dogs"), "Microsoft release (kagglecatsanddogs_5340.zip)"
    except DownloadError as err:
        if _kaggle_credentials() is None:
            raise DownloadError(
                f"{err}\n\nOr: set KAGGLE_USERNAME and KAGGLE_KEY to download Kaggle's copy."
            ) from err
        print(f"Microsoft download failed; trying Kaggle with KAGGLE_USERNAME={os.environ['KAGGLE_USERNAME']}")
        return download_from_kaggle(env.downloads_dir()), "Kaggle dogs-vs-cats train.zip"


# --- quick mode: real faces vs non-faces from scikit-image ------------------------------------

def load_cats_vs_dogs_quick(out: Path | None = None) -> tuple[Path, dict]:
    """Write scikit-image's lfw_subset (100 faces, 100 non-faces) as JPEGs in the same layout."""
    out = Path(out) if out else env.data_dir() / "cats_vs_dogs_quick_standin"

    def build(tmp: Path) -> dict:
        import numpy as np
        from PIL import Image
        from skimage import data as skdata

        images = (skdata.lfw_subset() * 255).round().astype(np.uint8)  # (200, 25, 25); faces first
        groups = {"face": images[:100], "non_face": images[100:]}
        rng = np.random.default_rng(0)
        for cls, imgs in groups.items():
            order = rng.permutation(len(imgs))
            start = 0
            for split in SPLITS:
                folder = tmp / split / cls
                folder.mkdir(parents=True)
                for i in order[start:start + QUICK_PER_CLASS[split]]:
                    Image.fromarray(imgs[i]).convert("RGB").save(folder / f"{cls}.{i}.jpg", quality=95)
                start += QUICK_PER_CLASS[split]
        counts = check_image_folders(tmp, classes=QUICK_CLASSES)
        return {"source": "scikit-image lfw_subset", "removed_unreadable": 0, "counts": counts}

    return out, atomic.build_folder(out, build)


def load_cats_vs_dogs_split() -> Path:
    """The split folder for the current mode (train/, validation/, test/, one folder per class)."""
    if env.is_quick():
        base, report = load_cats_vs_dogs_quick()
        c = report["counts"]
        announce(
            "cats vs dogs, quick mode: NOT cats and dogs. A stand-in with the same folder layout: "
            "scikit-image's lfw_subset, 200 real 25x25 grey photos, faces vs non-faces, "
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
