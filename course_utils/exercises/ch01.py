"""Checks for chapter 01's exercises: an L1 table without a loop, a distance-weighted vote,
and leave-one-out accuracy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, compare, fresh_seed, run, uses_a_loop


def _l1_reference(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    D = np.zeros((len(A), len(B)))
    for i in range(len(A)):
        for j in range(len(B)):
            D[i, j] = np.abs(A[i] - B[j]).sum()
    return D


def check_l1_no_loop(fn: Callable, seed: int | None = None) -> None:
    """Exercise 1.1: the L1 distance table, by broadcasting, against a two-loop reference."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(int(rng.integers(3, 9)), 12))
        B = rng.normal(size=(int(rng.integers(3, 9)), 12))
        passed, how = compare(call(fn, A, B), _l1_reference(A, B), rtol=1e-9, atol=1e-9)
        if passed and uses_a_loop(fn):
            return False, f"right numbers, but {fn.__name__} uses a Python loop or comprehension"
        return passed, f"{len(A)}x{len(B)} table of 12-dimensional random points: {how}"

    run("1.1 (L1 without a loop)", body, seed=seed,
               repeat="ch01.check_l1_no_loop(l1_no_loop, seed={seed})")


def _weighted_reference(D: np.ndarray, y_train: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    answers = []
    for row in D:
        scores = np.zeros(n_classes)
        for j in np.argsort(row)[:k]:
            scores[y_train[j]] += 1.0 / (row[j] + 1e-8)
        answers.append(int(np.argmax(scores)))
    return np.array(answers)


def check_knn_weighted(fn: Callable, seed: int | None = None) -> None:
    """Exercise 1.2: each of the k nearest votes with weight 1 / distance."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        D = rng.uniform(0.1, 5.0, size=(200, 30))
        y_train = rng.integers(0, 4, size=30)
        expected = _weighted_reference(D, y_train, 7, 4)
        got = np.asarray(call(fn, D, y_train, 7, 4))
        if got.shape != expected.shape:
            return False, f"your answers have shape {got.shape}, expected {expected.shape} (one label per row of D)"
        wrong = int(np.sum(got != expected))
        majority = np.array([np.bincount(y_train[np.argsort(r)[:7]], minlength=4).argmax() for r in D])
        differ = int(np.sum(majority != expected))
        detail = (f"{200 - wrong} of 200 rows right with k=7 (on {differ} rows the weights "
                  "change the answer of a plain majority vote)")
        if wrong and np.array_equal(got, majority):
            detail += "; your answers equal the unweighted majority vote"
        return wrong == 0, detail

    run("1.2 (distance-weighted vote)", body, seed=seed,
               repeat="ch01.check_knn_weighted(knn_predict_weighted, seed={seed})")


def _loo_reference(X: np.ndarray, y: np.ndarray, k: int) -> float:
    right = 0
    for i in range(len(X)):
        d = np.sqrt(((X - X[i]) ** 2).sum(1))
        d[i] = np.inf  # a point is not its own neighbour
        votes = np.bincount(y[np.argsort(d, kind="stable")[:k]], minlength=y.max() + 1)
        right += int(votes.argmax() == y[i])
    return right / len(X)


def check_leave_one_out(fn: Callable, seed: int | None = None) -> None:
    """Exercise 1.3: leave-one-out accuracy of kNN on a training set, for k = 1 and k = 5."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        y = np.repeat(np.arange(3), 20)
        X = rng.normal(size=(60, 2)) + 1.5 * np.array([[0, 0], [1, 0], [0, 1]])[y]
        parts = []
        for k in (1, 5):
            got, expected = call(fn, X, y, k), _loo_reference(X, y, k)
            passed, how = compare(got, expected, atol=1e-12, what=f"your accuracy for k={k}")
            if not passed:
                if k == 1 and np.isclose(float(got), 1.0):
                    how += " (1.0 at k=1: is each point its own nearest neighbour?)"
                return False, how
            parts.append(f"k={k}: {expected:.3f}")
        return True, "60 points in 3 overlapping clouds, " + ", ".join(parts) + ", as expected"

    run("1.3 (leave-one-out accuracy)", body, seed=seed,
               repeat="ch01.check_leave_one_out(leave_one_out_accuracy, seed={seed})")
