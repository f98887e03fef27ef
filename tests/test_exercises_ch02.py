"""Chapter 02's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_support import chapter_functions, expect, outcome, stub
from scipy.special import logsumexp

from course_utils.exercises import ch02

SOLVED = chapter_functions("02_linear_classifiers_losses")
CHECKS = (ch02.check_cross_entropy, ch02.check_bce_from_logits, ch02.check_crammer_singer)


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
        numeric[idx] = (
            ch02._crammer_singer_reference(W + E, X, y, 0.1)[0]
            - ch02._crammer_singer_reference(W - E, X, y, 0.1)[0]
        ) / (2 * h)
    assert np.allclose(dW, numeric, atol=1e-6)


def test_the_crammer_singer_problem_holds_its_two_traps():
    X, W, y = ch02._crammer_singer_problem(np.random.default_rng(3))
    S = X @ W
    assert (S[0] < 0).all() and S[1].argmax() == y[1]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cross_entropy(capsys):
    softmax = SOLVED["softmax"]

    def by_scipy(S, y):
        return logsumexp(S, axis=1) - S[np.arange(len(S)), y]

    def by_logaddexp(S, y):
        return np.logaddexp.reduce(S, axis=1) - np.take_along_axis(S, y[:, None], 1)[:, 0]

    def log_of_probability(
        S, y
    ):  # the chapter's softmax_loss: -log of a probability that rounds to 0
        return -np.log(softmax(S)[np.arange(len(S)), y])

    def no_shift(S, y):
        return np.log(np.exp(S).sum(axis=1)) - S[np.arange(len(S)), y]

    def one_maximum(S, y):  # the largest score of the whole array
        m = S.max()
        return m + np.log(np.exp(S - m).sum(axis=1)) - S[np.arange(len(S)), y]

    def mean_not_per_image(S, y):
        return SOLVED["cross_entropy"](S, y).mean()

    def wrong_sign(S, y):
        return -SOLVED["cross_entropy"](S, y)

    def shifts_in_place(S, y):
        S -= S.max(axis=1, keepdims=True)
        return np.log(np.exp(S).sum(axis=1)) - S[np.arange(len(S)), y]

    expect(
        capsys,
        ch02.check_cross_entropy,
        right=[SOLVED["cross_entropy"], by_scipy, by_logaddexp],
        wrong={
            log_of_probability: "shift by the largest score",
            no_shift: "shift by the largest score",
            one_maximum: "each row by its own",
            mean_not_per_image: "shape",
            wrong_sign: "",
            shifts_in_place: "changed S",
        },
        hints=("shift by the largest score", "each row by its own", "changed S"),
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bce_from_logits(capsys):
    import tensorflow as tf

    def by_logaddexp(y_true, s):
        return np.logaddexp(0.0, s) - y_true * s

    def by_tensorflow(y_true, s):
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=s).numpy()

    def two_branches(y_true, s):  # each side of 0 with the exponent that cannot overflow
        pos = np.log1p(np.exp(-np.abs(s)))
        return np.where(s >= 0, s + pos, pos) - y_true * s

    def through_sigmoid(y_true, s):  # section 5's loss on sigmoid(s)
        return SOLVED["binary_crossentropy"](y_true, 1 / (1 + np.exp(-s)))

    def no_abs(y_true, s):  # log(1 + e^-s) + (1 - y) s: exp(1000) at s = -1000
        return np.log1p(np.exp(-s)) + (1 - y_true) * s

    def softplus_overflows(y_true, s):
        return np.log(1 + np.exp(s)) - y_true * s

    def labels_swapped(y_true, s):
        return np.maximum(s, 0) - (1 - y_true) * s + np.log1p(np.exp(-np.abs(s)))

    def averaged(y_true, s):
        return by_logaddexp(y_true, s).mean(axis=-1)

    expect(
        capsys,
        ch02.check_bce_from_logits,
        right=[SOLVED["bce_from_logits"], by_logaddexp, by_tensorflow, two_branches],
        wrong={
            through_sigmoid: "the score itself",
            no_abs: "the score itself",
            softplus_overflows: "the score itself",
            labels_swapped: "opposite label",
            averaged: "shape",
        },
        hints=("the score itself", "opposite label"),
    )


def test_crammer_singer(capsys):
    import tensorflow as tf

    solution = SOLVED["crammer_singer_loss_grad"]

    def one_hot_route(W, X, y, reg):
        S = X @ W
        own = np.eye(W.shape[1], dtype=bool)[y]
        strongest = np.where(own, -np.inf, S).max(axis=1, keepdims=True)
        active = (1 + strongest[:, 0] - S[own]) > 0
        hit = (np.where(own, -np.inf, S) == strongest) & active[:, None]  # no ties in these scores
        G = hit.astype(float) - own * active[:, None]
        loss = np.maximum(0, 1 + strongest[:, 0] - S[own]).mean()
        return loss + reg * np.sum(W * W), X.T @ G / len(y) + 2 * reg * W

    def by_gradient_tape(W, X, y, reg):
        w = tf.Variable(W)
        with tf.GradientTape() as tape:
            S = tf.constant(X) @ w
            own = tf.cast(tf.one_hot(y, W.shape[1]), tf.bool)
            strongest = tf.reduce_max(tf.where(own, tf.constant(-np.inf, tf.float64), S), axis=1)
            loss = tf.reduce_mean(tf.nn.relu(1 + strongest - tf.boolean_mask(S, own)))
            loss += reg * tf.reduce_sum(w * w)
        return float(loss), tape.gradient(loss, w).numpy()

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

    def _with(W, X, y, reg, j):
        n, rows = len(y), np.arange(len(y))
        S = X @ W
        margins = np.maximum(0, 1 + S[rows, j(S)] - S[rows, y])
        G = np.zeros_like(S)
        active = (margins > 0).astype(float)
        np.add.at(G, (rows, j(S)), active)
        np.add.at(G, (rows, y), -active)
        return margins.mean() + reg * np.sum(W * W), X.T @ G / n + 2 * reg * W

    def correct_class_not_excluded(W, X, y, reg):
        return _with(W, X, y, reg, lambda S: S.argmax(axis=1))

    def correct_class_set_to_zero(W, X, y, reg):
        def j(S):
            wrong = S.copy()
            wrong[np.arange(len(y)), y] = 0
            return wrong.argmax(axis=1)

        return _with(W, X, y, reg, j)

    def summed(W, X, y, reg):
        loss, dW = solution(W, X, y, reg)
        return len(y) * (loss - reg * np.sum(W * W)) + reg * np.sum(W * W), dW

    def transposed(W, X, y, reg):
        loss, dW = solution(W, X, y, reg)
        return loss, dW.T

    def looped(W, X, y, reg):  # right numbers, but a loop over the images
        parts = [solution(W, X[i : i + 1], y[i : i + 1], 0.0) for i in range(len(y))]
        return (
            np.mean([loss for loss, _ in parts]) + reg * np.sum(W * W),
            np.mean([dW for _, dW in parts], axis=0) + 2 * reg * W,
        )

    expect(
        capsys,
        ch02.check_crammer_singer,
        right=[solution, one_hot_route, by_gradient_tape],
        wrong={
            every_wrong_class: "strongest wrong class counts",
            reg_gradient_halved: "2 * reg * W",
            correct_class_not_excluded: "correct one included",
            correct_class_set_to_zero: "set it to -np.inf",
            summed: "take the mean",
            transposed: "shaped like W",
            looped: "Python loop",
        },
        hints=(
            "strongest wrong class counts",
            "2 * reg * W",
            "correct one included",
            "set it to -np.inf",
            "take the mean",
            "shaped like W",
            "Python loop",
        ),
    )
