"""Execute chapters headless and write the executed notebooks and HTML pages.

    python tools/run_course.py --out build notebooks/*.ipynb

Runs each chapter in the current COURSE_MODE (the Makefile's `course` target sets quick),
prints its wall time, and stops with a non-zero exit if any chapter fails.
"""

from __future__ import annotations

import argparse
import atexit
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter


def run_one(path: Path, out: Path, timeout: int, html: bool = True,
            on_cell_start: Callable | None = None) -> float:
    """Execute one notebook; write build/<name>.ipynb and build/<name>.html; return seconds.

    The kernel talks over local sockets (IPC), and what it writes outside cells (TensorFlow's
    C++ logging, ipykernel's own warnings) goes to build/<name>.kernel.log, not the terminal.
    With html=False only the executed notebook is written. `on_cell_start(cell=, cell_index=)`
    is called before each cell runs (nbclient's hook).
    """
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kernel-") as sockets, \
            open(out / path.with_suffix(".kernel.log").name, "w") as log:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "k"))
        client = NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}},
                                on_cell_start=on_cell_start)
        try:
            client.execute(stdout=log, stderr=log)
        finally:
            # When the kernel cannot start, nbclient leaves its exit hook registered, and that
            # hook hangs the process at exit: take it off (it only stops a kernel we stop here).
            atexit.unregister(client._cleanup_kernel)
            if km.has_kernel:  # nbclient stops only kernels it started itself
                km.shutdown_kernel(now=True)
            seconds = time.perf_counter() - start
            nbformat.write(nb, out / path.name)
            if html:
                body, _ = HTMLExporter().from_notebook_node(nb)
                (out / path.with_suffix(".html").name).write_text(body, encoding="utf-8")
    return seconds


def failure_line(err: Exception) -> str:
    """One line saying why a chapter failed: the cell's exception, or what stopped the kernel."""
    if isinstance(err, CellExecutionError) or getattr(err, "ename", ""):
        what = f"{err.ename}: {err.evalue}"
    else:
        what = f"{type(err).__name__}: {err}"
    return (what.strip().splitlines() or [type(err).__name__])[0][:300]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    failed = []
    for path in args.notebooks:
        try:
            seconds = run_one(path, args.out, args.timeout)
            print(f"ok     {path.name:45s} {seconds:6.1f} s -> {args.out / path.with_suffix('.html').name}")
        except Exception as err:  # a cell that failed, a kernel that died or never started
            failed.append(path.name)
            print(f"FAILED {path.name}: {failure_line(err)}")
            print(f"       the executed notebook with the error is in {args.out / path.name}")
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}")
        return 1
    print(f"all {len(args.notebooks)} chapters ran; open {args.out}/*.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
