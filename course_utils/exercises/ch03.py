"""Checks for chapter 03's exercises: the backward pass of a sigmoid layer (against a numerical
gradient), AdamW (against keras.optimizers.AdamW) and Nesterov's original look-ahead rule
(against keras.optimizers.SGD(nesterov=True))."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TypedDict

import numpy as np

from ..gradcheck import numeric_gradient, rel_error
from .checking import as_array, call, compare, fresh_seed, run


def _f32(v: float) -> float:
    return float(np.float32(v))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def check_sigmoid_layer_backward(fn: Callable, seed: int | None = None) -> None:
    """Exercise 3.1: dX, dW, db of out = sigmoid(X @ W + b), against numerical gradients."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        N, D, H = int(rng.integers(6, 10)), int(rng.integers(4, 7)), int(rng.integers(2, 4))
        X, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, H)), rng.normal(size=H)
        dout = rng.normal(size=(N, H))

        def loss(X, W, b):  # its gradient is the backward pass for the upstream gradient dout
            return float(np.sum(dout * _sigmoid(X @ W + b)))

        expected = {
            "dX": numeric_gradient(lambda v: loss(v, W, b), X.copy()),
            "dW": numeric_gradient(lambda v: loss(X, v, b), W.copy()),
            "db": numeric_gradient(lambda v: loss(X, W, v), b.copy()),
        }
        given = (X.copy(), W.copy(), b.copy(), dout.copy())
        got = call(fn, *given)
        if any(not np.array_equal(g, o) for g, o in zip(given, (X, W, b, dout), strict=True)):
            return False, "your function changed X, W, b or dout: work on new arrays"
        if not isinstance(got, tuple) or len(got) != 3:
            return False, f"{fn.__name__} should return a tuple (dX, dW, db)"
        errors = []
        for (name, want), have in zip(expected.items(), got, strict=True):
            have = np.asarray(have, dtype=np.float64)
            if name == "dW" and have.shape == want.T.shape:
                return (
                    False,
                    f"dW has shape {have.shape}, expected {want.shape} like W: a transpose is "
                    "missing",
                )
            if name == "db" and have.shape == (N, H):
                return (
                    False,
                    f"db has shape {have.shape}, expected {want.shape}: b is used by every row, "
                    "so add over the batch",
                )
            passed, how = compare(have, want, rtol=1e-5, atol=1e-7, what=name)
            if not passed:
                z = X @ W + b
                if name == "dX" and np.allclose(have, dout @ W.T):
                    how += " (you skipped the sigmoid's local gradient (1 - s) s)"
                elif name == "dX" and np.allclose(have, (dout * _sigmoid(z)) @ W.T):
                    how += " (the sigmoid's local gradient is (1 - s) s, not s)"
                return False, how + " (against the numerical gradient)"
            errors.append(f"{name} {rel_error(have, want):.0e}")
        return True, (
            f"X {N}x{D}, W {D}x{H}: relative error against the numerical gradient "
            + ", ".join(errors)
        )

    run(
        "3.1 (sigmoid layer backward)",
        body,
        seed=seed,
        repeat="ch03.check_sigmoid_layer_backward(sigmoid_layer_backward, seed={seed})",
    )


def _random_problem(rng: np.random.Generator) -> tuple[dict, Callable[[dict], dict]]:
    """Two parameter arrays and a gradient: a bowl with random curvatures and centres."""
    shapes = {"W": (3, 4), "b": (4,)}
    start = {k: rng.normal(size=s) for k, s in shapes.items()}
    curv = {k: rng.uniform(0.2, 5.0, size=s) for k, s in shapes.items()}
    centre = {k: rng.normal(size=s) for k, s in shapes.items()}
    return start, lambda p: {k: curv[k] * (p[k] - centre[k]) for k in p}


def _adam_l2_path(
    start: dict, grad: Callable, lr: float, wd: float, b1: float, b2: float, eps: float, steps: int
) -> list[dict]:
    """Adam with weight_decay * w added to the gradient (L2), for the hint only."""
    p = {k: v.copy() for k, v in start.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v2 = {k: np.zeros_like(v) for k, v in p.items()}
    path = []
    for t in range(1, steps + 1):
        g = {k: gk + wd * p[k] for k, gk in grad(p).items()}
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v2[k] = b2 * v2[k] + (1 - b2) * g[k] ** 2
            p[k] = p[k] - alpha * m[k] / (np.sqrt(v2[k]) + eps)
        path.append({k: v.copy() for k, v in p.items()})
    return path


class _Tolerance(TypedDict):
    rtol: float
    atol: float


def _keras_tolerance() -> _Tolerance:
    """rtol and atol against a Keras optimiser on a variable of Keras' widest float. Keras
    keeps float64 only on TensorFlow; on JAX and PyTorch it computes in float32 (about 7
    digits), and a mistake still moves the path by far more than 1e-5 within the steps the
    checks take."""
    import keras

    if keras.backend.result_type("float64") == "float64":
        return {"rtol": 1e-9, "atol": 1e-12}
    return {"rtol": 1e-5, "atol": 1e-6}


@lru_cache(maxsize=32)
def _keras_adamw_path(seed: int, steps: int) -> tuple:
    """The problem a seed gives, and keras.optimizers.AdamW's path on it (kept: it is the slow
    part, and a test runs many answers on the same seed)."""
    import keras

    rng = np.random.default_rng(seed)
    start, grad = _random_problem(rng)
    lr, wd = float(rng.choice([1 / 8, 1 / 16, 1 / 32])), float(rng.choice([1 / 2, 1 / 4, 1 / 8]))
    b1, b2, eps = _f32(0.9), _f32(0.999), _f32(1e-7)
    keras_opt = keras.optimizers.AdamW(lr, weight_decay=wd, beta_1=b1, beta_2=b2, epsilon=eps)
    dtype = keras.backend.result_type("float64")  # float32 on JAX, PyTorch: no float64 warnings
    var = {k: keras.Variable(v.copy(), dtype=dtype) for k, v in start.items()}
    path = []
    for _ in range(steps):
        g = grad({k: v.numpy() for k, v in var.items()})
        # as tensors: Keras' optimisers on PyTorch take no NumPy arrays
        g = {k: keras.ops.convert_to_tensor(v, dtype) for k, v in g.items()}
        keras_opt.apply_gradients([(g[k], var[k]) for k in var])
        path.append({k: v.numpy().copy() for k, v in var.items()})
    return start, grad, lr, wd, (b1, b2, eps), path


def check_adamw(cls: type, seed: int | None = None) -> None:
    """Exercise 3.2: AdamW(lr, weight_decay, beta1, beta2, eps).step, against
    keras.optimizers.AdamW."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        steps = 12
        start, grad, lr, wd, (b1, b2, eps), keras_path = _keras_adamw_path(seed, steps)
        ours = call(cls, lr, weight_decay=wd, beta1=b1, beta2=b2, eps=eps)
        p = {k: v.copy() for k, v in start.items()}
        l2 = _adam_l2_path(start, grad, lr, wd, b1, b2, eps, steps)

        def step(params: dict, grads: dict) -> None:
            ours.step(params, grads)

        step.__name__ = f"{cls.__name__}.step"  # what a message about it calls it
        for t in range(steps):
            call(step, p, grad(p))
            for k in p:
                passed, how = compare(
                    p[k],
                    keras_path[t][k],
                    **_keras_tolerance(),
                    what=f"params['{k}'] after step {t + 1}",
                )
                if not passed:
                    if np.allclose(p[k], l2[t][k], **_keras_tolerance()):
                        how += (
                            " (you added weight_decay * w to the gradient: that is L2 inside "
                            "Adam, which Adam's scaling then divides away; AdamW shrinks w "
                            "directly)"
                        )
                    return False, f"{how} (lr {lr}, weight_decay {wd})"
        return True, (
            f"{steps} steps on a random bowl (lr {lr}, weight_decay {wd}) == "
            "keras.optimizers.AdamW at every step"
        )

    run("3.2 (AdamW)", body, seed=seed, repeat="ch03.check_adamw(AdamW, seed={seed})")


@lru_cache(maxsize=32)
def _keras_nesterov_path(seed: int, steps: int) -> tuple:
    """The bowl a seed gives, and keras.optimizers.SGD(nesterov=True)'s path on it."""
    import keras

    rng = np.random.default_rng(seed)
    d = int(rng.integers(3, 6))
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = Q @ np.diag(rng.uniform(0.5, 5.0, size=d)) @ Q.T  # a tilted, ill-conditioned bowl
    c = rng.normal(size=d)
    w0, lr, mu = rng.normal(size=d), float(rng.choice([1 / 16, 1 / 32])), _f32(0.9)
    dtype = keras.backend.result_type("float64")
    var = keras.Variable(w0.copy(), dtype=dtype)
    opt = keras.optimizers.SGD(lr, momentum=mu, nesterov=True)
    path = [w0.copy()]
    for _ in range(steps):
        grad = keras.ops.convert_to_tensor(A @ var.numpy() - c, dtype)  # a tensor: PyTorch
        opt.apply_gradients([(grad, var)])
        path.append(var.numpy())
    return A, c, w0, lr, mu, np.array(path)


def check_nesterov_lookahead(fn: Callable, seed: int | None = None) -> None:
    """Exercise 3.3: Nesterov's original rule; w + mu v must follow keras SGD(nesterov=True)."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        steps = 25
        A, c, w0, lr, mu, keras_path = _keras_nesterov_path(seed, steps)
        d = len(w0)

        def grad(w: np.ndarray) -> np.ndarray:
            return A @ w - c

        given = w0.copy()
        paths = call(fn, grad, given, lr, mu, steps)
        if not (isinstance(paths, (tuple, list)) and len(paths) == 2):
            return (
                False,
                f"{fn.__name__} should return two arrays, the paths (w, v); got {paths!r:.60}",
            )
        ws, vs = (as_array(a, "a path") for a in paths)
        if not np.array_equal(given, w0):
            return False, "your function changed w0: start from a copy"
        if ws.shape != (steps + 1, d) or vs.shape != (steps + 1, d):
            return False, (
                f"the paths have shapes {ws.shape} and {vs.shape}, expected "
                f"{(steps + 1, d)} each (the start, then one row per step)"
            )
        if not np.allclose(ws[0], w0) or not np.allclose(vs[0], 0):
            return False, "the paths must start at w0 and at a velocity of 0"
        passed, how = compare(ws + mu * vs, keras_path, **_keras_tolerance(), what="w + mu v")
        if not passed:
            if np.allclose(ws, keras_path, **_keras_tolerance()):
                how += (
                    " (your w path is Keras' own path: write the original rule, gradient "
                    "at w + mu v)"
                )
            return False, f"{how} (on a {d}-dimensional bowl, lr {lr})"
        return True, (
            f"{steps} steps on a random {d}-dimensional bowl: w + mu v == the path of "
            f"keras.optimizers.SGD(nesterov=True) ({how})"
        )

    run(
        "3.3 (Nesterov's look-ahead)",
        body,
        seed=seed,
        repeat="ch03.check_nesterov_lookahead(nesterov_lookahead, seed={seed})",
    )
