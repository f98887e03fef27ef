"""Checks for chapter 09's exercises: three other ways to ask a network where its evidence is,
to set beside Grad-CAM: a saliency map (the gradient at the pixels), an occlusion map (hide a
patch, watch the score), and integrated gradients (the gradient averaged along a path from a
black image)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from .checking import as_array, call, compare, fresh_seed, run

MODELS = 6  # small random convnets to choose from: models are slow to build, so a seed picks one


@lru_cache(maxsize=MODELS)
def small_convnet(index: int) -> Any:
    """A small random convnet from images (any size, 3 channels) to 4 class scores before the
    softmax: two ReLU convolutions, global average pooling, a dense layer."""
    import keras

    keras.utils.set_random_seed(100 + index)
    bias = keras.initializers.RandomNormal(0.0, 0.3)  # not 0: relu(a x) != a relu(x), so the
    return keras.Sequential(
        [  # gradient changes along a path to x
            keras.Input((None, None, 3)),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", bias_initializer=bias),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", bias_initializer=bias),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, bias_initializer=bias),
        ],
        name=f"small_convnet_{index}",
    )


def _gradients(
    model: Any,
    images: np.ndarray,
    class_index: int,
    *,
    softmax: bool = False,
    all_classes: bool = False,
) -> np.ndarray:
    """d y_c / d images for a batch (each image its own), optionally of the softmax's p_c or of
    the sum of every class's score (two of the usual mistakes). Every Keras backend: the
    gradient comes from its own mechanism (course_utils.backends.gradient)."""
    from keras import ops

    from course_utils import backends

    def score(x: Any) -> Any:
        scores = model(x)
        if softmax:
            scores = ops.softmax(scores)
        return ops.sum(scores) if all_classes else ops.sum(scores[:, class_index])

    _, grads = backends.gradient(score, np.asarray(images, dtype=np.float32))
    return ops.convert_to_numpy(grads).astype(np.float64)


def saliency_reference(
    model: Any, images: np.ndarray, class_index: int, *, reduce: str = "max abs", **gradient: bool
) -> np.ndarray:
    grads = _gradients(model, images, class_index, **gradient)
    if reduce == "max abs":
        return np.abs(grads).max(axis=-1)
    if reduce == "max":
        return grads.max(axis=-1)
    return np.abs(grads).mean(axis=-1)


SALIENCY_MISTAKES = (
    (
        {"reduce": "max"},
        "take the absolute value first: a pixel that pulls the score down "
        "matters as much as one that pushes it up",
    ),
    ({"reduce": "mean abs"}, "take the largest of the three channels' |gradient|, not their mean"),
    (
        {"softmax": True},
        "that is the gradient of the probability after the softmax: take the "
        "score before it (section 4.3)",
    ),
    (
        {"all_classes": True},
        "that is the gradient of the sum of every class's score: take class_index's only",
    ),
)


def check_saliency(fn: Callable, seed: int | None = None) -> None:
    """Exercise 9.1: |d y_c / d pixels|, largest over the channels, for a batch of images."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        model = small_convnet(int(rng.integers(MODELS)))
        n, h, w = 3, int(rng.integers(8, 12)), int(rng.integers(13, 17))
        images = rng.normal(size=(n, h, w, 3)).astype("float32")
        class_index = int(rng.integers(4))
        expected = saliency_reference(model, images, class_index)
        given = images.copy()
        got = as_array(call(fn, model, given, class_index), "your saliency maps")
        if not np.array_equal(given, images):
            return False, "your function changed the images it was given"
        passed, how = compare(got, expected, rtol=1e-4, atol=1e-7, what="your saliency maps")
        setting = f"{n} random {h}x{w}x3 images, a small random convnet, class {class_index}"
        if passed:
            peak = np.unravel_index(np.argmax(expected[0]), expected[0].shape)
            return True, (
                f"{setting}: {how}; image 0's most salient pixel is at "
                f"{tuple(int(i) for i in peak)}"
            )
        detail = f"{setting}: {how}"
        if got.shape == images.shape:
            detail += "; reduce the 3 channels to one number per pixel: the largest |gradient|"
        elif got.shape == expected.shape:
            for told, words in SALIENCY_MISTAKES:
                if np.allclose(
                    got,
                    saliency_reference(model, images, class_index, **told),
                    rtol=1e-4,
                    atol=1e-7,
                ):
                    detail += f"; {words}"
                    break
        return False, detail

    run("9.1 (saliency map)", body, seed=seed, repeat="ch09.check_saliency(saliency, seed={seed})")


def occlusion_reference(
    model: Any,
    image: np.ndarray,
    class_index: int,
    patch: int,
    stride: int,
    fill: float,
    *,
    sign: int = 1,
    last: bool = True,
    scale: bool = True,
    value: float | None = None,
) -> np.ndarray:
    """Drop of the class score when a patch x patch square at (i * stride, j * stride), wholly
    inside the image, is set to `fill`. The keyword arguments give the usual mistakes: the
    sign, the last position left out, corners at (i, j), another fill value."""
    h, w = image.shape[:2]
    rows = range(0, h - patch + 1, stride) if last else range(0, h - patch, stride)
    cols = range(0, w - patch + 1, stride) if last else range(0, w - patch, stride)
    copies = []
    for i, top in enumerate(rows):
        for j, left in enumerate(cols):
            top_, left_ = (top, left) if scale else (i, j)
            copy = np.array(image, dtype=np.float32)
            copy[top_ : top_ + patch, left_ : left_ + patch] = fill if value is None else value
            copies.append(copy)
    scores = np.asarray(model(np.stack([np.asarray(image, np.float32)] + copies)))[:, class_index]
    return (sign * (scores[0] - scores[1:])).reshape(len(rows), len(cols)).astype(np.float64)


OCCLUSION_MISTAKES = (
    ({"sign": -1}, "the drop is the image's score minus the occluded copy's score"),
    (
        {"last": False},
        "the last position, where the square touches the bottom or right edge, "
        "counts too: (H - patch) // stride + 1 positions",
    ),
    ({"scale": False}, "the square's corner is at (i * stride, j * stride), not (i, j)"),
    ({"value": 0.0}, "fill the square with `fill`, not with 0"),
)


def _occlusion_cases(rng: np.random.Generator) -> list[tuple[int, int, int, int, float]]:
    """(height, width, patch, stride, fill): one where the last square touches both edges
    ((H - patch) divisible by the stride), one where it does not, then a random one."""
    fill = float(np.round(rng.uniform(0.2, 0.8), 2))
    cases = [(13, 16, 4, 3, fill), (12, 15, 5, 2, fill)]
    patch, stride = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    cases.append((int(rng.integers(9, 14)), int(rng.integers(14, 18)), patch, stride, fill))
    return cases


def check_occlusion(fn: Callable, seed: int | None = None) -> None:
    """Exercise 9.2: the occlusion map of one image, square by square."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        model = small_convnet(int(rng.integers(MODELS)))
        shown = []
        for h, w, patch, stride, fill in _occlusion_cases(rng):
            image = rng.uniform(0, 1, size=(h, w, 3)).astype("float32")
            class_index = int(rng.integers(4))
            expected = occlusion_reference(model, image, class_index, patch, stride, fill)
            given = image.copy()
            got = as_array(call(fn, model, given, class_index, patch, stride, fill), "your map")
            if not np.array_equal(given, image):
                return False, (
                    "your function changed the image it was given: occlude a copy "
                    "(image.copy()), one square at a time"
                )
            passed, how = compare(got, expected, rtol=1e-4, atol=1e-5, what="your map")
            if passed:
                shown.append(f"{h}x{w} patch {patch} stride {stride} -> {expected.shape}")
                continue
            detail = (
                f"a {h}x{w} image, patch {patch}, stride {stride}, fill {fill}, class "
                f"{class_index}: {how}"
            )
            if got.shape == expected.shape[::-1] and got.shape != expected.shape:
                detail += "; rows and columns swapped: the map is (rows, columns) like the image"
            for told, words in OCCLUSION_MISTAKES:
                other = occlusion_reference(model, image, class_index, patch, stride, fill, **told)
                if got.shape == other.shape and np.allclose(got, other, rtol=1e-4, atol=1e-5):
                    detail += f"; {words}"
                    break
            return False, detail
        return True, "maps right for " + "; ".join(shown)

    run(
        "9.2 (occlusion map)",
        body,
        seed=seed,
        repeat="ch09.check_occlusion(occlusion_map, seed={seed})",
    )


def integrated_gradients_reference(
    model: Any,
    image: np.ndarray,
    class_index: int,
    steps: int,
    *,
    points: str = "right",
    times_input: bool = True,
    average: bool = True,
    softmax: bool = False,
) -> np.ndarray:
    """(x - 0) * mean over k = 1..steps of d y_c / d x at (k / steps) x. The keyword arguments
    give the usual mistakes: the points k = 0..steps-1 or linspace(0, 1, steps), no
    multiplication by x, the sum instead of the mean, the probability after the softmax."""
    if points == "right":
        alphas = np.arange(1, steps + 1) / steps
    elif points == "left":
        alphas = np.arange(steps) / steps
    else:
        alphas = np.linspace(0, 1, steps)
    path = alphas[:, None, None, None] * np.asarray(image, dtype=np.float32)[None]
    grads = _gradients(model, path.astype(np.float32), class_index, softmax=softmax)
    total = grads.mean(axis=0) if average else grads.sum(axis=0)
    return total * image if times_input else total


IG_MISTAKES = (
    (
        {"points": "left"},
        "the points are k / steps for k = 1 .. steps: yours start at the "
        "baseline (k = 0) and stop short of the image",
    ),
    (
        {"points": "linspace"},
        "the points are k / steps for k = 1 .. steps: np.linspace(0, 1, "
        "steps) puts one at the baseline and spaces them 1 / (steps - 1)",
    ),
    ({"times_input": False}, "multiply the averaged gradient by (x - baseline), here x"),
    ({"average": False}, "average the gradients over the steps, do not add them up"),
    ({"softmax": True}, "take the score before the softmax"),
)


def check_integrated_gradients(fn: Callable, seed: int | None = None) -> None:
    """Exercise 9.3: integrated gradients from a black baseline, right Riemann sum."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        model = small_convnet(int(rng.integers(MODELS)))
        shown = []
        for steps in (int(rng.integers(3, 6)), 32):
            h, w = int(rng.integers(7, 10)), int(rng.integers(10, 13))
            image = rng.uniform(0, 2, size=(h, w, 3)).astype("float32")
            class_index = int(rng.integers(4))
            expected = integrated_gradients_reference(model, image, class_index, steps)
            given = image.copy()
            got = as_array(call(fn, model, given, class_index, steps), "your attributions")
            if not np.array_equal(given, image):
                return False, "your function changed the image it was given"
            passed, how = compare(got, expected, rtol=1e-4, atol=1e-6, what="your attributions")
            scores = np.asarray(model(np.stack([np.zeros_like(image), image])))[:, class_index]
            if passed:
                shown.append(
                    f"{steps} steps: attributions add up to {expected.sum():.4f}, "
                    f"y_c(x) - y_c(black) = {scores[1] - scores[0]:.4f}"
                )
                continue
            detail = f"a {h}x{w}x3 image, class {class_index}, {steps} steps: {how}"
            if got.shape == expected.shape:
                for told, words in IG_MISTAKES:
                    other = integrated_gradients_reference(
                        model, image, class_index, steps, **told
                    )
                    if np.allclose(got, other, rtol=1e-4, atol=1e-6):
                        detail += f"; {words}"
                        break
                detail += (
                    f" (yours add up to {got.sum():.4f}; y_c(x) - y_c(black) = "
                    f"{scores[1] - scores[0]:.4f})"
                )
            return False, detail
        return True, "; ".join(shown) + ": the more steps, the closer (the gradient theorem)"

    run(
        "9.3 (integrated gradients)",
        body,
        seed=seed,
        repeat="ch09.check_integrated_gradients(integrated_gradients, seed={seed})",
    )
