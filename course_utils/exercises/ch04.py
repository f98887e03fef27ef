"""Checks for chapter 04's exercises: He initialisation for dense and conv kernels (measured over
many draws), the derivative of GELU's tanh form (against the backend's autodiff), and a batch-norm
training step on conv feature maps (against keras.layers.BatchNormalization)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, compare, fresh_seed, run


def check_he_normal(fn: Callable, seed: int | None = None) -> None:
    """Exercise 4.1: mean 0 and std sqrt(2 / fan_in) for a dense and a conv kernel shape."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        c_in = int(rng.integers(40, 64))
        shapes = [(int(rng.integers(400, 600)), int(rng.integers(250, 350))),       # dense: fan_in first
                  (3, 3, c_in, int(rng.integers(280, 320))),                         # conv: kh, kw, c_in, c_out
                  (5, 5, c_in, int(rng.integers(100, 120)))]
        parts = []
        for shape in shapes:
            w = np.asarray(call(fn, shape, np.random.default_rng(seed + 1)), dtype=np.float64)
            if w.shape != shape:
                return False, f"for shape {shape} your kernel has shape {w.shape}"
            fan_in = int(np.prod(shape[:-1]))
            want, n = np.sqrt(2 / fan_in), w.size
            # over n >= 100,000 draws the measured std is within 1/sqrt(2n) (< 0.25%) of the true
            # one and the mean within std/sqrt(n); the tolerances are over ten of those widths
            mean_ok = abs(w.mean()) < 10 * want / np.sqrt(n)
            ratio = w.std() / want
            if not mean_ok or abs(ratio - 1) > 0.025:
                detail = (f"kernel {shape}: measured std {w.std():.4f} and mean {w.mean():.1e}; "
                          f"expected std sqrt(2/{fan_in}) = {want:.4f} and mean 0")
                for name, fan in (("c_in", shape[-2]), ("kh", shape[0]),
                                  ("fan_in + fan_out", fan_in + shape[-1]), ("fan_out", shape[-1])):
                    if abs(w.std() / np.sqrt(2 / fan) - 1) < 0.025:
                        detail += f" (your std is sqrt(2/{fan}): fan_in is kh*kw*c_in, the product of all but the last size, not {name})"
                        break
                else:
                    if abs(w.std() / (2 / fan_in) - 1) < 0.025:
                        detail += " (your std is 2/fan_in: that is the variance)"
                return False, detail
            parts.append(f"{shape}: std {w.std():.4f} (sqrt(2/{fan_in}) = {want:.4f})")
        return True, "; ".join(parts)

    run("4.1 (He initialisation)", body, seed=seed, repeat="ch04.check_he_normal(he_normal, seed={seed})")


def _d_gelu_exact(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * (1 + erf(x / np.sqrt(2))) + x * np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)


def check_d_gelu_tanh(fn: Callable, seed: int | None = None) -> None:
    """Exercise 4.2: derivative of keras.activations.gelu(x, approximate=True), via the Keras
    backend's automatic differentiation (tf.GradientTape, jax.grad, torch.autograd)."""
    import keras

    from course_utils import backends

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        x = np.sort(np.concatenate([rng.uniform(-6, 6, 500), rng.normal(0, 1, 500)]))
        _, grad = backends.gradient(
            lambda t: keras.ops.sum(keras.activations.gelu(t, approximate=True)), x)
        expected = keras.ops.convert_to_numpy(grad).astype(np.float64)
        got = call(fn, x.copy())
        # TensorFlow keeps float64 but rounds the constant 0.044715 to float32 (about 1e-9 off),
        # hence atol 1e-7; Keras on JAX and PyTorch computes in float32 (about 1e-7 off), hence
        # 1e-5 there. Every mistake below is off by more than 1e-4 somewhere in [-6, 6]
        if keras.backend.result_type("float64") == "float64":
            tol = {"rtol": 1e-6, "atol": 1e-7}
        else:
            tol = {"rtol": 1e-5, "atol": 1e-5}
        passed, how = compare(got, expected, **tol, what="your derivative")
        if not passed:
            got = np.asarray(got, dtype=np.float64)
            if got.shape == x.shape and np.allclose(got, _d_gelu_exact(x), atol=1e-7):
                how += " (that is the exact GELU's derivative, d_gelu; this one is for the tanh form)"
            elif got.shape == x.shape and np.allclose(got, 0.5 * (1 + np.tanh(
                    np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))), atol=1e-7):
                how += " (that is only 0.5 (1 + tanh(u)): the product rule gives a second term)"
            return False, how
        return True, (f"1,000 random points in [-6, 6]: == automatic differentiation on "
                      f"{backends.backend()} ({how})")

    run("4.2 (GELU's tanh form, derivative)", body, seed=seed,
        repeat="ch04.check_d_gelu_tanh(d_gelu_tanh, seed={seed})")


def check_batch_norm_train(fn: Callable, seed: int | None = None) -> None:
    """Exercise 4.3: output and new moving statistics of BatchNormalization(training=True) on maps."""
    import keras
    from keras import layers

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        N, H, W, C = (int(rng.integers(lo, hi)) for lo, hi in ((3, 5), (5, 7), (7, 9), (3, 5)))
        x = rng.normal(rng.normal(0, 3, C), rng.uniform(0.5, 4, C), size=(N, H, W, C))
        gamma, beta = rng.uniform(0.5, 2, C), rng.normal(size=C)
        moving_mean, moving_var = rng.normal(size=C), rng.uniform(0.5, 2, C)
        momentum, eps = float(rng.choice([0.9, 0.99])), 1e-3
        # Keras keeps float64 on TensorFlow only (float32, about 7 digits, on JAX and PyTorch);
        # dividing by m - 1 instead of m, the closest mistake, is off by 1/(2m) > 1e-3
        f64 = keras.backend.result_type("float64") == "float64"
        tol = {"rtol": 1e-8, "atol": 1e-10} if f64 else {"rtol": 1e-5, "atol": 1e-5}
        bn = layers.BatchNormalization(momentum=momentum, epsilon=eps,
                                       dtype="float64" if f64 else "float32")
        bn.build(x.shape)
        bn.set_weights([gamma, beta, moving_mean, moving_var])
        y = keras.ops.convert_to_numpy(bn(x, training=True))
        expected = (y, bn.moving_mean.numpy(), bn.moving_variance.numpy())
        got = call(fn, x.copy(), gamma.copy(), beta.copy(), moving_mean.copy(), moving_var.copy(), momentum, eps)
        if not isinstance(got, tuple) or len(got) != 3:
            return False, f"{fn.__name__} should return a tuple (y, new_moving_mean, new_moving_var)"
        for name, have, want in zip(("y", "new_moving_mean", "new_moving_var"), got, expected, strict=True):
            passed, how = compare(have, want, **tol, what=name)
            if not passed:
                have = np.asarray(have, dtype=np.float64)
                if name == "y" and have.shape == x.shape:
                    per_position = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + beta
                    unbiased = gamma * (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2), ddof=1) + eps) + beta
                    if np.allclose(have, per_position):
                        how += " (you normalised over the batch only: a conv layer also averages over all positions)"
                    elif np.allclose(have, unbiased):
                        how += " (you divided by m - 1: batch norm uses the batch's own variance, divided by m)"
                if name != "y" and have.shape == want.shape:
                    batch_stat = x.mean((0, 1, 2)) if name == "new_moving_mean" else x.var((0, 1, 2))
                    old = moving_mean if name == "new_moving_mean" else moving_var
                    if np.allclose(have, momentum * batch_stat + (1 - momentum) * old):
                        how += f" (momentum {momentum} weighs the old moving value, 1 - momentum the batch's)"
                return False, f"{how} (x of shape {(N, H, W, C)}, momentum {momentum})"
        return True, (f"x of shape {(N, H, W, C)}, momentum {momentum}: y and both moving statistics "
                      "== keras.layers.BatchNormalization(training=True)")

    run("4.3 (batch norm on feature maps)", body, seed=seed,
        repeat="ch04.check_batch_norm_train(batch_norm_train, seed={seed})")
