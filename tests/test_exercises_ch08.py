"""Chapter 08's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_utils.exercises import ch08
from exercise_support import chapter_functions, outcome, stub

AUTOTUNE = tf.data.AUTOTUNE
SOLVED = chapter_functions("08_classic_architectures_tf_data", AUTOTUNE=AUTOTUNE)
CHECKS = {ch08.check_ten_crops: "ten_crops", ch08.check_make_pipeline: "make_pipeline",
          ch08.check_layer_parameters: "layer_parameters"}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    for check, name in CHECKS.items():
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_the_ten_crops_reference_on_a_small_image():
    image = np.arange(4 * 5).reshape(4, 5, 1)  # rows 0..3, columns 0..4
    crops = ch08.ten_crops_reference(image, 2)[..., 0]
    assert crops.shape == (10, 2, 2)
    assert crops[0].tolist() == [[0, 1], [5, 6]] and crops[3].tolist() == [[13, 14], [18, 19]]
    assert crops[4].tolist() == [[6, 7], [11, 12]]  # starts at row (4-2)//2 = 1, column (5-2)//2 = 1
    assert crops[5].tolist() == [[1, 0], [6, 5]]  # the first crop, mirrored left to right


def test_planted_mistakes_fail(capsys):
    def upside_down(image, size):
        crops = ch08.ten_crops_reference(image, size)[:5]
        return np.concatenate([crops, crops[:, ::-1]])

    def centre_rounded_up(image, size):
        crops = ch08.ten_crops_reference(image, size)
        h, w = image.shape[:2]
        y, x = -(-(h - size) // 2), -(-(w - size) // 2)
        crops[4] = image[y:y + size, x:x + size]
        crops[9] = crops[4][:, ::-1]
        return crops

    def unmirrored(image, size):
        crops = ch08.ten_crops_reference(image, size)[:5]
        return np.concatenate([crops, crops])

    def channels_last_lost(image, size):
        return ch08.ten_crops_reference(image, size)[..., 0]

    hints = {upside_down: "upside down", centre_rounded_up: "not the centre",
             unmirrored: "mirrored left-right", channels_last_lost: "shape"}
    for wrong, hint in hints.items():
        for seed in range(6):
            line = outcome(capsys, ch08.check_ten_crops, wrong, seed=seed)
            assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)

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

    def output_size(side, size, stride, padding):  # a pooling's output side ("valid")
        return (side - size) // stride + 1

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
