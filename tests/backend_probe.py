"""Run by tests/test_backends.py under one Keras backend (KERAS_BACKEND): the backend-neutral
helpers on fixed inputs and weights, saved to an .npz the test compares across backends.

    KERAS_BACKEND=jax python tests/backend_probe.py out.npz
"""

from __future__ import annotations

import sys

import numpy as np


def small_model():
    """Two convolutions, a global average and three class scores, weights from a fixed seed."""
    import keras
    from keras import layers

    inputs = keras.Input((None, None, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv2")(x)
    logits = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, logits)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
    return model


def main(out: str) -> None:
    import keras

    from course_utils import backends, viz

    x = np.linspace(-2, 2, 7).astype("float32")
    value, grad = backends.gradient(lambda t: keras.ops.sum(keras.ops.sin(t) * t**2), x)
    model = small_model()
    images = np.random.default_rng(1).uniform(0, 1, (4, 20, 20, 3)).astype("float32")
    cams, classes = viz.grad_cam(model, images, "conv2")
    cams_1, _ = viz.grad_cam(model, images, "conv1", class_index=[2, 0, 1, 1])
    options = dict(size=16, preprocess=lambda p: p / 255.0)
    _, start = viz.filter_patterns(model, "conv2", [0, 3, 5], steps=0, **options)
    patterns, responses = viz.filter_patterns(model, "conv2", [0, 3, 5], steps=4, **options)
    np.savez(
        out,
        backend=backends.backend(),
        value=keras.ops.convert_to_numpy(value),
        grad=keras.ops.convert_to_numpy(grad),
        cams=cams,
        classes=classes,
        cams_1=cams_1,
        patterns=patterns,
        responses=responses,
        start=start,
        upsampled=viz.upsample_heatmap(cams[0], (40, 40)),
    )


if __name__ == "__main__":
    main(sys.argv[1])
