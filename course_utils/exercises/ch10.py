"""Checks for chapter 10's exercises: a transposed convolution by hand, turning strides into
dilation so that a network keeps its resolution, and mean IoU over a dataset seen batch by
batch."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np

from .checking import as_array, call, compare, fresh_seed, run

IGNORE = 255


def _widest_float() -> str:
    """float64 where the Keras backend computes in it (TensorFlow, PyTorch); float32 on JAX,
    which works in 32 bits unless x64 is switched on."""
    import keras

    return keras.backend.result_type("float64")


@lru_cache(maxsize=16)
def _transposed_layer(kernel: int, stride: int, dtype: str) -> Any:
    import keras

    layer = keras.layers.Conv2DTranspose(
        1, kernel, strides=stride, padding="valid", use_bias=False, dtype=dtype
    )
    layer.build((None, None, None, 1))
    return layer


def keras_transposed(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """What keras.layers.Conv2DTranspose(1, k, strides=stride, padding="valid") with this kernel
    gives for the one-channel map x, in the widest float the backend computes in."""
    dtype = _widest_float()
    layer = _transposed_layer(len(kernel), stride, dtype)
    layer.set_weights([np.asarray(kernel, dtype=dtype)[:, :, None, None]])
    out = layer(np.asarray(x, dtype=dtype)[None, :, :, None])
    return np.asarray(out, dtype=np.float64)[0, :, :, 0]


@contextmanager
def _quiet_32_bit_jax():
    """JAX (without x64) warns when Keras asks it for int64 or float64, as MeanIoU does for its
    counts; the counts here are small, so the warning says nothing about the answer."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Explicitly requested dtype", category=UserWarning
        )
        yield


def stamped(
    x: np.ndarray,
    kernel: np.ndarray,
    stride: int,
    *,
    flip: bool = False,
    spacing: int | None = None,
    accumulate: bool = True,
) -> np.ndarray:
    """Every input pixel adds kernel * its value at (i * stride, j * stride). The keyword
    arguments give the usual mistakes: the kernel flipped, the copies placed `spacing` apart
    (1: the stride forgotten), each copy overwriting the last instead of adding to it."""
    k = len(kernel)
    kernel = (
        np.asarray(kernel, dtype=np.float64)[::-1, ::-1]
        if flip
        else np.asarray(kernel, np.float64)
    )
    step = stride if spacing is None else spacing
    h, w = x.shape
    out = np.zeros(((h - 1) * stride + k, (w - 1) * stride + k))
    for i in range(h):
        for j in range(w):
            if accumulate:
                out[i * step : i * step + k, j * step : j * step + k] += x[i, j] * kernel
            else:
                out[i * step : i * step + k, j * step : j * step + k] = x[i, j] * kernel
    return out


TRANSPOSED_MISTAKES = (
    (
        {"flip": True},
        "your kernel is flipped: a transposed convolution stamps K as it is, "
        "out[i*s + a, j*s + b] += x[i, j] * K[a, b]",
    ),
    (
        {"spacing": 1},
        "the copies go stride pixels apart: input pixel (i, j) stamps at (i * stride, j * stride)",
    ),
    ({"accumulate": False}, "where copies overlap they add up (+=); yours overwrite each other"),
)


def check_transposed_conv(fn: Callable, seed: int | None = None) -> None:
    """Exercise 10.1: a one-channel transposed convolution by stamping, against Keras'
    Conv2DTranspose with the same kernel; then the stamps per pixel of a flat input."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        k = int(rng.integers(2, 6))
        cases = [(3, 2), (2, 2), (4, 3), (k, int(rng.integers(1, min(k, 3) + 1)))]
        for k, stride in cases:  # kernel 3 on stride 2 overlaps unevenly; 2 on 2 not at all
            h, w = int(rng.integers(3, 6)), int(rng.integers(6, 9))
            x = rng.normal(size=(h, w))
            kernel = rng.normal(size=(k, k))
            expected = stamped(x, kernel, stride)  # float64, and as Keras computes it:
            if not np.allclose(
                keras_transposed(x, kernel, stride), expected, rtol=1e-5, atol=1e-5
            ):
                raise AssertionError(
                    "the check's stamping disagrees with Keras' "
                    "Conv2DTranspose: report it to the course"
                )
            given = (x.copy(), kernel.copy())
            got = as_array(call(fn, *given, stride), "your output")
            if not (np.array_equal(given[0], x) and np.array_equal(given[1], kernel)):
                return False, "your function changed x or the kernel: work on a new array"
            passed, how = compare(got, expected, rtol=1e-9, atol=1e-9, what="your output")
            if passed:
                continue
            detail = (
                f"a {h}x{w} map, a {k}x{k} kernel, stride {stride}: {how} (the output has "
                f"({h} - 1) * {stride} + {k} = {(h - 1) * stride + k} rows and "
                f"{(w - 1) * stride + k} columns)"
            )
            if got.shape == expected.shape:
                for told, words in TRANSPOSED_MISTAKES:
                    if np.allclose(got, stamped(x, kernel, stride, **told)):
                        detail += f"; {words}"
                        break
            elif got.shape == expected.shape[::-1]:
                detail += "; rows and columns swapped: row i of x stamps into rows i * stride ..."
            return False, detail
        counts = stamped(np.ones((4, 4)), np.ones((3, 3)), 2)
        return True, (
            f"{len(cases)} maps and kernels as Keras' Conv2DTranspose computes them. "
            f"A flat 4x4 input and a flat 3x3 kernel at stride 2 give stamp counts "
            f"{sorted({int(v) for v in counts.ravel()})} per pixel: the checkerboard"
        )

    run(
        "10.1 (a transposed convolution by hand)",
        body,
        seed=seed,
        repeat="ch10.check_transposed_conv(transposed_conv, seed={seed})",
    )


def dilation_reference(
    spec: list[tuple[int, int, int]],
    output_stride: int,
    *,
    dilate_own: bool = False,
    by_two: bool = False,
    last_only: bool = False,
    keep_at_equal: bool = True,
    own_rate: bool = True,
    all_after: bool = True,
) -> list[tuple[int, int, int]]:
    """DeepLab's rule: from the first stride that would take the output stride above
    `output_stride` on, every stride is set to 1, and the dilation of every later layer is
    multiplied by the strides removed before it. The keyword arguments give the usual
    mistakes: the layer that loses its stride dilated too, every removed stride counted as 2,
    only the last removed stride counted, a stride removed when keeping it gives exactly
    `output_stride`, the layer's own rate forgotten, a later stride kept because it would
    still fit (all_after=False)."""
    out, total, multiplier, gone = [], 1, 1, False
    for kernel, stride, rate in spec:
        over = total * stride > output_stride if keep_at_equal else total * stride >= output_stride
        over = over or (all_after and gone)
        factor = 2 if by_two else stride
        if stride > 1 and over:
            new_multiplier = factor if last_only else multiplier * factor
            own = new_multiplier if dilate_own else multiplier
            out.append((kernel, 1, (rate if own_rate else 1) * own))
            multiplier, gone = new_multiplier, True
        else:
            out.append((kernel, stride, (rate if own_rate else 1) * multiplier))
            total *= stride
    return out


def _apply_1d(
    spec: list[tuple[int, int, int]], signal: np.ndarray, weights: list[np.ndarray]
) -> np.ndarray:
    """The network of `spec` in one dimension, 'valid' padding, ReLU after every layer."""
    x = signal
    for (kernel, stride, rate), w in zip(spec, weights, strict=True):
        span = rate * (kernel - 1) + 1
        n = (len(x) - span) // stride + 1
        x = np.maximum(
            sum(
                w[t] * x[t * rate : t * rate + (n - 1) * stride + 1 : stride]
                for t in range(kernel)
            ),
            0,
        )
    return x


def _same_values(spec: list, new: list, rng: np.random.Generator) -> tuple[bool, str]:
    """Run both networks on one random signal (1-D, the same weights): the denser one's output,
    every f-th value, must be the original's."""
    signal = rng.normal(size=400)
    weights = [rng.normal(size=kernel) for kernel, _, _ in spec]
    before, after = _apply_1d(spec, signal, weights), _apply_1d(new, signal, weights)
    f = int(np.prod([s for _, s, _ in spec]) // np.prod([s for _, s, _ in new]))
    sampled = after[::f][: len(before)]
    if len(sampled) == len(before) and np.allclose(sampled, before):
        return True, (
            f"run on a random signal, the new network gives {len(after)} values for "
            f"the original's {len(before)}, and one in {f} of them is the original's"
        )
    gap = np.abs(sampled - before[: len(sampled)]).max() if len(sampled) else np.inf
    return False, (
        f"run on a random signal, one in {f} of your network's values should be the "
        f"original's, and they are not (largest difference {gap:.3g})"
    )


def _dilation_cases(rng: np.random.Generator) -> list[tuple[str, list, int]]:
    """(what, spec, output_stride): ResNet-like with two strides removed and a layer of rate 2;
    a stride-4 stem removed, after which a stride 2 would still fit; a stride that lands
    exactly on the output stride; nothing to change; then a random network (no layer with
    both a stride and a rate above 1, which Keras' Conv2D does not accept)."""
    resnet = [
        (7, 2, 1),
        (3, 2, 1),
        (3, 1, 1),
        (3, 2, 1),
        (3, 1, 1),
        (3, 2, 1),
        (3, 1, 2),
        (3, 1, 1),
    ]
    stem4 = [(4, 4, 1), (3, 1, 1), (3, 2, 1), (3, 1, 1), (3, 1, 1)]
    cases = [
        ("a ResNet-like stack", resnet, 4),
        ("a stride-4 stem", stem4, 2),
        ("strides that reach the output stride exactly", resnet, 8),
        ("a network already at its output stride", stem4, 8),
    ]
    spec = []
    for _ in range(int(rng.integers(5, 9))):
        stride = int(rng.choice([1, 1, 2, 3]))
        rate = int(rng.choice([1, 1, 2])) if stride == 1 else 1
        spec.append((int(rng.choice([1, 3, 5])), stride, rate))
    total = int(np.prod([s for _, s, _ in spec]))
    cases.append(("a random stack", spec, max(1, total // int(rng.choice([2, 3, 4, 6])))))
    return cases


DILATION_MISTAKES = (
    (
        {"dilate_own": True},
        "the layer that loses its stride keeps its dilation: only the layers "
        "after it read a map s times denser",
    ),
    ({"by_two": True}, "multiply by the stride removed, which need not be 2"),
    (
        {"last_only": True},
        "the multipliers add up: after removing strides 2 and 2, later layers are dilated 4 times",
    ),
    (
        {"keep_at_equal": False},
        "keep a stride that takes the output stride to exactly "
        "output_stride: only a stride that would go above it goes",
    ),
    ({"own_rate": False}, "multiply each layer's own rate: a layer of rate 2 becomes 2 * m"),
    (
        {"all_after": False},
        "once a stride has gone, every later stride goes too, even one that "
        "would still fit: the layers after it work on the denser map "
        "(Keras' Conv2D cannot combine a stride with a rate above 1)",
    ),
)


def check_strides_to_dilation(fn: Callable, seed: int | None = None) -> None:
    """Exercise 10.2: strides turned into dilation, checked layer by layer and by running both
    networks on a signal."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        done = []
        for what, spec, output_stride in _dilation_cases(rng):
            expected = dilation_reference(spec, output_stride)
            given = list(spec)
            got = call(fn, given, output_stride)
            if given != spec:
                return False, "your function changed the list it was given: build a new one"
            try:
                got = [tuple(int(v) for v in layer) for layer in got]
            except (TypeError, ValueError):
                return (
                    False,
                    f"{fn.__name__} should return a list of (kernel, stride, rate); got "
                    f"{got!r:.80}",
                )
            if got == expected:
                done.append((spec, output_stride))
                continue
            detail = (
                f"{what} {spec}, output_stride {output_stride}: yours {got}, expected {expected}"
            )
            if len(got) == len(spec) and all(g[0] == s[0] for g, s in zip(got, spec, strict=True)):
                detail += "; " + _same_values(spec, got, rng)[1]
            for told, words in DILATION_MISTAKES:
                if got == dilation_reference(spec, output_stride, **told) and all(
                    dilation_reference(s, o, **told) == dilation_reference(s, o) for s, o in done
                ):
                    detail += f"; {words}"
                    break
            return False, detail
        spec, output_stride = done[0]
        same, how = _same_values(spec, dilation_reference(spec, output_stride), rng)
        assert same, how
        return True, f"{len(done)} networks right; for the first, {how}"

    run(
        "10.2 (strides into dilation)",
        body,
        seed=seed,
        repeat="ch10.check_strides_to_dilation(strides_to_dilation, seed={seed})",
    )


def _batches(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Label batches of different sizes and class mixes. Class n-1 occurs nowhere (its IoU is
    undefined); class n-2 is predicted but never true (its IoU is 0, and it counts); one batch
    is all 'ignore'; one is small and holds most of one class's few pixels."""
    batches = []
    for _ in range(4):
        size = int(rng.integers(2, 6))
        mix = rng.dirichlet(np.full(n - 2, 0.3))
        truth = rng.choice(n - 2, size=(size, 9, 11), p=mix)
        pred = np.where(rng.random(truth.shape) < 0.6, truth, rng.integers(0, n - 1, truth.shape))
        truth[rng.random(truth.shape) < 0.1] = IGNORE
        batches.append((truth.astype(np.uint8), pred.astype(np.uint8)))
    ignored = np.full((2, 9, 11), IGNORE, dtype=np.uint8)
    batches.insert(2, (ignored, rng.integers(0, n - 1, ignored.shape).astype(np.uint8)))
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
    """Exercise 10.3: per-class IoU and mean IoU accumulated over batches, against Keras'
    MeanIoU."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        import keras

        rng = np.random.default_rng(seed)
        n = int(rng.integers(4, 7))
        batches = _batches(rng, n)
        metric = keras.metrics.MeanIoU(num_classes=n, ignore_class=IGNORE)
        with _quiet_32_bit_jax():
            for truth, pred in batches:
                metric.update_state(truth, pred)
            expected_mean = float(metric.result())
        cm = np.sum([_confusion(t, p, n) for t, p in batches], axis=0)
        expected_iou = _iou_of(cm)
        given = [(t.copy(), p.copy()) for t, p in batches]
        answer = call(fn, given, n)
        changed = len(given) != len(batches) or any(
            not (np.array_equal(a, c) and np.array_equal(b, d))
            for (a, b), (c, d) in zip(given, batches, strict=True)
        )
        if changed:
            return False, "your function changed the label maps it was given"
        try:
            iou, mean = answer
            iou, mean = np.asarray(iou, dtype=np.float64), float(mean)
        except (TypeError, ValueError):
            return (
                False,
                f"{fn.__name__} should return (per-class IoU array, mean IoU); got {answer!r:.80}",
            )
        setting = (
            f"{n} classes, {len(batches)} batches (one all ignored; class {n - 2} only "
            f"predicted, class {n - 1} nowhere)"
        )
        tp, fp, fn_ = np.diag(cm), cm.sum(axis=0) - np.diag(cm), cm.sum(axis=1) - np.diag(cm)
        if iou.shape != expected_iou.shape:
            return (
                False,
                f"{setting}: your per-class IoU has shape {iou.shape}, expected "
                f"{expected_iou.shape}",
            )
        wrong = [
            c
            for c in range(n)
            if not (np.isnan(iou[c]) and np.isnan(expected_iou[c]))
            and not np.isclose(iou[c], expected_iou[c], rtol=1e-9, atol=1e-9)
        ]
        if wrong:
            c = wrong[0]
            detail = (
                f"{setting}: class {c} has TP {tp[c]}, FP {fp[c]}, FN {fn_[c]} over all "
                f"batches, so IoU = TP / (TP + FP + FN) = {_fmt(expected_iou[c])}; yours "
                f"{_fmt(iou[c])} (classes wrong: {wrong})"
            )
            if c == n - 1:
                detail += (
                    "; a class in no true and no predicted pixel has an undefined IoU: "
                    "return NaN there"
                )
            elif c == n - 2 and np.isnan(iou[c]):
                detail += (
                    "; a class that is predicted but never true has IoU 0, not NaN: "
                    "its false positives count"
                )
            return False, detail
        if np.isclose(mean, expected_mean, rtol=1e-6, atol=1e-6):
            per_batch = np.nanmean(
                [
                    np.nanmean(_iou_of(_confusion(t, p, n)))
                    for t, p in batches
                    if (t != IGNORE).any()
                ]
            )
            return True, (
                f"{setting}: per-class IoU {_fmt(expected_iou)}, mean {mean:.4f} as "
                f"keras.metrics.MeanIoU (averaging the batches' mean IoUs would give "
                f"{per_batch:.4f})"
            )
        detail = (
            f"{setting}: per-class IoU {_fmt(expected_iou)} (right), so the mean over the "
            f"{int(np.sum(~np.isnan(expected_iou)))} classes that occur is "
            f"{expected_mean:.6f}; yours {mean:.6f}"
        )
        occurring_true = [c for c in range(n) if tp[c] + fn_[c] > 0]
        if np.isclose(mean, np.nanmean(_batch_means(batches, n))):
            detail += (
                "; that is the average of the batches' mean IoUs: add up the pixel "
                "counts of all batches first"
            )
        elif np.isclose(mean, np.mean(expected_iou[occurring_true])):
            detail += (
                f"; that leaves out class {n - 2}, which is only predicted: its IoU is 0 "
                "and counts"
            )
        elif np.isclose(mean, np.mean(np.nan_to_num(expected_iou))):
            detail += f"; that counts class {n - 1}, which occurs nowhere, as 0: leave it out"
        return False, detail

    run(
        "10.3 (mean IoU over a dataset)",
        body,
        seed=seed,
        repeat="ch10.check_dataset_iou(dataset_iou, seed={seed})",
    )


def _batch_means(batches: list, n: int) -> list[float]:
    """Each batch's own mean IoU (NaN for a batch with nothing to count)."""
    means = []
    for truth, pred in batches:
        iou = _iou_of(_confusion(truth, pred, n))
        means.append(float(np.nanmean(iou)) if not np.all(np.isnan(iou)) else np.nan)
    return means


def _fmt(values) -> str:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    text = "[" + ", ".join("nan" if np.isnan(v) else f"{v:.4f}" for v in array) + "]"
    return text if np.ndim(values) else text[1:-1]
