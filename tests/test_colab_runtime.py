"""tools/colab_runtime.py: Colab's runtimes as transcribed, and what a runtime venv gets."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import colab_runtime as cr  # noqa: E402

RUNTIMES = ROOT / "tools" / "colab"


def test_the_tpu_runtime_has_jax_and_keras_but_no_tensorflow_or_opencv():
    pins = cr.runtime_pins(RUNTIMES / "runtime-2026.08-tpu.txt")
    assert (pins["jax"], pins["jaxlib"], pins["keras"], pins["numpy"]) == (
        "0.7.2",
        "0.7.2",
        "3.13.2",
        "2.1.3",
    )
    assert pins["grain"] == "0.2.18" and "libtpu" in pins
    for absent in ("tensorflow", "opencv-python", "opencv-python-headless", "mlxtend", "cython"):
        assert absent not in pins, absent
    assert cr.runtime_python_version(RUNTIMES / "runtime-2026.08-tpu.txt") == "3.13"
    head = (RUNTIMES / "runtime-2026.08-tpu.txt").read_text().splitlines()[0]
    assert "pip-freeze.tpu.txt" in head and "2026-08-19" in head


def test_a_runtime_venv_gets_only_colab_packages_that_runtime_ships(tmp_path):
    tpu = [
        p
        for p in cr.COLAB_PACKAGES
        if cr.norm(p) in cr.runtime_pins(RUNTIMES / "runtime-2026.08-tpu.txt")
    ]
    assert (
        "jax" in tpu and "keras" in tpu and "tensorflow" not in tpu and "opencv-python" not in tpu
    )
    gpu = [
        p
        for p in cr.COLAB_PACKAGES
        if cr.norm(p) in cr.runtime_pins(RUNTIMES / "runtime-2026.08.txt")
    ]
    assert {"tensorflow", "jax", "opencv-python", "mlxtend"} <= set(gpu)


def test_transcribe_keeps_version_lines_and_names_the_file(tmp_path):
    freeze = tmp_path / "pip-freeze.tpu.txt"
    freeze.write_text("jax==0.7.2\ntorch @ https://example.org/torch.whl\nkeras==3.13.2\n")
    text = cr.transcribe(freeze, "2026-08-19", "3.13", "googlecolab/backend-info@abc")
    assert text.splitlines()[0].endswith("googlecolab/backend-info@abc, pip-freeze.tpu.txt,")
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "jax==0.7.2",
        "keras==3.13.2",
    ]
