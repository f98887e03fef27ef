"""A Colab runtime on this machine: Colab's own package versions, the course bootstrapped the
way Colab bootstraps it, and every chapter run in it by tools/executor.py.

    python tools/colab_runtime.py run [--runtime tools/colab/runtime-2026.08.txt] [chapters ...]
    python tools/colab_runtime.py transcribe pip-freeze.txt --date 2026-08-19 --python 3.13 \\
        --source googlecolab/backend-info@<commit>

`run` builds a fresh virtual environment with the runtime's Python from the runtime's pins (not
from our requirements), copies this checkout where Colab would clone it, runs chapter 00's
setup cell as it is (it finds the copy, so only the `git clone` is skipped), installs the dense
CRF the way chapter 11 does in full mode, checks that no package Colab ships changed version,
runs every chapter in a kernel of that environment (quick mode, offline, solutions graded:
tools/executor.py, results in build/runs/colab-<runtime>/), and checks the versions once more.
Colab's own `google.colab` is not on PyPI: a stand-in (tools/colab/stand_in) mounts "Drive" as a
folder in the working directory, so the chapters that mount Drive run their Drive code paths.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNTIME = ROOT / "tools" / "colab" / "runtime-2026.08.txt"
COLAB_COURSE_DIR = "/content/keras-cv-course"  # where the setup cell clones the course

# What the course touches of Colab's runtime (and the kernel it runs in): installed at exactly
# Colab's versions. Anything they pull in is pinned by the runtime file as well. Nothing else:
# the executor that drives the kernel runs in the course's own .venv.
# Those a runtime does not ship (the TPU runtime has no TensorFlow, OpenCV, mlxtend or Cython) are
# left out: what the course needs of them, the setup cell installs, as it does on Colab.
COLAB_PACKAGES = [
    "pip",
    "setuptools",
    "wheel",
    "Cython",
    "tensorflow",
    "keras",
    "jax",
    "jaxlib",
    "grain",
    "numpy",
    "scipy",
    "scikit-learn",
    "scikit-image",
    "matplotlib",
    "opencv-python",
    "opencv-python-headless",
    "pandas",
    "protobuf",
    "h5py",
    "pillow",
    "mlxtend",
    "tqdm",
    "threadpoolctl",
    "requests",
    "ipykernel",
    "ipython",
    "jupyter_client",
]
# Colab packages for hardware this machine does not have: never installed here. `libtpu` is
# the TPU runtime's driver library for JAX; on a CPU it has no TPU to drive, and JAX computes on
# the CPU as it does on any machine without an accelerator.
NOT_HERE = {"libtpu": "the TPU driver library: this machine has no TPU, JAX runs on its CPU"}
# The packages the issue of "never upgrade or downgrade" is about; reported by name (those
# the runtime ships).
CORE = [
    "tensorflow",
    "keras",
    "jax",
    "jaxlib",
    "numpy",
    "scipy",
    "scikit-learn",
    "scikit-image",
    "matplotlib",
    "opencv-python",
    "pandas",
    "protobuf",
    "h5py",
]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def transcribe(freeze: Path, date: str, python: str, source: str) -> str:
    """Colab's pip freeze as a constraints file: `name==version` lines, links dropped."""
    pins = [
        line.strip()
        for line in freeze.read_text().splitlines()
        if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+$", line.strip())
    ]
    head = [
        f"# Colab runtime of {date}: Python {python}. Transcribed from {source}, {freeze.name},",
        "# without the lines that are links (packages Colab builds itself). Refresh: see "
        "README.md here.",
        f"# python: {python}",
    ]
    return "\n".join(head + pins) + "\n"


def runtime_pins(runtime: Path) -> dict[str, str]:
    """{normalised name: version} of a runtime file's `name==version` lines."""
    return {
        norm(m.group(1)): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)$", runtime.read_text(), re.M)
    }


def runtime_python_version(runtime: Path) -> str:
    match = re.search(r"^# python: (\d+\.\d+)$", runtime.read_text(), re.M)
    if not match:
        raise SystemExit(f"{runtime} has no '# python: X.Y' line")
    return match.group(1)


def find_python(version: str, given: str | None) -> str:
    """An interpreter of `version`: the one given, pythonX.Y on PATH, or pyenv's."""
    candidates = [given] if given else [f"python{version}"]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        str(p) for p in pyenv_root.glob(f"versions/{version}*/bin/python{version}")
    )
    for cand in candidates:
        try:
            out = subprocess.run(
                [cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return cand
    raise SystemExit(
        f"No Python {version} found (tried {candidates}). Install it, e.g. "
        f"`pyenv install {version}`, or pass --python."
    )


def versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version "
        "for d in m.distributions() if d.metadata['Name']}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return {norm(k): v for k, v in json.loads(out.stdout).items()}


def compare(before: dict[str, str], after: dict[str, str], where: str) -> bool:
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    added = sorted(set(after) - set(before))
    core = ", ".join(f"{name} {after[norm(name)]}" for name in CORE if norm(name) in after)
    if changed:
        print(
            f"{where}: CHANGED packages Colab had: "
            + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in sorted(changed.items()))
        )
        return False
    print(
        f"{where}: all {len(before)} packages unchanged ({core}); added: "
        f"{', '.join(added) or 'none'}"
    )
    return True


def install(venv_python: Path, runtime: Path, packages: list[str]) -> None:
    uv = Path(sys.prefix) / "bin" / "uv"
    if uv.exists():
        cmd = [str(uv), "pip", "install", "-q", "--compile-bytecode", "--python", str(venv_python)]
    else:
        cmd = [str(venv_python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(cmd + ["-c", str(runtime), *packages], check=True)


def copy_checkout(dest: Path) -> None:
    """The course as `git clone` would give it, from this working tree (uncommitted edits too)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in files.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


def setup_cell() -> str:
    """Chapter 00's first code cell, as students run it."""
    nb = json.loads((ROOT / "notebooks" / "00_setup_and_image_basics.ipynb").read_text())
    return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])


def run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT / "tools"))
    import executor

    runtime = Path(args.runtime).resolve()
    version = runtime_python_version(runtime)
    python = find_python(version, args.python)
    name = "colab-" + runtime.stem.removeprefix("runtime-")
    work = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    print(
        f"Colab runtime {runtime.name}: Python {version} ({python}); working in {work}", flush=True
    )
    venv = work / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    pins = runtime_pins(runtime)
    install(vpy, runtime, [p for p in COLAB_PACKAGES if norm(p) in pins])
    before = versions(vpy)
    wrong = {
        n: (before.get(norm(n)), pins[norm(n)])
        for n in CORE
        if norm(n) in pins and before.get(norm(n)) != pins[norm(n)]
    }
    if wrong:
        print(f"the venv is not Colab's runtime: {wrong}")
        return 1
    for package, why in NOT_HERE.items():
        if norm(package) in pins:
            print(f"not installed here: {package}=={pins[norm(package)]} ({why})")
    backend = "tensorflow" if "tensorflow" in pins else "auto"
    print(
        "Keras backend: "
        + (
            "TensorFlow (Colab's default)"
            if backend == "tensorflow"
            else "KERAS_BACKEND unset, as on Colab: the setup cell chooses (no "
            "TensorFlow here: JAX)"
        ),
        flush=True,
    )

    course = work / COLAB_COURSE_DIR.lstrip("/")
    copy_checkout(course)
    env = dict(
        os.environ,
        COURSE_MODE="quick",
        COLAB_RELEASE_TAG="test-colab",
        COURSE_DATA_DIR=str(work / "data"),
        COURSE_CHECKPOINT_DIR=str(work / "checkpoints"),
        COURSE_DRIVE_ROOT=str(work / "drive"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.pop("PYTHONPATH", None)
    if backend == "auto":
        env.pop("KERAS_BACKEND", None)
    cell = setup_cell()
    if f'COURSE = "{COLAB_COURSE_DIR}"' not in cell:
        print("chapter 00's setup cell no longer sets COURSE: update tools/colab_runtime.py")
        return 1
    cell = cell.replace(f'COURSE = "{COLAB_COURSE_DIR}"', f'COURSE = "{course}"')
    print("--- the setup cell, as in a fresh Colab runtime ---", flush=True)
    subprocess.run([str(vpy), "-c", cell], cwd=work, env=env, check=True)
    print("--- the dense CRF, as chapter 11 installs it in full mode ---", flush=True)
    subprocess.run([str(vpy), "-m", "course_utils.extras", "crf"], cwd=course, env=env, check=True)
    ok = compare(before, versions(vpy), "after the set-up")

    chapters = executor.chapters(args.notebooks, course)
    print(
        f"--- {len(chapters)} chapter(s) in Colab's runtime: quick mode, offline, graded ---",
        flush=True,
    )
    # What the setup cell's sys.path.insert gives every chapter, and Colab's `google.colab`
    # (a stand-in whose drive.mount makes a folder under COURSE_DRIVE_ROOT).
    kernel_env = {
        k: env[k]
        for k in (
            "COLAB_RELEASE_TAG",
            "COURSE_DATA_DIR",
            "COURSE_DRIVE_ROOT",
            "PIP_DISABLE_PIP_VERSION_CHECK",
        )
    }
    kernel_env["PYTHONPATH"] = os.pathsep.join(
        [str(course), str(ROOT / "tools" / "colab" / "stand_in")]
    )
    colab = executor.Runtime(
        name=name, python=str(vpy), course=course, env=kernel_env, backend=backend
    )
    out = Path(args.out) if args.out else ROOT / "build" / "runs" / name
    runs = executor.run_chapters(
        chapters,
        colab,
        out,
        workers=args.workers,
        checkpoints=work / "checkpoints",
        check_run_times=executor.in_ci(),
        report=lambda text: print(text, flush=True),
    )
    print(executor.table(runs))
    failed = [r.chapter for r in runs if not r.ok]
    print(
        f"{len(runs) - len(failed)} of {len(runs)} chapters ok in Colab runtime {name}"
        + (f"; FAILED: {', '.join(failed)}" if failed else ""),
        flush=True,
    )
    ok = compare(before, versions(vpy), "after the chapters") and ok
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed or not ok else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="build the runtime and run the chapters in it")
    r.add_argument("notebooks", nargs="*")
    r.add_argument("--runtime", default=str(DEFAULT_RUNTIME))
    r.add_argument("--python", help="interpreter of the runtime's Python version")
    r.add_argument(
        "--workers", type=int, default=None, help="kernels at once (default: 2 on 2+ cores)"
    )
    r.add_argument(
        "--out", help="where the executed chapters go (default build/runs/colab-<runtime>)"
    )
    r.add_argument("--keep", action="store_true", help="keep the working folder")
    t = sub.add_parser("transcribe", help="turn Colab's pip-freeze.txt into a runtime file")
    t.add_argument("freeze")
    t.add_argument("--date", required=True)
    t.add_argument("--python", required=True)
    t.add_argument("--source", required=True)
    args = parser.parse_args(argv)
    if args.command == "transcribe":
        sys.stdout.write(transcribe(Path(args.freeze), args.date, args.python, args.source))
        return 0
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
