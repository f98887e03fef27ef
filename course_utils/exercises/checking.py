"""What every exercise check shares: fresh random inputs, calling the student's code, comparing
numbers, and the one line a check prints (PASS, FAIL with the numbers, or NOT DONE).

A check never stops the notebook: a student who has not done an exercise yet can run the rest
of the chapter. With COURSE_GRADING=1 in the environment (nbgrader's autograder, the course's
own tests of the instructor notebooks) a check that does not pass raises `CheckFailed`, so the
cell counts as failed.
"""

from __future__ import annotations

import os
import secrets
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

GRADING_VARIABLE = "COURSE_GRADING"
PASS, FAIL, NOT_DONE = "PASS", "FAIL", "NOT DONE"


class CheckFailed(AssertionError):
    """Raised in grading mode by a check that did not pass."""


class NotDone(Exception):
    """The student's function still raises NotImplementedError (the stub)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class StudentError(Exception):
    """The student's function raised an error of its own."""

    def __init__(self, name: str, error: BaseException):
        super().__init__(f"{name} raised {type(error).__name__}: {error}")
        self.name, self.error = name, error


class BadAnswer(Exception):
    """The student's function returned something a check cannot read as numbers."""


@dataclass(frozen=True)
class Result:
    """What a check found: exercise number, status (PASS, FAIL, NOT DONE) and the explanation."""

    exercise: str
    status: str
    detail: str

    def __bool__(self) -> bool:
        return self.status == PASS

    def line(self) -> str:
        """The status, the exercise and the explanation, wrapped to fit the page (79 chars)."""
        text = f"{self.status:<9} Exercise {self.exercise}: {self.detail}"
        return "\n".join(
            textwrap.fill(
                line,
                79,
                subsequent_indent=" " * 10,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or line
            for line in text.split("\n")
        )


def grading() -> bool:
    """True when COURSE_GRADING=1: a check that does not pass raises instead of only printing."""
    return os.environ.get(GRADING_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def fresh_seed(seed: int | None = None) -> int:
    """The seed a check uses: the one given (to repeat a test), else a fresh one every run."""
    return secrets.randbelow(100_000) if seed is None else int(seed)


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; its stub becomes NotDone and its own errors StudentError."""
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        raise NotDone(name) from err
    except Exception as err:  # the student's bug, reported as a failed check
        raise StudentError(name, err) from err


def compare(
    got: Any, expected: Any, *, rtol: float = 1e-7, atol: float = 1e-9, what: str = "your result"
) -> tuple[bool, str]:
    """Shape, finiteness and values of `got` against `expected`, with the numbers that explain."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as err:
        return False, f"{what} is not an array of numbers ({err})"
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False, f"{what} has shape {got.shape}, expected {expected.shape}"
    if not np.all(np.isfinite(got)):
        return False, f"{what} contains {np.sum(~np.isfinite(got))} NaN or infinite values"
    gap = np.abs(got - expected)
    allowed = atol + rtol * np.abs(expected)
    if gap.size == 0 or np.all(gap <= allowed):
        largest = float(gap.max()) if gap.size else 0.0
        return True, f"largest difference {largest:.1e}"
    at = np.unravel_index(np.argmax(gap - allowed), gap.shape)
    if gap.size == 1:
        return False, (
            f"{what} is {got[at]:.6g}, expected {expected[at]:.6g} "
            f"(allowed difference {allowed[at]:.1e})"
        )
    wrong = int(np.sum(gap > allowed))
    return False, (
        f"{what}: {wrong} of {gap.size} values differ; worst at index "
        f"{tuple(int(i) for i in at)}: yours {got[at]:.6g}, expected "
        f"{expected[at]:.6g} (allowed difference {allowed[at]:.1e})"
    )


def run(
    exercise: str,
    body: Callable[[], tuple[bool, str]],
    *,
    seed: int | None = None,
    repeat: str = "",
) -> Result:
    """Run one check's body, print its line, and (in grading mode) raise if it did not pass.

    `body` returns (passed, explanation). `repeat` is the call that repeats a failed test with
    the same inputs; it is printed with the seed after a FAIL.
    """
    try:
        passed, detail = body()
        status = PASS if passed else FAIL
    except NotDone as err:
        status, detail = (
            NOT_DONE,
            (
                f"{err.name} still raises NotImplementedError: replace that line (under "
                f"# YOUR CODE HERE) with your code, run its cell, then this one"
            ),
        )
    except (StudentError, BadAnswer) as err:
        status, detail = FAIL, str(err)
    if status == FAIL and seed is not None and repeat:
        detail += f". Same inputs again: {repeat.format(seed=seed)}"
    result = Result(exercise, status, detail)
    print(result.line())
    if grading() and not result:
        raise CheckFailed(result.line())
    return result


def as_array(value: Any, what: str = "your result") -> np.ndarray:
    """A student's answer as a float64 array; anything else ends the check with a FAIL that
    says what came back."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise BadAnswer(
            f"{what} is not an array of numbers: it is {type(value).__name__} {value!r:.60}"
        ) from err


def number(value: Any) -> float:
    """A student's answer as one float, or NaN when it is not a single number (a check then
    compares NaN with its hints and names none)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return float("nan")
    return float(array.reshape(-1)[0]) if array.size == 1 else float("nan")


def show(values: Any, precision: int = 4) -> str:
    """A short printed form of a number or an array, for the numbers in a FAIL line."""
    array = np.asarray(values)
    if array.ndim == 0:
        value = array.item()
        return f"{value:.{precision}g}" if isinstance(value, float) else str(value)
    return np.array2string(
        array,
        precision=precision,
        threshold=16,
        edgeitems=4,
        separator=", ",
        max_line_width=10_000,
        suppress_small=True,
    )


def uses_a_loop(fn: Callable[..., Any]) -> bool:
    """True when the function's source has a for or while loop or a comprehension."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False  # source unavailable (built-in, lambda in a REPL): judge by results only
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    return any(isinstance(node, loops) for node in ast.walk(tree))
