"""The tools every exercise check shares: comparing, calling the student's code, reporting."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

from course_utils.exercises import checking


def test_compare_explains_shape_nan_and_the_worst_value():
    assert checking.compare(np.ones((2, 3)), np.ones((2, 3)))[0]
    ok, why = checking.compare(np.ones((3, 2)), np.ones((2, 3)))
    assert not ok and "shape (3, 2), expected (2, 3)" in why
    ok, why = checking.compare([1.0, np.nan], [1.0, 2.0])
    assert not ok and "1 NaN" in why
    ok, why = checking.compare([1.0, 2.0, 7.0], [1.0, 2.0, 3.0])
    assert (
        not ok
        and "your result: 1 of 3 values differ" in why
        and "index (2,)" in why
        and "yours 7" in why
    )
    ok, why = checking.compare(0.5, 0.75, what="your accuracy")
    assert not ok and why == "your accuracy is 0.5, expected 0.75 (allowed difference 7.6e-08)"


def test_run_reports_pass_fail_not_done_and_a_student_error(capsys):
    def student_error():
        checking.call(lambda: 1 / 0)
        return True, ""

    assert checking.run("9.1", lambda: (True, "fine")).status == checking.PASS
    assert (
        checking.run(
            "9.1", lambda: (False, "off by one"), seed=7, repeat="again(seed={seed})"
        ).status
        == checking.FAIL
    )
    assert checking.run("9.1", lambda: checking.call(stub_fn)).status == checking.NOT_DONE
    assert checking.run("9.1", student_error).status == checking.FAIL
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 79  # wrapped to fit the page
    lines = out.replace("\n          ", " ").splitlines()  # one line per check again
    assert lines[0] == "PASS      Exercise 9.1: fine"
    assert lines[1] == "FAIL      Exercise 9.1: off by one. Same inputs again: again(seed=7)"
    assert lines[2].startswith("NOT DONE  Exercise 9.1: stub_fn still raises NotImplementedError")
    assert "ZeroDivisionError" in lines[3]


def stub_fn():
    raise NotImplementedError()


def test_grading_mode_raises_on_anything_but_pass(monkeypatch, capsys):
    monkeypatch.setenv(checking.GRADING_VARIABLE, "1")
    checking.run("9.1", lambda: (True, "fine"))
    with pytest.raises(checking.CheckFailed, match="FAIL"):
        checking.run("9.1", lambda: (False, "wrong"))
    with pytest.raises(checking.CheckFailed, match="NOT DONE"):
        checking.run("9.1", lambda: checking.call(stub_fn))


def test_a_bug_in_the_check_itself_is_not_blamed_on_the_student():
    with pytest.raises(KeyError):
        checking.run("9.1", lambda: {}["missing"])


def test_uses_a_loop_reads_the_source():
    def looped(a):
        return [x for x in a]

    def vectorised(a):
        return a * 2

    assert checking.uses_a_loop(looped) and not checking.uses_a_loop(vectorised)


def test_fresh_seeds_differ_and_a_given_seed_is_kept():
    assert checking.fresh_seed(5) == 5
    assert len({checking.fresh_seed() for _ in range(20)}) > 1


def test_number_and_show_for_fail_lines():
    assert checking.number(np.float32(2.5)) == 2.5 and checking.number([[3]]) == 3.0
    assert np.isnan(checking.number([1, 2])) and np.isnan(checking.number("text"))
    assert checking.show(0.123456) == "0.1235" and checking.show(3) == "3"
    assert checking.show(np.array([1.0, 2.5])) == "[1. , 2.5]"


ODD_ANSWERS = {  # what a half-done solution returns; a check must FAIL on it, never crash
    "None": lambda *args, **kwargs: None,
    "a string": lambda *args, **kwargs: "not done yet",
    "a short array": lambda *args, **kwargs: np.zeros(3),
    "NaN": lambda *args, **kwargs: float("nan"),
    "a tuple of three": lambda *args, **kwargs: (1, 2, 3),
}


def _checks():
    import importlib

    for chapter in range(12):  # chapter 12's checks belong to another change
        module = importlib.import_module(f"course_utils.exercises.ch{chapter:02d}")
        for name in sorted(vars(module)):
            if name.startswith("check_"):
                yield pytest.param(getattr(module, name), id=f"ch{chapter:02d}.{name}")


@pytest.mark.parametrize("check", list(_checks()))
def test_no_check_crashes_on_an_odd_answer(capsys, check):
    for what, answer in ODD_ANSWERS.items():
        check(answer, seed=0)
        line = capsys.readouterr().out.strip()
        assert line.startswith("FAIL"), (what, line)


def _every_check():
    """(module name, check name) of every chapter's exercise checks."""
    folder = Path(checking.__file__).parent
    found = []
    for path in sorted(folder.glob("ch[0-9][0-9].py")):
        module = importlib.import_module(f"course_utils.exercises.{path.stem}")
        found += [
            (path.stem, name)
            for name, fn in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("check_") and fn.__module__ == module.__name__
        ]
    return found


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _own_error(*args, **kwargs):
    raise ValueError("the student's own error, with a message long enough to need wrapping " * 2)


CHECKS = _every_check()


@pytest.mark.parametrize("module, check", CHECKS, ids=[f"{m}.{c}" for m, c in CHECKS])
def test_every_check_prints_lines_that_fit_the_page(module, check, capsys):
    """The NOT DONE line a student's page shows after every check cell, and the FAIL line of a
    function that raises its own error, wrap at 79 characters, continuation lines indented."""
    fn = getattr(importlib.import_module(f"course_utils.exercises.{module}"), check)
    required = sum(p.default is p.empty for p in inspect.signature(fn).parameters.values())
    for student, status in ((_stub, checking.NOT_DONE), (_own_error, checking.FAIL)):
        fn(*[student] * required, seed=3)
        lines = capsys.readouterr().out.splitlines()
        assert lines and lines[0].startswith(f"{status:<9} Exercise "), lines
        assert max(len(line) for line in lines) <= 79, lines
        assert all(line.startswith(" " * 10) for line in lines[1:]), lines
