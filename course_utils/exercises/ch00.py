"""Checks for chapter 00's exercises: grey from BGR, a 2x2 average to halve an image, and a
batch of photos of any size ready for a Keras model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, compare, fresh_seed, run

LUMA = np.array([0.299, 0.587, 0.114])  # weights of R, G, B (ITU-R BT.601), as OpenCV uses


def _random_bgr(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random colour image whose three channels differ clearly (so a channel swap shows)."""
    img = rng.integers(0, 256, size=(height, width, 3))
    img[..., 0] //= 4  # blue dark, red bright: swapping them changes the grey a lot
    img[..., 2] = 192 + img[..., 2] // 4
    return img.astype(np.uint8)


def check_bgr_to_grey(fn: Callable, seed: int | None = None) -> None:
    """Exercise 0.1: grey levels from a BGR image, against cv2.cvtColor(..., COLOR_BGR2GRAY)."""
    import cv2

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        h, w = int(rng.integers(20, 40)), int(rng.integers(41, 60))
        bgr = _random_bgr(rng, h, w)
        expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        got = np.asarray(call(fn, bgr.copy()))
        if got.shape != expected.shape:
            return False, f"your grey image has shape {got.shape}, expected {expected.shape} (no channel axis)"
        if got.dtype != np.uint8:
            return False, f"your grey image has dtype {got.dtype}, expected uint8 like the input"
        gap = np.abs(got.astype(int) - expected.astype(int))
        detail = (f"{h}x{w} BGR image: largest difference from OpenCV {gap.max()} grey level(s), "
                  f"mean {gap.mean():.3f}")
        if gap.max() <= 1 and gap.mean() < 0.05:  # OpenCV's fixed-point sums round a few pixels differently
            return True, detail
        swapped = np.rint(bgr[..., ::-1].astype(float) @ LUMA[::-1])
        if np.abs(got - swapped).max() <= 1:
            detail += "; your weights went to the wrong channels: 0.299 is red's, and red is last in BGR"
        elif gap.max() <= 1:
            detail += "; about half the pixels are 1 too dark: round to the nearest level, do not cut the fraction off"
        return False, detail

    run("0.1 (grey from BGR)", body, seed=seed,
        repeat="ch00.check_bgr_to_grey(bgr_to_grey, seed={seed})")


def check_halve(fn: Callable, seed: int | None = None) -> None:
    """Exercise 0.2: the mean of every 2x2 block, against cv2.resize with INTER_AREA."""
    import cv2

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        h, w = 2 * int(rng.integers(5, 15)), 2 * int(rng.integers(16, 25))  # even, never square
        img = rng.uniform(0, 255, size=(h, w, 3)).astype(np.float32)
        expected = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        got = call(fn, img.copy())
        passed, how = compare(got, expected, rtol=1e-5, atol=1e-3, what="your half-size image")
        if not passed and np.shape(got) == expected.shape:
            if np.allclose(got, img[::2, ::2]):
                how += "; it equals img[::2, ::2]: that keeps one pixel of each block instead of averaging four"
            elif np.allclose(got, img[1::2, 1::2]):
                how += "; it keeps one pixel of each block instead of averaging four"
        return passed, f"{h}x{w}x3 image -> {h // 2}x{w // 2}x3: {how}"

    run("0.2 (halve by 2x2 averages)", body, seed=seed,
        repeat="ch00.check_halve(halve, seed={seed})")


def _batch_reference(images: list[np.ndarray], size: int) -> np.ndarray:
    import cv2

    out = []
    for bgr in images:
        h, w = bgr.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = bgr[top:top + side, left:left + side]
        small = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
        out.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    return np.stack(out).astype(np.float32)


def check_keras_batch(fn: Callable, seed: int | None = None) -> None:
    """Exercise 0.3: centre crop, resize, RGB and float32, stacked into one batch."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        size = int(rng.integers(12, 20))
        shapes = [(int(rng.integers(30, 50)), int(rng.integers(60, 90))),   # wide
                  (int(rng.integers(60, 90)), int(rng.integers(30, 50))),   # tall
                  (int(rng.integers(25, 35)),) * 2]                         # square
        images = [_random_bgr(rng, h, w) for h, w in shapes]
        images[0][:, :shapes[0][1] // 4] = 0  # a dark left margin: a crop from the left shows it
        expected = _batch_reference(images, size)
        got = call(fn, [im.copy() for im in images], size)
        got_array = np.asarray(got)
        if got_array.dtype != np.float32:
            return False, f"your batch has dtype {got_array.dtype}, expected float32 (what Keras models take)"
        passed, how = compare(got_array, expected, atol=1e-3, rtol=0, what="your batch")
        detail = f"3 BGR photos of shapes {shapes} -> batch {expected.shape}: {how}"
        if not passed and got_array.shape == expected.shape:
            if np.allclose(got_array, expected[..., ::-1], atol=1e-3):
                detail += "; red and blue are swapped: the photos are BGR, Keras wants RGB"
            else:
                wrong = [i for i in range(3) if not np.allclose(got_array[i], expected[i], atol=1e-3)]
                detail += (f"; photo(s) {wrong} differ (0 is wide, 1 tall, 2 square): check that "
                           "you crop the centred square and resize with INTER_AREA")
        return passed, detail

    run("0.3 (a Keras batch)", body, seed=seed,
        repeat="ch00.check_keras_batch(to_keras_batch, seed={seed})")
