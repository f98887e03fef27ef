"""Chapter 10's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub
from scipy import signal

from course_utils.exercises import ch10

SOLVED = chapter_functions("10_segmentation_deeplab", IGNORE_LABEL=255)
CHECKS = {
    ch10.check_transposed_conv: "transposed_conv",
    ch10.check_strides_to_dilation: "strides_to_dilation",
    ch10.check_dataset_iou: "dataset_iou",
}


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_stamping_is_keras_conv2d_transpose():
    rng = np.random.default_rng(0)
    for k, s in ((3, 2), (2, 2), (4, 3), (1, 1)):
        x, kernel = rng.normal(size=(4, 6)), rng.normal(size=(k, k))
        assert np.allclose(ch10.stamped(x, kernel, s), ch10.keras_transposed(x, kernel, s))


def test_transposed_conv(capsys):
    def by_zero_insertion(x, kernel, stride):  # zeros between the pixels, then a full convolution
        h, w = x.shape
        spread = np.zeros(((h - 1) * stride + 1, (w - 1) * stride + 1))
        spread[::stride, ::stride] = x
        return signal.convolve2d(spread, kernel, mode="full")

    def by_kernel_offsets(x, kernel, stride):  # one shifted copy of x per kernel position
        h, w = x.shape
        k = len(kernel)
        out = np.zeros(((h - 1) * stride + k, (w - 1) * stride + k))
        for a in range(k):
            for b in range(k):
                out[
                    a : a + (h - 1) * stride + 1 : stride, b : b + (w - 1) * stride + 1 : stride
                ] += kernel[a, b] * x
        return out

    def flipped(x, kernel, stride):
        return ch10.stamped(x, kernel, stride, flip=True)

    def stride_forgotten_in_placement(x, kernel, stride):
        return ch10.stamped(x, kernel, stride, spacing=1)

    def overwrites(x, kernel, stride):
        return ch10.stamped(x, kernel, stride, accumulate=False)

    def size_times_stride(x, kernel, stride):  # the output made H * s high, as 'same' would
        h, w = x.shape
        return ch10.stamped(x, kernel, stride)[: h * stride, : w * stride]

    def correlation_of_spread(x, kernel, stride):  # zero insertion, but a correlation
        h, w = x.shape
        spread = np.zeros(((h - 1) * stride + 1, (w - 1) * stride + 1))
        spread[::stride, ::stride] = x
        return signal.correlate2d(spread, kernel, mode="full")

    def in_place(x, kernel, stride):
        kernel *= 1.0
        x *= 2
        return ch10.stamped(x / 2, kernel, stride)

    expect(
        capsys,
        ch10.check_transposed_conv,
        right=[SOLVED["transposed_conv"], by_zero_insertion, by_kernel_offsets],
        wrong={
            flipped: "kernel is flipped",
            stride_forgotten_in_placement: "stride pixels apart",
            overwrites: "add up",
            size_times_stride: "rows and",
            correlation_of_spread: "kernel is flipped",
            in_place: "changed x",
        },
        hints=("kernel is flipped", "stride pixels apart", "add up", "changed x"),
    )


def test_the_dilated_networks_compute_the_same_values():
    rng = np.random.default_rng(0)
    for what, spec, output_stride in ch10._dilation_cases(rng)[:4]:
        same, how = ch10._same_values(spec, ch10.dilation_reference(spec, output_stride), rng)
        assert same, (what, how)
    spec = [(3, 2, 1), (3, 1, 1), (3, 2, 1), (3, 1, 1)]
    assert ch10.dilation_reference(spec, 2) == [
        (3, 2, 1),
        (3, 1, 1),
        (3, 1, 1),
        (3, 1, 2),
    ]  # the text's example


def test_the_one_dimensional_networks_are_keras_dilated_convolutions():
    """_apply_1d, which the check runs both networks with, is a stack of keras.layers.Conv1D
    (kernel, strides, dilation_rate, 'valid', ReLU) holding the same weights."""
    import keras

    rng = np.random.default_rng(1)
    signal_ = rng.normal(size=400)
    for _, spec, output_stride in ch10._dilation_cases(rng)[:4]:
        for layers in (spec, ch10.dilation_reference(spec, output_stride)):
            weights = [rng.normal(size=kernel) for kernel, _, _ in layers]
            model = keras.Sequential(
                [keras.Input((None, 1))]
                + [
                    keras.layers.Conv1D(
                        1,
                        k,
                        strides=s,
                        dilation_rate=r,
                        use_bias=False,
                        activation="relu",
                        dtype="float64",
                    )
                    for k, s, r in layers
                ]
            )
            for layer, w in zip(model.layers, weights, strict=True):
                layer.set_weights([w[:, None, None]])
            ours = ch10._apply_1d(layers, signal_, weights)
            theirs = np.asarray(model(signal_[None, :, None]))[0, :, 0]
            assert theirs.shape == ours.shape and np.allclose(ours, theirs), layers


def test_strides_to_dilation(capsys):
    def in_two_passes(spec, output_stride):  # first which strides stay, then the rates
        keep, total = [], 1
        for _, stride, _ in spec:
            keep.append(total * stride <= output_stride and all(keep))
            total *= stride if keep[-1] else 1
        out, m = [], 1
        for (kernel, stride, rate), kept in zip(spec, keep, strict=True):
            out.append((kernel, stride if kept else 1, rate * m))
            m *= 1 if kept else stride
        return out

    def reference(**told):
        def wrong(spec, output_stride):
            return ch10.dilation_reference(spec, output_stride, **told)

        return wrong

    def strides_kept_too(spec, output_stride):  # dilates but forgets to set the stride to 1
        return [
            (k, s, r)
            for (k, s, _), (_, _, r) in zip(
                spec, ch10.dilation_reference(spec, output_stride), strict=True
            )
        ]

    expect(
        capsys,
        ch10.check_strides_to_dilation,
        right=[SOLVED["strides_to_dilation"], in_two_passes],
        wrong={
            reference(dilate_own=True): "keeps its dilation",
            reference(by_two=True): "need not be 2",
            reference(last_only=True): "multipliers add up",
            reference(keep_at_equal=False): "exactly output_stride",
            reference(own_rate=False): "own rate",
            reference(all_after=False): "every later stride goes",
            strides_kept_too: "expected",
        },
        hints=(
            "keeps its dilation",
            "need not be 2",
            "multipliers add up",
            "exactly output_stride",
            "own rate",
            "every later stride goes",
        ),
    )


def test_dataset_iou(capsys):
    mean_iou = SOLVED["mean_iou_by_hand"]

    def with_keras(batches, n):
        import keras

        metric = keras.metrics.MeanIoU(num_classes=n, ignore_class=255)
        for truth, pred in batches:
            metric.update_state(truth, pred)
        cm = metric.total_cm.numpy()
        tp = np.diag(cm)
        union = cm.sum(0) + cm.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, tp / union, np.nan), float(metric.result())

    def pixels_together(batches, n):  # every pixel of every batch in one pair of arrays
        truth = np.concatenate([t.ravel() for t, _ in batches])
        pred = np.concatenate([p.ravel() for _, p in batches])
        iou = []
        for c in range(n):
            counted = truth != 255
            inter = np.sum((truth == c) & (pred == c) & counted)
            union = np.sum(((truth == c) | (pred == c)) & counted)
            iou.append(inter / union if union else np.nan)
        return np.array(iou), float(np.nanmean(iou))

    def averaged_per_batch(batches, n):
        iou, _ = SOLVED["dataset_iou"](batches, n)
        with np.errstate(invalid="ignore"):
            means = [mean_iou(t, p, n) for t, p in batches if (t != 255).any()]
        return iou, float(np.mean(means))

    def absent_is_zero(batches, n):
        iou, _ = SOLVED["dataset_iou"](batches, n)
        iou = np.nan_to_num(iou)
        return iou, float(iou.mean())

    def only_true_classes(batches, n):  # IoU only for classes with true pixels
        iou, _ = SOLVED["dataset_iou"](batches, n)
        cm = sum(SOLVED["confusion"](t, p, n) for t, p in batches)
        iou = np.where(cm.sum(axis=1) > 0, iou, np.nan)
        return iou, float(np.nanmean(iou))

    def mean_without_predicted_only(batches, n):  # right IoUs, but the mean over true classes
        iou, _ = SOLVED["dataset_iou"](batches, n)
        cm = sum(SOLVED["confusion"](t, p, n) for t, p in batches)
        return iou, float(np.mean(iou[cm.sum(axis=1) > 0]))

    def ignored_counted(batches, n):  # 255 left in: its pixels join the bincount, then dropped
        cm = sum(
            np.bincount(
                (np.minimum(t.astype(np.int64), n - 1) * n + p).ravel(), minlength=n * n
            ).reshape(n, n)
            for t, p in batches
        )
        tp, union = np.diag(cm), cm.sum(0) + cm.sum(1) - np.diag(cm)
        iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
        return iou, float(np.nanmean(iou))

    expect(
        capsys,
        ch10.check_dataset_iou,
        right=[SOLVED["dataset_iou"], with_keras, pixels_together],
        wrong={
            averaged_per_batch: "batches' mean IoUs",
            absent_is_zero: "return NaN there",
            only_true_classes: "IoU 0, not NaN",
            mean_without_predicted_only: "which is only predicted",
            ignored_counted: "TP / (TP + FP + FN)",
        },
        hints=(
            "batches' mean IoUs",
            "return NaN there",
            "IoU 0, not NaN",
            "which is only predicted",
            "occurs nowhere",
        ),
    )
