"""Chapter 07's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import ch07
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("07_pretrained_vgg16")
CHECKS = {ch07.check_vgg_preprocess: "vgg_preprocess", ch07.check_unfreeze_from: "unfreeze_from",
          ch07.check_receptive_field: "receptive_field"}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    for check, name in CHECKS.items():
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_the_stand_in_is_named_like_vgg16_and_the_solution_works_on_vgg16_itself():
    import keras

    vgg16 = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert [l.name for l in ch07.vgg_like_base().layers[1:]] == [l.name for l in vgg16.layers[1:]]
    vgg16.trainable = False
    SOLVED["unfreeze_from"](vgg16, "block5")
    assert len(vgg16.trainable_weights) == 6
    assert sum(int(np.prod(w.shape)) for w in vgg16.trainable_weights) == 7_079_424  # section 2


def test_the_receptive_field_reference_matches_section_1_and_a_gradient():
    assert [ch07.receptive_field_reference([(3, 1)] * L) for L in (1, 2, 3)] == [3, 5, 7]
    import tensorflow as tf
    from keras import layers

    stack = [(3, 1), (2, 2), (3, 1), (3, 2), (5, 1)]
    convs = [layers.Conv2D(1, k, strides=s, use_bias=False, kernel_initializer="ones")
             for k, s in stack]  # linear, positive: every input pixel a unit sees moves it
    x = tf.Variable(np.ones((1, 64, 64, 1), "float32"))
    with tf.GradientTape() as tape:
        y = x
        for conv in convs:
            y = conv(y)
        unit = y[0, 1, 1, 0]
    rows, cols = np.nonzero(tape.gradient(unit, x).numpy()[0, :, :, 0])
    side = rows.max() - rows.min() + 1
    assert side == cols.max() - cols.min() + 1 == ch07.receptive_field_reference(stack) == 28


def test_planted_mistakes_fail(capsys):
    def no_flip(images):
        return images - np.array([103.939, 116.779, 123.68])

    def means_in_rgb_order(images):
        return images[..., ::-1] - np.array([123.68, 116.779, 103.939])

    def scaled(images):
        return images[..., ::-1] / 255.0 - np.array([103.939, 116.779, 123.68]) / 255.0

    hints = {no_flip: "RGB order", means_in_rgb_order: "wrong colour", scaled: "divide by 255"}
    for wrong, hint in hints.items():
        for seed in (0, 5):
            line = outcome(capsys, ch07.check_vgg_preprocess, wrong, seed=seed)
            assert line.startswith("FAIL") and hint in line, line

    def forgets_the_base(conv_base, block):  # the layers say trainable, the base stays frozen
        blocks = [layer.name.split("_")[0] for layer in conv_base.layers]
        for i, layer in enumerate(conv_base.layers):
            layer.trainable = i >= blocks.index(block)

    def one_block_too_late(conv_base, block):
        SOLVED["unfreeze_from"](conv_base, f"block{int(block[-1]) + 1}")

    def only_that_block(conv_base, block):
        conv_base.trainable = True
        for layer in conv_base.layers:
            layer.trainable = layer.name.startswith(block + "_")

    def never_freezes(conv_base, block):  # forgets to freeze what is below
        conv_base.trainable = True
        for layer in conv_base.layers:
            if layer.name >= block:
                layer.trainable = True

    for wrong in (forgets_the_base, one_block_too_late, only_that_block, never_freezes):
        for seed in (0, 5):
            line = outcome(capsys, ch07.check_unfreeze_from, wrong, seed=seed)
            assert line.startswith("FAIL"), (wrong.__name__, line)
    assert "base.trainable = True" in outcome(capsys, ch07.check_unfreeze_from, forgets_the_base, seed=1)

    def ignores_strides(stack):  # section 1's formula, kernel by kernel
        return 1 + sum(kernel - 1 for kernel, _ in stack)

    def jump_too_early(stack):
        field, jump = 1, 1
        for kernel, stride in stack:
            jump *= stride
            field += (kernel - 1) * jump
        return field

    for wrong in (ignores_strides, jump_too_early):
        for seed in range(6):
            line = outcome(capsys, ch07.check_receptive_field, wrong, seed=seed)
            assert line.startswith("FAIL"), (wrong.__name__, line)
    assert "input pixels" in outcome(capsys, ch07.check_receptive_field, ignores_strides, seed=0)
