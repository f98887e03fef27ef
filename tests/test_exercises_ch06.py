"""Chapter 06's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from course_utils.exercises import ch06
from course_utils.plots import smooth_curve
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("06_small_data_augmentation", ema=smooth_curve)  # section 7's ema


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    assert outcome(capsys, ch06.check_best_smoothed_epoch, SOLVED["best_smoothed_epoch"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch06.check_digit_augmentation, SOLVED["make_digit_augmentation"], seed=seed).startswith("PASS")


def test_stubs_are_not_done(capsys):
    for check in (ch06.check_best_smoothed_epoch, ch06.check_digit_augmentation):
        assert outcome(capsys, check, stub).startswith("NOT DONE")


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_planted_mistakes_fail(capsys, seed):
    def zero_based(val_loss, factor=0.8):
        return int(np.argmin(smooth_curve(val_loss, factor)))

    def raw_lowest(val_loss, factor=0.8):
        return int(np.argmin(val_loss)) + 1

    def ignores_factor(val_loss, factor=0.8):
        return int(np.argmin(smooth_curve(val_loss))) + 1

    for wrong, hint in ((zero_based, "count from 1"), (raw_lowest, "smooth the curve first"),
                        (ignores_factor, "pass the factor on")):
        line = outcome(capsys, ch06.check_best_smoothed_epoch, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)

    def with_flip():  # the chapter's full-mode augmentation: right for cats, wrong for digits
        return keras.Sequential([layers.RandomFlip("horizontal", seed=seed), layers.RandomRotation(0.1),
                                 layers.RandomZoom(0.2), layers.RandomTranslation(0.2, 0.2)])

    def reflect_fill():  # no flip, but the default fill mirrors the image into the new pixels
        return keras.Sequential([layers.RandomRotation(0.1), layers.RandomZoom(0.2),
                                 layers.RandomTranslation(0.2, 0.2)])

    def does_nothing():
        return keras.Sequential([layers.Rescaling(1.0)])

    for wrong, hint in ((with_flip, "mirror images"), (reflect_fill, "fill_mode='constant'"),
                        (does_nothing, "changed visibly")):
        line = outcome(capsys, ch06.check_digit_augmentation, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)
