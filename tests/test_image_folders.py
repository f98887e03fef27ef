"""Checking a folder of class folders before Keras reads it: missing, empty or mismatched class
folders are clear errors; real JPEGs that TensorFlow cannot decode are moved aside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from photos import real_jpegs  # noqa: E402

from course_utils.datasets.image_folders import (  # noqa: E402
    UNREADABLE_DIR,
    ImageFolderError,
    check_image_folders,
)


def _tree(base: Path, layout: dict[str, dict[str, int]]) -> None:
    photos = iter(real_jpegs(40, 9))
    for split, classes in layout.items():
        for cls, n in classes.items():
            folder = base / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                (folder / f"{cls}.{i}.jpg").write_bytes(next(photos))


GOOD = {
    "train": {"cat": 3, "dog": 3},
    "validation": {"cat": 2, "dog": 2},
    "test": {"cat": 2, "dog": 2},
}


def test_good_tree_is_counted(tmp_path):
    _tree(tmp_path, GOOD)
    assert check_image_folders(tmp_path, classes=("cat", "dog")) == GOOD


def test_missing_class_folder(tmp_path):
    _tree(tmp_path, {**GOOD, "validation": {"cat": 2}})
    with pytest.raises(ImageFolderError, match=r"validation has no folder for class \['dog'\]"):
        check_image_folders(tmp_path, classes=("cat", "dog"))


def test_splits_with_different_classes(tmp_path):
    _tree(tmp_path, {**GOOD, "test": {"cat": 2, "bird": 2}})
    with pytest.raises(ImageFolderError, match="same class folders"):
        check_image_folders(tmp_path)


def test_empty_class_folder(tmp_path):
    _tree(tmp_path, GOOD)
    for f in (tmp_path / "test" / "dog").iterdir():
        f.unlink()
    (tmp_path / "test" / "dog" / "notes.txt").write_text("no images here")
    with pytest.raises(ImageFolderError, match="test/dog holds no readable image"):
        check_image_folders(tmp_path, classes=("cat", "dog"))


def test_missing_split_folder(tmp_path):
    _tree(tmp_path, {"train": GOOD["train"], "validation": GOOD["validation"]})
    with pytest.raises(ImageFolderError, match="test is missing"):
        check_image_folders(tmp_path)


def test_unreadable_image_is_moved_aside_and_reported(tmp_path, capsys):
    _tree(tmp_path, GOOD)
    bad = tmp_path / "train" / "dog" / "dog.1.jpg"
    bad.write_bytes(bad.read_bytes()[:200])  # truncated
    counts = check_image_folders(tmp_path, classes=("cat", "dog"))
    assert counts["train"]["dog"] == 2
    assert not bad.exists()
    assert (tmp_path / UNREADABLE_DIR / "train" / "dog" / "dog.1.jpg").exists()
    assert "skipped 1 unreadable image(s)" in capsys.readouterr().out
    # Keras now reads the folder without meeting the broken file.
    import keras

    ds = keras.utils.image_dataset_from_directory(
        tmp_path / "train", image_size=(32, 32), batch_size=8, verbose=False
    )
    assert sum(int(x.shape[0]) for x, _ in ds) == 5


def test_without_tensorflow_pil_decides_and_keras_grain_format_reads_the_rest(
    tmp_path, monkeypatch
):
    """Colab's TPU runtime has no TensorFlow: Keras reads folders with PIL (format="grain")."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorflow" else real_find_spec(name, *a),
    )
    _tree(tmp_path, GOOD)
    bad = tmp_path / "train" / "cat" / "cat.2.jpg"
    bad.write_bytes(bad.read_bytes()[:200])  # truncated
    (tmp_path / "train" / "dog" / "dog.0.jpg").write_bytes(b"<html>not an image</html>")
    counts = check_image_folders(tmp_path, classes=("cat", "dog"))
    assert counts["train"] == {"cat": 2, "dog": 2}
    assert sorted(p.name for p in (tmp_path / UNREADABLE_DIR / "train").rglob("*.jpg")) == [
        "cat.2.jpg",
        "dog.0.jpg",
    ]
    pytest.importorskip("grain")
    import keras

    ds = keras.utils.image_dataset_from_directory(
        tmp_path / "train", image_size=(32, 32), batch_size=8, verbose=False, format="grain"
    )
    assert sum(int(x.shape[0]) for x, _ in ds) == 4
