"""Every Keras backend gives the same gradients, Grad-CAM maps and filter patterns.

The same weights and inputs go through course_utils' backend-neutral helpers once per backend
(tests/backend_probe.py, in a fresh process: Keras reads KERAS_BACKEND at import), and the
results are compared with TensorFlow's and with the derivative worked out by hand. JAX is
installed with the course (requirements.txt); PyTorch only where an instructor added it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PROBE = Path(__file__).with_name("backend_probe.py")
ROOT = PROBE.parent.parent


def probe(backend: str, tmp_path: Path) -> dict:
    out = tmp_path / f"{backend}.npz"
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    result = subprocess.run(
        [sys.executable, str(PROBE), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(out))


@pytest.fixture(scope="module")
def on_tensorflow(tmp_path_factory):
    return probe("tensorflow", tmp_path_factory.mktemp("tf"))


OTHERS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(name) is None, reason=f"{name} is not installed"
        ),
    )
    for name in ("jax", "torch")
]


def test_the_gradient_is_the_derivative_worked_out_by_hand(on_tensorflow):
    x = np.linspace(-2, 2, 7).astype("float32")
    assert on_tensorflow["backend"] == "tensorflow"
    np.testing.assert_allclose(on_tensorflow["value"], np.sum(np.sin(x) * x**2), rtol=1e-5)
    np.testing.assert_allclose(
        on_tensorflow["grad"], np.cos(x) * x**2 + 2 * x * np.sin(x), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("backend", OTHERS)
def test_every_backend_agrees_with_tensorflow(backend, on_tensorflow, tmp_path):
    other = probe(backend, tmp_path)
    assert other["backend"] == backend
    np.testing.assert_allclose(other["grad"], on_tensorflow["grad"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(other["classes"], on_tensorflow["classes"])
    for key in ("cams", "cams_1", "upsampled"):
        assert key == "upsampled" or other[key].max() > 0.99, key  # real maps, peak 1
        np.testing.assert_allclose(other[key], on_tensorflow[key], atol=1e-4, err_msg=key)
    # four ascent steps: float32 arithmetic in another order drifts a little, no more
    np.testing.assert_allclose(other["responses"], on_tensorflow["responses"], rtol=1e-3)
    np.testing.assert_allclose(other["patterns"], on_tensorflow["patterns"], atol=2e-3)
    np.testing.assert_allclose(other["start"], on_tensorflow["start"], rtol=1e-5)
    assert (other["responses"] > other["start"] + 0.1).all()  # the ascent raised every one


def test_a_cell_for_another_backend_says_in_one_line_that_it_is_skipped(capsys, monkeypatch):
    from course_utils import backends

    monkeypatch.setattr(backends, "backend", lambda: "jax")
    assert backends.runs_on("jax", "jax.grad on the model")
    assert capsys.readouterr().out == ""
    assert not backends.runs_on("tensorflow", "tf.GradientTape on the model")
    assert " ".join(capsys.readouterr().out.split()) == (
        "skipped: tf.GradientTape on the model needs the TensorFlow backend (this run: JAX)"
    )
    with pytest.raises(ValueError, match="tensorflow, jax, torch"):
        backends.runs_on("numpy", "anything")
    monkeypatch.setattr(backends, "has", lambda package: package != "tensorflow")
    assert not backends.installed("tensorflow", "the tf.data pipeline")
    assert capsys.readouterr().out == (
        "skipped: the tf.data pipeline needs TensorFlow, which is not installed here\n"
    )
    assert backends.installed("grain", "the grain pipeline")
    assert not backends.runs_on("tensorflow", "a long description " * 6)
    lines = capsys.readouterr().out.splitlines()  # wrapped at the page's 79 characters
    assert len(lines) > 1 and all(len(line) <= 79 for line in lines), lines
    assert all(line.startswith(" " * 9) for line in lines[1:]), lines
