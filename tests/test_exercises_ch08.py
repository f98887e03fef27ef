"""Chapter 08's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from course_utils.exercises import ch08
from exercise_support import chapter_functions, outcome, stub

AUTOTUNE = tf.data.AUTOTUNE
SOLVED = chapter_functions("08_classic_architectures_tf_data", AUTOTUNE=AUTOTUNE)
CHECKS = {ch08.check_output_size: "output_size", ch08.check_make_pipeline: "make_pipeline",
          ch08.check_layer_parameters: "layer_parameters"}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    for check, name in CHECKS.items():
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_the_output_size_reference_is_keras():
    from keras import layers

    rng = np.random.default_rng(0)
    for _ in range(30):
        size, kernel, stride = int(rng.integers(10, 60)), int(rng.integers(1, 8)), int(rng.integers(1, 5))
        for padding in ("valid", "same"):
            shape = layers.MaxPooling2D(kernel, strides=stride, padding=padding).compute_output_shape(
                (None, size, size, 1))
            assert shape[1] == ch08.output_size_reference(size, kernel, stride, padding)


def test_planted_mistakes_fail(capsys):
    def no_plus_one(size, kernel, stride, padding):
        return math.ceil(size / stride) if padding == "same" else (size - kernel) // stride

    def floor_for_same(size, kernel, stride, padding):
        return size // stride if padding == "same" else (size - kernel) // stride + 1

    def true_division(size, kernel, stride, padding):
        return size / stride if padding == "same" else (size - kernel) / stride + 1

    hints = {no_plus_one: "+ 1", floor_for_same: "round up", true_division: "whole number"}
    for wrong, hint in hints.items():
        for seed in range(4):
            line = outcome(capsys, ch08.check_output_size, wrong, seed=seed)
            assert line.startswith("FAIL") and hint in line, line

    def no_cache(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode)
        if training:
            ds = ds.shuffle(ds.cardinality(), seed=seed).map(augment)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def cache_after_augment(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode)
        if training:
            ds = ds.map(augment).cache().shuffle(ds.cardinality(), seed=seed)
        return ds.cache().batch(batch_size).prefetch(AUTOTUNE) if not training else ds.batch(batch_size).prefetch(AUTOTUNE)

    def shuffle_before_cache(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode)
        if training:
            ds = ds.shuffle(ds.cardinality(), seed=seed)
        ds = ds.cache()
        return (ds.map(augment) if training else ds).batch(batch_size).prefetch(AUTOTUNE)

    def augment_after_batch(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode).cache()
        if training:
            return ds.shuffle(ds.cardinality(), seed=seed).batch(batch_size).map(augment).prefetch(AUTOTUNE)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def validation_augmented(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode).cache()
        if training:
            ds = ds.shuffle(ds.cardinality(), seed=seed)
        return ds.map(augment).batch(batch_size).prefetch(AUTOTUNE)

    def no_prefetch(files, decode, augment, batch_size, training, seed=0):
        return SOLVED["make_pipeline"](files, decode, augment, batch_size, training, seed).unbatch().batch(batch_size)

    def prefetch_then_augment_twice(files, decode, augment, batch_size, training, seed=0):
        ds = SOLVED["make_pipeline"](files, decode, augment, batch_size, training, seed)
        return ds.unbatch().map(augment).batch(batch_size).prefetch(AUTOTUNE) if training else ds

    hints = {no_cache: "decode once", cache_after_augment: "same augmentation",
             shuffle_before_cache: "same order", augment_after_batch: "before batch",
             validation_augmented: "validation: the images were augmented",
             no_prefetch: "not prefetch", prefetch_then_augment_twice: "augmented twice"}
    for wrong, hint in hints.items():
        for seed in (0, 5):
            line = outcome(capsys, ch08.check_make_pipeline, wrong, seed=seed)
            assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)

    output_size = SOLVED["output_size"]

    def no_biases(input_shape, spec):
        height, width, channels = input_shape
        counts = []
        for kind, n, *rest in spec:
            if kind == "conv":
                counts.append(rest[0] * rest[0] * channels * n)
                channels = n
            elif kind == "pool":
                height, width = (output_size(side, n, rest[0], "valid") for side in (height, width))
                counts.append(0)
            else:
                counts.append(height * width * channels * n)
                height, width, channels = 1, 1, n
        return counts

    def pools_halve(input_shape, spec):  # pooling as if 2x2: side // stride
        height, width, channels = input_shape
        counts = []
        for kind, n, *rest in spec:
            if kind == "conv":
                counts.append(rest[0] * rest[0] * channels * n + n)
                channels = n
            elif kind == "pool":
                height, width = height // rest[0], width // rest[0]
                counts.append(0)
            else:
                counts.append(height * width * channels * n + n)
                height, width, channels = 1, 1, n
        return counts

    def keeps_input_channels(input_shape, spec):  # every conv sees the input's channels
        height, width, channels = input_shape
        right = SOLVED["layer_parameters"](input_shape, spec)
        return [k * k * channels * n + n if kind == "conv" else c
                for (kind, n, *rest), c, k in zip(spec, right, [s[-1] for s in spec])]

    for wrong in (no_biases, pools_halve, keeps_input_channels):
        for seed in range(4):
            line = outcome(capsys, ch08.check_layer_parameters, wrong, seed=seed)
            assert line.startswith("FAIL"), (wrong.__name__, line)
    assert "bias" in outcome(capsys, ch08.check_layer_parameters, no_biases, seed=0)
