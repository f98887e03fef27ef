"""Checks for chapter 01's exercises: an L1 table without a loop, a distance-weighted vote,
and leave-one-out accuracy.

Each check runs fixed inputs that tell the usual mistakes from the right answer (uint8
pixels, a zero distance, a tie in the vote, two training points at the same place), then
random ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Literal

import numpy as np

from .checking import call, compare, fresh_seed, number, run, show, uses_a_loop


def _l1_reference(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    D = np.zeros((len(A), len(B)))
    for i in range(len(A)):
        for j in range(len(B)):
            D[i, j] = np.abs(A[i].astype(np.float64) - B[j].astype(np.float64)).sum()
    return D


def check_l1_no_loop(fn: Callable, seed: int | None = None) -> None:
    """Exercise 1.1: the L1 distance table, by broadcasting, against a two-loop reference."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        # uint8 pixels as the loader gives them; one row; random floats
        cases: list[tuple[str, np.ndarray, np.ndarray]] = [
            (
                "uint8 pixels",
                rng.integers(0, 256, size=(4, 48)).astype(np.uint8),
                rng.integers(0, 256, size=(6, 48)).astype(np.uint8),
            ),
            ("one row against many", rng.normal(size=(1, 5)), rng.normal(size=(7, 5))),
            (
                "random floats",
                rng.normal(size=(int(rng.integers(3, 9)), 12)),
                rng.normal(size=(int(rng.integers(3, 9)), 12)),
            ),
        ]
        for name, A, B in cases:
            given = (A.copy(), B.copy())
            got = call(fn, *given)
            if not (np.array_equal(given[0], A) and np.array_equal(given[1], B)):
                return False, "your function changed A or B: work on new arrays"
            expected = _l1_reference(A, B)
            passed, how = compare(got, expected, rtol=1e-9, atol=1e-9, what="your table")
            if passed:
                continue
            detail = f"A {A.shape} and B {B.shape}, {name} ({A.dtype}): {how}"
            got = np.asarray(got)
            if got.shape == expected.shape and A.dtype == np.uint8:
                wrapped = (A[:, None, :] - B[None, :, :]).astype(np.int64).sum(axis=2)
                if np.allclose(got, wrapped):
                    j = int(np.argmax(A[0] < B[0]))  # a coordinate where A[0] is below B[0]
                    a, b = int(A[0, j]), int(B[0, j])
                    detail += (
                        f"; in uint8 a subtraction wraps around (A[0, {j}] - B[0, {j}] = "
                        f"{a} - {b} gives {(a - b) % 256}, not {a - b}): convert A and B "
                        "to a signed or float type first"
                    )
            elif got.shape == expected.shape[::-1] and expected.shape[0] != expected.shape[1]:
                detail += "; your table is transposed: row i is A[i], column j is B[j]"
            return False, detail
        if uses_a_loop(fn):
            return False, f"right numbers, but {fn.__name__} uses a Python loop or comprehension"
        return True, (
            "uint8 pixels, one row against seven, and random floats: every table "
            "equals the two-loop one"
        )

    run(
        "1.1 (L1 without a loop)",
        body,
        seed=seed,
        repeat="ch01.check_l1_no_loop(l1_no_loop, seed={seed})",
    )


def _vote(
    D: np.ndarray, y_train: np.ndarray, k: int, n_classes: int, power: float = 1.0
) -> np.ndarray:
    """Each row's class with the largest sum of 1 / (distance**power + 1e-8) over its k nearest
    (power 0: one vote each); ties go to the smaller label, as np.argmax gives them."""
    answers = []
    for row in D:
        nearest = np.argsort(row, kind="stable")[:k]
        weights = 1.0 / (row[nearest] ** power + 1e-8) if power else np.ones(k)
        answers.append(int(np.argmax(np.bincount(y_train[nearest], weights, n_classes))))
    return np.array(answers)


def _weighted_reference(D: np.ndarray, y_train: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    answers = []
    for row in D:
        scores = np.zeros(n_classes)
        for j in np.argsort(row, kind="stable")[:k]:
            scores[y_train[j]] += 1.0 / (row[j] + 1e-8)
        answers.append(int(np.argmax(scores)))  # ties: the smaller label
    return np.array(answers)


Y_FIXED = np.array([0, 1, 2, 2, 1, 0, 3, 3])


def fixed_vote_rows() -> np.ndarray:
    """Distances from six test points to the eight training points labelled Y_FIXED, for k = 3.
    Row by row (tests/test_exercises_ch01.py checks each claim):
    0. one close 1 outweighs two farther 2s: the weights change a plain vote's answer;
    1. 1 / distance and 1 / distance squared disagree;
    2. a distance of exactly 0 (the 1e-8 at work);
    3. an exact tie of classes 2 and 1, the 2 met first: the smaller label wins;
    4. the nearest's class is 0; the second and third nearest are 3s;
    5. a plain row."""
    rows = np.full((6, 8), 9.0)
    rows[0, [1, 2, 3]] = [0.2, 1.0, 1.1]
    rows[1, [4, 6, 7]] = [0.5, 0.8, 0.9]
    rows[2, [0, 1, 4]] = [0.0, 0.5, 0.6]
    rows[3, [2, 4, 0]] = [0.5, 0.5, 5.0]
    rows[4, [5, 6, 7]] = [0.3, 0.35, 0.4]
    rows[5, [0, 3, 6]] = [1.0, 2.0, 3.0]
    return rows


def _vote_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, int, int]]:
    """(what, D, y_train, k, n_classes): the fixed rows, then random tables for k = 7 and 1."""
    cases = [("fixed rows", fixed_vote_rows(), Y_FIXED, 3, 4)]
    D = rng.uniform(0.1, 5.0, size=(100, 30))
    cases.append(("random distances", D, rng.integers(0, 4, size=30), 7, 4))
    D = rng.uniform(0.1, 5.0, size=(20, 12))
    cases.append(("random distances", D, rng.integers(0, 3, size=12), 1, 3))
    return cases


def check_knn_weighted(fn: Callable, seed: int | None = None) -> None:
    """Exercise 1.2: each of the k nearest votes with weight 1 / (distance + 1e-8)."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        summary = []
        for what, D, y_train, k, n_classes in _vote_cases(rng):
            expected = _weighted_reference(D, y_train, k, n_classes)
            given = (D.copy(), y_train.copy())
            got = np.asarray(call(fn, *given, k, n_classes))
            if not (np.array_equal(given[0], D) and np.array_equal(given[1], y_train)):
                return False, "your function changed D or y_train: work on new arrays"
            if got.shape != expected.shape:
                return False, (
                    f"your answers have shape {got.shape}, expected {expected.shape} "
                    "(one label per row of D)"
                )
            wrong = np.flatnonzero(got != expected)
            if not len(wrong):
                summary.append(f"{what} ({len(D)} rows, k={k})")
                continue
            i = int(wrong[0])
            nearest = np.argsort(D[i], kind="stable")[:k]
            totals = np.bincount(y_train[nearest], 1.0 / (D[i, nearest] + 1e-8), n_classes)
            detail = (
                f"{what}, k={k}: {len(wrong)} of {len(D)} rows wrong. Row {i}: the {k} "
                f"nearest have labels {show(y_train[nearest])} at distances "
                f"{show(D[i, nearest], 3)}, so the classes' total weights are "
                f"{show(totals, 4)}: class {expected[i]}; yours {show(got[i])}"
            )
            if np.array_equal(got, _vote(D, y_train, k, n_classes, power=0)):
                detail += "; your answers are the unweighted majority vote"
            elif np.array_equal(got, _vote(D, y_train, k, n_classes, power=2)):
                detail += "; your answers weigh by 1 / distance squared: use 1 / distance"
            elif np.sum(np.isclose(totals, totals.max(), rtol=1e-12)) > 1:
                detail += "; two classes tie there: the smaller label wins, as np.argmax gives it"
            return False, detail
        return True, "right on " + ", ".join(summary) + " (a zero distance and a tie among them)"

    run(
        "1.2 (distance-weighted vote)",
        body,
        seed=seed,
        repeat="ch01.check_knn_weighted(knn_predict_weighted, seed={seed})",
    )


SortKind = Literal["stable", "quicksort"]


def _loo_reference(
    X: np.ndarray,
    y: np.ndarray,
    k: int,
    *,
    metric: str = "l2",
    ties: str = "smaller",
    own: str = "excluded",
    kind: SortKind = "stable",
) -> float:
    """Leave-one-out accuracy; the keyword arguments give the usual mistakes: L1 distances, a
    tie going to the label met first, the point voting for itself, or the first sorted
    neighbour dropped (wrong when points coincide), with either sort order among ties."""
    right = 0
    for i in range(len(X)):
        if metric == "l2":
            d = np.sqrt(((X - X[i]) ** 2).sum(1))
        else:
            d = np.abs(X - X[i]).sum(1)
        if own == "excluded":
            d[i] = np.inf  # a point is not its own neighbour
        order = np.argsort(d, kind=kind)
        labels = y[order[1 : k + 1] if own == "drop first" else order[:k]]
        if ties == "smaller":
            vote = np.bincount(labels, minlength=y.max() + 1).argmax()
        else:  # Counter: among equal counts, the label met first (the nearer)
            vote = Counter(labels.tolist()).most_common(1)[0][0]
        right += int(vote == y[i])
    return right / len(X)


MISTAKES = (  # (how the reference goes wrong, what the FAIL line says)
    (
        {"own": "included"},
        "is each point its own nearest neighbour? Set the diagonal of the table to infinity first",
    ),
    ({"metric": "l1"}, "that is the accuracy with L1 distances: this exercise uses L2"),
    (
        {"ties": "nearer"},
        "a vote that ties goes to the smaller label (np.argmax of the counts), "
        "not to the label met first",
    ),
    (
        {"own": "drop first"},
        "when two points are at the same place the first sorted neighbour "
        "is not always the point itself: set the diagonal of the table to "
        "infinity instead of dropping a column",
    ),
)


def _named_mistakes(
    value: float,
    X: np.ndarray,
    y: np.ndarray,
    k: int,
    passed: list[tuple[np.ndarray, np.ndarray, int]],
) -> list[str]:
    """The mistakes that give `value` here and were right on every case passed before."""
    named = []
    kinds: tuple[SortKind, ...] = ("stable", "quicksort")
    for told, words in MISTAKES:
        for kind in kinds:
            if np.isclose(value, _loo_reference(X, y, k, kind=kind, **told)) and all(
                np.isclose(
                    _loo_reference(Xp, yp, kp, kind=kind, **told), _loo_reference(Xp, yp, kp)
                )
                for Xp, yp, kp in passed
            ):
                named.append(words)
                break
    return named


def _loo_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """(what, X, y, k). Fixed sets first, each built so that no tie between distances decides a
    vote and each tells one mistake on its own: three points whose nearest neighbour is another
    by L1 than by L2 (and where a point voting for itself scores 1.0); pairs of points at the
    same place with different labels (dropping the first sorted neighbour is then wrong for one
    of each pair); five points where a vote of four ties two against two. Then three random
    overlapping clouds."""
    corner = np.array([[0, 0], [3, 0.2], [2, 2]])
    pairs = np.repeat([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]], 2, axis=0)
    line = np.array([[0, 0], [1, 0], [-2.1, 0], [3.3, 0], [-4.6, 0]])
    y = np.repeat(np.arange(3), 16)
    clouds = rng.normal(size=(48, 2)) + 1.5 * np.array([[0, 0], [1, 0], [0, 1]])[y]
    fixed = [
        ("3 points", corner, np.array([2, 1, 2]), 1),
        ("6 points, in pairs at the same place", pairs, np.array([0, 1, 1, 2, 2, 0]), 1),
        ("5 points on a line", line, np.array([0, 2, 0, 2, 0]), 4),
    ]
    return fixed + [("48 points in 3 overlapping clouds", clouds, y, k) for k in (1, 4, 5)]


def check_leave_one_out(fn: Callable, seed: int | None = None) -> None:
    """Exercise 1.3: leave-one-out accuracy of kNN with L2 distances, on fixed and random sets."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        parts, done = [], []
        for what, X, y, k in _loo_cases(rng):
            given = (X.copy(), y.copy())
            got = call(fn, *given, k)
            if not (np.array_equal(given[0], X) and np.array_equal(given[1], y)):
                return False, "your function changed X or y: work on new arrays"
            expected = _loo_reference(X, y, k)
            passed, how = compare(got, expected, atol=1e-12, what="your accuracy")
            if passed:
                parts.append(f"{expected:.3f}")
                done.append((X, y, k))
                continue
            n = len(X)
            how = f"{what}, k={k}: {how} ({round(expected * n)} of {n} points right)"
            named = _named_mistakes(number(got), X, y, k, done)
            if named:
                how += "; " + "; or ".join(named)
            return False, how
        return True, (
            "L1 against L2, pairs of points at the same place, a tie in a vote of "
            "four, and 48 random points for k = 1, 4, 5: accuracies "
            + ", ".join(parts)
            + ", as expected"
        )

    run(
        "1.3 (leave-one-out accuracy)",
        body,
        seed=seed,
        repeat="ch01.check_leave_one_out(leave_one_out_accuracy, seed={seed})",
    )
