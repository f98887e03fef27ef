"""Checks for chapter 06's exercises: the best epoch read off a smoothed validation curve, and an
augmentation for digits that keeps every label true."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..plots import smooth_curve
from .checking import call, fresh_seed, run


def _noisy_curve(rng: np.random.Generator) -> list[float]:
    """A validation loss that falls, then rises, with noise; its lowest raw point, lowest
    smoothed point (factor 0.8) and lowest smoothed point (factor 0.6) are three different epochs."""
    while True:
        n = int(rng.integers(30, 61))
        t = np.arange(n) / n
        curve = 0.3 + 1.5 * (t - rng.uniform(0.3, 0.6)) ** 2 + rng.normal(0, 0.06, n)
        lows = {int(np.argmin(curve)), int(np.argmin(smooth_curve(curve, 0.8))),
                int(np.argmin(smooth_curve(curve, 0.6)))}
        if len(lows) == 3:
            return [float(v) for v in curve]


def check_best_smoothed_epoch(fn: Callable, seed: int | None = None) -> None:
    """Exercise 6.1: the 1-based epoch with the lowest EMA-smoothed validation loss."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        for _ in range(4):
            curve = _noisy_curve(rng)
            for factor in (0.8, 0.6):
                expected = int(np.argmin(smooth_curve(curve, factor))) + 1
                got = call(fn, list(curve), factor)
                if got != expected:
                    detail = (f"on a noisy curve of {len(curve)} epochs with factor {factor} you "
                              f"answered epoch {got}, the smoothed loss is lowest at epoch {expected}")
                    if got == expected - 1:
                        detail += " (epochs count from 1, array indices from 0)"
                    elif got == int(np.argmin(curve)) + 1:
                        detail += " (that is the lowest raw value: smooth the curve first)"
                    elif got == int(np.argmin(smooth_curve(curve, 0.8))) + 1:
                        detail += " (that is the answer for factor 0.8: pass the factor on)"
                    return False, detail
        return True, "4 noisy validation curves, factors 0.8 and 0.6: every best epoch right"

    run("6.1 (best epoch of a smoothed curve)", body, seed=seed,
        repeat="ch06.check_best_smoothed_epoch(best_smoothed_epoch, seed={seed})")


def _three_dots(n: int) -> np.ndarray:
    """n black 48x48 RGB images with a red, a green and a blue square near the middle."""
    images = np.zeros((n, 48, 48, 3), dtype="float32")
    for channel, (row, col) in enumerate([(16, 18), (31, 17), (24, 32)]):
        images[:, row - 2:row + 3, col - 2:col + 3, channel] = 255.0
    return images


def _orientation(image: np.ndarray) -> float | None:
    """Sign of the turn red -> green -> blue (the dots' centres), None if a dot left the image."""
    rows, cols = np.mgrid[:48, :48]
    centres = []
    for channel in range(3):
        mass = image[:, :, channel].clip(0, None)
        if mass.sum() < 0.5 * 25 * 255:
            return None
        centres.append(np.array([(rows * mass).sum(), (cols * mass).sum()]) / mass.sum())
    (a, b), (c, d) = centres[1] - centres[0], centres[2] - centres[0]
    return float(np.sign(a * d - b * c))


def check_digit_augmentation(fn: Callable, seed: int | None = None) -> None:
    """Exercise 6.2: random changes in training only, shapes kept, never a mirror image, and the
    new pixels black."""
    # The layers draw their own random numbers, so a failed run has no seed that repeats it.

    def body() -> tuple[bool, str]:
        augment = call(fn)
        dots = _three_dots(32)
        try:
            out = np.asarray(augment(dots, training=True))
            still = np.asarray(augment(dots, training=False))
            white = np.asarray(augment(np.full_like(dots, 255.0), training=True))
        except Exception as err:  # the model the student built fails on images
            return False, f"applying your augmentation to 32 images raised {type(err).__name__}: {err}"
        if out.shape != dots.shape or out.dtype != dots.dtype:
            return False, f"32 images {dots.shape} {dots.dtype} came out as {out.shape} {out.dtype}"
        if not np.allclose(still, dots, atol=1e-3):
            return False, "with training=False the images changed: augmentation must leave them alone at inference"
        changed = int(np.sum(np.abs(out - dots).max(axis=(1, 2, 3)) > 25))
        if changed < 16:
            return False, f"with training=True only {changed} of 32 images changed visibly"
        turns = [_orientation(image) for image in out]
        kept = [t for t in turns if t is not None]
        mirrored = sum(t != _orientation(dots[0]) for t in kept)
        if mirrored:
            return False, (f"{mirrored} of {len(kept)} images came out as mirror images (the red, green and "
                           "blue dots turned the other way round): a mirrored digit is no digit")
        if len(kept) < 16:
            return False, f"the changes are so large that a dot near the middle left {32 - len(kept)} of 32 images"
        filled_black = int(np.sum(white.min(axis=(1, 2, 3)) < 128))
        if filled_black < 16:
            return False, (f"only {filled_black} of 32 all-white images got black pixels where the image "
                           "moved away: new pixels copy the image (fill_mode 'reflect', the default) "
                           "instead of being black (fill_mode='constant')")
        return True, (f"shapes and dtype kept, unchanged at inference, {changed} of 32 images changed in "
                      f"training, none of {len(kept)} mirrored, black fill in {filled_black} of 32")

    run("6.2 (augmentation for digits)", body)
