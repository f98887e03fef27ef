"""Chapter 09's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import viz
from course_utils.exercises import ch09
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("09_visualising_convnets")
CHECKS = {
    ch09.check_channel_weights: "channel_weights",
    ch09.check_heatmaps_at_size: "heatmaps_at_size",
    ch09.check_evidence_against: "evidence_against",
}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    for check, name in CHECKS.items():
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


@pytest.mark.parametrize("seed", [4, 5])
def test_planted_mistakes_fail(capsys, seed):
    def summed(grads):  # the sum over the positions, not the mean
        return tf.reduce_sum(grads, axis=(1, 2))

    def over_channels(grads):  # the wrong axis
        return tf.reduce_mean(grads, axis=-1)

    def over_rows(grads):  # only one of the two position axes
        return tf.reduce_mean(grads, axis=1)

    hints = {summed: "times too large", over_channels: "mean over the channels", over_rows: ""}
    for wrong, hint in hints.items():
        line = outcome(capsys, ch09.check_channel_weights, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)

    def no_relu(cam, size):
        peak = np.abs(cam).max(axis=(1, 2), keepdims=True)
        return keras.ops.image.resize((cam / peak)[..., None], size)[..., 0].numpy()

    def one_scale(cam, size):  # one maximum for the whole batch
        positive = np.maximum(cam, 0)
        return keras.ops.image.resize((positive / positive.max())[..., None], size)[..., 0].numpy()

    def swapped(cam, size):  # (width, height)
        return SOLVED["heatmaps_at_size"](cam, size[::-1])

    def nearest(cam, size):
        positive = np.maximum(cam, 0)
        scaled = np.divide(positive, positive.max(axis=(1, 2), keepdims=True), out=np.zeros_like(positive),
                           where=positive.max(axis=(1, 2), keepdims=True) > 0)
        return keras.ops.image.resize(scaled[..., None], size, interpolation="nearest")[..., 0].numpy()

    def resized_first(cam, size):  # resize, then ReLU and scale: the 0..1 map's peak is 1 exactly
        big = keras.ops.image.resize(cam[..., None], size)[..., 0].numpy()
        return SOLVED["heatmaps_at_size"](big, size)

    hints = {no_relu: "ReLU", one_scale: "whole batch", swapped: "height, width", nearest: "", resized_first: ""}
    for wrong, hint in hints.items():
        line = outcome(capsys, ch09.check_heatmaps_at_size, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)

    def evidence_for(maps, head, class_index):  # forgot to negate
        with tf.GradientTape() as tape:
            tape.watch(maps)
            score = tf.reduce_sum(head(maps)[:, class_index])
        alpha = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(maps * alpha, axis=-1))
        return tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True)).numpy()

    def negated_after_relu(maps, head, class_index):
        return -evidence_for(maps, head, class_index)

    def top_class(maps, head, class_index):  # each image's own top class instead
        classes = tf.argmax(head(maps), axis=-1)
        return np.stack([SOLVED["evidence_against"](maps[i:i + 1], head, int(c))[0] for i, c in enumerate(classes)])

    def through_softmax(maps, head, class_index):
        return SOLVED["evidence_against"](maps, lambda m: tf.nn.softmax(head(m)), class_index)

    hints = {evidence_for: "evidence FOR", negated_after_relu: "", top_class: "top class",
             through_softmax: ""}
    for wrong, hint in hints.items():
        line = outcome(capsys, ch09.check_evidence_against, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)


def test_the_reference_of_9_3_is_viz_grad_cam_with_the_scores_negated():
    """Evidence against c = Grad-CAM of a model whose scores are negated (checked by viz.grad_cam)."""
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 10, 3)), keras.layers.Conv2D(6, 3, activation="relu", name="maps"),
                              keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)])
    negated = keras.Sequential([keras.Input((12, 10, 3)), *model.layers, keras.layers.Lambda(lambda s: -s)])
    images = rng.normal(size=(3, 12, 10, 3)).astype("float32")
    expected, _ = viz.grad_cam(negated, images, "maps", class_index=2)
    body = keras.Model(model.inputs[0], model.get_layer("maps").output)
    head = keras.Sequential([keras.Input((10, 8, 6)), *model.layers[1:]])
    ours = ch09._grad_cam_reference(body(images), head, 2, sign=-1.0)
    assert np.abs(ours - expected).max() < 1e-5
