"""Chapter 03's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub

from course_utils.exercises import ch03

SOLVED = chapter_functions("03_backprop_optimizers")


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


def test_sigmoid_layer_backward(capsys):
    import tensorflow as tf

    def by_gradient_tape(X, W, b, dout):
        X, W, b = (tf.Variable(v) for v in (X, W, b))
        with tf.GradientTape() as tape:
            out = tf.sigmoid(X @ W + b)
        return tuple(
            g.numpy() for g in tape.gradient(out, [X, W, b], output_gradients=tf.constant(dout))
        )

    def gate_by_gate(X, W, b, dout):  # 1 / (1 + e^-z): reciprocal, add, exp, negate
        z = X @ W + b
        e = np.exp(-z)
        dz = dout * (-1 / (1 + e) ** 2) * e * -1
        return np.einsum("nh,dh->nd", dz, W), np.einsum("nd,nh->dh", X, dz), np.add.reduce(dz)

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

    def db_averaged(X, W, b, dout):
        s = _sigmoid(X @ W + b)
        dz = dout * (1 - s) * s
        return dz @ W.T, X.T @ dz, dz.mean(axis=0)

    def sign_flipped(X, W, b, dout):  # s (s - 1) for the sigmoid's slope
        s = _sigmoid(X @ W + b)
        dz = dout * s * (s - 1)
        return dz @ W.T, X.T @ dz, dz.sum(axis=0)

    expect(
        capsys,
        ch03.check_sigmoid_layer_backward,
        right=[SOLVED["sigmoid_layer_backward"], by_gradient_tape, gate_by_gate],
        wrong={
            no_local_gradient: "skipped the sigmoid",
            s_instead_of_slope: "not s",
            dW_transposed: "transpose",
            db_not_summed: "add over the batch",
            db_averaged: "db",
            sign_flipped: "numerical gradient",
        },
        hints=("skipped the sigmoid", "not s", "transpose", "add over the batch"),
    )


def test_adamw(capsys):
    Adam = SOLVED["Adam"]

    class Base(Adam):
        def __init__(self, lr, weight_decay=0.004, **adam_settings):
            super().__init__(lr, **adam_settings)
            self.weight_decay = weight_decay

    class FromScratch:  # AdamW written out, Adam's state kept by hand, new arrays each step
        def __init__(self, lr, weight_decay=0.004, beta1=0.9, beta2=0.999, eps=1e-7):
            self.lr, self.wd, self.b1, self.b2, self.eps = lr, weight_decay, beta1, beta2, eps
            self.m, self.v, self.t = {}, {}, 0

        def step(self, params, grads):
            self.t += 1
            for k, g in grads.items():
                w = params[k] * (1 - self.lr * self.wd)
                self.m[k] = self.b1 * self.m.get(k, 0) + (1 - self.b1) * g
                self.v[k] = self.b2 * self.v.get(k, 0) + (1 - self.b2) * g * g
                step = self.lr * np.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
                params[k] = w - step * self.m[k] / (np.sqrt(self.v[k]) + self.eps)

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

    class DecayWithAdamsStep(Base):  # the bias-corrected step size instead of lr
        def step(self, params, grads):
            t = self.t + 1
            alpha = self.lr * np.sqrt(1 - self.b2**t) / (1 - self.b1**t)
            for k in params:
                params[k] -= alpha * self.weight_decay * params[k]
            super().step(params, grads)

    expect(
        capsys,
        ch03.check_adamw,
        right=[SOLVED["AdamW"], FromScratch],
        wrong={
            L2InTheGradient: "L2 inside Adam",
            DecayAfterTheStep: "after step 1",
            DecayWithoutLr: "after step 1",
            DecayWithAdamsStep: "after step 1",
        },
        hints=("L2 inside Adam",),
    )


def test_nesterov_lookahead(capsys):
    def through_the_lookahead_point(grad, w0, lr, mu, steps):  # Keras' variable z = w + mu v
        z, v = w0.copy(), np.zeros_like(w0)
        ws, vs = [w0.copy()], [v.copy()]
        for _ in range(steps):
            g = grad(z)
            v_new = mu * v - lr * g
            z = z + mu * v_new - lr * g
            v = v_new
            ws.append(z - mu * v)
            vs.append(v)
        return np.stack(ws), np.stack(vs)

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

    def lookahead_without_mu(grad, w0, lr, mu, steps):  # the gradient at w + v
        w, v, ws, vs = w0.copy(), np.zeros_like(w0), [w0.copy()], [np.zeros_like(w0)]
        for _ in range(steps):
            v = mu * v - lr * grad(w + v)
            w = w + v
            ws.append(w), vs.append(v)
        return np.array(ws), np.array(vs)

    expect(
        capsys,
        ch03.check_nesterov_lookahead,
        right=[SOLVED["nesterov_lookahead"], through_the_lookahead_point],
        wrong={
            classical_momentum: "w + mu v",
            keras_form: "Keras' own path",
            no_start: "shapes",
            lookahead_without_mu: "w + mu v",
        },
        hints=("Keras' own path", "shapes"),
    )
