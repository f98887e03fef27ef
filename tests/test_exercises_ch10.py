"""Chapter 10's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import ch10
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("10_segmentation_deeplab", IGNORE_LABEL=255)
ASPP = SOLVED["aspp"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    assert outcome(capsys, ch10.check_conv_output_size, SOLVED["conv_output_size"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch10.check_aspp_parameters, SOLVED["aspp_parameter_count"], aspp=ASPP,
                   seed=seed).startswith("PASS")
    assert outcome(capsys, ch10.check_dataset_iou, SOLVED["dataset_iou"], seed=seed).startswith("PASS")


def test_stubs_are_not_done(capsys):
    assert outcome(capsys, ch10.check_conv_output_size, stub).startswith("NOT DONE")
    assert outcome(capsys, ch10.check_aspp_parameters, stub, aspp=ASPP).startswith("NOT DONE")
    assert outcome(capsys, ch10.check_dataset_iou, stub).startswith("NOT DONE")


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_planted_mistakes_fail(capsys, seed):
    def size_without_rate(height, width, kernel, rate=1, stride=1, padding="valid"):
        if padding == "same":
            return -(-height // stride), -(-width // stride)
        return (height - kernel) // stride + 1, (width - kernel) // stride + 1

    def same_rounds_down(height, width, kernel, rate=1, stride=1, padding="valid"):
        if padding == "same":
            return height // stride, width // stride
        return SOLVED["conv_output_size"](height, width, kernel, rate, stride, padding)

    line = outcome(capsys, ch10.check_conv_output_size, size_without_rate, seed=seed)
    assert line.startswith("FAIL") and "k + (k-1)(r-1)" in line
    line = outcome(capsys, ch10.check_conv_output_size, same_rounds_down, seed=seed)
    assert line.startswith("FAIL") and "rounds up" in line

    right = SOLVED["aspp_parameter_count"]

    def two_per_batch_norm(in_channels, filters, rates):
        return right(in_channels, filters, rates) - 2 * filters * (len(rates) + 3)

    def no_image_pooling(in_channels, filters, rates):
        return (in_channels * filters * (1 + 9 * len(rates)) + (len(rates) + 1) * filters ** 2
                + 4 * filters * (len(rates) + 2))

    def with_biases(in_channels, filters, rates):
        return right(in_channels, filters, rates) + filters * (len(rates) + 3)

    for wrong, hint in ((two_per_batch_norm, "moving mean"), (no_image_pooling, "image-pooling"),
                        (with_biases, "no bias")):
        line = outcome(capsys, ch10.check_aspp_parameters, wrong, aspp=ASPP, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)

    mean_iou = SOLVED["mean_iou_by_hand"]

    def averaged_per_batch(batches, n):
        iou, _ = SOLVED["dataset_iou"](batches, n)
        return iou, float(np.mean([mean_iou(t, p, n) for t, p in batches]))

    def absent_is_zero(batches, n):
        iou, _ = SOLVED["dataset_iou"](batches, n)
        iou = np.nan_to_num(iou)
        return iou, float(iou.mean())

    line = outcome(capsys, ch10.check_dataset_iou, averaged_per_batch, seed=seed)
    assert line.startswith("FAIL") and "average of the 4 batches" in line
    line = outcome(capsys, ch10.check_dataset_iou, absent_is_zero, seed=seed)
    assert line.startswith("FAIL") and "NaN" in line
