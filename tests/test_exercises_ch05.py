"""Chapter 05's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import math

import cv2
import numpy as np
import tensorflow as tf
from exercise_support import chapter_functions, expect, outcome, stub
from scipy import ndimage, signal

from course_utils.exercises import ch05

SOLVED = chapter_functions("05_convnet_basics")
CHECKS = {
    "sobel_gradients": ch05.check_sobel,
    "keras_output_size": ch05.check_keras_output_size,
    "bottleneck_macs": ch05.check_bottleneck,
    "measured_receptive_field": ch05.check_receptive_field,
}
KX = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def test_stubs_are_not_done(capsys):
    for check in CHECKS.values():
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_the_sobel_reference_is_opencvs_and_a_conv2d():
    img = np.random.default_rng(0).uniform(0, 255, (9, 12))
    gx, gy = ch05.sobel_reference(img)
    assert np.allclose(gx, cv2.Sobel(img, cv2.CV_64F, 1, 0, ksize=3)[1:-1, 1:-1])
    assert np.allclose(gy, cv2.Sobel(img, cv2.CV_64F, 0, 1, ksize=3)[1:-1, 1:-1])
    conv = tf.keras.layers.Conv2D(2, 3, use_bias=False, dtype="float64")
    conv.build((None, 9, 12, 1))
    conv.set_weights([np.stack([KX, KX.T], axis=-1)[:, :, None, :]])
    out = conv(img[None, :, :, None]).numpy()[0]
    assert np.allclose(out[..., 0], gx) and np.allclose(out[..., 1], gy)


def _polar(gx, gy):
    return np.hypot(gx, gy), np.arctan2(gy, gx)


def test_sobel(capsys):
    def by_opencv(img):
        img = img.astype(np.float64)
        return _polar(
            cv2.Sobel(img, cv2.CV_64F, 1, 0, ksize=3)[1:-1, 1:-1],
            cv2.Sobel(img, cv2.CV_64F, 0, 1, ksize=3)[1:-1, 1:-1],
        )

    def by_scipy_correlate(img):
        img = img.astype(np.float64)
        return _polar(
            ndimage.correlate(img, KX)[1:-1, 1:-1], ndimage.correlate(img, KX.T)[1:-1, 1:-1]
        )

    def flipped_kernel(img):  # a textbook convolution flips the kernel
        img = img.astype(np.float64)
        return _polar(
            signal.convolve2d(img, KX, mode="valid"), signal.convolve2d(img, KX.T, mode="valid")
        )

    def swapped(img):
        gx, gy = ch05.sobel_reference(img)
        return _polar(gy, gx)

    def arctan_of_ratio(img):
        gx, gy = ch05.sobel_reference(img)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.hypot(gx, gy), np.arctan(gy / gx)

    def same_size(img):
        img = img.astype(np.float64)
        return _polar(
            ndimage.correlate(img, KX, mode="constant"),
            ndimage.correlate(img, KX.T, mode="constant"),
        )

    def saturated_uint8(img):  # OpenCV keeps uint8: negative gradients become 0
        return _polar(
            cv2.Sobel(img, -1, 1, 0, ksize=3)[1:-1, 1:-1].astype(float),
            cv2.Sobel(img, -1, 0, 1, ksize=3)[1:-1, 1:-1].astype(float),
        )

    def l1_magnitude(img):
        gx, gy = ch05.sobel_reference(img)
        return np.abs(gx) + np.abs(gy), np.arctan2(gy, gx)

    def prewitt(img):  # the 1s of section 4's edge filter instead of 1, 2, 1
        return _polar(*ch05.sobel_reference(img, np.array([[-1, 0, 1]] * 3, dtype=float)))

    expect(
        capsys,
        ch05.check_sobel,
        right=[SOLVED["sobel_gradients"], by_opencv, by_scipy_correlate],
        wrong={
            flipped_kernel: "flipped the kernel",
            swapped: "swapped",
            arctan_of_ratio: "arctan2",
            same_size: "where the whole 3x3 kernel fits",
            saturated_uint8: "float first",
            l1_magnitude: "|gx| + |gy|",
            prewitt: "",
        },
        hints=(
            "flipped the kernel",
            "swapped",
            "arctan2(gy, gx) loses",
            "float first",
            "|gx| + |gy|",
        ),
    )


def test_the_output_size_cases_tell_the_formulas_apart():
    cases = ch05._output_size_cases(np.random.default_rng(0))[:8]

    def keras(W, F, S, padding, d):
        return -(-W // S) if padding == "same" else (W - d * (F - 1) - 1) // S + 1

    for P in (lambda span: (span - 1) // 2, lambda span: span // 2):  # 'same' as symmetric padding
        assert any(
            (W + 2 * P(d * (F - 1) + 1) - d * (F - 1) - 1) // S + 1 != keras(W, F, S, p, d)
            for W, F, S, p, d in cases
            if p == "same"
        )


def test_keras_output_size(capsys):
    def with_math(W, F, S=1, padding="valid", dilation=1):
        if padding == "same":
            return math.ceil(W / S)
        return math.floor((W - dilation * (F - 1) - 1) / S) + 1

    def by_counting(W, F, S=1, padding="valid", dilation=1):  # every start position, counted
        if padding == "same":
            return len(range(0, W, S))
        return len(range(0, W - dilation * (F - 1), S))

    def same_keeps_size(W, F, S=1, padding="valid", dilation=1):
        return W if padding == "same" else (W - dilation * (F - 1) - 1) // S + 1

    def no_dilation(W, F, S=1, padding="valid", dilation=1):
        return -(-W // S) if padding == "same" else (W - F) // S + 1

    def rounds_up(W, F, S=1, padding="valid", dilation=1):
        return -(-W // S) if padding == "same" else -(-(W - dilation * (F - 1) - 1) // S) + 1

    def same_rounds_down(W, F, S=1, padding="valid", dilation=1):
        return W // S if padding == "same" else (W - dilation * (F - 1) - 1) // S + 1

    def same_as_half_padding(W, F, S=1, padding="valid", dilation=1):  # P = (F - 1) // 2 a side
        span = dilation * (F - 1) + 1
        P = (span - 1) // 2 if padding == "same" else 0
        return (W + 2 * P - span) // S + 1

    def same_as_floor_half(W, F, S=1, padding="valid", dilation=1):  # P = F // 2 a side
        span = dilation * (F - 1) + 1
        P = span // 2 if padding == "same" else 0
        return (W + 2 * P - span) // S + 1

    def span_d_times_f(W, F, S=1, padding="valid", dilation=1):
        return -(-W // S) if padding == "same" else (W - dilation * F) // S + 1

    expect(
        capsys,
        ch05.check_keras_output_size,
        right=[SOLVED["keras_output_size"], with_math, by_counting],
        wrong={
            same_keeps_size: "only with stride 1",
            no_dilation: "dilated filter",
            rounds_up: "round down",
            same_rounds_down: "rounds up",
            same_as_half_padding: "even kernel",
            same_as_floor_half: "even kernel",
            span_d_times_f: "",
        },
        hints=("only with stride 1", "dilated filter", "round down", "rounds up", "even kernel"),
    )


def test_the_bottleneck_count_is_what_flops_counts_on_the_keras_block():
    from course_utils import flops

    cases = ch05._bottleneck_cases(np.random.default_rng(0)) + [
        (56, 56, 256, 64, 1),
        (7, 9, 32, 8, 2),
    ]
    for case in cases:
        assert ch05.bottleneck_reference(*case) == flops.forward_macs(
            ch05.bottleneck_block(*case)
        ), case


def test_bottleneck(capsys):
    def per_layer(height, width, c_in, m, stride):
        def conv(h, w, k, cin, cout, s):
            out_h, out_w = math.ceil(h / s), math.ceil(w / s)
            return out_h * out_w * k * k * cin * cout, out_h, out_w

        a, h, w = conv(height, width, 1, c_in, m, 1)
        b, h, w = conv(h, w, 3, m, m, stride)
        c, _, _ = conv(h, w, 1, m, 4 * m, 1)
        shortcut = (
            conv(height, width, 1, c_in, 4 * m, stride)[0] if (stride, c_in) != (1, 4 * m) else 0
        )
        return a + b + c + shortcut

    def stride_ignored(height, width, c_in, m, stride):
        return ch05.bottleneck_reference(height, width, c_in, m, stride, stride_ignored=True)

    def rounded_down(height, width, c_in, m, stride):
        return ch05.bottleneck_reference(height, width, c_in, m, stride, rounding="down")

    def no_shortcut(height, width, c_in, m, stride):
        return ch05.bottleneck_reference(height, width, c_in, m, stride, shortcut="never")

    def shortcut_always(height, width, c_in, m, stride):
        return ch05.bottleneck_reference(height, width, c_in, m, stride, shortcut="always")

    def parameters_not_macs(height, width, c_in, m, stride):
        return (
            c_in * m
            + 9 * m * m
            + 4 * m * m
            + (c_in * 4 * m if (stride, c_in) != (1, 4 * m) else 0)
        )

    def with_biases(height, width, c_in, m, stride):  # a bias add counted as a multiply-add
        h, w = math.ceil(height / stride), math.ceil(width / stride)
        return (
            ch05.bottleneck_reference(height, width, c_in, m, stride)
            + height * width * m
            + h * w * 5 * m
        )

    expect(
        capsys,
        ch05.check_bottleneck,
        right=[SOLVED["bottleneck_macs"], per_layer],
        wrong={
            stride_ignored: "the 3x3 convolution's stride",
            rounded_down: "rounds up",
            no_shortcut: "needs its own 1x1",
            shortcut_always: "identity and costs nothing",
            parameters_not_macs: "Layer by layer",
            with_biases: "Layer by layer",
        },
        hints=(
            "the 3x3 convolution's stride",
            "rounds up",
            "needs its own 1x1",
            "identity and costs nothing",
        ),
    )


def test_the_fixed_stack_needs_the_jumps():
    model, field, spec = ch05._stacks(0)[0]
    assert spec == ch05.FIXED_STACK and field == (21, 15)
    assert field != (1 + sum(k[0] - 1 for _, k, _ in spec), 1 + sum(k[1] - 1 for _, k, _ in spec))


def test_receptive_field(capsys):
    measured = SOLVED["measured_receptive_field"]

    def by_lines(model):  # forward: one image per input row, that row all ones; then columns
        h, w = model.input_shape[1:3]
        rows = np.repeat(np.eye(h, dtype="float32")[:, :, None], w, axis=2)
        cols = np.repeat(np.eye(w, dtype="float32")[:, None, :], h, axis=1)
        reached = []
        for lines in (rows, cols):
            out = np.asarray(model(lines[..., None]))
            hit = np.flatnonzero(out[:, out.shape[1] // 2, out.shape[2] // 2, 0] != 0)
            reached.append(int(hit[-1] - hit[0] + 1))
        return tuple(reached)

    def swapped(model):
        return measured(model)[::-1]

    def one_short(model):
        h, w = measured(model)
        return h - 1, w - 1

    def whole_output(model):  # the gradient of the sum of every output unit
        x = tf.zeros((1, *model.input_shape[1:]))
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(model(x))
        seen = np.abs(tape.gradient(total, x).numpy()[0, :, :, 0]) > 0
        rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
        return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1

    def by_formula_without_jumps(model):  # adds (kernel - 1) per layer, as if every stride were 1
        field = np.ones(2, int)
        for layer in model.layers[1:]:
            size = layer.kernel_size if hasattr(layer, "kernel_size") else layer.pool_size
            field += np.array(size) - 1
        return tuple(field)

    expect(
        capsys,
        ch05.check_receptive_field,
        right=[measured, by_lines],
        wrong={
            swapped: "swapped",
            one_short: "one too few",
            whole_output: "one output unit",
            by_formula_without_jumps: "the field is",
        },
        hints=("swapped", "one too few", "one output unit"),
    )
