"""Checks for chapter 10's exercises: the output size of an atrous convolution, the parameters
of an ASPP block, and mean IoU over a dataset seen batch by batch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import call, compare, fresh_seed, run

IGNORE = 255


def _keras_output_size(height: int, width: int, kernel: int, rate: int, stride: int,
                       padding: str) -> tuple[int, int]:
    from keras import layers

    conv = layers.Conv2D(1, kernel, strides=stride, dilation_rate=rate, padding=padding)
    shape = conv.compute_output_shape((None, height, width, 1))
    return int(shape[1]), int(shape[2])


def check_conv_output_size(fn: Callable, seed: int | None = None) -> None:
    """Exercise 10.1: output height and width of a Conv2D, against Keras' own shape rule."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        for case in range(12):
            kernel = int(rng.choice([3, 5]))
            rate, stride = (int(rng.integers(2, 7)), 1) if case % 2 == 0 else (1, int(rng.integers(2, 4)))
            padding = "valid" if case % 3 else "same"
            span = kernel + (kernel - 1) * (rate - 1)
            height, width = int(rng.integers(span, 60)), int(rng.integers(span, 60))
            while width == height:
                width = int(rng.integers(span, 60))
            expected = _keras_output_size(height, width, kernel, rate, stride, padding)
            got = call(fn, height, width, kernel, rate=rate, stride=stride, padding=padding)
            try:
                got = tuple(int(v) for v in got)
            except (TypeError, ValueError):
                return False, f"{fn.__name__} should return (height, width), two integers; got {got!r}"
            if got == expected:
                continue
            args = f"({height}, {width}, kernel={kernel}, rate={rate}, stride={stride}, padding={padding!r})"
            detail = f"for {args} yours {got}, Keras {expected}"
            if padding == "valid" and got == ((height - kernel) // stride + 1, (width - kernel) // stride + 1):
                detail += f" (a kernel at rate {rate} spans k + (k-1)(r-1) = {span} pixels, not {kernel})"
            elif got == expected[::-1]:
                detail += " (height and width swapped?)"
            elif padding == "same" and got == (height // stride, width // stride):
                detail += " ('same' rounds up: a last, partial step still gives an output pixel)"
            return False, detail
        return True, "12 convolutions (rates 1 to 6, strides 1 to 3, 'valid' and 'same'): all as Keras computes"

    run("10.1 (atrous output size)", body, seed=seed,
        repeat="ch10.check_conv_output_size(conv_output_size, seed={seed})")


def _aspp_keras_count(aspp: Callable, in_channels: int, filters: int, rates: tuple[int, ...]) -> int:
    import keras

    features = keras.Input((8, 8, in_channels))
    out = aspp(features, filters, rates)[0]
    return int(keras.Model(features, out).count_params())


def _aspp_reference(in_channels: int, filters: int, rates: tuple[int, ...], bn: int = 4,
                    pooling: bool = True) -> int:
    branches = 1 + len(rates) + int(pooling)
    convs = in_channels * filters * (1 + 9 * len(rates) + int(pooling)) + branches * filters * filters
    return convs + (branches + 1) * bn * filters


def check_aspp_parameters(fn: Callable, aspp: Callable, seed: int | None = None) -> None:
    """Exercise 10.2: the parameter count of the chapter's `aspp`, against the Keras model."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        shown = []
        for _ in range(3):
            in_channels, filters = int(rng.integers(3, 40)), int(rng.integers(2, 24))
            rates = tuple(int(r) for r in np.sort(rng.choice(np.arange(1, 19), int(rng.integers(1, 5)), replace=False)))
            expected = _aspp_keras_count(aspp, in_channels, filters, rates)
            got = call(fn, in_channels, filters, rates)
            passed, how = compare(got, expected, rtol=0, atol=0,
                                  what=f"your count for in_channels={in_channels}, filters={filters}, rates={rates}")
            if not passed:
                if got == _aspp_reference(in_channels, filters, rates, bn=2):
                    how += (" (batch normalisation keeps 4 numbers per channel: gamma, beta, and the moving "
                            "mean and variance, which count_params counts too)")
                elif got == _aspp_reference(in_channels, filters, rates, pooling=False):
                    how += " (the image-pooling branch has a 1x1 convolution and a batch norm of its own)"
                elif got == expected + filters * (2 + len(rates) + 1):
                    how += " (conv_bn_relu's convolutions have no bias: batch norm adds one)"
                return False, how
            shown.append(f"{in_channels}->{filters} rates {rates}: {expected:,}")
        return True, "counts equal keras.Model(...).count_params(): " + "; ".join(shown)

    run("10.2 (ASPP parameters)", body, seed=seed,
        repeat="ch10.check_aspp_parameters(aspp_parameter_count, aspp, seed={seed})")


def _batches(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Label batches of different sizes and class mixes; class n-1 never occurs anywhere."""
    batches = []
    for _ in range(4):
        size = int(rng.integers(2, 6))
        mix = rng.dirichlet(np.full(n - 1, 0.3))
        truth = rng.choice(n - 1, size=(size, 9, 11), p=mix)
        pred = np.where(rng.random(truth.shape) < 0.6, truth, rng.integers(0, n - 1, truth.shape))
        truth[rng.random(truth.shape) < 0.1] = IGNORE
        batches.append((truth.astype(np.uint8), pred.astype(np.uint8)))
    return batches


def _iou_of(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def _confusion(truth: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    keep = truth != IGNORE
    pairs = truth[keep].astype(np.int64) * n + pred[keep].astype(np.int64)
    return np.bincount(pairs, minlength=n * n).reshape(n, n)


def check_dataset_iou(fn: Callable, seed: int | None = None) -> None:
    """Exercise 10.3: per-class IoU and mean IoU accumulated over batches, against Keras' MeanIoU."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        import keras

        rng = np.random.default_rng(seed)
        n = int(rng.integers(4, 7))
        batches = _batches(rng, n)
        metric = keras.metrics.MeanIoU(num_classes=n, ignore_class=IGNORE)
        for truth, pred in batches:
            metric.update_state(truth, pred)
        expected_mean = float(metric.result())
        expected_iou = _iou_of(np.sum([_confusion(t, p, n) for t, p in batches], axis=0))
        answer = call(fn, batches, n)
        try:
            iou, mean = answer
            iou, mean = np.asarray(iou, dtype=np.float64), float(mean)
        except (TypeError, ValueError):
            return False, f"{fn.__name__} should return (per-class IoU array, mean IoU); got {answer!r}"
        per_batch = float(np.mean([np.nanmean(_iou_of(_confusion(t, p, n))) for t, p in batches]))
        if iou.shape == expected_iou.shape and not np.isnan(iou[-1]):
            return False, (f"class {n - 1} occurs in no batch, neither true nor predicted: its IoU is "
                           f"undefined, so return NaN there (yours {iou[-1]:.4g})")
        if iou.shape == expected_iou.shape:
            same_nan = np.isnan(iou) == np.isnan(expected_iou)
            if not same_nan.all():
                return False, f"NaN where a class occurs, or a number where it does not: classes {np.flatnonzero(~same_nan)}"
            passed, how = compare(np.nan_to_num(iou), np.nan_to_num(expected_iou), rtol=1e-9, atol=1e-9,
                                  what="your per-class IoU")
        else:
            passed, how = False, f"your per-class IoU has shape {iou.shape}, expected {expected_iou.shape}"
        if not passed:
            return False, how
        passed, how = compare(mean, expected_mean, rtol=1e-6, atol=1e-6, what="your mean IoU")
        if not passed:
            if abs(mean - per_batch) < 1e-9:
                how += " (that is the average of the 4 batches' mean IoUs: add up the pixel counts first)"
            return False, how
        return True, (f"{n} classes, 4 batches: mean IoU {mean:.4f} as keras.metrics.MeanIoU "
                      f"(averaging the batches' mean IoUs would give {per_batch:.4f})")

    run("10.3 (mean IoU over a dataset)", body, seed=seed,
        repeat="ch10.check_dataset_iou(dataset_iou, seed={seed})")
