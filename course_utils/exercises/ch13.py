"""Checks for chapter 13's exercises: SSD's box offsets, decoding a grid detector's raw output
into scored boxes, and SSD's hard negative mining.

Every check starts with fixed inputs that tell the usual mistakes apart (non-square boxes, a
box smaller than its default, classes of one cell both above the threshold, cell (0, 0),
nothing above the threshold, ties, object 0, no positives at all), then adds random ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import boxes as bx
from .checking import call, compare, fresh_seed, run

# --- 13.1 box offsets --------------------------------------------------------------------------


def _centre_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """n boxes (cx, cy, w, h) with widths and heights that differ a lot (non-square)."""
    return np.concatenate(
        [rng.uniform(0, 1, (n, 2)), rng.uniform(0.05, 0.3, (n, 1)), rng.uniform(0.4, 0.9, (n, 1))],
        axis=1,
    )


# A default box equal to its true box (offsets 0), a true box smaller than and left of and
# above its default box (negative offsets), and wide against tall boxes (w and h told apart).
FIXED_TRUTH = np.array([[0.5, 0.5, 0.2, 0.6], [0.3, 0.2, 0.1, 0.15], [0.7, 0.6, 0.6, 0.1]])
FIXED_DEFAULTS = np.array([[0.5, 0.5, 0.2, 0.6], [0.4, 0.35, 0.3, 0.5], [0.6, 0.5, 0.2, 0.4]])


def _encode_hint(got: np.ndarray, truth: np.ndarray, defaults: np.ndarray) -> str:
    """Name the usual encode mistake that gives `got`, if one does."""
    g, d = truth, defaults
    shift, size = (g[:, :2] - d[:, :2]) / d[:, 2:], np.log(g[:, 2:] / d[:, 2:])
    guesses = (
        (
            (g[:, :2] - d[:, :2]) / g[:, 2:],
            size,
            "the centre shift is measured in units of the default box's size, not the true box's",
        ),
        (
            (g[:, :2] - d[:, :2]) / d[:, [3, 2]],
            size,
            "x is shifted in units of the default box's width, y of its height",
        ),
        (
            (d[:, :2] - g[:, :2]) / d[:, 2:],
            -size,
            "the offsets go from the default box to the true box: true minus default",
        ),
        (shift, g[:, 2:] / d[:, 2:], "the size offsets are the log of the size ratio"),
        (shift, np.log10(g[:, 2:] / d[:, 2:]), "the log is the natural one, np.log"),
        (shift, np.log(d[:, 2:] / g[:, 2:]), "the size offsets are log(true / default)"),
    )
    for centre, scale, hint in guesses:
        if got.shape == g.shape and np.allclose(got, np.concatenate([centre, scale], axis=1)):
            return f" ({hint})"
    return ""


def _offsets_hint(got: np.ndarray, offsets: np.ndarray, defaults: np.ndarray) -> str:
    """Name the usual decode mistake that gives `got`, if one does."""
    t, d = offsets, defaults
    guesses = (
        (
            d[:, :2] + t[:, :2] * d[:, [3, 2]],
            d[:, 2:] * np.exp(t[:, 2:]),
            "x moves by the offset times the default box's width, y times its height",
        ),
        (
            d[:, :2] + t[:, :2],
            d[:, 2:] * np.exp(t[:, 2:]),
            "the centre offsets are in units of the default box's size: multiply by it",
        ),
        (
            d[:, :2] + t[:, :2] * d[:, 2:],
            d[:, 2:] + np.exp(t[:, 2:]),
            "the size is the default size times exp(offset)",
        ),
        (d[:, :2] + t[:, :2] * d[:, 2:], d[:, 2:] * t[:, 2:], "np.exp undoes the log"),
    )
    for centre, size, hint in guesses:
        if got.shape == t.shape and np.allclose(got, np.concatenate([centre, size], axis=1)):
            return f" ({hint})"
    return ""


def check_offsets(encode: Callable, decode: Callable, seed: int | None = None) -> None:
    """Exercise 13.1: encode_offsets and decode_offsets against boxes.encode_offsets and
    boxes.decode_offsets on three fixed pairs and random ones, and decode(encode(box)) == box."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(5, 12))
        defaults = np.concatenate([FIXED_DEFAULTS, _centre_boxes(rng, n)])
        truth = np.concatenate([FIXED_TRUTH, _centre_boxes(rng, n)[:, [0, 1, 3, 2]]])
        expected = bx.encode_offsets(truth, defaults)
        got = call(encode, truth.copy(), defaults.copy())
        passed, how = compare(got, expected, rtol=1e-9, what="encode_offsets")
        if not passed:
            try:
                hint = _encode_hint(np.asarray(got, float), truth, defaults)
            except (TypeError, ValueError):
                hint = ""
            return False, f"{len(truth)} true boxes and their default boxes: {how}{hint}"
        offsets = np.concatenate([expected[:3], rng.normal(0, 0.5, (n, 4))])
        got = call(decode, offsets.copy(), defaults.copy())
        passed, how_dec = compare(
            got, bx.decode_offsets(offsets, defaults), rtol=1e-9, what="decode_offsets"
        )
        if not passed:
            try:
                hint = _offsets_hint(np.asarray(got, float), offsets, defaults)
            except (TypeError, ValueError):
                hint = ""
            return False, f"{len(offsets)} offsets and their default boxes: {how_dec}{hint}"
        passed, how_trip = compare(
            call(decode, call(encode, truth, defaults), defaults),
            truth,
            rtol=1e-9,
            what="decode_offsets(encode_offsets(box))",
        )
        return passed, (
            f"{len(truth)} boxes (one equal to its default box, one smaller): "
            f"encode {how}, decode {how_dec}, round trip {how_trip}"
        )

    run(
        "13.1 (box offsets)",
        body,
        seed=seed,
        repeat="ch13.check_offsets(encode_offsets, decode_offsets, seed={seed})",
    )


# --- 13.2 decoding a grid detector's raw output ------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def decode_grid_reference(
    raw: np.ndarray, score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (box, class) of a raw (S, S, 5 + C) output whose class score reaches the threshold."""
    S = raw.shape[0]
    scores = _sigmoid(raw[..., 4])[..., None] * _softmax(raw[..., 5:])
    rows, cols, classes = np.nonzero(scores >= score_threshold)
    xy, wh = _sigmoid(raw[rows, cols, 0:2]), _sigmoid(raw[rows, cols, 2:4]) ** 2
    centre = (np.stack([cols, rows], axis=1) + xy) / S
    boxes = np.concatenate([centre - wh / 2, centre + wh / 2], axis=1).reshape(-1, 4)
    return boxes, scores[rows, cols, classes], classes


def _fixed_raw(threshold: float) -> np.ndarray:
    """A 5 x 5 grid, 3 classes, for a threshold of 0.35 to 0.45. Every cell is far below it
    (confidence 0.0025, class probabilities 1/3) except: cell (0, 0) class 0
    (index 0); cell (1, 4) class 2, in the last column; cell (3, 1) with classes 1 and 2 both
    above; cell (4, 2) just above and cell (2, 3) just below; cell (2, 0) with a sure class but
    a low confidence, cell (4, 4) with a high confidence but no class above."""
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    raw = np.zeros((5, 5, 8))
    raw[..., 4] = -6.0  # confidence 0.0025 everywhere
    raw[..., 0:2] = np.linspace(-1.5, 1.5, 50).reshape(5, 5, 2)  # different offsets per cell
    raw[..., 2:4] = np.linspace(-1.2, 0.8, 50).reshape(5, 5, 2)[:, ::-1]  # wide and tall boxes
    sure = np.log([20.0, 1.0, 1.0])  # probability 0.909 for the class put first

    def cell(row: int, col: int, confidence: float, class_logits) -> None:
        raw[row, col, 4] = logit(confidence)
        raw[row, col, 5:] = class_logits

    cell(0, 0, 0.9, sure)
    cell(1, 4, 0.8, sure[[1, 2, 0]])
    cell(3, 1, 0.99, np.log([0.02, 0.5, 0.48]))
    p = threshold / 0.909
    cell(4, 2, 1.03 * p, sure)
    cell(2, 3, 0.97 * p, sure[[2, 0, 1]])
    cell(2, 0, 0.9 * threshold, np.log([0.01, 0.98, 0.01]))
    cell(4, 4, 0.99, np.log([1.0, 1.0, 1.0]))
    return raw


def _decode_hint(
    raw: np.ndarray, threshold: float, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray
) -> str:
    """Name the usual decoding mistake that gives these boxes, scores or classes, if one does."""
    S = raw.shape[0]
    ref_boxes, ref_scores, ref_classes = decode_grid_reference(raw, threshold)
    conf, probs = _sigmoid(raw[..., 4])[..., None], _softmax(raw[..., 5:])
    for scores_all, hint in (
        (probs, "the class score is confidence x class probability, not the probability alone"),
        (
            np.broadcast_to(conf, probs.shape),
            "the class score is confidence x class probability, not the confidence alone",
        ),
        (
            conf * _sigmoid(raw[..., 5:]),
            "class probabilities come from a softmax over the C numbers",
        ),
        (
            conf * _softmax(raw[..., 5:], axis=0),
            "the softmax runs over each cell's C class numbers (the last axis)",
        ),
    ):
        if len(scores) == np.sum(scores_all >= threshold) and len(scores) != len(ref_scores):
            return f" ({hint})"
    if len(scores) == S * S and len(ref_scores) != S * S:
        return " (keep only the (cell, class) pairs whose score reaches the threshold)"
    best_only = np.sum((conf[..., 0] * probs.max(-1)) >= threshold)
    if len(scores) == best_only and best_only != len(ref_scores):
        return (
            " (you keep one class per cell: keep every class whose score reaches the "
            "threshold, so one cell can give two boxes)"
        )
    if (
        boxes.shape != ref_boxes.shape
        or len(scores) != len(ref_scores)
        or len(classes) != len(scores)
    ):
        return ""
    if set(zip(scores.round(12).tolist(), classes.tolist(), strict=True)) == set(
        zip(ref_scores.round(12).tolist(), ref_classes.tolist(), strict=True)
    ) and not np.allclose(scores, ref_scores):
        return " (order: by row, then column, then class, as np.nonzero gives them)"
    rows, cols, _ = np.nonzero(conf * probs >= threshold)
    xy, root = _sigmoid(raw[rows, cols, 0:2]), _sigmoid(raw[rows, cols, 2:4])
    grid = np.stack([cols, rows], axis=1)
    guesses = (
        ((grid + xy) / S, root, "the network predicts the square roots of w and h: square them"),
        ((grid[:, ::-1] + xy) / S, root**2, "x comes from the column and y from the row"),
        (grid + xy, root**2, "the centre is (cell + offset) / S, as a fraction of the image"),
        (xy, root**2, "the offset is inside the cell: add the cell's column and row, then / S"),
    )
    for centre, wh, hint in guesses:
        if np.allclose(boxes, np.concatenate([centre - wh / 2, centre + wh / 2], axis=1)):
            return f" ({hint})"
    centre, wh = (grid + xy) / S, root**2
    if np.allclose(boxes, np.concatenate([centre - wh, centre + wh], axis=1)):
        return " (a corner is the centre minus or plus HALF the width and height)"
    if np.allclose(boxes, np.concatenate([centre, wh], axis=1)):
        return " (return corners (x_min, y_min, x_max, y_max), not centre and size)"
    return ""


def check_decode_grid(fn: Callable, seed: int | None = None) -> None:
    """Exercise 13.2: decode one image's raw grid output into scored boxes, against
    `decode_grid_reference`, on a fixed grid, a random one and one with nothing to keep."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        threshold = float(rng.uniform(0.35, 0.45))
        random_raw = rng.normal(0, 1.5, (7, 7, 5 + 4))
        random_raw[..., 4] += 1.0  # many confident cells
        cases = (
            ("fixed 5x5 grid, 3 classes", _fixed_raw(threshold), threshold),
            ("random 7x7 grid, 4 classes", random_raw, threshold),
            ("a grid where no score reaches the threshold", random_raw, 1.01),
        )
        parts = []
        for name, raw, t in cases:
            expected = decode_grid_reference(raw, t)
            got = call(fn, raw.copy(), t)
            if not (isinstance(got, tuple) and len(got) == 3):
                return False, f"{name}: return three arrays, (boxes, scores, classes)"
            try:
                boxes, scores, classes = (np.asarray(a, float) for a in got)
            except (TypeError, ValueError) as err:
                return False, f"{name}: your result is not three arrays of numbers ({err})"
            if boxes.ndim == 1 and boxes.size == 0:
                return False, f"{name}: boxes must have shape (0, 4) when none is kept, not (0,)"
            wrong = ""
            if scores.shape != expected[1].shape or boxes.shape != expected[0].shape:
                wrong = (
                    f"you return {boxes.shape[0] if boxes.ndim else 0} boxes and "
                    f"{scores.size} scores, expected {len(expected[1])} of each"
                )
            elif not np.array_equal(classes, expected[2]) and np.array_equal(
                np.sort(classes), np.sort(expected[2])
            ):
                wrong = "the right classes in another order"
            elif not np.array_equal(classes, expected[2]):
                wrong = (
                    f"classes {classes.astype(int).tolist()[:8]}, expected "
                    f"{expected[2].tolist()[:8]}"
                )
            else:
                for what, mine, theirs in (
                    ("scores", scores, expected[1]),
                    ("boxes", boxes, expected[0]),
                ):
                    passed, how = compare(mine, theirs, rtol=1e-7, atol=1e-9, what=what)
                    if not passed:
                        wrong = how
                        break
            if wrong:
                try:
                    hint = _decode_hint(
                        raw,
                        t,
                        boxes.reshape(-1, 4) if boxes.size else np.zeros((0, 4)),
                        scores,
                        classes,
                    )
                except (TypeError, ValueError, IndexError):
                    hint = ""
                return False, f"{name}, threshold {t:.3f}: {wrong}{hint}"
            parts.append(f"{len(expected[1])} kept")
        return True, (
            f"fixed grid {parts[0]} (two from one cell, cell (0, 0) among them), "
            f"random grid {parts[1]}, {parts[2]} where no score reaches the threshold"
        )

    run(
        "13.2 (decode a grid detector's output)",
        body,
        seed=seed,
        repeat="ch13.check_decode_grid(decode_grid, seed={seed})",
    )


# --- 13.3 hard negative mining -----------------------------------------------------------------


def hard_negatives_count(matches: np.ndarray, ratio: int) -> int:
    """How many negatives count: ratio per positive, at most all of them."""
    return int(min(ratio * np.sum(matches >= 0), np.sum(matches == -1)))


def _hard_negative_scenes(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, matches, background loss) of the fixed scenes, then a random one."""
    scenes = []
    n = 40  # no object at all: nothing is positive, so no negative counts
    scenes.append(("no positives", np.full(n, -1), rng.exponential(0.7, n)))
    matches = np.full(30, -1)  # crowded: 20 positives, only 10 negatives, all of them count
    matches[rng.choice(30, 20, replace=False)] = np.arange(20) % 4
    scenes.append(
        (
            "crowded (fewer negatives than 3 per positive)",
            matches,
            np.where(matches >= 0, rng.uniform(2, 6, 30), rng.exponential(0.7, 30)),
        )
    )
    matches = np.full(60, -1)  # 5 positives, all matched to object 0, with the largest losses
    positives = rng.choice(60, 5, replace=False)
    matches[positives] = 0
    loss = rng.uniform(0.1, 1.0, 60)
    loss[positives] = rng.uniform(3, 5, 5)
    negatives = np.flatnonzero(matches == -1)
    tied = rng.choice(negatives, 4, replace=False)  # the 14th to 17th largest losses are equal
    others = np.setdiff1d(negatives, tied)
    order = others[np.argsort(-loss[others])]
    loss[order[:13]] = rng.uniform(1.5, 2.5, 13)
    loss[tied] = 1.2
    scenes.append(("objects numbered 0, ties at the cut", matches, loss))
    n, n_pos = 500, int(rng.integers(5, 20))
    matches = np.full(n, -1)
    matches[rng.choice(n, n_pos, replace=False)] = rng.integers(0, 4, n_pos)
    scenes.append(
        (
            "random sparse scene",
            matches,
            np.where(matches >= 0, rng.uniform(2, 6, n), rng.exponential(0.7, n)),
        )
    )
    return scenes


def check_hard_negatives(fn: Callable, seed: int | None = None) -> None:
    """Exercise 13.3: SSD's hard negative mining. Checked by what the mask must be (any tie at
    the cut may go either way): no positive in it, the right number of negatives, and no
    negative left out with a larger loss than one kept."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        parts = []
        for name, matches, loss in _hard_negative_scenes(rng):
            n_pos, n_neg = int(np.sum(matches >= 0)), int(np.sum(matches == -1))
            n_keep = hard_negatives_count(matches, 3)
            got = call(fn, matches.copy(), loss.copy(), 3)
            mask = np.asarray(got)
            where = f"{name} ({len(matches)} default boxes, {n_pos} positive, {n_neg} negative)"
            if mask.shape != matches.shape or mask.dtype != bool:
                return False, (
                    f"{where}: your answer has shape {mask.shape} and dtype "
                    f"{mask.dtype}; expected a boolean mask of shape {matches.shape}"
                )
            positive_in = np.flatnonzero(mask & (matches >= 0))
            if len(positive_in):
                i = int(positive_in[0])
                return False, (
                    f"{where}: your mask holds {len(positive_in)} positive boxes, "
                    f"e.g. box {i} (matched to object {matches[i]}, loss "
                    f"{loss[i]:.2f}); only boxes with matches == -1 are negatives"
                )
            if mask.sum() != n_keep:
                return False, (
                    f"{where}: you keep {mask.sum()} negatives, expected {n_keep} = "
                    f"min(3 x {n_pos} positives, {n_neg} negatives)"
                )
            left_out = (matches == -1) & ~mask
            if mask.any() and left_out.any() and loss[left_out].max() > loss[mask].min():
                i = int(np.flatnonzero(left_out)[np.argmax(loss[left_out])])
                j = int(np.flatnonzero(mask)[np.argmin(loss[mask])])
                return False, (
                    f"{where}: you keep box {j} (loss {loss[j]:.2f}) but not box {i} "
                    f"(loss {loss[i]:.2f}): keep the negatives with the largest losses"
                )
            parts.append(f"{name}: {n_keep}")
        return True, "negatives kept in " + "; ".join(parts)

    run(
        "13.3 (hard negative mining)",
        body,
        seed=seed,
        repeat="ch13.check_hard_negatives(hard_negatives, seed={seed})",
    )
