"""Fully connected CRF (Krähenbühl and Koltun, 2011), as DeepLab uses it, through `pydensecrf2`.

`dense_crf(image, probs, params)` refines a network's per-pixel class probabilities with two
pairwise terms: a Gaussian (smoothness: nearby pixels agree) and a bilateral one (nearby pixels
of similar colour agree). `pydensecrf2` compiles from source (about a minute); where it is
missing, `available()` is False and `dense_crf` raises an error that says what to do.
`shrink` makes an image small enough for an all-pairs mean-field; `refine_labels` runs a CRF
over a batch and times it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

INSTALL_HINT = (
    "pydensecrf2 is not installed. Install it with `pip install pydensecrf2` (it compiles from "
    "source: about a minute, and needs a C++ compiler; in Colab it builds as is)."
)


class CRFUnavailableError(ImportError):
    """pydensecrf2 cannot be imported here."""


@dataclass(frozen=True)
class CRFParams:
    """Mean-field settings; names follow the paper: w (weight), theta (kernel width)."""

    iterations: int = 5
    gaussian_sxy: float = 3.0  # theta_gamma, pixels
    gaussian_weight: float = 3.0  # w_2
    bilateral_sxy: float = 20.0  # theta_alpha, pixels
    bilateral_srgb: float = 13.0  # theta_beta, colour levels (0-255)
    bilateral_weight: float = 5.0  # w_1


def available() -> bool:
    """True when `pydensecrf2` (imported as `pydensecrf`) can be used."""
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        return False
    return True


def check_inputs(image: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate an RGB uint8 image and (H, W, C) probabilities; return C-contiguous copies."""
    image, probs = np.asarray(image), np.asarray(probs)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be RGB with shape (H, W, 3); got shape {image.shape}")
    if image.dtype != np.uint8:
        raise TypeError(
            f"image must be uint8 (0-255), got {image.dtype}; convert it with "
            "np.clip(image, 0, 255).astype(np.uint8) (multiply by 255 first if it is in [0, 1])"
        )
    if probs.ndim != 3 or probs.shape[-1] < 2:
        raise ValueError(
            f"probs must be (H, W, C) class probabilities with C >= 2; got shape {probs.shape}. "
            "For one foreground probability p, stack [1 - p, p] on the last axis."
        )
    if probs.shape[:2] != image.shape[:2]:
        raise ValueError(
            f"probs cover {probs.shape[:2]} pixels but the image is {image.shape[:2]}: "
            "resize the probabilities to the image first"
        )
    if not np.issubdtype(probs.dtype, np.floating):
        raise TypeError(f"probs must be floating point (softmax output), got {probs.dtype}")
    probs = probs.astype(np.float32, copy=False)
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.max() > 1.0 + 1e-4:
        raise ValueError("probs must be finite and in [0, 1]: pass softmax outputs, not logits")
    sums = probs.sum(axis=-1)
    if np.abs(sums - 1.0).max() > 1e-2:
        raise ValueError(
            f"probs must sum to 1 over classes at each pixel (found sums from {sums.min():.3f} "
            f"to {sums.max():.3f}); apply a softmax over the last axis first"
        )
    return np.ascontiguousarray(image), np.ascontiguousarray(probs)


def unary_from_probs(probs: np.ndarray, clip: float = 1e-5) -> np.ndarray:
    """Unary energy -log p as a C-contiguous float32 (C, H*W) array, the layout pydensecrf
    wants."""
    probs = np.asarray(probs, dtype=np.float32)
    h, w, c = probs.shape
    energy = -np.log(np.clip(probs, clip, 1.0))
    return np.ascontiguousarray(energy.reshape(h * w, c).T)


def dense_crf(image: np.ndarray, probs: np.ndarray, params: CRFParams = CRFParams()) -> np.ndarray:
    """Refined (H, W, C) probabilities after `params.iterations` mean-field steps of
    pydensecrf2."""
    image, probs = check_inputs(image, probs)
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as err:
        raise CRFUnavailableError(INSTALL_HINT) from err
    h, w, c = probs.shape
    crf = dcrf.DenseCRF2D(w, h, c)  # width first: pydensecrf's order
    crf.setUnaryEnergy(unary_from_probs(probs))
    crf.addPairwiseGaussian(sxy=params.gaussian_sxy, compat=params.gaussian_weight)
    crf.addPairwiseBilateral(
        sxy=params.bilateral_sxy,
        srgb=params.bilateral_srgb,
        rgbim=image,
        compat=params.bilateral_weight,
    )
    q = np.array(crf.inference(params.iterations), dtype=np.float32)  # (C, H*W)
    return np.ascontiguousarray(q.T.reshape(h, w, c))


def shrink(image: np.ndarray, probs: np.ndarray, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Image and probabilities resized (area-averaged) to size x size; probabilities still sum
    to 1."""
    import cv2

    image, probs = check_inputs(image, probs)
    if image.shape[:2] == (size, size):
        return image, probs
    small = cv2.resize(probs, (size, size), interpolation=cv2.INTER_AREA)
    if small.ndim == 2:  # OpenCV drops a last axis of length 1; a CRF needs C >= 2 anyway
        small = small[..., None]
    return (
        cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA),
        np.ascontiguousarray(small / small.sum(-1, keepdims=True), dtype=np.float32),
    )


def refine_labels(
    refine: Callable[..., np.ndarray],
    images: np.ndarray,
    probs: np.ndarray,
    params: CRFParams = CRFParams(),
) -> tuple[np.ndarray, float]:
    """uint8 labels (N, H, W) after `refine(image, probs, params)` per image, and seconds per
    image."""
    if len(images) != len(probs) or len(images) == 0:
        raise ValueError(
            f"need as many probability maps as images (and at least one): "
            f"{len(images)} images, {len(probs)} maps"
        )
    start = time.perf_counter()
    labels = np.stack(
        [refine(img, p, params).argmax(-1) for img, p in zip(images, probs, strict=True)]
    )
    return labels.astype(np.uint8), (time.perf_counter() - start) / len(images)
