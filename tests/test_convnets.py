"""Chapter 06's small convnet, as course_utils builds it for later chapters."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from course_utils import convnets  # noqa: E402


def test_parameter_counts_at_150_match_the_book():
    assert convnets.small_convnet((150, 150)).count_params() == 3_453_121
    assert (
        convnets.small_convnet((150, 150), augment=True, dropout=True).count_params() == 3_453_121
    )
    assert convnets.small_convnet((150, 150), head="average").count_params() == 240_961


def test_augmentation_flips_only_when_asked():
    kinds = lambda aug: [type(layer).__name__ for layer in aug.layers]  # noqa: E731
    assert kinds(convnets.augmentation(flip=True))[0] == "RandomFlip"
    assert "RandomFlip" not in kinds(convnets.augmentation(flip=False))
    assert "RandomTranslation" in kinds(convnets.augmentation(flip=False))


def test_augmentation_and_dropout_are_idle_at_inference():
    model = convnets.small_convnet((48, 48), augment=True, dropout=True)
    x = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 3)).astype("float32")
    a, b = model(x, training=False).numpy(), model(x, training=False).numpy()
    assert np.array_equal(a, b) and a.shape == (4, 1) and ((a > 0) & (a < 1)).all()
    assert not np.allclose(model(x, training=True).numpy(), a)  # random while training
    assert any(isinstance(layer, layers.Dropout) for layer in model.layers)


def test_bad_head_or_tiny_images_are_clear_errors():
    with pytest.raises(ValueError, match="head must be one of"):
        convnets.small_convnet((48, 48), head="flat")
    with pytest.raises(ValueError, match="too small"):
        convnets.small_convnet((32, 32))
