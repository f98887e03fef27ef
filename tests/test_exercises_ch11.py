"""Chapter 11's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub
from scipy.special import softmax as scipy_softmax

from course_utils import crf
from course_utils.exercises import ch11

SOLVED = chapter_functions("11_dense_crf")
CHECKS = (ch11.check_unary, ch11.check_energy, ch11.check_mean_field_step)
NAMES = ("unary_energy", "crf_energy", "mean_field_step")


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_unary(capsys):
    def by_the_course(probs, clip=1e-5):
        return crf.unary_from_probs(probs, clip)

    def channels_first(probs, clip=1e-5):  # move the class axis first, then flatten the pixels
        out = -np.log(np.maximum(np.moveaxis(probs, -1, 0), clip)).reshape(probs.shape[-1], -1)
        return np.ascontiguousarray(out, dtype=np.float32)

    def no_clip(probs, clip=1e-5):
        with np.errstate(divide="ignore"):
            return np.ascontiguousarray(
                -np.log(probs).reshape(-1, probs.shape[2]).T.astype(np.float32)
            )

    def reshaped_not_transposed(probs, clip=1e-5):
        return -np.log(np.clip(probs, clip, 1.0)).astype(np.float32).reshape(probs.shape[2], -1)

    def not_contiguous(probs, clip=1e-5):
        return -np.log(np.clip(probs, clip, 1.0)).astype(np.float32).reshape(-1, probs.shape[2]).T

    def log_p(probs, clip=1e-5):
        return np.ascontiguousarray(
            np.log(np.clip(probs, clip, 1.0)).astype(np.float32).reshape(-1, probs.shape[2]).T
        )

    def pixels_by_rows(
        probs, clip=1e-5
    ):  # (H, W, C) -> (C, H*W) with H*W of pixels, C classes swapped
        return np.ascontiguousarray(
            -np.log(np.clip(probs, clip, 1.0)).astype(np.float32).reshape(-1, probs.shape[2])
        )

    def clips_in_place(probs, clip=1e-5):
        np.clip(probs, clip, 1.0, out=probs)
        return np.ascontiguousarray(
            -np.log(probs).astype(np.float32).reshape(-1, probs.shape[2]).T
        )

    def column_major_pixels(probs, clip=1e-5):  # pixel (i, j) at j * H + i
        energy = -np.log(np.clip(probs, clip, 1.0)).astype(np.float32)
        return np.ascontiguousarray(energy.transpose(2, 1, 0).reshape(probs.shape[2], -1))

    expect(
        capsys,
        ch11.check_unary,
        right=[SOLVED["unary_energy"], by_the_course, channels_first],
        wrong={
            no_clip: "clip first",
            reshaped_not_transposed: "then transpose",
            not_contiguous: "C-contiguous",
            log_p: "the sign",
            pixels_by_rows: "one row per class",
            clips_in_place: "changed the probabilities",
            column_major_pixels: "",
        },
        hints=(
            "clip first",
            "then transpose",
            "C-contiguous",
            "the sign",
            "one row per class",
            "changed the probabilities",
        ),
    )


def test_energy(capsys):
    def with_upper_triangle(unary, labels, kernel):
        disagree = np.triu(labels[:, None] != labels[None, :], 1)
        return float(np.take_along_axis(unary, labels[:, None], 1).sum() + kernel[disagree].sum())

    def by_one_hot(
        unary, labels, kernel
    ):  # pairs that agree: sum_ij k_ij [x_i == x_j] = tr(Y^T K Y)
        onehot = np.eye(unary.shape[1])[labels]
        agree = np.trace(onehot.T @ kernel @ onehot)
        return float((unary * onehot).sum() + (kernel.sum() - agree) / 2)

    def pairs_twice(unary, labels, kernel):
        return float(
            unary[np.arange(len(labels)), labels].sum()
            + (kernel * (labels[:, None] != labels[None])).sum()
        )

    def charges_agreement(unary, labels, kernel):
        agree = labels[:, None] == labels[None]
        return float(
            unary[np.arange(len(labels)), labels].sum() + np.triu(kernel * agree, 1).sum()
        )

    def no_unary(unary, labels, kernel):
        return float((kernel * (labels[:, None] != labels[None])).sum() / 2)

    def unary_of_the_best_label(unary, labels, kernel):  # min over labels, not x_i's
        return float(
            unary.min(axis=1).sum() + (kernel * (labels[:, None] != labels[None])).sum() / 2
        )

    def in_place(unary, labels, kernel):
        kernel *= labels[:, None] != labels[None]
        return float(unary[np.arange(len(labels)), labels].sum() + kernel.sum() / 2)

    expect(
        capsys,
        ch11.check_energy,
        right=[SOLVED["crf_energy"], with_upper_triangle, by_one_hot],
        wrong={
            pairs_twice: "each pair counts once",
            charges_agreement: "disagree",
            no_unary: "unary term is missing",
            unary_of_the_best_label: "unary term",
            in_place: "changed unary",
        },
        hints=("each pair counts once", "disagree", "unary term is missing", "changed unary"),
    )


def test_mean_field_step(capsys):
    def explicit_normalisation(unary, q, kernels, weights, compat):  # D^-1/2 K D^-1/2 as a matrix
        energy = unary.copy()
        for kernel, weight in zip(kernels, weights, strict=True):
            d = np.diag(1 / np.sqrt(kernel.sum(axis=1)))
            energy = energy + weight * (d @ kernel @ d @ q) @ compat.T
        return scipy_softmax(-energy, axis=1)

    def by_einsum(unary, q, kernels, weights, compat):
        message = sum(
            w * np.einsum("ij,jm->im", k / np.sqrt(np.outer(k.sum(1), k.sum(1))), q)
            for k, w in zip(kernels, weights, strict=True)
        )
        return scipy_softmax(-(unary + np.einsum("lm,im->il", compat, message)), axis=1)

    softmax = SOLVED["softmax"]

    def transposed(unary, q, kernels, weights, compat):
        return SOLVED["mean_field_step"](unary, q, kernels, weights, compat.T)

    def row_normalised(unary, q, kernels, weights, compat):
        energy = unary + sum(
            w * (k @ q / k.sum(1, keepdims=True)) @ compat.T
            for k, w in zip(kernels, weights, strict=True)
        )
        return softmax(-energy)

    def reward_form(
        unary, q, kernels, weights, compat
    ):  # section 4's Potts step, whatever compat says
        energy = unary.copy()
        for k, w in zip(kernels, weights, strict=True):
            norm = 1 / np.sqrt(k.sum(1))[:, None]
            energy -= w * norm * (k @ (norm * q))
        return softmax(-energy)

    def sign_flipped(unary, q, kernels, weights, compat):
        return SOLVED["mean_field_step"](unary, q, kernels, weights, -compat)

    def no_softmax(unary, q, kernels, weights, compat):
        energy = unary.copy()
        for k, w in zip(kernels, weights, strict=True):
            norm = 1 / np.sqrt(k.sum(1))[:, None]
            energy += w * (norm * (k @ (norm * q))) @ compat.T
        return np.exp(-energy)

    def adds_to_unary(unary, q, kernels, weights, compat):  # energy = unary; energy += ...
        energy = unary
        for k, w in zip(kernels, weights, strict=True):
            norm = 1 / np.sqrt(k.sum(1))[:, None]
            energy += w * (norm * (k @ (norm * q))) @ compat.T
        return softmax(-energy)

    expect(
        capsys,
        ch11.check_mean_field_step,
        right=[SOLVED["mean_field_step"], explicit_normalisation, by_einsum],
        wrong={
            transposed: "transposed?",
            row_normalised: "symmetrically",
            reward_form: "does not use compat",
            sign_flipped: "the sign",
            no_softmax: "softmax over the labels",
            adds_to_unary: "start from a copy",
        },
        hints=(
            "transposed?",
            "symmetrically",
            "does not use compat",
            "the sign",
            "softmax over the labels",
            "start from a copy",
        ),
    )
