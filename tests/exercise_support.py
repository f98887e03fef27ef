"""Helpers for the exercise tests: a chapter's own solutions, taken from its percent file."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Callable

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
