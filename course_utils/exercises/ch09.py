"""Checks for chapter 09's exercises: Grad-CAM's channel weights, a batch of heatmaps at the
image's size, and the evidence *against* a class (the counterfactual map)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, compare, fresh_seed, run


def check_channel_weights(fn: Callable, seed: int | None = None) -> None:
    """Exercise 9.1: alpha, the gradient averaged over the positions, one weight per channel."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        n, h, w, c = 3, int(rng.integers(4, 7)), int(rng.integers(8, 11)), 5
        grads = rng.normal(size=(n, h, w, c)).astype("float32")
        expected = grads.mean(axis=(1, 2))
        got = np.asarray(call(fn, grads), dtype=np.float64)
        passed, how = compare(got, expected, rtol=1e-5, atol=1e-6, what="your weights")
        if not passed and got.shape == expected.shape and np.allclose(got, expected * h * w, rtol=1e-4):
            how += f" (yours are {h * w} times too large: the sum over the positions, not the mean)"
        elif not passed and got.shape == (n, h, w):
            how += " (one number per position: that is the mean over the channels, axis -1)"
        return passed, f"gradients of shape {grads.shape}: {how}"

    run("9.1 (channel weights)", body, seed=seed,
        repeat="ch09.check_channel_weights(channel_weights, seed={seed})")


def _heatmaps_reference(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    positive = np.maximum(cam, 0.0)
    peak = positive.max(axis=(1, 2), keepdims=True)
    scaled = np.divide(positive, peak, out=np.zeros_like(positive), where=peak > 0)
    return tf.image.resize(scaled[..., None].astype("float32"), size).numpy()[..., 0]


def check_heatmaps_at_size(fn: Callable, seed: int | None = None) -> None:
    """Exercise 9.2: ReLU, each map scaled to 0..1 on its own, resized bilinearly to the image."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        cam = rng.normal(size=(4, 6, 8)).astype("float32")
        cam[1] *= 5.0  # a stronger map: one scale for the whole batch would dim the others
        cam[3] = -np.abs(cam[3])  # no evidence for the class anywhere: this map stays 0
        size = (30, 44)  # (height, width), not square
        expected = _heatmaps_reference(cam, size)
        got = np.asarray(call(fn, cam, size), dtype=np.float64)
        if got.shape == (4, 44, 30):
            return False, "your heatmaps are 44x30: size is (height, width), here 30 rows by 44 columns"
        passed, how = compare(got, expected, rtol=1e-4, atol=1e-5, what="your heatmaps")
        if not passed and got.shape == expected.shape:
            if got.min() < -1e-6:
                how += " (negative values: the ReLU, which keeps only the evidence for the class, is missing)"
            elif np.all(np.isfinite(got)) and abs(got[1].max() - expected[1].max()) < 1e-3 and got[0].max() < 0.5:
                how += " (the maps were scaled by one maximum for the whole batch: scale each image by its own)"
        return passed, f"4 maps of 6x8 (one with no positive value) to 30x44: {how}"

    run("9.2 (heatmaps at the image's size)", body, seed=seed,
        repeat="ch09.check_heatmaps_at_size(heatmaps_at_size, seed={seed})")


def _small_head(rng: np.random.Generator, channels: int, classes: int):
    import keras

    keras.utils.set_random_seed(int(rng.integers(2**31)))
    return keras.Sequential([
        keras.Input((None, None, channels)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(classes),
    ], name="small_head")


def _grad_cam_reference(maps, head: Callable, class_index: int, sign: float):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(maps)
        score = sign * tf.reduce_sum(head(maps)[:, class_index])
    alpha = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(maps * alpha, axis=-1))
    return tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True)).numpy()


def check_evidence_against(fn: Callable, seed: int | None = None) -> None:
    """Exercise 9.3: the counterfactual map, Grad-CAM with the class score's gradient negated."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        import tensorflow as tf

        rng = np.random.default_rng(seed)
        head = _small_head(rng, channels=6, classes=4)
        maps = tf.constant(rng.normal(size=(3, 5, 7, 6)).astype("float32"))
        scores = head(maps).numpy()
        c = int(np.argmin(scores.sum(axis=0)))  # a class no image has as its top class
        expected = _grad_cam_reference(maps, head, c, sign=-1.0)
        got = call(fn, maps, head, c)
        passed, how = compare(got, expected, rtol=1e-4, atol=1e-5, what="your maps")
        got = np.asarray(got, dtype=np.float64)
        if not passed and got.shape == expected.shape:
            if np.allclose(got, _grad_cam_reference(maps, head, c, sign=1.0), atol=1e-4):
                how += f" (yours is the evidence FOR class {c}: negate the gradient)"
            else:
                top = scores.argmax(axis=1)
                if np.allclose(got, np.stack([_grad_cam_reference(maps[i:i + 1], head, int(top[i]), -1.0)[0]
                                              for i in range(3)]), atol=1e-4):
                    how += f" (yours uses each map's top class, not class_index={c})"
        return passed, f"3 random 5x7x6 maps, a small random head, class {c}: {how}"

    run("9.3 (evidence against a class)", body, seed=seed,
        repeat="ch09.check_evidence_against(evidence_against, seed={seed})")
