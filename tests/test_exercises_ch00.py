"""Chapter 00's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from course_utils.exercises import ch00
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("00_setup_and_image_basics", cv2=cv2)
CHECKS = {ch00.check_bgr_to_grey: "bgr_to_grey", ch00.check_halve: "halve",
          ch00.check_keras_batch: "to_keras_batch"}
SEEDS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_chapters_solutions_pass(capsys, seed):
    for check, name in CHECKS.items():
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_grey_mistakes_fail(capsys, seed):
    def rgb_weights_on_bgr(bgr):  # the weights in R, G, B order on a BGR image
        return np.rint(bgr @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)

    def cut_off(bgr):  # astype truncates instead of rounding
        return (bgr @ np.array([0.114, 0.587, 0.299])).astype(np.uint8)

    def plain_mean(bgr):
        return np.rint(bgr.mean(axis=2)).astype(np.uint8)

    def float_grey(bgr):  # right numbers, wrong dtype
        return bgr @ np.array([0.114, 0.587, 0.299])

    line = outcome(capsys, ch00.check_bgr_to_grey, rgb_weights_on_bgr, seed=seed)
    assert line.startswith("FAIL") and "wrong channels" in line
    line = outcome(capsys, ch00.check_bgr_to_grey, cut_off, seed=seed)
    assert line.startswith("FAIL") and "nearest level" in line
    for wrong in (plain_mean, float_grey):
        assert outcome(capsys, ch00.check_bgr_to_grey, wrong, seed=seed).startswith("FAIL"), wrong.__name__


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_halve_mistakes_fail(capsys, seed):
    def skip_pixels(img):
        return img[::2, ::2]

    def axes_mixed(img):  # splits the axes in the wrong order
        h, w, c = img.shape
        return img.reshape(h // 2, w // 2, 2, 2, c).mean(axis=(2, 3))

    def width_height_swapped(img):  # cv2.resize given (height, width)
        h, w = img.shape[:2]
        return cv2.resize(img, (h // 2, w // 2), interpolation=cv2.INTER_AREA)

    line = outcome(capsys, ch00.check_halve, skip_pixels, seed=seed)
    assert line.startswith("FAIL") and "instead of averaging" in line
    for wrong in (axes_mixed, width_height_swapped):
        assert outcome(capsys, ch00.check_halve, wrong, seed=seed).startswith("FAIL"), wrong.__name__


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_batch_mistakes_fail(capsys, seed):
    solution = SOLVED["to_keras_batch"]

    def still_bgr(images, size):
        return solution(images, size)[..., ::-1]

    def top_left_square(images, size):
        squares = [im[:min(im.shape[:2]), :min(im.shape[:2])] for im in images]
        return solution(squares, size)

    def squashed(images, size):  # resizes the whole photo, no crop
        return np.stack([cv2.cvtColor(cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA),
                                      cv2.COLOR_BGR2RGB) for im in images]).astype(np.float32)

    def uint8_batch(images, size):
        return solution(images, size).astype(np.uint8)

    def no_batch_axis(images, size):
        return np.concatenate(solution(images, size))

    line = outcome(capsys, ch00.check_keras_batch, still_bgr, seed=seed)
    assert line.startswith("FAIL") and "BGR" in line
    for wrong in (top_left_square, squashed, uint8_batch, no_batch_axis):
        assert outcome(capsys, ch00.check_keras_batch, wrong, seed=seed).startswith("FAIL"), wrong.__name__
