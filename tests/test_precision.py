"""course_utils.precision: which dtype policy a machine gets, and what float16 costs in
accuracy."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_utils import precision


def test_tensor_cores_get_float16_tpus_bfloat16_everything_else_float32():
    assert precision.policy_for("gpu", (7, 5)) == "mixed_float16"  # Colab's T4
    assert precision.policy_for("gpu", (8, 0)) == "mixed_float16"  # A100
    assert precision.policy_for("gpu", (6, 1)) == "float32"  # a P100-era card: no tensor cores
    assert precision.policy_for("gpu", None) == "float32"
    assert precision.policy_for("tpu") == "mixed_bfloat16"
    assert precision.policy_for("cpu") == "float32"


def test_this_cpu_keeps_float32():
    assert precision.accelerator() == ("cpu", None)
    try:
        assert precision.use_best_policy() == "float32"
        assert keras.mixed_precision.dtype_policy().name == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_quick_mode_keeps_float32_on_a_t4(monkeypatch):
    monkeypatch.setattr(precision, "accelerator", lambda: ("gpu", (7, 5)))
    try:
        assert precision.use_best_policy(fast=False) == "float32"
        assert keras.mixed_precision.dtype_policy().name == "float32"
        assert precision.use_best_policy(fast=True) == "mixed_float16"
        assert keras.mixed_precision.dtype_policy().name == "mixed_float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def digits():
    from course_utils.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_mnist_quick()
    scale = lambda x: x[..., None].astype("float32") / 255  # noqa: E731
    return scale(x_train), y_train, scale(x_test), y_test


def chapter_05_convnet(policy: str) -> keras.Model:
    """Chapter 05's MNIST convnet (smaller), its last layer in float32 as mixed precision asks."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Conv2D(32, 3, activation="relu"),
                keras.layers.MaxPooling2D(),
                keras.layers.Conv2D(64, 3, activation="relu"),
                keras.layers.MaxPooling2D(),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(10, activation="softmax", dtype="float32"),
            ]
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_float16_gives_the_same_answers_as_float32_on_real_digits(digits):
    """The same trained weights, run in float16: class probabilities within 0.01 of float32's and
    at least 99% of the answers the same (measured on seeds 0-2: at most 1.2e-3 apart, 100% the
    same, on 1,000 test digits)."""
    x_train, y_train, x_test, _ = digits
    keras.utils.set_random_seed(0)
    full = chapter_05_convnet("float32")
    full.compile("rmsprop", "sparse_categorical_crossentropy")
    full.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)
    half = chapter_05_convnet("mixed_float16")
    half.set_weights(full.get_weights())
    assert half.layers[0].compute_dtype == "float16" and half.layers[-1].compute_dtype == "float32"
    p_full, p_half = full.predict(x_test, verbose=0), half.predict(x_test, verbose=0)
    assert np.abs(p_half - p_full).max() <= 0.01
    assert (p_half.argmax(axis=1) == p_full.argmax(axis=1)).mean() >= 0.99
