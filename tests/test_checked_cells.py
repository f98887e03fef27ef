"""The suite's promises about notebooks: a changed fact fails, quick mode stays offline."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NBVAL = ["--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg")]


def quick_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    e = dict(os.environ, COURSE_MODE="quick", COURSE_CHECKPOINT_DIR=str(tmp_path / "ckpt"))
    e.update(extra)
    return e


def test_editing_a_checked_fact_fails_the_check(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / "00_setup_and_image_basics.ipynb", as_version=4)
    tampered = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "pyrDown" in cell.source and cell.outputs:
            for out in cell.outputs:
                if "(256, 256, 3)" in out.get("text", ""):
                    out["text"] = out["text"].replace("(256, 256, 3)", "(255, 256, 3)")
                    tampered += 1
    assert tampered == 1
    copy = tmp_path / "notebooks" / "00_tampered.ipynb"
    copy.parent.mkdir()
    nbformat.write(nb, copy)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *NBVAL, str(copy)],
                         cwd=tmp_path, env=quick_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout[-2000:]
    assert "(255, 256, 3)" in run.stdout and "1 failed" in run.stdout


GUARD = textwrap.dedent('''
    """Installed by the test as sitecustomize: every outward socket connection fails and is logged."""
    import os, socket
    _log = os.environ["NETWORK_ATTEMPTS_LOG"]
    _real_connect = socket.socket.connect

    def _deny(self, address):
        with open(_log, "a") as f:
            f.write(repr(address) + "\\n")
        raise OSError("network disabled by the offline test")

    def _connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            return _deny(self, address)
        return _real_connect(self, address)

    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect
''')


def test_quick_chapter_runs_with_the_network_cut(tmp_path):
    """Chapter 05 in quick mode runs top to bottom while every socket connection fails."""
    from nbclient import NotebookClient

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "attempts.log"
    nb = nbformat.read(ROOT / "notebooks" / "05_convnet_basics.ipynb", as_version=4)
    # A last cell proves the guard was live inside the kernel during the run.
    nb.cells.append(nbformat.v4.new_code_cell(
        "import urllib.request\n"
        "try:\n    urllib.request.urlopen('http://192.0.2.1/', timeout=2)\n    guard = 'off'\n"
        "except OSError as err:\n    guard = 'on' if 'network disabled' in str(err) else repr(err)\n"
        "assert guard == 'on', guard"))
    kernel_env = quick_env(tmp_path, NETWORK_ATTEMPTS_LOG=str(log),
                           PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    old = dict(os.environ)
    os.environ.update(kernel_env)  # the kernel inherits this process' environment
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    attempts = log.read_text().splitlines()
    assert attempts == ["('192.0.2.1', 80)"], f"the chapter tried to connect: {attempts}"
