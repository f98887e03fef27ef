"""Chapter 02's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import ch02
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("02_linear_classifiers_losses")
CHECKS = {ch02.check_cross_entropy: "cross_entropy", ch02.check_bce_from_logits: "bce_from_logits",
          ch02.check_crammer_singer: "crammer_singer_loss_grad"}
SEEDS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_chapters_solutions_pass(capsys, seed):
    for check, name in CHECKS.items():
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_the_crammer_singer_reference_agrees_with_a_numerical_gradient():
    rng = np.random.default_rng(0)
    X, W, y = rng.normal(size=(30, 5)), rng.normal(0, 0.5, size=(5, 7)), rng.integers(0, 7, 30)
    _, dW = ch02._crammer_singer_reference(W, X, y, 0.1)
    numeric, h = np.zeros_like(W), 1e-6
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        numeric[idx] = (ch02._crammer_singer_reference(W + E, X, y, 0.1)[0]
                        - ch02._crammer_singer_reference(W - E, X, y, 0.1)[0]) / (2 * h)
    assert np.allclose(dW, numeric, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_planted_cross_entropy_mistakes_fail(capsys, seed):
    softmax = SOLVED["softmax"]

    def log_of_probability(S, y):  # the chapter's softmax_loss: -log of a probability that rounds to 0
        return -np.log(softmax(S)[np.arange(len(S)), y])

    def no_shift(S, y):
        return np.log(np.exp(S).sum(axis=1)) - S[np.arange(len(S)), y]

    def mean_not_per_image(S, y):
        return SOLVED["cross_entropy"](S, y).mean()

    def wrong_sign(S, y):
        return -SOLVED["cross_entropy"](S, y)

    for wrong in (log_of_probability, no_shift):
        line = outcome(capsys, ch02.check_cross_entropy, wrong, seed=seed)
        assert line.startswith("FAIL") and "shift by the largest score" in line, wrong.__name__
    for wrong in (mean_not_per_image, wrong_sign):
        assert outcome(capsys, ch02.check_cross_entropy, wrong, seed=seed).startswith("FAIL"), wrong.__name__


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_planted_bce_mistakes_fail(capsys, seed):
    def through_sigmoid(y_true, s):  # section 5's loss on sigmoid(s)
        return SOLVED["binary_crossentropy"](y_true, 1 / (1 + np.exp(-s)))

    def no_abs(y_true, s):  # log(1 + e^-s) + (1 - y) s: exp(1000) at s = -1000
        return np.log1p(np.exp(-s)) + (1 - y_true) * s

    def labels_swapped(y_true, s):
        return np.maximum(s, 0) - (1 - y_true) * s + np.log1p(np.exp(-np.abs(s)))

    def log_not_log1p(y_true, s):  # log(1 + tiny) loses tiny: wrong for large |s|... and fine elsewhere
        return np.maximum(s, 0) - y_true * s + np.log(1 + np.exp(-np.abs(s))) + 1e-6

    for wrong in (through_sigmoid, no_abs):
        line = outcome(capsys, ch02.check_bce_from_logits, wrong, seed=seed)
        assert line.startswith("FAIL") and "write the loss with the score itself" in line, wrong.__name__
    line = outcome(capsys, ch02.check_bce_from_logits, labels_swapped, seed=seed)
    assert line.startswith("FAIL") and "opposite label" in line
    assert outcome(capsys, ch02.check_bce_from_logits, log_not_log1p, seed=seed).startswith("FAIL")


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_crammer_singer_mistakes_fail(capsys, seed):
    solution = SOLVED["crammer_singer_loss_grad"]

    def every_wrong_class(W, X, y, reg):  # right loss, but section 10's SVM gradient
        loss, _ = solution(W, X, y, reg)
        n = len(y)
        S = X @ W
        G = (S - S[np.arange(n), y][:, None] + 1 > 0).astype(float)
        G[np.arange(n), y] = 0
        G[np.arange(n), y] = -G.sum(axis=1)
        return loss, X.T @ G / n + 2 * reg * W

    def reg_gradient_halved(W, X, y, reg):
        loss, dW = solution(W, X, y, reg)
        return loss, dW - reg * W

    def correct_class_not_excluded(W, X, y, reg):
        n, rows = len(y), np.arange(len(y))
        S = X @ W
        j = S.argmax(axis=1)
        margins = np.maximum(0, 1 + S[rows, j] - S[rows, y])
        G = np.zeros_like(S)
        G[rows, j] += margins > 0
        G[rows, y] -= margins > 0
        return margins.mean() + reg * np.sum(W * W), X.T @ G / n + 2 * reg * W

    def transposed(W, X, y, reg):
        loss, dW = solution(W, X, y, reg)
        return loss, dW.T

    def looped(W, X, y, reg):  # right numbers, but a loop over the images
        parts = [solution(W, X[i:i + 1], y[i:i + 1], 0.0) for i in range(len(y))]
        return (np.mean([loss for loss, _ in parts]) + reg * np.sum(W * W),
                np.mean([dW for _, dW in parts], axis=0) + 2 * reg * W)

    line = outcome(capsys, ch02.check_crammer_singer, every_wrong_class, seed=seed)
    assert line.startswith("FAIL") and "strongest wrong class counts" in line
    line = outcome(capsys, ch02.check_crammer_singer, reg_gradient_halved, seed=seed)
    assert line.startswith("FAIL") and "2 * reg * W" in line
    for wrong in (correct_class_not_excluded, transposed, looped):
        assert outcome(capsys, ch02.check_crammer_singer, wrong, seed=seed).startswith("FAIL"), wrong.__name__
