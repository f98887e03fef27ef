"""Checks for chapter 05's exercises: a convolution layer's parameter count, output sizes the way
Keras computes them, and a receptive field measured with a gradient."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, fresh_seed, run


def check_conv_params(fn: Callable, seed: int | None = None) -> None:
    """Exercise 5.1: parameters of a Conv2D layer, against Keras' own count_params."""
    from keras import layers

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        for case in range(6):
            fh, fw = (int(v) for v in rng.integers(1, 8, size=2))
            depth, filters = int(rng.integers(2, 65)), int(rng.integers(2, 129))
            use_bias = case % 2 == 0
            conv = layers.Conv2D(filters, (fh, fw), use_bias=use_bias)
            conv.build((None, 32, 32, depth))
            expected = conv.count_params()
            got = call(fn, (fh, fw), depth, filters, use_bias)
            if got != expected:
                call_text = f"conv_params(({fh}, {fw}), depth={depth}, filters={filters}, use_bias={use_bias})"
                detail = f"{call_text} gave {got}, Keras counts {expected:,}"
                if got in (fh * fw * filters, fh * fw * filters + filters):
                    detail += " (a filter is as deep as its input: it has depth x fh x fw weights)"
                elif use_bias and got == expected - filters:
                    detail += " (each filter also has one bias)"
                elif not use_bias and got == expected + filters:
                    detail += " (use_bias=False: no biases at all)"
                return False, detail
        return True, "6 random layers (kernels up to 7x7, depth up to 64, with and without bias), as Keras counts"

    run("5.1 (parameters of a convolution layer)", body, seed=seed,
        repeat="ch05.check_conv_params(conv_params, seed={seed})")


def check_keras_output_size(fn: Callable, seed: int | None = None) -> None:
    """Exercise 5.2: output size along one axis for valid and same padding, stride and dilation,
    against the shape a Keras Conv2D computes."""
    from keras import layers

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        cases = []
        for padding in ("valid", "same"):
            for _ in range(5):  # strides, often not fitting the chapter's formula
                cases.append((int(rng.integers(9, 40)), int(rng.choice([2, 3, 4, 5])),
                              int(rng.integers(2, 5)), padding, 1))
            for _ in range(3):  # dilated filters, stride 1 (Keras allows no stride with dilation)
                cases.append((int(rng.integers(15, 40)), int(rng.choice([2, 3, 5])), 1, padding,
                              int(rng.integers(2, 4))))
        for W, F, S, padding, d in cases:
            conv = layers.Conv2D(1, F, strides=S, padding=padding, dilation_rate=d)
            expected = conv.compute_output_shape((None, W, W, 1))[1]
            got = call(fn, W, F, S, padding, d)
            if got != expected:
                detail = (f"keras_output_size(W={W}, F={F}, S={S}, padding={padding!r}, dilation={d}) "
                          f"gave {got}, a Keras Conv2D outputs {expected}")
                if padding == "same" and S > 1 and got == W:
                    detail += " ('same' keeps the size only with stride 1; with stride S it divides it)"
                elif padding == "valid" and d > 1 and got == W - F + 1:
                    detail += f" (a dilated filter spans {d * (F - 1) + 1} pixels, not {F})"
                elif padding == "valid" and got == expected + 1:
                    detail += " (a position counts only if the whole filter fits: round down)"
                return False, detail
        return True, f"{len(cases)} random layers (valid and same, strides 2 to 4, dilations 2 and 3), as Keras computes"

    run("5.2 (output size as Keras computes it)", body, seed=seed,
        repeat="ch05.check_keras_output_size(keras_output_size, seed={seed})")


def _random_stack(rng: np.random.Generator):
    """A small linear network of Conv2D and AveragePooling2D layers (positive weights, so every
    pixel in a unit's receptive field has a non-zero gradient), and its receptive field (h, w)."""
    import keras
    from keras import layers

    while True:
        spec = []
        for i in range(int(rng.integers(2, 5))):
            if i and rng.random() < 0.3:
                k = int(rng.integers(2, 4))
                spec.append(("pool", (k, k), k))
            else:
                s = int(rng.choice([1, 2]))
                kh, kw = (int(v) for v in rng.integers(s, 6, size=2))
                spec.append(("conv", (kh, kw), s))
        field, jump, size = np.ones(2, int), 1, np.array([64, 56])
        for _, kernel, stride in spec:
            field, jump = field + (np.array(kernel) - 1) * jump, jump * stride
            size = (size - np.array(kernel)) // stride + 1
        if field[0] != field[1] and size.min() >= 3:  # a map of several units, a non-square field
            break
    inputs = keras.Input(shape=(64, 56, 1))
    x = inputs
    init = keras.initializers.RandomUniform(0.1, 1.0, seed=int(rng.integers(1 << 30)))
    for kind, kernel, stride in spec:
        x = (layers.Conv2D(2, kernel, strides=stride, kernel_initializer=init)(x) if kind == "conv"
             else layers.AveragePooling2D(kernel, strides=stride)(x))
    return keras.Model(inputs, x), (int(field[0]), int(field[1])), spec


def check_receptive_field(fn: Callable, seed: int | None = None) -> None:
    """Exercise 5.3: the measured receptive field of random stacks of convolutions and poolings,
    against the formula of section 11."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        found = []
        for _ in range(3):
            model, expected, spec = _random_stack(rng)
            got = call(fn, model)
            try:
                got = tuple(int(v) for v in got)
            except (TypeError, ValueError):
                return False, f"{fn.__name__} returned {got!r}, expected a pair (height, width)"
            if got != expected:
                layers_text = ", ".join(f"{kind} {k[0]}x{k[1]} stride {s}" for kind, k, s in spec)
                detail = f"for [{layers_text}] you measured {got}, the field is {expected} (height, width)"
                if got == expected[::-1]:
                    detail += ": height and width swapped (rows are axis 1 of the input)"
                elif got == (expected[0] - 1, expected[1] - 1):
                    detail += ": one too few (rows 3 to 5 are 3 rows)"
                elif got[0] >= expected[0] and got[1] >= expected[1]:
                    detail += ": too large; differentiate one output unit, not the whole output"
                return False, detail
            found.append(f"{got[0]}x{got[1]}")
        return True, f"3 random stacks of convolutions and poolings, fields {', '.join(found)}, as the formula says"

    run("5.3 (receptive field, measured)", body, seed=seed,
        repeat="ch05.check_receptive_field(measured_receptive_field, seed={seed})")
