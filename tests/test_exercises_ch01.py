"""Chapter 01's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import ch01
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("01_knn_cross_validation")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_chapters_solutions_pass(capsys, seed):
    assert outcome(capsys, ch01.check_l1_no_loop, SOLVED["l1_no_loop"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch01.check_knn_weighted, SOLVED["knn_predict_weighted"], seed=seed).startswith("PASS")
    assert outcome(capsys, ch01.check_leave_one_out, SOLVED["leave_one_out_accuracy"], seed=seed).startswith("PASS")


def test_stubs_are_not_done(capsys):
    for check in (ch01.check_l1_no_loop, ch01.check_knn_weighted, ch01.check_leave_one_out):
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_planted_mistakes_fail(capsys):
    def l1_squared(A, B):  # L2 squared instead of L1
        return ((A[:, None] - B[None]) ** 2).sum(2)

    def l1_looped(A, B):  # right numbers, but a loop
        return np.array([[np.abs(a - b).sum() for b in B] for a in A])

    def l1_transposed(A, B):
        return np.abs(A[:, None] - B[None]).sum(2).T

    for wrong in (l1_squared, l1_looped, l1_transposed):
        assert outcome(capsys, ch01.check_l1_no_loop, wrong, seed=3).startswith("FAIL"), wrong.__name__

    def unweighted(D, y_train, k, n_classes):
        votes = y_train[np.argsort(D, axis=1)[:, :k]]
        return np.array([np.bincount(v, minlength=n_classes).argmax() for v in votes])

    line = outcome(capsys, ch01.check_knn_weighted, unweighted, seed=3)
    assert line.startswith("FAIL") and "unweighted majority" in line

    def loo_with_self(X, y, k):  # forgets that a point is its own nearest neighbour
        D = SOLVED["l2_no_loop"](X, X)
        votes = (y[np.argsort(D, axis=1)[:, :k]][:, :, None] == np.arange(y.max() + 1)).sum(1)
        return float(np.mean(votes.argmax(1) == y))

    line = outcome(capsys, ch01.check_leave_one_out, loo_with_self, seed=3)
    assert line.startswith("FAIL") and "its own nearest neighbour" in line
