"""Checks for chapter 11's exercises: the unary term in pydensecrf's layout, the energy of a
labelling, and one mean-field step with any label compatibility."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import as_array, call, compare, fresh_seed, number, run


def _random_probs(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    probs = rng.dirichlet(np.full(c, 0.5), size=(h, w)).astype(np.float32)
    probs[rng.random((h, w)) < 0.2] = np.eye(c, dtype=np.float32)[
        rng.integers(0, c)
    ]  # some sure pixels: exact zeros
    return probs


def check_unary(fn: Callable, seed: int | None = None) -> None:
    """Exercise 11.1: -log p, clipped, as a (C, H*W) array, against
    course_utils.crf.unary_from_probs."""
    from course_utils import crf

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        h, w, c = int(rng.integers(5, 9)), int(rng.integers(10, 14)), int(rng.integers(3, 5))
        probs = _random_probs(rng, h, w, c)
        expected = crf.unary_from_probs(probs, 1e-5).astype(np.float64)
        given = probs.copy()
        got = call(fn, given, 1e-5)
        if not np.array_equal(given, probs):
            return False, (
                "your function changed the probabilities it was given (np.clip with "
                "out=probs?): clip into a new array"
            )
        passed, how = compare(got, expected, rtol=1e-5, atol=1e-5, what="your unary")
        if passed:
            got = np.asarray(got)
            if got.dtype != np.float32 or not got.flags.c_contiguous:
                return False, (
                    f"right numbers, but pydensecrf needs a C-contiguous float32 array; yours is "
                    f"{got.dtype}, C-contiguous: {got.flags.c_contiguous} (np.ascontiguousarray "
                    f"after the transpose, .astype(np.float32))"
                )
            return (
                True,
                f"{h}x{w} image, {c} classes: (C, H*W) = {expected.shape}, float32, C-contiguous, "
                f"{how}",
            )
        got = as_array(got, "your unary")
        if got.shape == expected.shape:
            if np.isinf(got).any():
                how += " (a probability of 0 gives -log 0 = infinity: clip first)"
            elif np.allclose(got, -expected, atol=1e-5):
                how += " (the sign: the energy is -log p, large where p is small)"
            elif np.allclose(got, -np.log(np.clip(probs, 1e-5, 1)).reshape(c, h * w), atol=1e-5):
                how += (
                    " (reshaping (H, W, C) straight to (C, H*W) mixes pixels and classes: reshape "
                    "to (H*W, C), then transpose)"
                )
        elif got.shape == expected.shape[::-1]:
            how += " (pydensecrf wants one row per class: transpose)"
        return False, how

    run(
        "11.1 (unary energy)",
        body,
        seed=seed,
        repeat="ch11.check_unary(unary_energy, seed={seed})",
    )


def _energy_reference(unary: np.ndarray, labels: np.ndarray, kernel: np.ndarray) -> float:
    total = float(unary[np.arange(len(labels)), labels].sum())
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            total += kernel[i, j] * float(labels[i] != labels[j])
    return total


def _kernel(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Gaussian kernel between n random 5-dimensional feature vectors (ones on the diagonal)."""
    features = rng.normal(size=(n, 5))
    sq = (features**2).sum(1)
    return np.exp(-0.5 * np.maximum(sq[:, None] + sq[None] - 2 * features @ features.T, 0))


def _small_problem(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, c = int(rng.integers(20, 40)), int(rng.integers(3, 5))
    unary = -np.log(rng.dirichlet(np.ones(c), size=n))
    return unary, _kernel(rng, n), rng.integers(0, c, size=n)


def check_energy(fn: Callable, seed: int | None = None) -> None:
    """Exercise 11.2: E(x) = sum of unaries + Potts pairwise term over pairs i < j."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        unary, kernel, labels = _small_problem(rng)
        expected = _energy_reference(unary, labels, kernel)
        given = (unary.copy(), labels.copy(), kernel.copy())
        got = call(fn, *given)
        if any(
            not np.array_equal(g, o) for g, o in zip(given, (unary, labels, kernel), strict=True)
        ):
            return False, "your function changed unary, labels or kernel: work on new arrays"
        passed, how = compare(got, expected, rtol=1e-9, atol=1e-9, what="your energy")
        if not passed:
            own = float(unary[np.arange(len(labels)), labels].sum())
            differ = int(np.sum(np.triu(labels[:, None] != labels[None, :], 1)))
            how = (
                f"{len(labels)} pixels, {unary.shape[1]} labels: {how}; expected the unary "
                f"term {own:.4f} plus the pairwise term {expected - own:.4f} over the "
                f"{differ} pairs i < j whose labels differ"
            )
            if np.isclose(number(got), 2 * expected - own):
                how += " (each pair counts once, i < j: yours counts (i, j) and (j, i))"
            elif np.isclose(number(got), expected - own):
                how += " (the unary term is missing)"
            elif np.isclose(
                number(got), own + (kernel.sum() - np.trace(kernel)) / 2 - (expected - own)
            ):
                how += " (Potts charges pairs that *disagree*)"
            return False, how
        best = unary.argmin(1)
        return True, (
            f"{len(labels)} pixels, {unary.shape[1]} labels: E = {expected:.4f} (the labels that "
            f"minimise the unary alone: E = {_energy_reference(unary, best, kernel):.4f})"
        )

    run(
        "11.2 (energy of a labelling)",
        body,
        seed=seed,
        repeat="ch11.check_energy(crf_energy, seed={seed})",
    )


def _softmax(energy: np.ndarray) -> np.ndarray:
    e = np.exp(energy - energy.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _step_reference(
    unary, q, kernels, weights, compat, *, norm: str = "symmetric", transpose: bool = False
):
    energy = unary.copy()
    for kernel, weight in zip(kernels, weights, strict=True):
        d = kernel.sum(axis=1)[:, None]
        message = kernel @ (q / np.sqrt(d)) / np.sqrt(d) if norm == "symmetric" else kernel @ q / d
        energy += weight * message @ (compat if transpose else compat.T)
    return _softmax(-energy)


def check_mean_field_step(fn: Callable, seed: int | None = None) -> None:
    """Exercise 11.3: one mean-field update with a label compatibility matrix mu."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        unary, smooth, _ = _small_problem(rng)
        n, c = unary.shape
        appearance = _kernel(rng, n)
        kernels, weights = (
            [smooth, appearance],
            [float(rng.uniform(1, 4)), float(rng.uniform(2, 6))],
        )
        q = _softmax(-unary)
        parts: list[str] = []
        for name, compat in (
            ("Potts", 1.0 - np.eye(c)),
            ("asymmetric", rng.uniform(0, 2, (c, c)) * (1 - np.eye(c))),
        ):
            expected = _step_reference(unary, q, kernels, weights, compat)
            given = (unary.copy(), q.copy(), [k.copy() for k in kernels], compat.copy())
            got = call(fn, given[0], given[1], given[2], list(weights), given[3])
            if not (
                np.array_equal(given[0], unary)
                and np.array_equal(given[1], q)
                and len(given[2]) == len(kernels)
                and all(np.array_equal(a, b) for a, b in zip(given[2], kernels, strict=True))
                and np.array_equal(given[3], compat)
            ):
                return False, (
                    "your function changed an array it was given (energy = unary, "
                    "then energy += ... adds to unary itself): start from a copy"
                )
            passed, how = compare(got, expected, rtol=1e-6, atol=1e-8, what="your new Q")
            if not passed:
                got = as_array(got, "your new Q")
                if got.shape == expected.shape:
                    if np.allclose(
                        got,
                        _step_reference(unary, q, kernels, weights, compat, transpose=True),
                        atol=1e-8,
                    ):
                        how += (
                            " (mu(l, l') multiplies the message about l' into label l's energy: "
                            "transposed?)"
                        )
                    elif np.allclose(
                        got,
                        _step_reference(unary, q, kernels, weights, compat, norm="rows"),
                        atol=1e-8,
                    ):
                        how += (
                            " (normalise symmetrically, D^-1/2 K D^-1/2, as section 4 does, not "
                            "D^-1 K)"
                        )
                    elif np.allclose(
                        got, _step_reference(unary, q, kernels, weights, -compat), atol=1e-8
                    ):
                        how += (
                            " (the sign: a penalty mu adds to the energy, and Q = "
                            "softmax(-energy))"
                        )
                    elif not np.allclose(got.sum(axis=1), 1, atol=1e-6):
                        how += " (each row of Q is a distribution: softmax over the labels)"
                    elif parts and np.allclose(
                        got,
                        _step_reference(unary, q, kernels, weights, 1.0 - np.eye(c)),
                        atol=1e-8,
                    ):
                        how += " (that is the Potts step: your function does not use compat)"
                return False, f"{n} pixels, {c} labels, the {name} compatibility mu: {how}"
            parts.append(f"{name}: {how}")
        return True, f"{n} pixels, {c} labels, two kernels; " + "; ".join(parts)

    run(
        "11.3 (a mean-field step)",
        body,
        seed=seed,
        repeat="ch11.check_mean_field_step(mean_field_step, seed={seed})",
    )
