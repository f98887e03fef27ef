"""Where the course runs (Colab, local, CI), in which mode, on which Keras backend, and where its
files go.

Every chapter calls `setup()` in its first code cell. Nothing here imports TensorFlow or Keras at
module level, so `setup()` can choose the backend and quiet TensorFlow's start-up logging before
the first import.
"""

from __future__ import annotations

import os
import random
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

# The one place the repository address lives. The notebooks' badges and bootstrap cells use
# the same string; tests/test_conventions.py keeps them in step with this constant.
REPO_URL = "https://github.com/keras-cv-course/keras-cv-course"
REPO_BRANCH = "main"

MODES = ("full", "quick")
# Where Colab mounts Google Drive. COURSE_DRIVE_ROOT moves it (make test-colab points it at a
# temporary folder that stands in for Drive).
DRIVE_ROOT = Path(os.environ.get("COURSE_DRIVE_ROOT", "/content/drive"))
DRIVE_COURSE_DIR = DRIVE_ROOT / "MyDrive" / "keras-cv-course"
# With Drive mounted, unpacked photos and built splits go here: the Colab runtime's own disk.
# Drive's FUSE mount is far too slow for thousands of small files; this folder is wiped when
# the runtime disconnects, and rebuilt from the archives kept on Drive.
COLAB_LOCAL_DATA_DIR = Path("/content/keras-cv-course-data")

T = TypeVar("T")


def where() -> str:
    """Return 'colab', 'ci' or 'local'."""
    if "google.colab" in sys.modules or os.environ.get("COLAB_RELEASE_TAG"):
        return "colab"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return "ci"
    return "local"


def mode() -> str:
    """Return the run mode: COURSE_MODE if set, else 'quick' on CI and 'full' for a person."""
    value = os.environ.get("COURSE_MODE", "").strip().lower()
    if not value:
        return "quick" if where() == "ci" else "full"
    if value not in MODES:
        raise ValueError(
            f"COURSE_MODE={value!r} is not a run mode: use COURSE_MODE=full (real data, "
            "downloads once) or COURSE_MODE=quick (offline, small data, few epochs)."
        )
    return value


def is_quick() -> bool:
    """True in quick mode (offline, small data, few epochs)."""
    return mode() == "quick"


def by_mode(quick: T, full: T) -> T:
    """Pick a value by run mode, e.g. `epochs = by_mode(quick=3, full=30)`."""
    return quick if is_quick() else full


def rehearsing() -> bool:
    """True inside a full-mode rehearsal (`make rehearse-full`: COURSE_REHEARSAL=1 in full
    mode)."""
    return os.environ.get("COURSE_REHEARSAL", "") == "1" and mode() == "full"


def expect(ok: bool, message: str, passed: str = "") -> None:
    """Check a result of training (an accuracy, a gain, a trend): fail with "expected <message>"
    unless `ok`; print `passed` when it holds.

    In a full-mode rehearsal (`make rehearse-full`: generated data, training cut short) such a
    result means nothing: it prints "rehearsal: accuracy not checked (expected <message>)" instead.
    """
    if rehearsing():
        print(f"rehearsal: accuracy not checked (expected {message})")
        return
    if not ok:
        raise AssertionError(f"expected {message}")
    if passed:
        print(fit_page(passed, indent=6))


THRESHOLD_LOG = "COURSE_THRESHOLD_LOG"


def check(
    what: str, value: float, *, at_least: float | None = None, at_most: float | None = None
) -> None:
    """Check a measured result against the bound(s) the chapter states for it.

    Prints "PASS  <what>: <value> (at least <bound>)", or fails with the value and the bound.
    The bounds are chosen from measurements over several seeds (tools/threshold_margins.py,
    which reads them from the file named by COURSE_THRESHOLD_LOG: one JSON line per check).
    In a full-mode rehearsal nothing of training means anything: it prints "not checked".
    """
    if at_least is None and at_most is None:
        raise ValueError("check() needs at_least=, at_most= or both")
    value = float(value)
    bounds = " and ".join(
        f"{word} {bound:g}"
        for word, bound in (("at least", at_least), ("at most", at_most))
        if bound is not None
    )
    if rehearsing():
        print(f"rehearsal: not checked ({what}: {value:.4g}, expected {bounds})")
        return
    log = os.environ.get(THRESHOLD_LOG, "").strip()
    if log:
        import json

        with open(log, "a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {"what": what, "value": value, "at_least": at_least, "at_most": at_most}
                )
                + "\n"
            )
    ok = (at_least is None or value >= at_least) and (at_most is None or value <= at_most)
    if not ok:
        raise AssertionError(f"{what}: {value:.4g}, expected {bounds}")
    print(fit_page(f"PASS  {what}: {value:.4g} ({bounds})", indent=6))


def banner(quick_data: str, full_data: str, reference: str = "", stand_in: bool = True) -> None:
    """Print the chapter's data for this run and the full run's reference result.

    `quick_data` / `full_data` say what quick and full mode train on; `reference` is the result a
    full run should reach, with its source; `stand_in` is False when quick mode's data is real.
    """
    if not quick_data.strip() or not full_data.strip():
        raise ValueError("banner() needs both quick_data and full_data: say what each mode uses")
    if is_quick():
        lines = [f"QUICK MODE  data: {quick_data}"]
        if quick_data == full_data:
            lines.append("            the same data as full mode")
        elif stand_in:
            lines.append(
                f"            a stand-in for {full_data}: its numbers show the code at work, "
                "not real results"
            )
        else:
            lines.append(
                "            the same kind of data as full mode, less of it (full mode: "
                f"{full_data})"
            )
    else:
        lines = [f"FULL MODE   data: {full_data}"]
    if reference:
        lines.append(f"FULL RUN    {reference}")
    print("\n".join(fit_page(line, indent=12) for line in lines))


PAGE_WIDTH = 79  # what a book page, the course site and Colab's cells show without scrolling


def fit_page(text: str, indent: int = 0) -> str:
    """Each line of `text` wrapped at PAGE_WIDTH characters, continuation lines indented by
    `indent` spaces. Words are never broken: a path or a number longer than a line stays whole."""
    return "\n".join(
        textwrap.fill(
            line,
            PAGE_WIDTH,
            subsequent_indent=" " * indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        or line
        for line in text.split("\n")
    )


def drive_mounted() -> bool:
    """True when Google Drive is mounted at /content/drive (Colab)."""
    return (DRIVE_ROOT / "MyDrive").is_dir()


def _repo_root() -> Path | None:
    """The course checkout that holds this package, if it is one (has notebooks/ and data/)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "notebooks").is_dir() and (root / "data").is_dir() else None


def _without_drive(in_checkout: str, in_home: str) -> Path:
    """`<checkout>/<in_checkout>` when running from a course checkout, else
    `~/.keras/<in_home>`."""
    root = _repo_root()
    return root / in_checkout if root is not None else Path.home() / ".keras" / in_home


def _pick_dir(variable: str, with_drive: Path, without_drive: Path) -> Path:
    """The folder named by environment `variable` if set, else `with_drive` when Google Drive is
    mounted, else `without_drive`. The folder is created."""
    if os.environ.get(variable):
        path = Path(os.environ[variable]).expanduser()
    elif drive_mounted():
        path = with_drive
    else:
        path = without_drive
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Folder for unpacked data sets, built splits and generated files.

    COURSE_DATA_DIR if set; with Drive mounted, the Colab runtime's local disk (fast, wiped on
    disconnect: rebuilt from the archives on Drive); else the checkout's data/.
    """
    return _pick_dir(
        "COURSE_DATA_DIR", COLAB_LOCAL_DATA_DIR, _without_drive("data", "keras-cv-course")
    )


def downloads_dir() -> Path:
    """Folder for downloaded files (archives, weights, their .sha256 / .verified records).

    COURSE_DOWNLOAD_DIR if set; with Drive mounted, MyDrive/keras-cv-course/data/downloads (kept
    across disconnects); else `downloads/` inside data_dir().
    """
    return _pick_dir(
        "COURSE_DOWNLOAD_DIR", DRIVE_COURSE_DIR / "data" / "downloads", data_dir() / "downloads"
    )


def checkpoint_dir() -> Path:
    """Folder for checkpoints and saved models: COURSE_CHECKPOINT_DIR, else Drive, else local."""
    return _pick_dir(
        "COURSE_CHECKPOINT_DIR",
        DRIVE_COURSE_DIR / "checkpoints",
        _without_drive("checkpoints", "keras-cv-course-checkpoints"),
    )


def mount_drive() -> Path | None:
    """Mount Google Drive in Colab so data and checkpoints survive a disconnect.

    Returns the course folder on Drive, or None outside Colab (nothing is mounted there).
    """
    if where() != "colab":
        print(
            fit_page(
                f"Not in Colab: nothing to mount. Checkpoints stay in {shown(checkpoint_dir())}",
                indent=4,
            )
        )
        return None
    from google.colab import drive

    drive.mount(str(DRIVE_ROOT))
    DRIVE_COURSE_DIR.mkdir(parents=True, exist_ok=True)
    print(
        f"Drive mounted: downloads in {downloads_dir()}, checkpoints in {checkpoint_dir()}; "
        f"unpacked data on this runtime's disk in {data_dir()}"
    )
    return DRIVE_COURSE_DIR


BACKENDS = ("tensorflow", "jax", "torch")


def has_tensorflow() -> bool:
    """True when TensorFlow is installed (Colab's TPU runtime has none)."""
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def choose_backend() -> tuple[str, str]:
    """The Keras backend to use and why: KERAS_BACKEND when set, else TensorFlow, else JAX.

    Must run before Keras is imported: Keras reads KERAS_BACKEND once, at import.
    """
    asked = os.environ.get("KERAS_BACKEND", "").strip().lower()
    if asked:
        if asked not in BACKENDS:
            raise ValueError(
                f"KERAS_BACKEND={asked!r} is not a backend the course runs on: use "
                f"{', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}"
            )
        if asked == "tensorflow" and not has_tensorflow():
            raise ValueError(
                "KERAS_BACKEND=tensorflow, but TensorFlow is not installed here (Colab's "
                "TPU runtime has none): set KERAS_BACKEND=jax, or unset it"
            )
        return asked, "KERAS_BACKEND"
    if has_tensorflow():
        return "tensorflow", "the default"
    return "jax", "chosen because TensorFlow is not installed here"


def gpu_name() -> str:
    """Name of the first GPU (or TPU) the Keras backend sees, or 'none: CPU'."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return "none: CPU"
        details = tf.config.experimental.get_device_details(gpus[0])
        return str(details.get("device_name", gpus[0].name))
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return (
            "none: CPU"
            if device.platform == "cpu"
            else f"{device.platform.upper()}: {device.device_kind}"
        )
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none: CPU"
    return "none: CPU"


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and Keras (and the backend) so a run repeats; with `deterministic`,
    TensorFlow also picks deterministic kernels (which turns Keras' XLA compilation off)."""
    import keras
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Same seed, same numbers: TensorFlow picks deterministic kernels (on CPU and GPU alike).
        tf.config.experimental.enable_op_determinism()


def shown(path: Path) -> str:
    """A folder as a reader understands it: inside the course (data/...) or the home folder (~/...)
    when it is there, else in full."""
    path = Path(path).resolve()
    root = _repo_root()
    for base, prefix in ((root, ""), (Path.home().resolve(), "~/")):
        if base is not None and path.is_relative_to(base.resolve()) and path != base.resolve():
            return prefix + str(path.relative_to(base.resolve()))
    return str(path)


@dataclass(frozen=True)
class Env:
    """What `setup()` found: where we run, the mode, and the folders in use."""

    where: str
    mode: str
    gpu: str
    data_dir: Path
    checkpoint_dir: Path
    seed: int

    @property
    def quick(self) -> bool:
        return self.mode == "quick"


def setup(seed: int = 42, quiet_tf: bool = True) -> Env:
    """Prepare a chapter: pick the Keras backend, quiet TensorFlow's logs, seed everything, print
    versions, mode and folders.

    KERAS_BACKEND picks the backend (tensorflow, jax or torch); without it the course uses
    TensorFlow, or JAX where TensorFlow is not installed (Colab's TPU runtime). COURSE_SEED, when
    set, replaces `seed` (tools/threshold_margins.py uses it to measure how much a chapter's
    numbers move from one seed to the next).
    """
    seed = int(os.environ.get("COURSE_SEED", seed))
    backend, why = choose_backend()
    os.environ["KERAS_BACKEND"] = backend
    if quiet_tf:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if backend == "tensorflow" and quiet_tf:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"Keras was imported with the {keras.backend.backend()} backend before "
            f"setup() chose {backend}: restart the kernel and run the setup cell first"
        )
    from course_utils import precision

    device, _ = precision.accelerator()
    # Quick mode and CPUs repeat a run exactly, in float32. A full run on an accelerator trades
    # that for speed: mixed precision, and not TensorFlow's deterministic kernels (slower, and
    # they switch Keras' XLA off).
    fast = not is_quick() and device != "cpu"
    policy = precision.use_best_policy(fast)
    seed_everything(seed, deterministic=not fast)
    env = Env(
        where=where(),
        mode=mode(),
        gpu=gpu_name(),
        data_dir=data_dir(),
        checkpoint_dir=checkpoint_dir(),
        seed=seed,
    )
    import importlib.metadata as metadata

    framework = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}[backend]
    package = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:  # tensorflow-cpu and friends
        version = getattr(__import__(package), "__version__", "?")
    print(
        fit_page(
            f"Keras {keras.__version__} on {framework} {version} (backend: {backend}, {why})",
            indent=4,
        )
    )
    print(f"running in: {env.where}; GPU: {env.gpu}")
    if fast:
        print(f"precision: {policy}; XLA on, fastest kernels (not bit-for-bit repeatable)")
    print(f"mode: {env.mode}" + ("  (offline, small data, few epochs)" if env.quick else ""))
    print(f"data folder: {shown(env.data_dir)}")
    print(f"checkpoint folder: {shown(env.checkpoint_dir)}")
    return env
