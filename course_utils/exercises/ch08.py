"""Checks for chapter 08's exercises: AlexNet's ten test crops, a tf.data pipeline with its
steps in the right order, and AlexNet's colour augmentation along the principal components of
the training set's colours.

Exercise 8.2 is about `tf.data` itself: where TensorFlow is not installed (Colab's TPU runtime)
its check says NOT DONE for the stub and, for any other function, that it was skipped: it never
reports PASS for what it did not run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from .checking import StudentError, as_array, call, compare, fresh_seed, run, show


def ten_crops_reference(image: np.ndarray, size: int, rounding: str = "down") -> np.ndarray:
    """AlexNet's ten test crops: four corners and the centre, then the same five mirrored. The
    centre starts at ((height - size) // 2, (width - size) // 2); `rounding` gives the usual
    mistakes (rounded up, or Python's round(), which sends a half to the even neighbour)."""
    h, w = image.shape[:2]
    half = {
        "down": lambda m: m // 2,
        "up": lambda m: -(-m // 2),
        "half-even": lambda m: round(m / 2),
    }
    corners = [
        (0, 0),
        (0, w - size),
        (h - size, 0),
        (h - size, w - size),
        (half[rounding](h - size), half[rounding](w - size)),
    ]
    crops = np.stack([image[y : y + size, x : x + size] for y, x in corners])
    return np.concatenate([crops, crops[:, :, ::-1]])


def _ten_crops_hint(
    got: np.ndarray, image: np.ndarray, size: int, passed: list[tuple[int, np.ndarray]]
) -> str:
    """What the crops' difference shows; a rounding is named only if it also gives the crops of
    the images passed before."""
    expected = ten_crops_reference(image, size)
    h, w = image.shape[:2]
    if np.array_equal(got[:5], expected[:5]) and np.array_equal(got[5:], expected[:5, ::-1]):
        return (
            " (crops 6-10 are mirrored upside down: a left-right mirror reverses the width axis)"
        )
    for rounding, words in (
        ("up", "rounds the start up"),
        ("half-even", "uses round(), which sends a half to the even neighbour"),
    ):
        if np.array_equal(got, ten_crops_reference(image, size, rounding)) and all(
            np.array_equal(ten_crops_reference(im, n, rounding), ten_crops_reference(im, n))
            for n, im in passed
        ):
            return (
                f" (your centre crop {words}: for margins of {h - size} and {w - size} "
                f"pixels it starts at ({(h - size) // 2}, {(w - size) // 2}), rounded down)"
            )
    if np.array_equal(got[:4], expected[:4]) and not np.array_equal(got[4], expected[4]):
        return (
            " (crop 5 is not the centre: it starts at ((height - size) // 2, (width - size) // 2))"
        )
    if np.array_equal(got[:5], expected[:5]):
        return " (crops 6-10 should be crops 1-5 mirrored left-right, in the same order)"
    return ""


def _crop_images(rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """Margins (height - size, width - size) of 5 and 4 (5 // 2 = round(5 / 2), rounding up
    differs), of 3 and 7 (odd margins 2m + 1 with m odd: round() differs too), then random."""
    images: list[tuple[int, np.ndarray]] = []
    for size, (dh, dw) in (
        (int(rng.integers(8, 14)), (5, 4)),
        (int(rng.integers(8, 14)), (3, 7)),
        (int(rng.integers(8, 20)), tuple(int(v) for v in rng.integers(1, 12, 2))),
    ):
        if dh == dw:
            dw += 1  # not square: a mixed-up height and width shows
        images.append(
            (size, rng.integers(0, 256, size=(size + dh, size + dw, 3)).astype(np.uint8))
        )
    return images


def check_ten_crops(fn: Callable, seed: int | None = None) -> None:
    """Exercise 8.1: the ten crops of non-square images, compared pixel for pixel."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        shown: list[str] = []
        done: list[tuple[int, np.ndarray]] = []
        for size, image in _crop_images(rng):
            h, w = image.shape[:2]
            given = image.copy()
            got = np.asarray(call(fn, given, size))
            if not np.array_equal(given, image):
                return False, "your function changed the image it was given"
            passed, how = compare(
                got, ten_crops_reference(image, size), rtol=0, atol=0, what="your crops"
            )
            if not passed:
                hint = (
                    _ten_crops_hint(got, image, size, done)
                    if got.shape == (10, size, size, 3)
                    else ""
                )
                return False, f"{h}x{w} image, crops of {size}: {how}{hint}"
            shown.append(f"{h}x{w}")
            done.append((size, image))
        return True, (
            f"ten crops of images {', '.join(shown)} (odd and even margins), every "
            "pixel as expected"
        )

    run("8.1 (ten crops)", body, seed=seed, repeat="ch08.check_ten_crops(ten_crops, seed={seed})")


def _files(n: int, seed: int) -> tuple[Any, dict[bytes, np.ndarray], np.ndarray]:
    """n 'files' (names and unique labels), the image each decodes to, and a decode counter."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    names = [f"photo_{i:03d}.png".encode() for i in rng.permutation(1000)[:n]]
    images = {name: rng.uniform(0, 1, size=(6, 5, 3)).astype("float32") for name in names}
    labels = rng.permutation(n).astype("int64")  # unique: a label tells which file it was
    files = tf.data.Dataset.from_tensor_slices((names, labels))
    return files, images, labels


def _steps(ds: Any) -> list[Any]:
    """The datasets a pipeline is made of, last step first."""
    steps = []
    while ds is not None:
        steps.append(ds)
        ds = getattr(ds, "_input_dataset", None)
    return steps


def _why_same_order(ds: Any) -> str:
    steps = [(type(step).__name__, step) for step in _steps(ds)]
    names = [name for name, _ in steps]
    shuffles = [i for i, name in enumerate(names) if "Shuffle" in name]
    caches = [i for i, name in enumerate(names) if "Cache" in name]
    if not shuffles:
        return "the training pipeline must shuffle, after the cache"
    above = [i for i in shuffles if not caches or i < caches[0]]  # nearer the end: after the cache
    if above and not getattr(steps[above[0]][1], "_reshuffle_each_iteration", True):
        return (
            "your shuffle has reshuffle_each_iteration=False, so every pass replays the first "
            "pass's order: leave it at True (the default) for training"
        )
    return "shuffle after the cache (a shuffle before it is replayed every pass)"


def check_make_pipeline(fn: Callable, seed: int | None = None) -> None:
    """Exercise 8.2: two passes through the training and the validation pipeline: what each
    image is, how often each file is decoded, and whether the order and augmentations change.
    Without TensorFlow: NOT DONE for the stub, else one line saying the check was skipped."""
    if importlib.util.find_spec("tensorflow") is None:
        _skip_without_tensorflow(fn)
        return
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        import tensorflow as tf

        rng = np.random.default_rng(seed)
        n, batch_size = int(rng.integers(14, 24)), int(rng.integers(3, 6))
        files, images, labels = _files(n, seed)
        by_label = {int(lab): images[name] for name, lab in zip(images, labels, strict=True)}
        decoded = [0]

        def read(name: Any) -> np.ndarray:
            decoded[0] += 1
            return images[name.numpy()]

        def decode(name: Any, label: Any) -> tuple[Any, Any]:
            image = tf.py_function(read, [name], tf.float32)
            return tf.ensure_shape(image, (6, 5, 3)), label

        def augment(image: Any, label: Any) -> tuple[Any, Any]:  # a random brightness shift
            return image + tf.random.uniform([], 0.0, 1.0), label

        found = []
        for training in (True, False):
            decoded[0] = 0
            what = "training" if training else "validation"
            ds = call(fn, files, decode, augment, batch_size, training)
            if not isinstance(ds, tf.data.Dataset):
                return (
                    False,
                    f"the {what} pipeline is a {type(ds).__name__}, not a tf.data.Dataset",
                )
            passes = []
            for _ in range(2):
                orders: list[int] = []
                shifts: list[float] = []
                for x, y in ds:
                    x, y = np.asarray(x), np.asarray(y)
                    if x.shape[1:] != (6, 5, 3) or x.ndim != 4 or len(x) != len(y):
                        return False, (
                            f"a {what} batch has images {x.shape} and labels {y.shape}; "
                            f"expected ({batch_size}, 6, 5, 3) and ({batch_size},)"
                        )
                    if len(x) != batch_size and len(orders) + len(y) != n:
                        return False, f"a {what} batch of {len(x)} images before the last one"
                    delta = x - np.stack([by_label[int(k)] for k in y])
                    shifts += list(delta.mean(axis=(1, 2, 3)))
                    if np.ptp(delta, axis=(1, 2, 3)).max() > 1e-5:
                        return (
                            False,
                            f"{what}: an image does not match its label (decoded by another "
                            "file?)",
                        )
                    orders += [int(k) for k in y]
                if sorted(orders) != sorted(int(k) for k in labels):
                    return (
                        False,
                        f"{what}: one pass gave {len(orders)} images, not each of the {n} files "
                        "once",
                    )
                passes.append((orders, np.array(shifts)))
            (order1, shift1), (order2, shift2) = passes
            steps = f"{what}: {decoded[0]} decodes for {n} files in two passes"
            if decoded[0] != n:
                return False, steps + " (decode once, then cache what it gave)"
            if training:
                if order1 == order2:
                    return (
                        False,
                        "training: both passes came in the same order: " + _why_same_order(ds),
                    )
                if np.all(shift1 == 0):
                    return False, "training: the images are not augmented"
                if np.any(shift1 >= 1) or np.any(shift1 < 0):
                    return False, "training: some images were augmented twice (or more)"
                same = {k: s for k, s in zip(order1, shift1, strict=True)}
                if all(np.isclose(same[k], s) for k, s in zip(order2, shift2, strict=True)):
                    return False, (
                        "training: each image got the same augmentation in both passes: "
                        "augment after the cache"
                    )
                first = shift1[:batch_size]
                if np.allclose(first, first[0]):
                    return False, (
                        "training: every image of a batch got the same shift: augment "
                        "single images, before batch"
                    )
            else:
                if order1 != [int(k) for k in labels] or order2 != order1:
                    return (
                        False,
                        "validation: the files should come in their own order, every pass",
                    )
                if np.any(shift1 != 0) or np.any(shift2 != 0):
                    return False, "validation: the images were augmented; only training images are"
            if "Prefetch" not in type(ds).__name__:
                return (
                    False,
                    f"{what}: the last step is {type(ds).__name__.strip('_')}, not prefetch",
                )
            found.append(steps)
        return True, (
            f"{n} files in batches of {batch_size}: "
            + "; ".join(found)
            + "; training order and augmentations change between passes, validation's not"
        )

    run(
        "8.2 (a training and a validation pipeline)",
        body,
        seed=seed,
        repeat="ch08.check_make_pipeline(make_pipeline, seed={seed})",
    )


def _skip_without_tensorflow(fn: Callable) -> None:
    """Exercise 8.2 where TensorFlow is missing: the stub (it raises NotImplementedError before
    it touches its arguments) is NOT DONE; any other function cannot be checked here."""

    def stub_or_not() -> tuple[bool, str]:
        try:
            call(fn, None, None, None, 1, True)  # the stub raises NotDone here
        except StudentError:
            pass  # a real pipeline fails on None: it is not the stub
        raise _Skipped

    try:
        run("8.2 (a training and a validation pipeline)", stub_or_not)
    except _Skipped:
        print(
            "skipped   Exercise 8.2 (a training and a validation pipeline): it\n"
            "          builds a tf.data pipeline and needs TensorFlow, which is not\n"
            "          installed here: nothing was checked"
        )


class _Skipped(Exception):
    """Raised inside a check that cannot run here; never a PASS."""


def pca_colour_reference(
    images: np.ndarray,
    alphas: np.ndarray,
    *,
    vectors: str = "columns",
    scale: str = "eigenvalue",
    ddof: int = 1,
    over: str = "all pixels",
) -> np.ndarray:
    """Each image plus the RGB offset P @ (alpha * lambda), P and lambda the eigenvectors
    (columns) and eigenvalues, ascending, of the covariance of all the pixels' RGB values. The
    keyword arguments give the usual mistakes: eigenvectors taken as rows, the square root of
    the eigenvalues, the covariance divided by N, each image's own covariance."""
    out = np.array(images, dtype=np.float64)
    for n in range(len(out)):
        pixels = (out[n] if over == "each image" else np.asarray(images, np.float64)).reshape(
            -1, 3
        )
        values, P = np.linalg.eigh(np.cov(pixels, rowvar=False, ddof=ddof))
        if vectors == "rows":
            P = P.T
        weights = alphas[n] * (np.sqrt(values) if scale == "sqrt" else values)
        out[n] = images[n] + P @ weights
    return out


def _coefficients(images: np.ndarray, out: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Each image's offset (None unless it is the same for every pixel) in the eigenvector
    basis of the reference, and how far the offsets vary within an image."""
    offsets = np.asarray(out, dtype=np.float64) - images
    spread = float(np.abs(offsets - offsets.mean(axis=(1, 2), keepdims=True)).max())
    if spread > 1e-9:
        return None, spread
    _, P = np.linalg.eigh(np.cov(images.reshape(-1, 3), rowvar=False))
    return offsets.mean(axis=(1, 2)) @ P, spread


def _same_up_to_signs(got: np.ndarray, want: np.ndarray) -> bool:
    """True when each column of got is the same column of want, or minus it (an eigenvector's
    sign is arbitrary), for all the images alike."""
    signs = np.sign((got * want).sum(axis=0))
    return bool(np.allclose(got, want * signs, rtol=1e-7, atol=1e-12))


PCA_MISTAKES = (
    (
        {"vectors": "rows"},
        "np.linalg.eigh returns the eigenvectors as the columns of its "
        "second result, not its rows",
    ),
    (
        {"scale": "sqrt"},
        "weigh each eigenvector by alpha times its eigenvalue, not the eigenvalue's square root",
    ),
    ({"ddof": 0}, "np.cov divides by N - 1: your covariance divides by N"),
    (
        {"over": "each image"},
        "the covariance is the whole training set's, over all the pixels "
        "of all the images, not each image's own",
    ),
)


def check_pca_colour(fn: Callable, seed: int | None = None) -> None:
    """Exercise 8.3: AlexNet's colour augmentation, one RGB offset per image along the
    principal components of the training set's colours (checked whatever the signs of the
    student's eigenvectors)."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        n, h, w = int(rng.integers(5, 9)), int(rng.integers(6, 10)), int(rng.integers(6, 10))
        mix = rng.normal(size=(3, 3)) * [0.3, 0.1, 0.03]  # colours vary much more one way
        images = 0.5 + rng.normal(size=(n, h, w, 3)) @ mix
        alphas = rng.normal(0, 0.1, size=(n, 3))
        values, _ = np.linalg.eigh(np.cov(images.reshape(-1, 3), rowvar=False))
        given = (images.copy(), alphas.copy())
        got = as_array(call(fn, *given))
        if not (np.array_equal(given[0], images) and np.array_equal(given[1], alphas)):
            return False, "your function changed images or alphas: return new arrays"
        setting = f"{n} images of {h}x{w}, eigenvalues of the colour covariance {show(values, 3)}"
        if got.shape != images.shape:
            return False, f"{setting}: your result has shape {got.shape}, expected {images.shape}"
        coefficients, spread = _coefficients(images, got)
        if coefficients is None:
            return False, (
                f"{setting}: your offsets differ from pixel to pixel (by up to "
                f"{spread:.3g}): add one RGB offset to all the pixels of an image"
            )
        want = alphas * values
        if _same_up_to_signs(coefficients, want):
            return True, (
                f"{setting}: every image's offset is sum alpha_i lambda_i p_i, "
                f"the largest {show(np.abs(want).max(axis=0), 3)} along p_1, p_2, p_3"
            )
        detail = (
            f"{setting}: image 0's offset in the eigenvector basis (ascending eigenvalues) "
            f"is {show(coefficients[0], 4)}, expected alpha * lambda = {show(want[0], 4)} "
            "(up to the sign of each eigenvector)"
        )
        for told, words in PCA_MISTAKES:
            other, _ = _coefficients(images, pca_colour_reference(images, alphas, **told))
            if other is not None and _same_up_to_signs(coefficients, other):
                detail += f"; {words}"
                break
        return False, detail

    run(
        "8.3 (AlexNet's colour augmentation)",
        body,
        seed=seed,
        repeat="ch08.check_pca_colour(pca_colour_shift, seed={seed})",
    )
