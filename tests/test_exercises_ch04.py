"""Chapter 04's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub

from course_utils.exercises import ch04

SOLVED = chapter_functions("04_activations_initialisation")


def test_stubs_are_not_done(capsys):
    for check in (ch04.check_he_normal, ch04.check_lsuv, ch04.check_batch_norm_train):
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_he_normal(capsys):
    import keras

    def keras_he(shape, rng):  # a truncated normal with the same standard deviation
        he = keras.initializers.HeNormal(seed=int(rng.integers(1000)))
        return keras.ops.convert_to_numpy(he(shape))

    def standard_normal_scaled(shape, rng):
        return rng.standard_normal(shape) * np.sqrt(2 / np.prod(shape[:-1]))

    def fan_in_is_c_in(shape, rng):  # a conv kernel's fan_in taken as its input channels only
        return rng.normal(0, np.sqrt(2 / shape[-2]), size=shape)

    def fan_in_is_first_size(shape, rng):  # right for dense, wrong for conv
        return rng.normal(0, np.sqrt(2 / shape[0]), size=shape)

    def glorot_fans(shape, rng):
        return rng.normal(0, np.sqrt(2 / (np.prod(shape[:-1]) + shape[-1])), size=shape)

    def variance_as_std(shape, rng):
        return rng.normal(0, 2 / np.prod(shape[:-1]), size=shape)

    def uniform_not_centred(shape, rng):  # right spread, mean not 0
        s = np.sqrt(2 / np.prod(shape[:-1]))
        return rng.uniform(0, s * np.sqrt(12), size=shape)

    def global_generator(shape, rng):  # np.random instead of the generator passed in
        return np.random.normal(0, np.sqrt(2 / np.prod(shape[:-1])), size=shape)

    def own_generator(shape, rng):  # a generator with a fixed seed of its own
        return np.random.default_rng(0).normal(0, np.sqrt(2 / np.prod(shape[:-1])), size=shape)

    expect(
        capsys,
        ch04.check_he_normal,
        right=[SOLVED["he_normal"], keras_he, standard_normal_scaled],
        wrong={
            fan_in_is_c_in: "not c_in",
            fan_in_is_first_size: "not kh",
            glorot_fans: "not fan_in + fan_out",
            variance_as_std: "the variance",
            uniform_not_centred: "centre it on 0",
            global_generator: "same seed gave different",
            own_generator: "gave the same kernel",
        },
        hints=(
            "not c_in",
            "not kh",
            "not fan_in + fan_out",
            "the variance",
            "same seed gave different",
            "gave the same kernel",
            "centre it on 0",
        ),
    )


def test_lsuv(capsys):
    import keras

    def until_converged(kernels, x):  # the paper's loop: rescale until the variance is 1
        kernels = [k.copy() for k in kernels]
        h = x
        for kernel in kernels:
            while abs((h @ kernel).var() - 1) > 1e-12:
                kernel /= np.sqrt((h @ kernel).var())
            h = np.maximum(h @ kernel, 0)
        return kernels

    def with_keras_layers(kernels, x):
        out, h = [], keras.ops.convert_to_tensor(x)
        for kernel in kernels:
            dense = keras.layers.Dense(kernel.shape[1], use_bias=False, dtype="float64")
            dense.build((None, kernel.shape[0]))
            dense.set_weights([kernel / float(keras.ops.std(dense_z(dense, kernel, h)))])
            out.append(dense.get_weights()[0])
            h = keras.ops.relu(dense(h))
        return out

    def dense_z(dense, kernel, h):
        dense.set_weights([kernel])
        return dense(h)

    def not_propagated(kernels, x):
        return ch04.lsuv_reference(kernels, x, propagate=False)

    def after_relu(kernels, x):
        return ch04.lsuv_reference(kernels, x, where="after relu")

    def by_variance(kernels, x):
        h, out = x, []
        for kernel in kernels:
            out.append(kernel / (h @ kernel).var())
            h = np.maximum(h @ out[-1], 0)
        return out

    def per_unit(kernels, x):
        return ch04.lsuv_reference(kernels, x, per_unit=True)

    def in_place(kernels, x):
        h = x
        for kernel in kernels:
            kernel /= (h @ kernel).std()
            h = np.maximum(h @ kernel, 0)
        return kernels

    def kernel_std(kernels, x):  # the spread of the weights, not of the outputs
        return [k / k.std() for k in kernels]

    expect(
        capsys,
        ch04.check_lsuv,
        right=[SOLVED["lsuv"], until_converged, with_keras_layers],
        wrong={
            not_propagated: "as they were",
            after_relu: "not after it",
            by_variance: "not by the variance",
            per_unit: "not one per unit",
            in_place: "changed the kernels",
            kernel_std: "expected all 1",
        },
        hints=(
            "as they were",
            "not after it",
            "not by the variance",
            "not one per unit",
            "changed the kernels",
        ),
    )


def test_batch_norm_train(capsys):
    import keras
    import tensorflow as tf

    solved = SOLVED["batch_norm_train"]

    def by_moments(x, gamma, beta, mm, mv, momentum, eps):
        mu, var = tf.nn.moments(tf.constant(x), axes=[0, 1, 2])
        y = tf.nn.batch_normalization(x, mu, var, beta, gamma, eps).numpy()
        return (
            y,
            momentum * mm + (1 - momentum) * mu.numpy(),
            momentum * mv + (1 - momentum) * var.numpy(),
        )

    def flattened(x, gamma, beta, mm, mv, momentum, eps):  # one row per position, as for dense
        flat = x.reshape(-1, x.shape[-1])
        mu, var = flat.mean(0), ((flat - flat.mean(0)) ** 2).sum(0) / len(flat)
        y = ((flat - mu) / np.sqrt(var + eps) * gamma + beta).reshape(x.shape)
        return y, mm + (1 - momentum) * (mu - mm), mv + (1 - momentum) * (var - mv)

    def per_position(x, gamma, beta, mm, mv, momentum, eps):  # section 9's axis=0, as for dense
        mu, var = x.mean(axis=0), x.var(axis=0)
        return gamma * (x - mu) / np.sqrt(var + eps) + beta, mm, mv

    def unbiased_variance(x, gamma, beta, mm, mv, momentum, eps):
        mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2), ddof=1)
        y = gamma * (x - mu) / np.sqrt(var + eps) + beta
        return y, momentum * mm + (1 - momentum) * mu, momentum * mv + (1 - momentum) * var

    def momentum_swapped(x, gamma, beta, mm, mv, momentum, eps):
        y, _, _ = solved(x, gamma, beta, mm, mv, momentum, eps)
        mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        return y, (1 - momentum) * mm + momentum * mu, (1 - momentum) * mv + momentum * var

    def eps_outside_root(x, gamma, beta, mm, mv, momentum, eps):
        mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        _, new_mm, new_mv = solved(x, gamma, beta, mm, mv, momentum, eps)
        return gamma * (x - mu) / (np.sqrt(var) + eps) + beta, new_mm, new_mv

    def moving_in_place(x, gamma, beta, mm, mv, momentum, eps):  # updates the caller's arrays
        y, new_mm, new_mv = solved(x, gamma, beta, mm, mv, momentum, eps)
        mm[...], mv[...] = new_mm, new_mv
        return y, mm, mv

    def per_image(x, gamma, beta, mm, mv, momentum, eps):  # over positions, not over the batch
        mu, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
        _, new_mm, new_mv = solved(x, gamma, beta, mm, mv, momentum, eps)
        return gamma * (x - mu) / np.sqrt(var + eps) + beta, new_mm, new_mv

    keras.backend.clear_session()
    expect(
        capsys,
        ch04.check_batch_norm_train,
        right=[solved, by_moments, flattened],
        wrong={
            per_position: "all positions",
            unbiased_variance: "m - 1",
            momentum_swapped: "weighs the old",
            eps_outside_root: "y",
            moving_in_place: "changed an array",
            per_image: "y",
        },
        hints=("all positions", "m - 1", "weighs the old", "changed an array"),
    )
