"""Checks for chapter 02's exercises: cross-entropy straight from scores, binary cross-entropy
from logits, and the Crammer-Singer hinge loss with its gradient, all safe for extreme scores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, compare, fresh_seed, number, run, show, uses_a_loop


def _cross_entropy_reference(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros(len(S))
    for i, row in enumerate(S):
        m = max(row)
        out[i] = m + np.log(sum(np.exp(s - m) for s in row)) - row[y[i]]
    return out


def check_cross_entropy(fn: Callable, seed: int | None = None) -> None:
    """Exercise 2.1: per-image softmax cross-entropy from scores, including scores of +-1000."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        n, c = int(rng.integers(20, 40)), int(rng.integers(4, 9))
        S = rng.normal(0, 3, size=(n, c))
        S[:4] = 0.0
        S[0, 0], S[1, 0], S[2, 0] = 1000.0, 1000.0, -1000.0  # a confident image, right and wrong
        y = rng.integers(0, c, size=n)
        y[:4] = 0, 1, 1, c - 1  # the fourth image: all scores equal, loss ln C
        expected = _cross_entropy_reference(S, y)
        given = (S.copy(), y.copy())
        got = call(fn, *given)
        if not (np.array_equal(given[0], S) and np.array_equal(given[1], y)):
            return False, "your function changed S or y: work on new arrays (S - m, not S -= m)"
        passed, how = compare(got, expected, rtol=1e-9, atol=1e-9, what="your losses")
        detail = (
            f"{n} images, {c} classes; the first four score (1000, 0, ...) for class 0 "
            f"and 1, (-1000, 0, ...) for class 1, all 0 for class {c - 1} (expected losses "
            f"{expected[0]:.0f}, {expected[1]:.0f}, {expected[2]:.2f}, ln {c} = "
            f"{expected[3]:.4f}): {how}"
        )
        if passed or np.shape(got) != expected.shape:
            return passed, detail
        top = np.asarray(got, dtype=np.float64)[:3]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            one_max = np.log(np.exp(S - S.max()).sum(axis=1)) + S.max() - S[np.arange(n), y]
        if np.allclose(np.asarray(got, dtype=np.float64), one_max, equal_nan=True):
            detail += (
                f"; yours there: {show(top, 4)}. You shifted every row by the largest "
                "score of the whole array: shift each row by its own, "
                "S.max(axis=1, keepdims=True)"
            )
        elif not np.all(np.isfinite(top)):
            detail += (
                f"; yours there: {show(top, 4)}. exp(1000) overflows, and a probability "
                "of exp(-1000) rounds to 0 whose log is -inf: shift by the largest score "
                "and never take the log of a probability"
            )
        return False, detail

    run(
        "2.1 (cross-entropy from scores)",
        body,
        seed=seed,
        repeat="ch02.check_cross_entropy(cross_entropy, seed={seed})",
    )


def _bce_reference(y_true: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, s) - y_true * s  # -log sigmoid(s) = log(1 + e^-s), and so on


def check_bce_from_logits(fn: Callable, seed: int | None = None) -> None:
    """Exercise 2.2: binary cross-entropy from raw scores, finite and exact for |s| up to 1000."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        n, c = int(rng.integers(10, 30)), int(rng.integers(4, 7))
        s = rng.normal(0, 4, size=(n, c))
        s[0, :4], s[1, :4] = [1000.0, -1000.0, 40.0, 0.0], [1000.0, -1000.0, -40.0, 0.0]
        y_true = rng.integers(0, 2, size=(n, c)).astype(np.float64)
        y_true[0, :4], y_true[1, :4] = 1.0, 0.0
        expected = _bce_reference(y_true, s)
        given = (y_true.copy(), s.copy())
        got = call(fn, *given)
        if not (np.array_equal(given[0], y_true) and np.array_equal(given[1], s)):
            return False, "your function changed y_true or s: work on new arrays"
        passed, how = compare(got, expected, rtol=1e-9, atol=1e-9, what="your losses")
        detail = (
            f"{n}x{c} labels and scores, among them 1000, -1000, 40, -40 and 0 (expected "
            f"for label 1: {show(expected[0, :4], 4)}; for label 0: "
            f"{show(expected[1, :4], 4)}): {how}"
        )
        if not passed and np.shape(got) == expected.shape:
            g = np.asarray(got, dtype=np.float64)
            if not np.all(np.isfinite(g)):
                detail += (
                    f"; yours there: {show(g[0, :4], 4)} and {show(g[1, :4], 4)}. "
                    "sigmoid(40) rounds to exactly 1 and sigmoid(-1000) to 0, so a log "
                    "of 1 - p or p is -inf, and exp(1000) overflows: write the loss with "
                    "the score itself"
                )
            elif np.allclose(g, _bce_reference(1 - y_true, s)):
                detail += (
                    "; yours is the loss of the opposite label: y = 1 should cost log(1 + exp(-s))"
                )
        return passed, detail

    run(
        "2.2 (binary cross-entropy from logits)",
        body,
        seed=seed,
        repeat="ch02.check_bce_from_logits(bce_from_logits, seed={seed})",
    )


def _crammer_singer_reference(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float):
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(len(X)):
        s = X[i] @ W
        j = max((k for k in range(W.shape[1]) if k != y[i]), key=lambda k: s[k])
        margin = 1 + s[j] - s[y[i]]
        if margin > 0:
            loss += margin
            dW[:, j] += X[i]
            dW[:, y[i]] -= X[i]
    return loss / len(X) + reg * np.sum(W * W), dW / len(X) + 2 * reg * W


def _multiclass_svm_grad(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    n = len(y)
    S = X @ W
    G = (S - S[np.arange(n), y][:, None] + 1 > 0).astype(float)
    G[np.arange(n), y] = 0
    G[np.arange(n), y] = -G.sum(axis=1)
    return X.T @ G / n + 2 * reg * W


def _crammer_singer_problem(rng: np.random.Generator):
    """Images as rows with a last feature of 1 (the bias trick) and weights whose bias row is
    negative. Image 0 is (0, ..., 0, 1): all its scores are negative, so a correct class set to 0
    instead of -inf would look like the strongest wrong class. Image 1's correct class scores
    highest: an argmax over all classes would pick the correct class itself."""
    n, d, c = int(rng.integers(40, 60)), int(rng.integers(6, 10)), int(rng.integers(11, 15))
    X, W = rng.normal(size=(n, d)), rng.normal(0, 0.5, size=(d, c))
    X[:, -1] = 1.0
    X[0, :-1] = 0.0
    W[-1] = -rng.uniform(0.5, 2.0, size=c)
    y = rng.integers(0, c, size=n)
    y[1] = int(np.argmax(X[1] @ W))
    return X, W, y


def check_crammer_singer(fn: Callable, seed: int | None = None) -> None:
    """Exercise 2.3: Crammer-Singer hinge loss and its gradient for a batch, without loops."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        X, W, y = _crammer_singer_problem(rng)
        reg = 0.1
        loss, dW = _crammer_singer_reference(W, X, y, reg)
        given = (W.copy(), X.copy(), y.copy())
        result = call(fn, *given, reg)
        if any(not np.array_equal(a, b) for a, b in zip(given, (W, X, y), strict=True)):
            return False, "your function changed W, X or y: work on a copy of the scores"
        if not (isinstance(result, tuple) and len(result) == 2):
            return False, "return two things, the loss and the gradient: return loss, dW"
        got_loss, got_dW = result
        setting = (
            f"X {X.shape}, W {W.shape}, reg {reg} (image 0 has only negative scores, "
            "image 1's correct class scores highest)"
        )
        passed, how = compare(got_loss, loss, rtol=1e-9, atol=1e-9, what="your loss")
        if not passed:
            S = X @ W
            rows = np.arange(len(y))
            margins = np.maximum(
                0,
                1
                + np.where(np.arange(S.shape[1]) == y[:, None], -np.inf, S).max(axis=1)
                - S[rows, y],
            )
            parts = f"; per image, the first margins are {show(margins[:4], 4)}"
            value = number(got_loss)
            zeroed = S.copy()
            zeroed[rows, y] = 0
            j0 = zeroed.argmax(axis=1)
            if np.isclose(
                value,
                np.maximum(0, 1 + S[rows, S.argmax(axis=1)] - S[rows, y]).mean()
                + reg * np.sum(W * W),
            ):
                parts += (
                    "; yours takes the strongest class over all classes, the correct one "
                    "included: exclude it (set its score to -np.inf in a copy)"
                )
            elif np.isclose(
                value, np.maximum(0, 1 + S[rows, j0] - S[rows, y]).mean() + reg * np.sum(W * W)
            ):
                parts += (
                    "; yours sets the correct class's score to 0, which beats scores "
                    "that are all negative (image 0): set it to -np.inf"
                )
            elif np.isclose(value, len(y) * (loss - reg * np.sum(W * W)) + reg * np.sum(W * W)):
                parts += "; yours is the sum over the images: take the mean"
            return False, f"{setting}: {how}{parts}"
        passed, how = compare(got_dW, dW, rtol=1e-7, atol=1e-9, what="your gradient dW")
        if not passed and np.shape(got_dW) == dW.shape:
            g = np.asarray(got_dW, dtype=np.float64)
            if np.allclose(g, _multiclass_svm_grad(W, X, y, reg)):
                how += (
                    "; it is the gradient of section 10's SVM, which sums over every wrong "
                    "class with a positive margin: here only the strongest wrong class counts"
                )
            elif np.allclose(g, dW - reg * W):
                how += "; the gradient of reg * sum(W**2) is 2 * reg * W"
        elif not passed and np.shape(got_dW) == dW.T.shape:
            how += "; dW is shaped like W, (features, classes)"
        if passed and uses_a_loop(fn):
            return False, f"right numbers, but {fn.__name__} uses a Python loop or comprehension"
        return passed, f"{setting}: loss {loss:.4f} as expected; gradient: {how}"

    run(
        "2.3 (Crammer-Singer loss and gradient)",
        body,
        seed=seed,
        repeat="ch02.check_crammer_singer(crammer_singer_loss_grad, seed={seed})",
    )
