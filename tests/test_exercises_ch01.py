"""Chapter 01's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

from collections import Counter

import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub
from scipy.spatial.distance import cdist

from course_utils.exercises import ch01

SOLVED = chapter_functions("01_knn_cross_validation")
CHECKS = (ch01.check_l1_no_loop, ch01.check_knn_weighted, ch01.check_leave_one_out)


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_l1(capsys):
    def by_scipy(A, B):
        return cdist(A, B, metric="cityblock")

    def signed_first(A, B):
        A, B = (
            A.astype(np.int64) if A.dtype.kind == "u" else A,
            B.astype(np.int64) if B.dtype.kind == "u" else B,
        )
        return np.abs(np.subtract.outer(A, B).diagonal(axis1=1, axis2=3)).sum(axis=-1)

    def l2_squared(A, B):  # L2 squared instead of L1
        A, B = A.astype(float), B.astype(float)
        return ((A[:, None] - B[None]) ** 2).sum(2)

    def looped(A, B):  # right numbers, but a loop
        return np.array([[np.abs(a.astype(float) - b).sum() for b in B] for a in A])

    def transposed(A, B):
        return np.abs(A.astype(float)[:, None] - B[None]).sum(2).T

    def uint8_wraps(A, B):  # A - B in uint8
        return np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)

    def wrong_axis(A, B):  # sums over the pairs instead of the coordinates
        return np.abs(A.astype(float)[:, None] - B[None]).sum(1)

    expect(
        capsys,
        ch01.check_l1_no_loop,
        right=[SOLVED["l1_no_loop"], by_scipy, signed_first],
        wrong={
            l2_squared: "",
            looped: "Python loop",
            transposed: "transposed",
            uint8_wraps: "wraps around",
            wrong_axis: "shape",
        },
        hints=("Python loop", "wraps around", "transposed"),
    )


def test_the_fixed_vote_rows_tell_the_mistakes_apart():
    D, y = ch01.fixed_vote_rows(), ch01.Y_FIXED
    weighted = ch01._weighted_reference(D, y, 3, 4)
    plain, squared = ch01._vote(D, y, 3, 4, power=0), ch01._vote(D, y, 3, 4, power=2)
    assert weighted[0] != plain[0]  # the weights change a plain vote
    assert weighted[1] != squared[1]  # 1/d and 1/d^2 disagree
    assert D[2].min() == 0 and weighted[2] == 0  # a zero distance, and its class wins
    order = np.argsort(D[3], kind="stable")[:3]
    totals = np.bincount(y[order], 1 / (D[3, order] + 1e-8), 4)
    assert totals[1] == totals[2] == totals.max() and y[order[0]] == 2 and weighted[3] == 1
    assert y[np.argsort(D[4])[0]] == 0 and weighted[4] == 3  # the nearest alone is outvoted


def test_knn_weighted(capsys):
    def looped(D, y_train, k, n_classes):
        out = []
        for row in D:
            nearest = np.argpartition(row, k - 1)[:k]
            out.append(
                np.bincount(y_train[nearest], 1 / (row[nearest] + 1e-8), n_classes).argmax()
            )
        return np.array(out)

    def unweighted(D, y_train, k, n_classes):
        votes = y_train[np.argsort(D, axis=1)[:, :k]]
        return np.array([np.bincount(v, minlength=n_classes).argmax() for v in votes])

    def inverse_square(D, y_train, k, n_classes):
        nearest = np.argsort(D, axis=1)[:, :k]
        w = 1 / (np.take_along_axis(D, nearest, 1) ** 2 + 1e-8)
        return np.array(
            [
                np.bincount(y_train[n], wi, n_classes).argmax()
                for n, wi in zip(nearest, w, strict=True)
            ]
        )

    def no_epsilon(D, y_train, k, n_classes):  # 1 / 0 at a zero distance
        nearest = np.argsort(D, axis=1)[:, :k]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = 1 / np.take_along_axis(D, nearest, 1)
            onehot = y_train[nearest][:, :, None] == np.arange(n_classes)
            return (w[:, :, None] * onehot).sum(1).argmax(1)

    def skips_the_nearest(D, y_train, k, n_classes):  # as if the nearest were the point itself
        nearest = np.argsort(D, axis=1)[:, 1 : k + 1]
        w = 1 / (np.take_along_axis(D, nearest, 1) + 1e-8)
        return np.array(
            [
                np.bincount(y_train[n], wi, n_classes).argmax()
                for n, wi in zip(nearest, w, strict=True)
            ]
        )

    def tie_to_nearest(D, y_train, k, n_classes):  # a dict: among equal totals, the first met
        out = []
        for row in D:
            totals = {}
            for j in np.argsort(row, kind="stable")[:k]:
                totals[y_train[j]] = totals.get(y_train[j], 0) + 1 / (row[j] + 1e-8)
            out.append(max(totals, key=totals.get))
        return np.array(out)

    expect(
        capsys,
        ch01.check_knn_weighted,
        right=[SOLVED["knn_predict_weighted"], looped],
        wrong={
            unweighted: "unweighted majority",
            inverse_square: "squared",
            no_epsilon: "",
            skips_the_nearest: "",
            tie_to_nearest: "smaller label",
        },
        hints=("unweighted majority", "squared", "smaller label"),
    )


def _loo(X, y, k, order):
    votes = np.array([np.bincount(row, minlength=y.max() + 1) for row in y[order[:, :k]]])
    return float(np.mean(votes.argmax(axis=1) == y))


def test_leave_one_out(capsys):
    def looped_squared(X, y, k):  # squared L2 orders the neighbours the same way
        right = 0
        for i in range(len(X)):
            d = ((X - X[i]) ** 2).sum(1)
            d[i] = np.inf
            nearest = np.argpartition(d, k - 1)[:k] if k < len(X) - 1 else np.argsort(d)[:k]
            right += np.bincount(y[nearest], minlength=y.max() + 1).argmax() == y[i]
        return right / len(X)

    def with_self(X, y, k):  # a point is its own nearest neighbour
        return _loo(X, y, k, np.argsort(SOLVED["l2_no_loop"](X, X), axis=1))

    def drop_first(X, y, k):  # wrong when two points coincide
        return _loo(X, y, k, np.argsort(SOLVED["l2_no_loop"](X, X), axis=1)[:, 1:])

    def drop_first_stable(X, y, k):
        return _loo(X, y, k, np.argsort(cdist(X, X), axis=1, kind="stable")[:, 1:])

    def l1(X, y, k):
        D = cdist(X, X, metric="cityblock")
        np.fill_diagonal(D, np.inf)
        return _loo(X, y, k, np.argsort(D, axis=1))

    def counter_vote(X, y, k):  # ties go to the label met first
        D = cdist(X, X)
        np.fill_diagonal(D, np.inf)
        order = np.argsort(D, axis=1, kind="stable")[:, :k]
        return float(
            np.mean(
                [
                    Counter(y[o].tolist()).most_common(1)[0][0] == t
                    for o, t in zip(order, y, strict=True)
                ]
            )
        )

    expect(
        capsys,
        ch01.check_leave_one_out,
        right=[SOLVED["leave_one_out_accuracy"], looped_squared],
        wrong={
            with_self: "its own nearest neighbour",
            drop_first: "instead of dropping",
            drop_first_stable: "instead of dropping",
            l1: "L1 distances",
            counter_vote: "smaller label",
        },
        hints=(
            "its own nearest neighbour",
            "instead of dropping",
            "L1 distances",
            "smaller label",
        ),
    )
