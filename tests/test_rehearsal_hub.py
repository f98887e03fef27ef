"""tools/rehearsal_hub.py writes files the course's own loaders read, in the real layouts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from course_utils import download
from course_utils.datasets import cats_vs_dogs, cifar10, oxford_pets
from course_utils.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("rehearsal_hub", ROOT / "tools" / "rehearsal_hub.py")
hub = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hub)


@pytest.fixture
def small_hub(monkeypatch):
    monkeypatch.setattr(hub, "CATS_DOGS_PER_CLASS", 12)
    monkeypatch.setattr(hub, "PET_BREEDS", 3)
    monkeypatch.setattr(hub, "PET_PER_BREED", 4)
    monkeypatch.setattr(hub, "CIFAR_PER_BATCH", 20)


def test_cats_vs_dogs_zip_has_the_release_layout_and_its_broken_files(small_hub, tmp_path):
    hub.write_cats_vs_dogs(tmp_path)
    root = cats_vs_dogs.extract_release(
        tmp_path / REGISTRY["cats_vs_dogs"].filename, tmp_path / "x"
    )
    files = cats_vs_dogs.collect_class_files(root)
    assert {k: len(v) for k, v in files.items()} == {
        "cat": 14,
        "dog": 14,
    }  # 12 photos + 2 broken each
    report = cats_vs_dogs.scrub_unreadable(root)
    assert report["removed"] == 4
    assert sorted(Path(f).name for f in report["files"]) == [
        "10404.jpg",
        "11702.jpg",
        "2317.jpg",
        "666.jpg",
    ]


def test_cifar10_batches_read_with_the_course_reader(small_hub, tmp_path):
    hub.write_cifar10(tmp_path)
    root = (
        download.safe_extract(tmp_path / "cifar-10-python.tar.gz", tmp_path / "x")
        / "cifar-10-batches-py"
    )
    images, labels = cifar10.read_batch(root / "data_batch_3")
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8 and labels.max() < 10
    assert sorted(p.name for p in root.iterdir()) == [
        "batches.meta",
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "readme.html",
        "test_batch",
    ]


def test_oxford_pets_tarballs_read_with_the_course_reader(small_hub, tmp_path):
    hub.write_oxford_pets(tmp_path)
    images = download.safe_extract(tmp_path / "images.tar.gz", tmp_path / "i") / "images"
    annotations = (
        download.safe_extract(tmp_path / "annotations.tar.gz", tmp_path / "a") / "annotations"
    )
    x, y = oxford_pets.read_pets_split(images, annotations, "trainval", size=32)
    x_test, _ = oxford_pets.read_pets_split(images, annotations, "test", size=32)
    assert x.shape == (6, 32, 32, 3) and len(x_test) == 6
    assert set(np.unique(y)) == {0, 1, oxford_pets.IGNORE_LABEL}  # pet, background, border


def test_vgg16_weights_load_into_keras_applications(tmp_path):
    import keras

    path = tmp_path / REGISTRY["vgg16_imagenet_notop"].filename
    hub._write_keras_h5(path, keras.applications.VGG16(weights=None, include_top=False))
    model = keras.applications.VGG16(weights=str(path), include_top=False)
    kernel = model.get_layer("block5_conv3").kernel.numpy()
    assert kernel.shape == (3, 3, 512, 512) and 0.01 < kernel.std() < 0.1  # loaded, not zeros


def test_the_manifest_holds_the_checksum_of_every_file_written(small_hub, tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "WRITERS", {"imagenet": hub.write_imagenet_extras})
    assert hub.main([str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / hub.MANIFEST).read_text())
    assert sorted(manifest) == ["elephant", "imagenet_class_index"]
    for name, checksum in manifest.items():
        assert download.verify(tmp_path / REGISTRY[name].filename, checksum)


def test_oxford_pets_head_boxes_read_with_the_course_reader(small_hub, tmp_path):
    """Every trainval photo has its head box in annotations/xmls (PASCAL VOC), the test photos
    none, as in the real release; the box sits in the top half of the pet's trimap region."""
    hub.write_oxford_pets(tmp_path)
    images = download.safe_extract(tmp_path / "images.tar.gz", tmp_path / "i") / "images"
    annotations = (
        download.safe_extract(tmp_path / "annotations.tar.gz", tmp_path / "a") / "annotations"
    )
    trainval = [
        line.split()[0] for line in (annotations / "trainval.txt").read_text().splitlines()
    ]
    assert sorted(p.stem for p in (annotations / "xmls").iterdir()) == sorted(trainval)
    x, objects, missing = oxford_pets.read_pet_heads(images, annotations, size=32)
    assert x.shape == (6, 32, 32, 3) and missing == 0
    assert len(objects.boxes) == 6 and np.array_equal(objects.image, np.arange(6))
    species = [
        int(line.split()[2]) - 1
        for line in (annotations / "trainval.txt").read_text().splitlines()
    ]
    assert np.array_equal(objects.labels, species)
    assert (objects.boxes[:, 2:] > objects.boxes[:, :2]).all()
    assert (objects.boxes[:, 3] < 0.5).all() and (
        objects.boxes[:, 1] > 0.1
    ).all()  # the head is on top
