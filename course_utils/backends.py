"""What differs between Keras backends (TensorFlow, JAX, PyTorch), in the few places it matters.

Most of the course is plain Keras (layers, models, `fit`, `keras.ops`) and runs unchanged on
every backend. Three things do not:

- a gradient with respect to an input (Grad-CAM, filter patterns, backprop checks): each
  framework has its own mechanism (`tf.GradientTape`, `jax.grad`, `torch.autograd`).
  `gradient(fn, x)` uses the one of this run's backend;
- cells that show one framework's mechanism: `runs_on("tensorflow", what)` is True on that
  backend and otherwise prints one line saying what is skipped and why;
- input pipelines: `tf.data` needs TensorFlow installed (any backend can train from it), and
  Colab's TPU runtime has none: `installed("tensorflow", what)` tells, and says what is skipped.

The backend is chosen by `env.setup()` before Keras is imported (see env.choose_backend).
"""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Callable
from typing import Any

NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def _say(line: str) -> None:
    """Print `line` wrapped at 79 characters (the page's width), continuation lines indented."""
    print(textwrap.fill(line, 79, subsequent_indent="         ", break_long_words=False))


def backend() -> str:
    """The Keras backend of this run: 'tensorflow', 'jax' or 'torch'."""
    import keras

    return keras.backend.backend()


def has(package: str) -> bool:
    """True when `package` (tensorflow, jax, torch, grain, ...) can be imported here."""
    return importlib.util.find_spec(package) is not None


def runs_on(name: str, what: str) -> bool:
    """True when Keras runs on backend `name`; else print one line: `what` is skipped, and why.

    For a cell that shows one framework's own mechanism (`tf.GradientTape`, `jax.grad`):
    `if backends.runs_on("jax", "jax.grad on the model"):` runs it only on that backend.
    """
    if name not in NAMES:
        raise ValueError(f"{name!r} is not a Keras backend: use one of {', '.join(NAMES)}")
    here = backend()
    if here == name:
        return True
    _say(f"skipped: {what} needs the {NAMES[name]} backend (this run: {NAMES[here]})")
    return False


def installed(package: str, what: str) -> bool:
    """True when `package` is installed; else print one line: `what` is skipped, and why.

    `tf.data` runs beside any backend as long as TensorFlow is installed (Colab's TPU runtime has
    none): `if backends.installed("tensorflow", "the tf.data pipeline"):`.
    """
    if has(package):
        return True
    _say(f"skipped: {what} needs {NAMES.get(package, package)}, which is not installed here")
    return False


def gradient(fn: Callable[[Any], Any], x: Any) -> tuple[Any, Any]:
    """(fn(x), d fn / d x) for a function `fn` of one float tensor that returns a scalar.

    `fn` is written with `keras.ops` (or the model's own call), so the same function works on
    every backend; the gradient comes from the backend's own mechanism: `tf.GradientTape` on
    TensorFlow, `jax.value_and_grad` on JAX, `torch.autograd` on PyTorch. `x` may be a NumPy
    array or a backend tensor; both results are backend tensors (`keras.ops.convert_to_numpy`
    turns them into arrays).
    """
    import keras

    x = keras.ops.convert_to_tensor(x)
    if not str(keras.backend.standardize_dtype(x.dtype)).startswith(("float", "bfloat")):
        raise TypeError(
            f"gradient() needs a float input, got {x.dtype}: cast it first, e.g. "
            "x.astype('float32')"
        )
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return value, tape.gradient(value, x)
    if name == "jax":
        import jax

        return jax.value_and_grad(fn)(x)
    if name == "torch":
        x = x.detach().clone().requires_grad_(True)
        value = fn(x)
        value.backward()
        return value.detach(), x.grad
    raise RuntimeError(f"no gradient for the {name} backend")
