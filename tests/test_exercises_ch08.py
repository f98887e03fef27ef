"""Chapter 08's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from exercise_support import chapter_functions, expect, outcome, stub

from course_utils.exercises import ch08

AUTOTUNE = tf.data.AUTOTUNE
SOLVED = chapter_functions("08_classic_architectures_tf_data", AUTOTUNE=AUTOTUNE)
CHECKS = {
    ch08.check_ten_crops: "ten_crops",
    ch08.check_make_pipeline: "make_pipeline",
    ch08.check_pca_colour: "pca_colour_shift",
}


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_the_ten_crops_reference_on_a_small_image():
    image = np.arange(4 * 5).reshape(4, 5, 1)  # rows 0..3, columns 0..4
    crops = ch08.ten_crops_reference(image, 2)[..., 0]
    assert crops.shape == (10, 2, 2)
    assert crops[0].tolist() == [[0, 1], [5, 6]] and crops[3].tolist() == [[13, 14], [18, 19]]
    assert crops[4].tolist() == [
        [6, 7],
        [11, 12],
    ]  # starts at row (4-2)//2 = 1, column (5-2)//2 = 1
    assert crops[5].tolist() == [[1, 0], [6, 5]]  # the first crop, mirrored left to right


def test_ten_crops(capsys):
    def by_tensorflow(image, size):
        h, w = image.shape[:2]
        boxes = [
            (0, 0),
            (0, w - size),
            (h - size, 0),
            (h - size, w - size),
            ((h - size) // 2, (w - size) // 2),
        ]
        crops = [tf.image.crop_to_bounding_box(image, y, x, size, size) for y, x in boxes]
        return np.stack(
            [c.numpy() for c in crops] + [tf.image.flip_left_right(c).numpy() for c in crops]
        )

    def mirror_each(image, size):
        crops = list(SOLVED["ten_crops"](image, size)[:5])
        return np.array(crops + [np.fliplr(c) for c in crops])

    def upside_down(image, size):
        crops = ch08.ten_crops_reference(image, size)[:5]
        return np.concatenate([crops, crops[:, ::-1]])

    def centre_rounded_up(image, size):
        return ch08.ten_crops_reference(image, size, rounding="up")

    def python_round(image, size):
        return ch08.ten_crops_reference(image, size, rounding="half-even")

    def unmirrored(image, size):
        crops = ch08.ten_crops_reference(image, size)[:5]
        return np.concatenate([crops, crops])

    def channels_last_lost(image, size):
        return ch08.ten_crops_reference(image, size)[..., 0]

    def mirror_the_image_first(image, size):  # the five crops of the mirrored photo
        return np.concatenate(
            [
                ch08.ten_crops_reference(image, size)[:5],
                ch08.ten_crops_reference(image[:, ::-1], size)[:5],
            ]
        )

    def corners_swapped(image, size):  # top-right and bottom-left exchanged
        crops = ch08.ten_crops_reference(image, size)
        return crops[[0, 2, 1, 3, 4, 5, 7, 6, 8, 9]]

    expect(
        capsys,
        ch08.check_ten_crops,
        right=[SOLVED["ten_crops"], by_tensorflow, mirror_each],
        wrong={
            upside_down: "upside down",
            centre_rounded_up: "rounds the start up",
            python_round: "round()",
            unmirrored: "mirrored left-right",
            channels_last_lost: "shape",
            mirror_the_image_first: "mirrored left-right, in the same order",
            corners_swapped: "",
        },
        hints=(
            "upside down",
            "rounds the start up",
            "round()",
            "not the centre",
            "mirrored left-right",
        ),
    )


def test_make_pipeline(capsys):
    solution = SOLVED["make_pipeline"]

    def training_branch_first(files, decode, augment, batch_size, training, seed=0):
        if not training:
            return files.map(decode).cache().batch(batch_size).prefetch(AUTOTUNE)
        ds = files.map(decode, num_parallel_calls=AUTOTUNE).cache().shuffle(64, seed=seed)
        return ds.map(augment).batch(batch_size).prefetch(1)

    def no_cache(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode)
        if training:
            ds = ds.shuffle(ds.cardinality(), seed=seed).map(augment)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def cache_after_augment(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode)
        if training:
            ds = ds.map(augment).cache().shuffle(ds.cardinality(), seed=seed)
        return (
            ds.cache().batch(batch_size).prefetch(AUTOTUNE)
            if not training
            else ds.batch(batch_size).prefetch(AUTOTUNE)
        )

    def shuffle_before_cache(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode)
        if training:
            ds = ds.shuffle(ds.cardinality(), seed=seed)
        ds = ds.cache()
        return (ds.map(augment) if training else ds).batch(batch_size).prefetch(AUTOTUNE)

    def not_reshuffled(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode).cache()
        if training:
            ds = ds.shuffle(ds.cardinality(), seed=seed, reshuffle_each_iteration=False).map(
                augment
            )
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def never_shuffled(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode).cache()
        return (ds.map(augment) if training else ds).batch(batch_size).prefetch(AUTOTUNE)

    def augment_after_batch(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode).cache()
        if training:
            return (
                ds.shuffle(ds.cardinality(), seed=seed)
                .batch(batch_size)
                .map(augment)
                .prefetch(AUTOTUNE)
            )
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def validation_augmented(files, decode, augment, batch_size, training, seed=0):
        ds = files.map(decode).cache()
        if training:
            ds = ds.shuffle(ds.cardinality(), seed=seed)
        return ds.map(augment).batch(batch_size).prefetch(AUTOTUNE)

    def no_prefetch(files, decode, augment, batch_size, training, seed=0):
        return (
            solution(files, decode, augment, batch_size, training, seed)
            .unbatch()
            .batch(batch_size)
        )

    def prefetch_then_augment_twice(files, decode, augment, batch_size, training, seed=0):
        ds = solution(files, decode, augment, batch_size, training, seed)
        return ds.unbatch().map(augment).batch(batch_size).prefetch(AUTOTUNE) if training else ds

    expect(
        capsys,
        ch08.check_make_pipeline,
        right=[solution, training_branch_first],
        wrong={
            no_cache: "decode once",
            cache_after_augment: "same augmentation",
            shuffle_before_cache: "shuffle after the cache",
            not_reshuffled: "reshuffle_each_iteration=False",
            never_shuffled: "must shuffle",
            augment_after_batch: "before batch",
            validation_augmented: "validation: the images were augmented",
            no_prefetch: "not prefetch",
            prefetch_then_augment_twice: "augmented twice",
        },
        hints=(
            "decode once",
            "same augmentation",
            "shuffle after the cache",
            "reshuffle_each_iteration=False",
            "must shuffle",
            "before batch",
            "not prefetch",
            "augmented twice",
        ),
    )


def _signs_flipped(images, alphas):  # an eigenvector's sign is arbitrary: flip two of them
    values, vectors = np.linalg.eigh(np.cov(images.reshape(-1, 3), rowvar=False))
    vectors = vectors * np.array([-1, 1, -1])
    return images + ((alphas * values) @ vectors.T)[:, None, None, :]


def test_pca_colour(capsys):
    def by_svd(images, alphas):  # singular values, largest first: reorder to ascending
        pixels = images.reshape(-1, 3)
        centred = pixels - pixels.mean(axis=0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        values, vectors = (s**2 / (len(pixels) - 1))[::-1], vt[::-1].T
        out = images.copy()
        for n in range(len(images)):
            out[n] += vectors @ (alphas[n] * values)
        return out

    def rows_not_columns(images, alphas):
        return ch08.pca_colour_reference(images, alphas, vectors="rows")

    def square_roots(images, alphas):
        return ch08.pca_colour_reference(images, alphas, scale="sqrt")

    def divided_by_n(images, alphas):
        return ch08.pca_colour_reference(images, alphas, ddof=0)

    def per_image(images, alphas):
        return ch08.pca_colour_reference(images, alphas, over="each image")

    def one_alpha_for_all(images, alphas):
        return ch08.pca_colour_reference(images, np.repeat(alphas[:1], len(alphas), axis=0))

    def offsets_per_pixel(images, alphas):  # alphas broadcast over rows of pixels
        values, vectors = np.linalg.eigh(np.cov(images.reshape(-1, 3), rowvar=False))
        return images + (images * values) @ vectors.T * alphas[:, None, None, :]

    def in_place(images, alphas):
        values, vectors = np.linalg.eigh(np.cov(images.reshape(-1, 3), rowvar=False))
        images += ((alphas * values) @ vectors.T)[:, None, None, :]
        return images

    def not_centred(images, alphas):  # X^T X / (N - 1) without subtracting the mean
        pixels = images.reshape(-1, 3)
        values, vectors = np.linalg.eigh(pixels.T @ pixels / (len(pixels) - 1))
        return images + ((alphas * values) @ vectors.T)[:, None, None, :]

    expect(
        capsys,
        ch08.check_pca_colour,
        right=[SOLVED["pca_colour_shift"], by_svd, _signs_flipped],
        wrong={
            rows_not_columns: "columns of its",
            square_roots: "square root",
            divided_by_n: "divides by N - 1",
            per_image: "each image's own",
            one_alpha_for_all: "expected alpha * lambda",
            offsets_per_pixel: "pixel to pixel",
            in_place: "changed images",
            not_centred: "expected alpha * lambda",
        },
        hints=(
            "columns of its",
            "square root",
            "divides by N - 1",
            "each image's own",
            "pixel to pixel",
            "changed images",
        ),
    )


def test_make_pipeline_without_tensorflow(capsys, monkeypatch):
    """Colab's TPU runtime: the stub is NOT DONE, a real pipeline is skipped (never a PASS), and
    grading does not fail on a check that could not run."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorflow" else real(name, *a),
    )
    assert outcome(capsys, ch08.check_make_pipeline, stub).startswith("NOT DONE")
    for grading in ("", "1"):
        monkeypatch.setenv("COURSE_GRADING", grading)
        line = outcome(capsys, ch08.check_make_pipeline, SOLVED["make_pipeline"])
        assert line.startswith("skipped") and "PASS" not in line, line
        assert "needs TensorFlow" in line and "nothing was checked" in line.replace("\n", " ")
