"""Chapter 11's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import ch11
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("11_dense_crf")
CHECKS = (ch11.check_unary, ch11.check_energy, ch11.check_mean_field_step)
NAMES = ("unary_energy", "crf_energy", "mean_field_step")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_chapters_solutions_pass(capsys, seed):
    for check, name in zip(CHECKS, NAMES):
        assert outcome(capsys, check, SOLVED[name], seed=seed).startswith("PASS"), name


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def _expect(capsys, check, wrong, seed, hint):
    line = outcome(capsys, check, wrong, seed=seed)
    assert line.startswith("FAIL") and hint in line, (wrong.__name__, line)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_planted_mistakes_fail(capsys, seed):
    def no_clip(probs, clip=1e-5):
        with np.errstate(divide="ignore"):
            return np.ascontiguousarray(-np.log(probs).reshape(-1, probs.shape[2]).T.astype(np.float32))

    def reshaped_not_transposed(probs, clip=1e-5):
        return -np.log(np.clip(probs, clip, 1.0)).astype(np.float32).reshape(probs.shape[2], -1)

    def not_contiguous(probs, clip=1e-5):
        return -np.log(np.clip(probs, clip, 1.0)).astype(np.float32).reshape(-1, probs.shape[2]).T

    def log_p(probs, clip=1e-5):
        return np.ascontiguousarray(np.log(np.clip(probs, clip, 1.0)).astype(np.float32).reshape(-1, probs.shape[2]).T)

    _expect(capsys, ch11.check_unary, no_clip, seed, "clip first")
    _expect(capsys, ch11.check_unary, reshaped_not_transposed, seed, "then transpose")
    _expect(capsys, ch11.check_unary, not_contiguous, seed, "C-contiguous")
    _expect(capsys, ch11.check_unary, log_p, seed, "the sign")

    def pairs_twice(unary, labels, kernel):
        return float(unary[np.arange(len(labels)), labels].sum() + (kernel * (labels[:, None] != labels[None])).sum())

    def charges_agreement(unary, labels, kernel):
        agree = labels[:, None] == labels[None]
        return float(unary[np.arange(len(labels)), labels].sum() + np.triu(kernel * agree, 1).sum())

    _expect(capsys, ch11.check_energy, pairs_twice, seed, "each pair counts once")
    _expect(capsys, ch11.check_energy, charges_agreement, seed, "disagree")

    softmax = SOLVED["softmax"]

    def transposed(unary, q, kernels, weights, compat):
        return SOLVED["mean_field_step"](unary, q, kernels, weights, compat.T)

    def row_normalised(unary, q, kernels, weights, compat):
        energy = unary + sum(w * (k @ q / k.sum(1, keepdims=True)) @ compat.T for k, w in zip(kernels, weights))
        return softmax(-energy)

    def reward_form(unary, q, kernels, weights, compat):  # section 4's Potts step, whatever compat says
        energy = unary.copy()
        for k, w in zip(kernels, weights):
            norm = 1 / np.sqrt(k.sum(1))[:, None]
            energy -= w * norm * (k @ (norm * q))
        return softmax(-energy)

    _expect(capsys, ch11.check_mean_field_step, transposed, seed, "transposed?")
    _expect(capsys, ch11.check_mean_field_step, row_normalised, seed, "symmetrically")
    _expect(capsys, ch11.check_mean_field_step, reward_form, seed, "does not use compat")
