"""Chapter 09's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import keras
import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub

from course_utils import backends
from course_utils.exercises import ch09


def _backend_grad(fn, x):
    """The chapter's `grad(fn, x)` (defined in a cell for each backend): this backend's one."""
    return backends.gradient(fn, x)[1]


SOLVED = chapter_functions("09_visualising_convnets", ops=keras.ops, grad=_backend_grad)
CHECKS = {
    ch09.check_saliency: "saliency",
    ch09.check_occlusion: "occlusion_map",
    ch09.check_integrated_gradients: "integrated_gradients",
}


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def _grad(model, x, class_index):
    x = np.asarray(x, dtype=np.float32)
    _, grads = backends.gradient(lambda t: keras.ops.sum(model(t)[:, class_index]), x)
    return keras.ops.convert_to_numpy(grads)


def test_saliency(capsys):
    def image_by_image(model, images, class_index):  # one tape per image
        return np.stack(
            [np.abs(_grad(model, image[None], class_index)[0]).max(axis=-1) for image in images]
        )

    def by_jacobian(model, images, class_index):  # TensorFlow's own route (its backend only)
        import tensorflow as tf

        x = tf.constant(images)
        with tf.GradientTape() as tape:
            tape.watch(x)
            scores = model(x)[:, class_index : class_index + 1]
        jac = tape.batch_jacobian(scores, x)[:, 0]
        return np.max(np.abs(jac.numpy()), axis=-1)

    def no_abs(model, images, class_index):
        return _grad(model, images, class_index).max(axis=-1)

    def channel_mean(model, images, class_index):
        return np.abs(_grad(model, images, class_index)).mean(axis=-1)

    def through_softmax(model, images, class_index):
        return SOLVED["saliency"](lambda x: keras.ops.softmax(model(x)), images, class_index)

    def every_class(model, images, class_index):
        return np.abs(_grad(model, images, slice(None))).max(axis=-1)

    def channels_kept(model, images, class_index):
        return np.abs(_grad(model, images, class_index))

    def scaled_to_one(model, images, class_index):  # each map scaled to 0..1: not asked for
        maps = SOLVED["saliency"](model, images, class_index)
        return maps / maps.max(axis=(1, 2), keepdims=True)

    routes = [by_jacobian] if backends.backend() == "tensorflow" else []
    expect(
        capsys,
        ch09.check_saliency,
        right=[SOLVED["saliency"], image_by_image, *routes],
        wrong={
            no_abs: "absolute value first",
            channel_mean: "not their mean",
            through_softmax: "after the softmax",
            every_class: "every class's score",
            channels_kept: "reduce the 3 channels",
            scaled_to_one: "",
        },
        hints=(
            "absolute value first",
            "not their mean",
            "after the softmax",
            "every class's score",
            "reduce the 3 channels",
        ),
    )


def test_occlusion(capsys):
    def one_at_a_time(model, image, class_index, patch, stride, fill):
        h, w = image.shape[:2]
        base = float(model(image[None])[0, class_index])
        rows = (h - patch) // stride + 1
        cols = (w - patch) // stride + 1
        out = np.zeros((rows, cols))
        for i in range(rows):
            for j in range(cols):
                covered = np.array(image)
                covered[i * stride : i * stride + patch, j * stride : j * stride + patch, :] = fill
                out[i, j] = base - float(model(covered[None])[0, class_index])
        return out

    def in_place(model, image, class_index, patch, stride, fill):  # covers the caller's image
        base = float(model(image[None])[0, class_index])
        h, w = image.shape[:2]
        out = []
        for top in range(0, h - patch + 1, stride):
            row = []
            for left in range(0, w - patch + 1, stride):
                image[top : top + patch, left : left + patch] = fill
                row.append(base - float(model(image[None])[0, class_index]))
            out.append(row)
        return np.array(out)

    def reference(**told):
        def wrong(model, image, class_index, patch, stride, fill):
            return ch09.occlusion_reference(model, image, class_index, patch, stride, fill, **told)

        return wrong

    def transposed(model, image, class_index, patch, stride, fill):
        return ch09.occlusion_reference(model, image, class_index, patch, stride, fill).T

    def one_channel(model, image, class_index, patch, stride, fill):  # covers channel 0 only
        h, w = image.shape[:2]
        copies = []
        for top in range(0, h - patch + 1, stride):
            for left in range(0, w - patch + 1, stride):
                copy = image.copy()
                copy[top : top + patch, left : left + patch, 0] = fill
                copies.append(copy)
        scores = np.asarray(model(np.stack([image] + copies)))[:, class_index]
        return (scores[0] - scores[1:]).reshape((h - patch) // stride + 1, -1)

    expect(
        capsys,
        ch09.check_occlusion,
        right=[SOLVED["occlusion_map"], one_at_a_time],
        wrong={
            in_place: "changed the image",
            reference(sign=-1): "minus the occluded",
            reference(last=False): "the last position",
            reference(scale=False): "(i * stride, j * stride)",
            reference(value=0.0): "not with 0",
            transposed: "rows and columns swapped",
            one_channel: "",
        },
        hints=(
            "changed the image",
            "minus the occluded",
            "the last position",
            "(i * stride, j * stride)",
            "not with 0",
            "rows and columns swapped",
        ),
    )


def test_integrated_gradients(capsys):
    def point_by_point(model, image, class_index, steps):
        total = np.zeros_like(image, dtype=np.float64)
        for k in range(1, steps + 1):
            total += _grad(model, (k / steps * image)[None], class_index)[0]
        return total / steps * image

    def reference(**told):
        def wrong(model, image, class_index, steps):
            return ch09.integrated_gradients_reference(model, image, class_index, steps, **told)

        return wrong

    def plain_gradient(model, image, class_index, steps):  # the gradient at the image only
        return _grad(model, image[None], class_index)[0] * image

    expect(
        capsys,
        ch09.check_integrated_gradients,
        right=[SOLVED["integrated_gradients"], point_by_point],
        wrong={
            reference(points="left"): "start at the baseline",
            reference(points="linspace"): "np.linspace",
            reference(times_input=False): "multiply the averaged gradient",
            reference(average=False): "do not add them up",
            reference(softmax=True): "before the softmax",
            plain_gradient: "add up to",
        },
        hints=(
            "start at the baseline",
            "np.linspace",
            "multiply the averaged gradient",
            "do not add them up",
            "before the softmax",
        ),
    )
