"""Build chapter notebooks from their paired text files and record their checked outputs.

The chapters are written as jupytext "percent" files (notebooks/NN_slug.py), which diff
cleanly; the .ipynb beside each is what students open. Usage:

    python tools/nb.py build  [notebooks/05_convnet_basics.py ...]   # .py -> .ipynb, no outputs
    python tools/nb.py record [notebooks/05_convnet_basics.ipynb ...] # run in quick mode, keep
                                                                    # only checked cells' outputs
    python tools/nb.py sync   [notebooks/05_convnet_basics.py ...]   # .py -> .ipynb, keeping the
                                                                    # recorded checked outputs

Without file arguments each command takes every chapter.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CHECK_TAG = "nbval-check-output"  # nbval compares the outputs of cells tagged so


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """True for code cells whose output nbval compares."""
    return cell.cell_type == "code" and CHECK_TAG in cell.metadata.get("tags", [])


def chapter_sources(suffix: str, args: list[str]) -> list[Path]:
    if args:
        return [Path(a).resolve().with_suffix(suffix) for a in args]
    return sorted(p for p in NOTEBOOKS.glob(f"[0-9][0-9]_*{suffix}"))


def build(py: Path) -> Path:
    """Write the .ipynb for a percent file, with clean metadata and no outputs."""
    nb = jupytext.read(py)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",  # Colab opens the chapter on a GPU runtime when one is free
        "colab": {"provenance": []},
    }
    for cell in nb.cells:
        tags = [t for t in cell.metadata.get("tags", []) if t == CHECK_TAG]
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    out = py.with_suffix(".ipynb")
    nbformat.write(nb, out)
    return out


def record(ipynb: Path, timeout: int = 600) -> Path:
    """Execute a notebook in quick mode and store the outputs of its checked cells only."""
    from nbclient import NotebookClient

    nb = nbformat.read(ipynb, as_version=4)
    os.environ["COURSE_MODE"] = "quick"
    # Recording must not resume from (or leave) checkpoints in the checkout's checkpoints/.
    os.environ["COURSE_CHECKPOINT_DIR"] = tempfile.mkdtemp(prefix="record-checkpoints-")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(ipynb.parent)}})
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_checked(cell):
            cell.outputs = []  # checked cells keep outputs and count: nbval needs both
            cell.execution_count = None
    nbformat.write(nb, ipynb)
    return ipynb


def sync(py: Path) -> Path:
    """Copy edited cell sources into the .ipynb without running it, keeping checked outputs.

    Text cells and unchecked code cells may be edited, added or removed. Refuses (and changes
    nothing) when a checked cell was added, removed or changed: then build and record. nbval
    still runs every chapter, so a new cell that changes a checked output is caught there.
    """
    text, out = jupytext.read(py), py.with_suffix(".ipynb")
    nb = nbformat.read(out, as_version=4)
    checked_now = [c for c in text.cells if is_checked(c)]
    checked_before = [c for c in nb.cells if is_checked(c)]
    if [c.source for c in checked_now] != [c.source for c in checked_before]:
        raise SystemExit(f"{py.name}: a checked cell was added, removed or changed: build and record it")
    pairs = list(zip(text.cells, nb.cells))
    if len(text.cells) == len(nb.cells) and all(a.cell_type == b.cell_type for a, b in pairs):
        for new, old in pairs:
            old.source = new.source
        nbformat.write(nb, out)
        return out
    build(py)
    rebuilt = nbformat.read(out, as_version=4)
    for new, old in zip([c for c in rebuilt.cells if is_checked(c)], checked_before):
        new.outputs, new.execution_count = old.outputs, old.execution_count
    nbformat.write(rebuilt, out)
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "record", "sync"):
        print(__doc__)
        return 2
    command, args = argv[0], argv[1:]
    if command == "build":
        for py in chapter_sources(".py", args):
            print("built", build(py).relative_to(ROOT))
    elif command == "sync":
        for py in chapter_sources(".py", args):
            print("synced", sync(py).relative_to(ROOT))
    else:
        for nb in chapter_sources(".ipynb", args):
            print("recorded", record(nb).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
