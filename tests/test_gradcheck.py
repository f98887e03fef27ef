"""Gradient checking helpers: relative error and the centred-difference numeric gradient."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.gradcheck import numeric_gradient, rel_error


def test_rel_error_values():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)  # |1 - 3| / (1 + 3)
    assert rel_error(np.array([1.0, 100.0]), np.array([1.0, 101.0])) == pytest.approx(1 / 201)
    assert rel_error(0.0, 1e-12) < 1e-3  # the floor keeps two near-zero numbers "equal"


def test_rel_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="must be equal"):
        rel_error(np.zeros(3), np.zeros(4))


def test_numeric_gradient_matches_analytic_and_restores_x():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    before = x.copy()

    def f(z):
        return float(np.sum(np.sin(z) * z**2))

    analytic = np.cos(x) * x**2 + 2 * x * np.sin(x)
    numeric = numeric_gradient(f, x)
    assert np.array_equal(x, before)
    assert rel_error(numeric, analytic) < 1e-8


def test_gradient_check_catches_a_wrong_gradient():
    x = np.linspace(-2, 2, 7)
    wrong = 2 * x + 0.01  # the true gradient of sum(x^2) is 2x
    assert rel_error(numeric_gradient(lambda z: float(np.sum(z**2)), x), wrong) > 1e-3


def test_numeric_gradient_of_softmax_loss_on_a_matrix():
    rng = np.random.default_rng(1)
    W, X, y = rng.normal(size=(5, 3)), rng.normal(size=(6, 5)), np.array([0, 1, 2, 0, 1, 2])

    def loss(w):
        s = X @ w
        s = s - s.max(1, keepdims=True)
        p = np.exp(s) / np.exp(s).sum(1, keepdims=True)
        return float(-np.log(p[np.arange(6), y]).mean())

    s = X @ W
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(6), y] -= 1
    assert rel_error(numeric_gradient(loss, W), X.T @ p / 6) < 1e-7


def test_numeric_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numeric_gradient(lambda z: float(z.sum()), np.ones(3, dtype=np.float32))
