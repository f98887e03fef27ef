"""Quick mode's stand-in for VGG16 in chapter 07: a VGG16-shaped digit network with batch
normalisation, pretrained once on the eight digits the 4s-vs-9s stand-in does not use, cached as
`.keras`; and the data it needs (the other digits on canvases, a smaller training split)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
from keras import layers  # noqa: E402

from course_utils import digit_vgg  # noqa: E402
from course_utils.datasets import cats_vs_dogs as cvd  # noqa: E402


def test_the_base_has_vgg16s_layer_names_and_a_bn_after_every_conv():
    base = digit_vgg.build_digit_vgg_base()
    vgg16 = keras.applications.VGG16(weights=None, include_top=False, input_shape=(48, 48, 3))
    ours = [
        layer.name
        for layer in base.layers
        if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))
    ]
    assert ours == [layer.name for layer in vgg16.layers[1:]]
    bns = [layer for layer in base.layers if isinstance(layer, layers.BatchNormalization)]
    assert len(bns) == 13 and all(not bn.scale for bn in bns)
    assert all(not c.use_bias for c in base.layers if isinstance(c, layers.Conv2D))
    assert base.output.shape == (None, 1, 1, digit_vgg.FILTERS[-1])
    # kernel + BN shift per conv: as many trainable tensors as VGG16's kernel + bias
    assert len(base.trainable_weights) == len(vgg16.trainable_weights) == 26


def test_other_digits_are_disjoint_from_the_stand_in_and_placed_alike():
    images, labels = cvd.other_digits_on_canvas()
    assert images.shape == (4000, 48, 48) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 8
    assert 4 not in cvd.OTHER_DIGITS and 9 not in cvd.OTHER_DIGITS
    assert set(cvd.OTHER_DIGITS) | set(cvd.QUICK_DIGITS.values()) == set(range(10))
    # every digit fits its canvas with a black border somewhere, as place_on_canvas makes them
    assert (images.reshape(len(images), -1).max(axis=1) > 100).all()
    assert (images[:, 0, :].max(axis=1) == 0).mean() > 0.5
    again, _ = cvd.other_digits_on_canvas()
    np.testing.assert_array_equal(images[:20], again[:20])


def _split(root, per_class):
    for split, n in per_class.items():
        for cls in ("a", "b"):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(folder / f"{cls}.{i}.jpg")
    return root


def test_training_subset_keeps_the_first_images_of_each_class(tmp_path):
    base = _split(tmp_path / "split", {"train": 5, "validation": 2, "test": 3})
    small = cvd.training_subset(base, 2)
    assert small != base
    for cls in ("a", "b"):
        assert sorted(p.name for p in (small / "train" / cls).iterdir()) == [
            f"{cls}.0.jpg",
            f"{cls}.1.jpg",
        ]
        assert len(list((small / "validation" / cls).iterdir())) == 2
        assert len(list((small / "test" / cls).iterdir())) == 3
    assert cvd.training_subset(base, 2) == small  # built once
    assert cvd.training_subset(base, 5) == base  # nothing to drop


def test_pretrained_once_then_read_from_disk_and_reseeded(course_dirs, monkeypatch, capsys):
    monkeypatch.setattr(digit_vgg, "PRETRAIN_EPOCHS", 1)
    first = digit_vgg.load_digit_vgg_base(seed=7)
    after_first = np.random.rand()
    out = capsys.readouterr().out
    assert "pretrained on 3,500 digits" in out and "NOT VGG16" in out
    assert digit_vgg.digit_vgg_base_path().is_file()
    record = (digit_vgg.digit_vgg_base_path().parent / ".complete").read_text()
    assert '"epochs": 1' in record
    second = digit_vgg.load_digit_vgg_base(seed=7)
    after_second = np.random.rand()
    assert "pretrained on" not in capsys.readouterr().out  # read, not trained again
    assert after_first == after_second  # the chapter goes on the same way either way
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # one epoch already learns the eight digits far above chance (1/8)
    assert float(record.split('"held_out_accuracy": ')[1].split(",")[0]) > 0.4
    # trained: the BN layers' moving means left their initial zeros
    assert not np.allclose(second.get_layer("block3_bn1").moving_mean.numpy(), 0.0)
