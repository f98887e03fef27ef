"""Checks for chapter 00's exercises: grey from BGR, a 2x2 average to halve an image, and a
batch of photos of any size ready for a Keras model.

Each check runs fixed inputs that tell the usual mistakes from the right answer (a channel
swap, truncation instead of rounding, a centre crop rounded the wrong way for an odd size
difference), then random ones."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, compare, fresh_seed, run, show

LUMA = np.array([0.299, 0.587, 0.114])  # weights of R, G, B (ITU-R BT.601), as OpenCV uses


def _random_bgr(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random colour image whose three channels differ clearly (so a channel swap shows)."""
    img = rng.integers(0, 256, size=(height, width, 3))
    img[..., 0] //= 4  # blue dark, red bright: swapping them changes the grey a lot
    img[..., 2] = 192 + img[..., 2] // 4
    return img.astype(np.uint8)


def _grey_cases(rng: np.random.Generator) -> list[np.ndarray]:
    """A fixed image of pure and mixed colours (every rounding direction), then a random one."""
    levels = np.array([0, 1, 2, 3, 127, 128, 200, 254, 255])
    b, g, r = np.meshgrid(levels, levels, levels, indexing="ij")
    fixed = np.stack([b, g, r], axis=-1).reshape(27, 27, 3).astype(np.uint8)
    h, w = int(rng.integers(20, 40)), int(rng.integers(41, 60))
    return [fixed, _random_bgr(rng, h, w)]


def check_bgr_to_grey(fn: Callable, seed: int | None = None) -> None:
    """Exercise 0.1: grey levels from a BGR image, against cv2.cvtColor(..., COLOR_BGR2GRAY)."""
    import cv2

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        shapes = []
        for bgr in _grey_cases(rng):
            h, w = bgr.shape[:2]
            expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            given = bgr.copy()
            got = np.asarray(call(fn, given))
            if not np.array_equal(given, bgr):
                return False, "your function changed the image it was given: work on a copy"
            if got.shape != expected.shape:
                return False, (
                    f"a {h}x{w} BGR image gave a grey image of shape {got.shape}, "
                    f"expected {expected.shape} (no channel axis)"
                )
            if got.dtype != np.uint8:
                return (
                    False,
                    f"your grey image has dtype {got.dtype}, expected uint8 like the input",
                )
            gap = np.abs(got.astype(int) - expected.astype(int))
            # OpenCV sums in fixed point: a few pixels whose grey is near a half may differ by 1
            if gap.max() <= 1 and gap.mean() < 0.05:
                shapes.append(f"{h}x{w}")
                continue
            at = np.unravel_index(np.argmax(gap), gap.shape)
            exact = float(bgr[at].astype(float) @ LUMA[::-1])
            detail = (
                f"{h}x{w} BGR image: {np.sum(gap > 0)} of {gap.size} pixels differ from "
                f"OpenCV; at {tuple(int(i) for i in at)}, B, G, R = "
                f"{show(bgr[at].astype(int))}: yours {got[at]}, OpenCV {expected[at]} "
                f"(0.299 R + 0.587 G + 0.114 B = {exact:.3f})"
            )
            swapped = np.rint(bgr.astype(float) @ LUMA).astype(int)
            truncated = np.floor(bgr.astype(float) @ LUMA[::-1] + 1e-9).astype(int)
            if np.abs(got.astype(int) - swapped).max() <= 1:
                detail += (
                    "; your weights went to the wrong channels: 0.299 is red's, and red is "
                    "last in BGR"
                )
            elif (
                np.abs(got.astype(int) - truncated).max() <= 1
                and np.mean(got.astype(int) < expected) > 0.2
            ):
                detail += (
                    "; your levels are cut off, not rounded: round to the nearest level "
                    "(np.rint) before astype"
                )
            return False, detail
        return True, (
            f"images {', '.join(shapes)} (all 729 mixes of 9 levels, then random "
            "colours): every pixel within 1 level of OpenCV"
        )

    run(
        "0.1 (grey from BGR)",
        body,
        seed=seed,
        repeat="ch00.check_bgr_to_grey(bgr_to_grey, seed={seed})",
    )


def check_halve(fn: Callable, seed: int | None = None) -> None:
    """Exercise 0.2: the mean of every 2x2 block, against cv2.resize with INTER_AREA."""
    import cv2

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        sizes = [
            (2, 2),
            (6, 10),  # the smallest image, and halves of odd size
            (2 * int(rng.integers(5, 15)), 2 * int(rng.integers(16, 25))),
        ]
        for h, w in sizes:
            img = rng.uniform(0, 255, size=(h, w, 3)).astype(np.float32)
            expected = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            given = img.copy()
            got = call(fn, given)
            if not np.array_equal(given, img):
                return False, "your function changed the image it was given: work on a copy"
            passed, how = compare(got, expected, rtol=1e-5, atol=1e-3, what="your half-size image")
            if passed:
                continue
            if np.shape(got) == expected.shape:
                got = np.asarray(got, dtype=np.float64)
                if np.allclose(got, img[::2, ::2]):
                    how += (
                        "; it equals img[::2, ::2]: that keeps one pixel of each block "
                        "instead of averaging four"
                    )
                elif (
                    np.allclose(got, img[1::2, 1::2])
                    or np.allclose(got, img[::2, 1::2])
                    or np.allclose(got, img[1::2, ::2])
                ):
                    how += "; it keeps one pixel of each block instead of averaging four"
                elif np.allclose(got, img.reshape(h // 2, w // 2, 2, 2, 3).mean(axis=(2, 3))):
                    how += (
                        "; you reshaped to (h/2, w/2, 2, 2, c): the 2 that belongs to the "
                        "rows must sit right after h/2, as (h/2, 2, w/2, 2, c)"
                    )
                top = img[0:2, 0:2].mean(axis=(0, 1))
                how += (
                    f" (the top-left block's mean is {show(top, 5)}, yours there "
                    f"{show(got[0, 0], 5)})"
                )
            return False, f"{h}x{w}x3 image -> {h // 2}x{w // 2}x3: {how}"
        return True, (
            f"images {', '.join(f'{h}x{w}' for h, w in sizes)}: every 2x2 mean as "
            "cv2.resize(INTER_AREA) gives it"
        )

    run(
        "0.2 (halve by 2x2 averages)",
        body,
        seed=seed,
        repeat="ch00.check_halve(halve, seed={seed})",
    )


def _centre_square(bgr: np.ndarray, rounding: str = "down") -> np.ndarray:
    h, w = bgr.shape[:2]
    side = min(h, w)
    if rounding == "down":
        top, left = (h - side) // 2, (w - side) // 2
    elif rounding == "up":
        top, left = -(-(h - side) // 2), -(-(w - side) // 2)
    else:  # Python's round(): halves go to the even neighbour
        top, left = round((h - side) / 2), round((w - side) / 2)
    return bgr[top : top + side, left : left + side]


def _batch_reference(
    images: list[np.ndarray], size: int, rounding: str = "down", interpolation: str = "area"
) -> np.ndarray:
    import cv2

    how = cv2.INTER_AREA if interpolation == "area" else cv2.INTER_LINEAR
    out = []
    for bgr in images:
        square = _centre_square(bgr, rounding)
        small = cv2.resize(square, (size, size), interpolation=how)
        out.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    return np.stack(out).astype(np.float32)


def _photo_shapes(rng: np.random.Generator) -> list[tuple[int, int]]:
    """Wide and tall photos whose size differences are odd and even, and a square one.

    An odd difference 2m + 1 tells (d // 2) from rounding up; with m odd, it also tells it from
    Python's round(), which sends m + 0.5 to the even neighbour."""
    shapes = []
    for difference in (7, 5, 6):  # m = 3 (odd), m = 2 (even), and an even difference
        h = int(rng.integers(25, 45))
        shapes += [(h, h + difference), (h + difference + 2, h)]
    side = int(rng.integers(25, 35))
    shapes.append((side, side))
    for _ in range(2):  # random ones on top, wide or tall
        short, long = int(rng.integers(25, 50)), int(rng.integers(50, 90))
        shapes.append((short, long) if rng.random() < 0.5 else (long, short))
    return shapes


def check_keras_batch(fn: Callable, seed: int | None = None) -> None:
    """Exercise 0.3: centre crop, resize, RGB and float32, stacked into one batch."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        size = int(rng.integers(12, 20))
        shapes = _photo_shapes(rng)
        images = [_random_bgr(rng, h, w) for h, w in shapes]
        expected = _batch_reference(images, size)
        given = [im.copy() for im in images]
        got = call(fn, given, size)
        if len(given) != len(images) or any(
            not np.array_equal(a, b) for a, b in zip(given, images, strict=True)
        ):
            return False, "your function changed the photos it was given: work on copies"
        got_array = np.asarray(got)
        setting = f"{len(images)} BGR photos (height, width) {shapes}, size {size}"
        if got_array.dtype != np.float32:
            return False, (
                f"{setting}: your batch has dtype {got_array.dtype}, expected "
                "float32 (what Keras models take)"
            )
        # converting to float before or after cv2.resize are both right: a uint8 resize rounds
        # each pixel to a whole level, so the two differ by at most half a level
        passed, how = compare(got_array, expected, atol=0.51, rtol=0, what="your batch")
        if passed:
            return True, f"{setting}: batch {expected.shape}, {how}"
        detail = f"{setting}: {how}"
        if got_array.shape != expected.shape:
            return False, detail
        close = lambda a, b: np.abs(a.astype(np.float64) - b).max() <= 0.51  # noqa: E731
        if close(got_array, expected[..., ::-1]):
            return (
                False,
                detail + "; red and blue are swapped: the photos are BGR, Keras wants RGB",
            )
        for rounding, words in (
            ("up", "rounds the start up"),
            ("half-even", "uses round(), which sends a half to the even neighbour"),
        ):
            if close(got_array, _batch_reference(images, size, rounding)):
                i = next(
                    i
                    for i, (h, w) in enumerate(shapes)
                    if _start(h, w, rounding) != abs(w - h) // 2
                )
                h, w = shapes[i]
                return False, (
                    f"{detail}; your crop {words}: for photo {i} ({h}x{w}) it starts "
                    f"at {_start(h, w, rounding)}, the centred square at "
                    f"{abs(w - h)} // 2 = {abs(w - h) // 2}"
                )
        if close(got_array, _batch_reference(images, size, interpolation="linear")):
            return False, (
                f"{detail}; you resized with INTER_LINEAR, cv2.resize's default: "
                "to shrink, average with INTER_AREA"
            )
        wrong = [i for i in range(len(images)) if not close(got_array[i], expected[i])]
        return False, (
            f"{detail}; photos {wrong} differ: crop the centred square, then resize "
            "it with INTER_AREA"
        )

    run(
        "0.3 (a Keras batch)",
        body,
        seed=seed,
        repeat="ch00.check_keras_batch(to_keras_batch, seed={seed})",
    )


def _start(h: int, w: int, rounding: str) -> int:
    d = abs(w - h)
    return -(-d // 2) if rounding == "up" else round(d / 2)
