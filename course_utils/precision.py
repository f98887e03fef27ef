"""Mixed precision where it pays: float16 arithmetic on a GPU with tensor cores (bfloat16 on a
TPU),
float32 everywhere else.

A T4's tensor cores multiply float16 matrices several times faster than its float32 units
(NVIDIA's T4 datasheet: 65 against 8.1 TFLOP/s at peak). Keras' `mixed_float16` policy computes
in float16 and keeps the weights in float32; `fit` scales the loss so that small gradients do not
vanish in float16. A model's last layer should still produce float32 (`dtype="float32"`), so
that its softmax or sigmoid and the loss are computed at full precision. On a CPU, float16 is
slower than float32, so the course keeps float32 there.
"""

from __future__ import annotations

TENSOR_CORES = (7, 0)  # compute capability 7.0 (Volta) and later: V100, T4 (7.5), A100, L4, ...


def policy_for(device: str, capability: tuple[int, int] | None = None) -> str:
    """The Keras dtype policy for a device: 'gpu' with its compute capability, 'tpu' or 'cpu'."""
    if device == "tpu":
        return "mixed_bfloat16"
    if device == "gpu" and capability is not None and tuple(capability) >= TENSOR_CORES:
        return "mixed_float16"
    return "float32"


def accelerator() -> tuple[str, tuple[int, int] | None]:
    """('gpu', compute capability), ('tpu', None) or ('cpu', None): what the Keras backend runs
    on."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return "gpu", tuple(details.get("compute_capability", (0, 0)))
        return "cpu", None
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "gpu":
            major, _, minor = str(getattr(device, "compute_capability", "0.0")).partition(".")
            return "gpu", (int(major), int(minor or 0))
        return ("tpu", None) if device.platform == "tpu" else ("cpu", None)
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return "gpu", tuple(torch.cuda.get_device_capability(0))
    return "cpu", None


def use_best_policy(fast: bool = True) -> str:
    """Set Keras' global dtype policy for this machine (see `policy_for`); return its name.

    With `fast=False` (quick mode: results that repeat and match the stored outputs, also on a
    GPU runner) the policy is float32 everywhere.
    """
    import keras

    name = policy_for(*accelerator()) if fast else "float32"
    keras.mixed_precision.set_global_policy(name)
    return name
