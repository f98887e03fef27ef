"""Checks for chapter 08's exercises: AlexNet's ten test crops, a tf.data pipeline with its
steps in the right order, and the parameters of each layer of a network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .checking import call, compare, fresh_seed, run


def ten_crops_reference(image: np.ndarray, size: int) -> np.ndarray:
    """AlexNet's ten test crops: four corners and the centre, then the same five mirrored."""
    h, w = image.shape[:2]
    corners = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size),
               ((h - size) // 2, (w - size) // 2)]
    crops = np.stack([image[y:y + size, x:x + size] for y, x in corners])
    return np.concatenate([crops, crops[:, :, ::-1]])


def _ten_crops_hint(got: np.ndarray, image: np.ndarray, size: int) -> str:
    expected = ten_crops_reference(image, size)
    if np.array_equal(got[:5], expected[:5]) and np.array_equal(got[5:], expected[:5, ::-1]):
        return " (crops 6-10 are mirrored upside down: a left-right mirror reverses the width axis)"
    if np.array_equal(got[:4], expected[:4]) and not np.array_equal(got[4], expected[4]):
        return " (crop 5 is not the centre: it starts at ((height - size) // 2, (width - size) // 2))"
    if np.array_equal(got[:5], expected[:5]):
        return " (crops 6-10 should be crops 1-5 mirrored left-right, in the same order)"
    return ""


def check_ten_crops(fn: Callable, seed: int | None = None) -> None:
    """Exercise 8.1: the ten crops of random non-square images, compared pixel for pixel."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        for _ in range(3):
            size = int(rng.integers(8, 20))
            h = size + 2 * int(rng.integers(1, 6))  # an even margin above and below the crops
            w = size + 2 * int(rng.integers(1, 6)) + 1  # an odd one: the centre must round down
            image = rng.integers(0, 256, size=(h, w, 3)).astype(np.uint8)
            got = np.asarray(call(fn, image, size))
            passed, how = compare(got, ten_crops_reference(image, size), rtol=0, atol=0,
                                  what="your crops")
            if not passed:
                hint = _ten_crops_hint(got, image, size) if got.shape == (10, size, size, 3) else ""
                return False, f"{h}x{w} image, crops of {size}: {how}{hint}"
        return True, "ten crops of three random non-square images, every pixel as expected"

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


def check_make_pipeline(fn: Callable, seed: int | None = None) -> None:
    """Exercise 8.2: two passes through the training and the validation pipeline: what each
    image is, how often each file is decoded, and whether the order and augmentations change."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        import tensorflow as tf

        rng = np.random.default_rng(seed)
        n, batch_size = int(rng.integers(30, 50)), int(rng.integers(4, 9))
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
                return False, f"the {what} pipeline is a {type(ds).__name__}, not a tf.data.Dataset"
            passes = []
            for _ in range(2):
                orders: list[int] = []
                shifts: list[float] = []
                for x, y in ds:
                    x, y = np.asarray(x), np.asarray(y)
                    if x.shape[1:] != (6, 5, 3) or x.ndim != 4 or len(x) != len(y):
                        return False, (f"a {what} batch has images {x.shape} and labels {y.shape}; "
                                       f"expected ({batch_size}, 6, 5, 3) and ({batch_size},)")
                    if len(x) != batch_size and len(orders) + len(y) != n:
                        return False, f"a {what} batch of {len(x)} images before the last one"
                    delta = x - np.stack([by_label[int(k)] for k in y])
                    shifts += list(delta.mean(axis=(1, 2, 3)))
                    if np.ptp(delta, axis=(1, 2, 3)).max() > 1e-5:
                        return False, f"{what}: an image does not match its label (decoded by another file?)"
                    orders += [int(k) for k in y]
                if sorted(orders) != sorted(int(k) for k in labels):
                    return False, f"{what}: one pass gave {len(orders)} images, not each of the {n} files once"
                passes.append((orders, np.array(shifts)))
            (order1, shift1), (order2, shift2) = passes
            steps = f"{what}: {decoded[0]} decodes for {n} files in two passes"
            if decoded[0] != n:
                return False, steps + " (decode once, then cache what it gave)"
            if training:
                if order1 == order2:
                    return False, ("training: both passes came in the same order: shuffle after the "
                                   "cache (a shuffle before it is replayed every pass)")
                if np.all(shift1 == 0):
                    return False, "training: the images are not augmented"
                if np.any(shift1 >= 1) or np.any(shift1 < 0):
                    return False, "training: some images were augmented twice (or more)"
                same = {k: s for k, s in zip(order1, shift1, strict=True)}
                if all(np.isclose(same[k], s) for k, s in zip(order2, shift2, strict=True)):
                    return False, ("training: each image got the same augmentation in both passes: "
                                   "augment after the cache")
                first = shift1[:batch_size]
                if np.allclose(first, first[0]):
                    return False, ("training: every image of a batch got the same shift: augment "
                                   "single images, before batch")
            else:
                if order1 != [int(k) for k in labels] or order2 != order1:
                    return False, "validation: the files should come in their own order, every pass"
                if np.any(shift1 != 0) or np.any(shift2 != 0):
                    return False, "validation: the images were augmented; only training images are"
            if "Prefetch" not in type(ds).__name__:
                return False, f"{what}: the last step is {type(ds).__name__.strip('_')}, not prefetch"
            found.append(steps)
        return True, (f"{n} files in batches of {batch_size}: " + "; ".join(found) +
                      "; training order and augmentations change between passes, validation's not")

    run("8.2 (a training and a validation pipeline)", body, seed=seed,
        repeat="ch08.check_make_pipeline(make_pipeline, seed={seed})")


def build_from_spec(input_shape: tuple[int, int, int], spec: list[tuple]) -> Any:
    """The Keras model a spec describes: conv ('same', stride 1, ReLU), pool ('valid'), dense."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape)
    x = inputs
    for step in spec:
        if step[0] == "conv":
            x = layers.Conv2D(step[1], step[2], padding="same", activation="relu")(x)
        elif step[0] == "pool":
            x = layers.MaxPooling2D(step[1], strides=step[2])(x)
        else:
            x = layers.Dense(step[1])(layers.Flatten()(x) if len(x.shape) > 2 else x)
    return keras.Model(inputs, x)


def _random_spec(rng: np.random.Generator) -> tuple[tuple[int, int, int], list[tuple]]:
    height, width = int(rng.integers(24, 40)), int(rng.integers(24, 40))
    if height == width:
        width += 3  # not square: a mixed-up height and width shows
    spec: list[tuple] = []
    for i in range(int(rng.integers(2, 4))):  # the first pooling overlaps, as in AlexNet
        spec.append(("conv", int(rng.integers(4, 17)), int(rng.choice([3, 5]))))
        spec.append(("pool", 3 if i == 0 else int(rng.choice([2, 3])), 2))
    spec += [("dense", int(rng.integers(8, 33))), ("dense", 10)]
    return (height, width, int(rng.choice([1, 3]))), spec


def check_layer_parameters(fn: Callable, seed: int | None = None) -> None:
    """Exercise 8.3: parameters per layer of random AlexNet-style specs, against Keras."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        totals = []
        for _ in range(3):
            input_shape, spec = _random_spec(rng)
            model = build_from_spec(input_shape, spec)
            expected = [layer.count_params() for layer in model.layers[1:]
                        if type(layer).__name__ != "Flatten"]
            got = call(fn, input_shape, list(spec))
            passed, how = compare(got, expected, atol=0, rtol=0, what="your counts")
            if not passed:
                detail = f"input {input_shape}, spec {spec}: {how}; Keras counts {expected}"
                if np.asarray(got).shape == np.asarray(expected).shape:
                    no_bias = [c - s[1] if c else 0 for c, s in zip(expected, spec, strict=True)]
                    if list(np.asarray(got)) == no_bias:
                        detail += " (each filter and each dense unit has a bias too)"
                return False, detail
            totals.append(f"{input_shape} -> {sum(expected):,}")
        return True, "3 random networks, parameters per layer as Keras counts them: " + ", ".join(totals)

    run("8.3 (parameters per layer)", body, seed=seed,
        repeat="ch08.check_layer_parameters(layer_parameters, seed={seed})")
