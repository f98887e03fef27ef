"""Chapter 03's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import ch03
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("03_backprop_optimizers")
SEEDS = [0, 1, 2, 3]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_chapters_solutions_pass(capsys, seed):
    assert outcome(capsys, ch03.check_sigmoid_layer_backward, SOLVED["sigmoid_layer_backward"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch03.check_adamw, SOLVED["AdamW"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch03.check_nesterov_lookahead, SOLVED["nesterov_lookahead"], seed=seed).startswith("PASS")


def test_stubs_are_not_done(capsys):
    for check in (ch03.check_sigmoid_layer_backward, ch03.check_nesterov_lookahead):
        assert outcome(capsys, check, stub).startswith("NOT DONE")

    class AdamWStub(SOLVED["Adam"]):
        def __init__(self, lr, weight_decay=0.004, **adam_settings):
            super().__init__(lr, **adam_settings)

        def step(self, params, grads):
            raise NotImplementedError()

    assert outcome(capsys, ch03.check_adamw, AdamWStub).startswith("NOT DONE")


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_backward_mistakes_fail(capsys, seed):
    def no_local_gradient(X, W, b, dout):
        return dout @ W.T, X.T @ dout, dout.sum(axis=0)

    def s_instead_of_slope(X, W, b, dout):
        dz = dout * _sigmoid(X @ W + b)
        return dz @ W.T, X.T @ dz, dz.sum(axis=0)

    def dW_transposed(X, W, b, dout):
        s = _sigmoid(X @ W + b)
        dz = dout * (1 - s) * s
        return dz @ W.T, dz.T @ X, dz.sum(axis=0)

    def db_not_summed(X, W, b, dout):
        s = _sigmoid(X @ W + b)
        dz = dout * (1 - s) * s
        return dz @ W.T, X.T @ dz, dz

    hints = {no_local_gradient: "skipped the sigmoid", s_instead_of_slope: "not s",
             dW_transposed: "transpose", db_not_summed: "add over the batch"}
    for wrong, hint in hints.items():
        line = outcome(capsys, ch03.check_sigmoid_layer_backward, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_planted_adamw_mistakes_fail(capsys, seed):
    Adam = SOLVED["Adam"]

    class Base(Adam):
        def __init__(self, lr, weight_decay=0.004, **adam_settings):
            super().__init__(lr, **adam_settings)
            self.weight_decay = weight_decay

    class L2InTheGradient(Base):  # Adam with L2: the mistake AdamW fixes
        def step(self, params, grads):
            super().step(params, {k: g + self.weight_decay * params[k] for k, g in grads.items()})

    class DecayAfterTheStep(Base):
        def step(self, params, grads):
            super().step(params, grads)
            for k in params:
                params[k] -= self.lr * self.weight_decay * params[k]

    class DecayWithoutLr(Base):
        def step(self, params, grads):
            for k in params:
                params[k] -= self.weight_decay * params[k]
            super().step(params, grads)

    line = outcome(capsys, ch03.check_adamw, L2InTheGradient, seed=seed)
    assert line.startswith("FAIL") and "L2 inside Adam" in line, line
    for wrong in (DecayAfterTheStep, DecayWithoutLr):
        assert outcome(capsys, ch03.check_adamw, wrong, seed=seed).startswith("FAIL"), wrong.__name__


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_nesterov_mistakes_fail(capsys, seed):
    def classical_momentum(grad, w0, lr, mu, steps):  # gradient at w, not at the look-ahead point
        w, v, ws, vs = w0.copy(), np.zeros_like(w0), [w0.copy()], [np.zeros_like(w0)]
        for _ in range(steps):
            v = mu * v - lr * grad(w)
            w = w + v
            ws.append(w), vs.append(v)
        return np.array(ws), np.array(vs)

    def keras_form(grad, w0, lr, mu, steps):  # section 5's rule, returned as if it were w
        w, v, ws, vs = w0.copy(), np.zeros_like(w0), [w0.copy()], [np.zeros_like(w0)]
        for _ in range(steps):
            g = grad(w)
            v = mu * v - lr * g
            w = w + mu * v - lr * g
            ws.append(w), vs.append(v)
        return np.array(ws), np.array(vs)

    def no_start(grad, w0, lr, mu, steps):
        ws, vs = SOLVED["nesterov_lookahead"](grad, w0, lr, mu, steps)
        return ws[1:], vs[1:]

    assert outcome(capsys, ch03.check_nesterov_lookahead, classical_momentum, seed=seed).startswith("FAIL")
    line = outcome(capsys, ch03.check_nesterov_lookahead, keras_form, seed=seed)
    assert line.startswith("FAIL") and "Keras' own path" in line, line
    line = outcome(capsys, ch03.check_nesterov_lookahead, no_start, seed=seed)
    assert line.startswith("FAIL") and "shapes" in line, line
