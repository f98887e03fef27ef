"""Chapter 04's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import ch04
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("04_activations_initialisation")
SEEDS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_chapters_solutions_pass(capsys, seed):
    assert outcome(capsys, ch04.check_he_normal, SOLVED["he_normal"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch04.check_d_gelu_tanh, SOLVED["d_gelu_tanh"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch04.check_batch_norm_train, SOLVED["batch_norm_train"], seed=seed).startswith("PASS")


def test_keras_own_he_normal_passes_too(capsys):
    import keras

    def keras_he(shape, rng):  # a truncated normal with the same standard deviation
        he = keras.initializers.HeNormal(seed=int(rng.integers(1000)))
        return keras.ops.convert_to_numpy(he(shape))

    for seed in SEEDS[:2]:
        assert outcome(capsys, ch04.check_he_normal, keras_he, seed=seed).startswith("PASS")


def test_stubs_are_not_done(capsys):
    for check in (ch04.check_he_normal, ch04.check_d_gelu_tanh, ch04.check_batch_norm_train):
        assert outcome(capsys, check, stub).startswith("NOT DONE")


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_he_mistakes_fail(capsys, seed):
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

    hints = {fan_in_is_c_in: "not c_in", fan_in_is_first_size: "not kh",
             glorot_fans: "not fan_in + fan_out", variance_as_std: "the variance", uniform_not_centred: "mean"}
    for wrong, hint in hints.items():
        line = outcome(capsys, ch04.check_he_normal, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_gelu_mistakes_fail(capsys, seed):
    c = np.sqrt(2 / np.pi)

    def no_product_rule(x):
        return 0.5 * (1 + np.tanh(c * (x + 0.044715 * x**3)))

    def no_inner_chain_rule(x):  # forgets the derivative of u
        t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t**2)

    def no_cubic_term(x):  # du/dx taken as sqrt(2/pi)
        t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * c

    line = outcome(capsys, ch04.check_d_gelu_tanh, SOLVED["d_gelu"], seed=seed)
    assert line.startswith("FAIL") and "exact GELU" in line, line
    line = outcome(capsys, ch04.check_d_gelu_tanh, no_product_rule, seed=seed)
    assert line.startswith("FAIL") and "product rule" in line, line
    for wrong in (no_inner_chain_rule, no_cubic_term):
        assert outcome(capsys, ch04.check_d_gelu_tanh, wrong, seed=seed).startswith("FAIL"), wrong.__name__


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_batch_norm_mistakes_fail(capsys, seed):
    solved = SOLVED["batch_norm_train"]

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

    hints = {per_position: "all positions", unbiased_variance: "m - 1", momentum_swapped: "weighs the old",
             eps_outside_root: ""}
    for wrong, hint in hints.items():
        line = outcome(capsys, ch04.check_batch_norm_train, wrong, seed=seed)
        assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)
