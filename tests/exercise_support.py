"""Helpers for the exercise tests: a chapter's own solutions, taken from its percent file."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jupytext
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def chapter_functions(stem: str, **namespace: Any) -> dict[str, Any]:
    """Run every definitions-only code cell of notebooks/<stem>.py (solutions included, in order)
    and return what they define. `namespace` adds names the chapter made earlier (a model, data).
    """
    chapter = jupytext.read(ROOT / "notebooks" / f"{stem}.py")
    scope: dict[str, Any] = {"np": np, **namespace}
    allowed = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    for cell in chapter.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith(("!", "%")):
            continue
        tree = ast.parse(cell.source)
        if tree.body and all(isinstance(node, allowed) for node in tree.body):
            exec(compile(tree, f"{stem}.py", "exec"), scope)
    return scope


def stub(*args: Any, **kwargs: Any) -> Any:
    """What a student's function does before it is written."""
    raise NotImplementedError()


def outcome(capsys, check: Callable, fn: Callable, **kwargs: Any) -> str:
    """Run a check and return the line it printed, unwrapped (checks wrap it at 79 characters)."""
    check(fn, **kwargs)
    printed = capsys.readouterr().out.strip()
    assert all(len(line) <= 79 or " " not in line.strip() for line in printed.splitlines())
    return printed.replace("\n          ", " ")


SEEDS = range(20)  # every planted mistake must FAIL, and every right answer PASS, on all of them


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", repr(fn))


def expect(
    capsys,
    check: Callable,
    *,
    right: list[Callable],
    wrong: dict[Callable, str],
    hints: tuple[str, ...] = (),
    seeds=SEEDS,
    **kwargs: Any,
) -> None:
    """Every right answer PASSes on every seed; every planted mistake FAILs on every seed, its
    line naming it (the hint given for it), and no other hint of `hints` fires for it.

    `right` holds the chapter's solution and at least one written by another route; `wrong`
    maps at least three planted mistakes to the words their FAIL line must contain ("" when
    the numbers alone say it); `hints` lists the check's phrases that name one mistake."""
    assert len(right) >= 2, "the chapter's solution and at least one by another route"
    assert len(wrong) >= 3, "at least three planted mistakes per exercise"
    problems = []
    for fn in right:
        for seed in seeds:
            line = outcome(capsys, check, fn, seed=seed, **kwargs)
            if not line.startswith("PASS"):
                problems.append(f"right answer {_name(fn)}, seed {seed}: {line}")
    for fn, hint in wrong.items():
        for seed in seeds:
            line = outcome(capsys, check, fn, seed=seed, **kwargs)
            stray = [h for h in hints if h != hint and h in line and h not in hint]
            if not line.startswith("FAIL") or hint not in line or stray:
                problems.append(
                    f"planted {_name(fn)} (hint {hint!r}, stray {stray}), seed {seed}: {line}"
                )
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:8])
