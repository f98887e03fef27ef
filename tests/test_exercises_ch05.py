"""Chapter 05's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_utils.exercises import ch05
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("05_convnet_basics")
CHECKS = {"conv_params": ch05.check_conv_params,
          "keras_output_size": ch05.check_keras_output_size,
          "measured_receptive_field": ch05.check_receptive_field}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    for name, check in CHECKS.items():
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS.values():
        assert outcome(capsys, check, stub).startswith("NOT DONE")


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_planted_mistakes_fail(capsys, seed):
    def flat_filters(kernel, depth, filters, use_bias=True):  # forgets the filter's depth
        return (kernel[0] * kernel[1] + use_bias) * filters

    def always_bias(kernel, depth, filters, use_bias=True):
        return (kernel[0] * kernel[1] * depth + 1) * filters

    line = outcome(capsys, ch05.check_conv_params, flat_filters, seed=seed)
    assert line.startswith("FAIL") and "as deep as its input" in line
    assert outcome(capsys, ch05.check_conv_params, always_bias, seed=seed).startswith("FAIL")

    def same_keeps_size(W, F, S=1, padding="valid", dilation=1):
        return W if padding == "same" else (W - dilation * (F - 1) - 1) // S + 1

    def no_dilation(W, F, S=1, padding="valid", dilation=1):
        return -(-W // S) if padding == "same" else (W - F) // S + 1

    def rounds_up(W, F, S=1, padding="valid", dilation=1):
        return -(-W // S) if padding == "same" else -(-(W - dilation * (F - 1) - 1) // S) + 1

    for wrong, hint in ((same_keeps_size, "only with stride 1"), (no_dilation, "dilated filter"),
                        (rounds_up, "round down")):
        line = outcome(capsys, ch05.check_keras_output_size, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)

    measured = SOLVED["measured_receptive_field"]

    def swapped(model):
        return measured(model)[::-1]

    def one_short(model):
        h, w = measured(model)
        return h - 1, w - 1

    def whole_output(model):  # the gradient of the sum of every output unit
        x = tf.zeros((1, *model.input_shape[1:]))
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(model(x))
        seen = np.abs(tape.gradient(total, x).numpy()[0, :, :, 0]) > 0
        rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
        return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1

    for wrong, hint in ((swapped, "swapped"), (one_short, "one too few"), (whole_output, "one output unit")):
        line = outcome(capsys, ch05.check_receptive_field, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)
