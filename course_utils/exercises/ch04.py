"""Checks for chapter 04's exercises: He initialisation for dense and conv kernels (measured over
many draws, and drawn from the generator it is given), layer-sequential unit-variance scaling
(LSUV) of a ReLU network's weights, and a batch-norm training step on conv feature maps
(against keras.layers.BatchNormalization)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from .checking import as_array, call, compare, fresh_seed, run, show


def check_he_normal(fn: Callable, seed: int | None = None) -> None:
    """Exercise 4.1: mean 0 and std sqrt(2 / fan_in) for a dense and a conv kernel shape."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        c_in = int(rng.integers(40, 64))
        shapes = [
            (int(rng.integers(400, 600)), int(rng.integers(250, 350))),  # dense: fan_in first
            (3, 3, c_in, int(rng.integers(280, 320))),  # conv: kh, kw, c_in, c_out
            (5, 5, c_in, int(rng.integers(100, 120))),
        ]
        small = (int(rng.integers(20, 40)), 3, 4, 8)
        first = as_array(call(fn, small, np.random.default_rng(seed + 1)), "your kernel")
        again = as_array(call(fn, small, np.random.default_rng(seed + 1)), "your kernel")
        other = as_array(call(fn, small, np.random.default_rng(seed + 2)), "your kernel")
        if first.shape == again.shape == small and not np.array_equal(first, again):
            return False, (
                f"for shape {small}, two generators made from the same seed gave "
                "different kernels: draw every number from the generator rng you are "
                "given (rng.normal), not from np.random or a generator of your own"
            )
        if first.shape == other.shape == small and np.array_equal(first, other):
            return False, (
                f"for shape {small}, generators made from seeds {seed + 1} and "
                f"{seed + 2} gave the same kernel: draw from the generator rng you "
                "are given, not from one of your own with a fixed seed"
            )
        parts = []
        for shape in shapes:
            w = as_array(call(fn, shape, np.random.default_rng(seed + 1)), "your kernel")
            if w.shape != shape:
                return False, f"for shape {shape} your kernel has shape {w.shape}"
            fan_in = int(np.prod(shape[:-1]))
            want, n = np.sqrt(2 / fan_in), w.size
            # over n >= 100,000 draws the measured std is within 1/sqrt(2n) (< 0.25%) of the true
            # one and the mean within std/sqrt(n); the tolerances are over ten of those widths
            mean_ok = abs(w.mean()) < 10 * want / np.sqrt(n)
            ratio = w.std() / want
            if not mean_ok or abs(ratio - 1) > 0.025:
                detail = (
                    f"kernel {shape}: measured std {w.std():.4f} and mean {w.mean():.1e}; "
                    f"expected std sqrt(2/{fan_in}) = {want:.4f} and mean 0"
                )
                if abs(ratio - 1) <= 0.025:
                    return (
                        False,
                        detail + " (the spread is right, the mean is not: centre it on 0)",
                    )
                for name, fan in (
                    ("c_in", shape[-2]),
                    ("kh", shape[0]),
                    ("fan_in + fan_out", fan_in + shape[-1]),
                    ("fan_out", shape[-1]),
                ):
                    if fan != fan_in and abs(w.std() / np.sqrt(2 / fan) - 1) < 0.025:
                        detail += (
                            f" (your std is sqrt(2/{fan}): fan_in is kh*kw*c_in, the "
                            f"product of all but the last size, not {name})"
                        )
                        break
                else:
                    if abs(w.std() / (2 / fan_in) - 1) < 0.025:
                        detail += " (your std is 2/fan_in: that is the variance)"
                return False, detail
            parts.append(f"{shape}: std {w.std():.4f} (sqrt(2/{fan_in}) = {want:.4f})")
        return True, "; ".join(parts)

    run(
        "4.1 (He initialisation)",
        body,
        seed=seed,
        repeat="ch04.check_he_normal(he_normal, seed={seed})",
    )


def lsuv_reference(
    kernels: list[np.ndarray],
    x: np.ndarray,
    *,
    propagate: bool = True,
    where: str = "before relu",
    power: float = 1.0,
    per_unit: bool = False,
) -> list[np.ndarray]:
    """Each kernel divided by the standard deviation of its layer's output (before the ReLU),
    computed with the layers below already rescaled. The keyword arguments give the usual
    mistakes: scales measured on the unscaled network, after the ReLU, the variance instead of
    the standard deviation, one scale per unit."""
    h, h_unscaled, out = np.asarray(x, dtype=np.float64), np.asarray(x, dtype=np.float64), []
    for kernel in kernels:
        z = (h if propagate else h_unscaled) @ kernel
        measured = np.maximum(z, 0) if where == "after relu" else z
        spread = measured.std(axis=0) if per_unit else measured.std()
        out.append(kernel / spread**power)
        h = np.maximum(h @ out[-1], 0)
        h_unscaled = np.maximum(h_unscaled @ kernel, 0)
    return out


def _stds(kernels: list[np.ndarray], x: np.ndarray) -> list[float]:
    h, stds = np.asarray(x, dtype=np.float64), []
    for kernel in kernels:
        z = h @ np.asarray(kernel, dtype=np.float64)
        stds.append(float(z.std()))
        h = np.maximum(z, 0)
    return stds


def _lsuv_cases(rng: np.random.Generator) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """A one-layer network, then a deeper one whose layers are scaled from 0.1 to 10 times too
    large or small (so a scale measured without the layers below rescaled is far off)."""
    x1 = rng.normal(2.0, 3.0, size=(64, 5))
    cases = [([rng.normal(0, 0.2, size=(5, 7))], x1)]
    widths = [int(rng.integers(8, 16))] + [int(rng.integers(10, 30)) for _ in range(3)]
    x = rng.normal(0.5, 1.0, size=(200, widths[0]))
    scales = [0.1, 8.0, 0.3] if rng.random() < 0.5 else [6.0, 0.15, 10.0]
    kernels = [
        rng.normal(0, scale / np.sqrt(n_in), size=(n_in, n_out))
        for scale, (n_in, n_out) in zip(scales, itertools.pairwise(widths), strict=True)
    ]
    return cases + [(kernels, x)]


LSUV_MISTAKES = (
    (
        {"propagate": False},
        "each layer's scale must be measured on the output of the layers "
        "below as they are after their own rescaling, not as they were",
    ),
    ({"where": "after relu"}, "measure the spread of z = h @ W before the ReLU, not after it"),
    ({"power": 2.0}, "divide by the standard deviation, not by the variance"),
    (
        {"per_unit": True},
        "one scale per layer (the standard deviation of all of z's numbers), not one per unit",
    ),
)


def check_lsuv(fn: Callable, seed: int | None = None) -> None:
    """Exercise 4.2: LSUV, each layer's kernel scaled so that its output has std 1 on x."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        shown = []
        for kernels, x in _lsuv_cases(rng):
            given = ([k.copy() for k in kernels], x.copy())
            got = call(fn, *given)
            if (
                len(given[0]) != len(kernels)
                or any(not np.array_equal(a, b) for a, b in zip(given[0], kernels, strict=True))
                or not np.array_equal(given[1], x)
            ):
                return False, (
                    "your function changed the kernels or x it was given: return "
                    "new arrays (W / s makes one; W /= s changes the caller's)"
                )
            try:
                got = [np.asarray(k, dtype=np.float64) for k in got]
            except (TypeError, ValueError):
                return (
                    False,
                    f"{fn.__name__} should return a list of kernels; got {type(got).__name__}",
                )
            shapes = [k.shape for k in kernels]
            if [k.shape for k in got] != shapes:
                return False, (
                    f"your kernels have shapes {[k.shape for k in got]}, expected "
                    f"{shapes} (one per layer, each shaped like the one given)"
                )
            expected = lsuv_reference(kernels, x)
            stds = _stds(got, x)
            setting = (
                f"{len(kernels)}-layer network {shapes}, x {x.shape}, output stds before: "
                f"{show(np.array(_stds(kernels, x)), 3)}"
            )
            for layer, (have, want) in enumerate(zip(got, expected, strict=True)):
                # float32 arithmetic (Keras on JAX, a float32 NumPy route) is about 1e-7
                # off; every mistake in LSUV_MISTAKES is off by far more than 1e-5
                passed, how = compare(
                    have, want, rtol=1e-5, atol=1e-7, what=f"your kernel {layer}"
                )
                if passed:
                    continue
                detail = (
                    f"{setting}; with your kernels the layers' outputs z have standard "
                    f"deviations {show(np.array(stds), 4)}, expected all 1: {how}"
                )
                for told, words in LSUV_MISTAKES:
                    if all(
                        np.allclose(g, w, rtol=1e-5, atol=1e-7)
                        for g, w in zip(got, lsuv_reference(kernels, x, **told), strict=True)
                    ):
                        detail += f"; {words}"
                        break
                return False, detail
            shown.append(
                f"{len(kernels)}-layer network, output stds "
                f"{show(np.array(_stds(kernels, x)), 2)} before"
            )
        return True, "; ".join(shown) + "; after: every layer's output has std 1"

    run("4.2 (LSUV)", body, seed=seed, repeat="ch04.check_lsuv(lsuv, seed={seed})")


def check_batch_norm_train(fn: Callable, seed: int | None = None) -> None:
    """Exercise 4.3: output and new moving statistics of BatchNormalization(training=True) on
    maps."""
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
        bn = layers.BatchNormalization(
            momentum=momentum, epsilon=eps, dtype="float64" if f64 else "float32"
        )
        bn.build(x.shape)
        bn.set_weights([gamma, beta, moving_mean, moving_var])
        y = keras.ops.convert_to_numpy(bn(x, training=True))
        expected = (y, bn.moving_mean.numpy(), bn.moving_variance.numpy())
        inputs = (x, gamma, beta, moving_mean, moving_var)
        given = tuple(v.copy() for v in inputs)
        got = call(fn, *given, momentum, eps)
        if any(not np.array_equal(g, v) for g, v in zip(given, inputs, strict=True)):
            return False, (
                "your function changed an array it was given (the moving statistics?): "
                "return new arrays; the layer itself stores them"
            )
        if not isinstance(got, tuple) or len(got) != 3:
            return (
                False,
                f"{fn.__name__} should return a tuple (y, new_moving_mean, new_moving_var)",
            )
        for name, have, want in zip(
            ("y", "new_moving_mean", "new_moving_var"), got, expected, strict=True
        ):
            passed, how = compare(have, want, **tol, what=name)
            if not passed:
                have = np.asarray(have, dtype=np.float64)
                if name == "y" and have.shape == x.shape:
                    per_position = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + beta
                    unbiased = (
                        gamma * (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2), ddof=1) + eps)
                        + beta
                    )
                    if np.allclose(have, per_position):
                        how += (
                            " (you normalised over the batch only: a conv layer also averages "
                            "over all positions)"
                        )
                    elif np.allclose(have, unbiased):
                        how += (
                            " (you divided by m - 1: batch norm uses the batch's own variance, "
                            "divided by m)"
                        )
                if name != "y" and have.shape == want.shape:
                    batch_stat = (
                        x.mean((0, 1, 2)) if name == "new_moving_mean" else x.var((0, 1, 2))
                    )
                    old = moving_mean if name == "new_moving_mean" else moving_var
                    if np.allclose(have, momentum * batch_stat + (1 - momentum) * old):
                        how += (
                            f" (momentum {momentum} weighs the old moving value, 1 - momentum the "
                            "batch's)"
                        )
                return False, f"{how} (x of shape {(N, H, W, C)}, momentum {momentum})"
        return True, (
            f"x of shape {(N, H, W, C)}, momentum {momentum}: y and both moving statistics "
            "== keras.layers.BatchNormalization(training=True)"
        )

    run(
        "4.3 (batch norm on feature maps)",
        body,
        seed=seed,
        repeat="ch04.check_batch_norm_train(batch_norm_train, seed={seed})",
    )
