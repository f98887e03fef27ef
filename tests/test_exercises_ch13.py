"""Chapter 13's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; each planted mistake FAILs on every seed, with its hint."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_support import chapter_functions, outcome, stub

from course_utils import boxes as bx
from course_utils.exercises import ch13

SOLVED = chapter_functions("13_one_stage_detector")
SEEDS = list(range(12)) + [
    97,
    314,
    1000,
    2024,
    4242,
    9999,
    12345,
    31337,
    54321,
    77777,
    88888,
    99999,
]


# --- other routes to the right answers ----------------------------------------------------------


def encode_by_columns(g, d):  # one column at a time, with log1p
    g, d = np.asarray(g, float), np.asarray(d, float)
    out = np.empty_like(g)
    out[:, 0] = (g[:, 0] - d[:, 0]) / d[:, 2]
    out[:, 1] = (g[:, 1] - d[:, 1]) / d[:, 3]
    out[:, 2] = np.log1p(g[:, 2] / d[:, 2] - 1)
    out[:, 3] = np.log(g[:, 3]) - np.log(d[:, 3])
    return out


def decode_by_rows(t, d):  # a loop over boxes, with Python floats
    import math

    return np.array(
        [
            [dx + tx * dw, dy + ty * dh, dw * math.exp(tw), dh * math.exp(th)]
            for (tx, ty, tw, th), (dx, dy, dw, dh) in zip(t, d, strict=True)
        ]
    )


def decode_grid_loops(raw, score_threshold=0.3):
    """Cell by cell, with the course's `activate`-like steps and bx.centers_to_corners."""
    S = raw.shape[0]
    boxes, scores, classes = [], [], []
    for row in range(S):
        for col in range(S):
            v = raw[row, col]
            conf = np.exp(-np.logaddexp(0, -v[4]))  # a sigmoid written another way
            probs = np.exp(v[5:] - np.logaddexp.reduce(v[5:]))
            for k, p in enumerate(probs):
                if conf * p >= score_threshold:
                    x, y = np.exp(-np.logaddexp(0, -v[:2]))
                    w, h = np.exp(-np.logaddexp(0, -v[2:4])) ** 2
                    boxes.append(((col + x) / S, (row + y) / S, w, h))
                    scores.append(conf * p)
                    classes.append(k)
    corners = bx.centers_to_corners(np.array(boxes).reshape(-1, 4))
    return corners, np.array(scores), np.array(classes, dtype=int)


def hard_negatives_sorted_values(matches, loss, ratio=3):
    """Through the positions of a stable sort of the negatives' losses only."""
    negatives = np.flatnonzero(matches == -1)
    n_keep = int(min(ratio * (len(matches) - len(negatives)), len(negatives)))
    mask = np.zeros(len(matches), bool)
    if n_keep:
        mask[negatives[np.argsort(loss[negatives], kind="stable")[::-1][:n_keep]]] = True
    return mask


def test_decode_reference_keeps_what_yolo_decode_keeps():
    """decode_grid_reference keeps what bx.yolo_decode keeps (the best class of each cell),
    plus any other class above the threshold."""
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 2, (6, 6, 5 + 3))
    boxes, scores, classes = ch13.decode_grid_reference(raw, 0.3)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    probs = np.exp(raw[..., 5:]) / np.exp(raw[..., 5:]).sum(-1, keepdims=True)
    grid = np.concatenate(
        [sig(raw[..., :2]), sig(raw[..., 2:4]) ** 2, sig(raw[..., 4:5]), probs], -1
    )
    best_boxes, best_scores, best_classes = bx.yolo_decode(grid, 1, 3, 0.3)
    pairs = set(zip(np.round(scores, 10), classes, strict=True))
    assert set(zip(np.round(best_scores, 10), best_classes, strict=True)) <= pairs
    for b, s in zip(best_boxes, best_scores, strict=True):
        assert np.allclose(boxes[np.argmin(abs(scores - s))], b)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_solutions_pass(capsys, seed):
    for encode, decode in (
        (SOLVED["encode_offsets"], SOLVED["decode_offsets"]),
        (encode_by_columns, decode_by_rows),
    ):
        line = outcome(capsys, ch13.check_offsets, encode, decode=decode, seed=seed)
        assert line.startswith("PASS"), line
    for fn in (SOLVED["decode_grid"], decode_grid_loops):
        line = outcome(capsys, ch13.check_decode_grid, fn, seed=seed)
        assert line.startswith("PASS"), line
    for fn in (SOLVED["hard_negatives"], hard_negatives_sorted_values):
        line = outcome(capsys, ch13.check_hard_negatives, fn, seed=seed)
        assert line.startswith("PASS"), line


def test_stubs_are_not_done(capsys):
    assert outcome(capsys, ch13.check_offsets, stub, decode=stub).startswith("NOT DONE")
    assert outcome(capsys, ch13.check_offsets, SOLVED["encode_offsets"], decode=stub).startswith(
        "NOT DONE"
    )
    for check in (ch13.check_decode_grid, ch13.check_hard_negatives):
        assert outcome(capsys, check, stub).startswith("NOT DONE")


# --- 13.1
# -----------------------------------------------------------------------------------------


def encode_by_truth_size(g, d):
    return np.concatenate([(g[:, :2] - d[:, :2]) / g[:, 2:], np.log(g[:, 2:] / d[:, 2:])], axis=1)


def encode_no_log(g, d):
    return np.concatenate([(g[:, :2] - d[:, :2]) / d[:, 2:], g[:, 2:] / d[:, 2:]], axis=1)


def encode_log10(g, d):
    return np.concatenate(
        [(g[:, :2] - d[:, :2]) / d[:, 2:], np.log10(g[:, 2:] / d[:, 2:])], axis=1
    )


def encode_backwards(g, d):  # default minus true
    return np.concatenate([(d[:, :2] - g[:, :2]) / d[:, 2:], np.log(d[:, 2:] / g[:, 2:])], axis=1)


def encode_w_for_y(g, d):  # x shifted in units of the height
    return np.concatenate(
        [(g[:, :2] - d[:, :2]) / d[:, [3, 2]], np.log(g[:, 2:] / d[:, 2:])], axis=1
    )


def decode_swapped(t, d):
    return np.concatenate(
        [d[:, :2] + t[:, :2] * d[:, [3, 2]], d[:, 2:] * np.exp(t[:, 2:])], axis=1
    )


def decode_unscaled(t, d):
    return np.concatenate([d[:, :2] + t[:, :2], d[:, 2:] * np.exp(t[:, 2:])], axis=1)


def decode_added(t, d):
    return np.concatenate([d[:, :2] + t[:, :2] * d[:, 2:], d[:, 2:] + np.exp(t[:, 2:])], axis=1)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "encode, decode, hint",
    [
        (encode_by_truth_size, None, "default box's size, not the true box's"),
        (encode_no_log, None, "log of the size ratio"),
        (encode_log10, None, "natural one"),
        (encode_backwards, None, "true minus default"),
        (encode_w_for_y, None, "default box's width, y of its height"),
        (None, decode_swapped, "offset times the default box's width"),
        (None, decode_unscaled, "multiply by it"),
        (None, decode_added, "default size times exp"),
    ],
    ids=lambda v: getattr(v, "__name__", "") if callable(v) else "",
)
def test_offset_mistakes_fail(capsys, seed, encode, decode, hint):
    line = outcome(
        capsys,
        ch13.check_offsets,
        encode or SOLVED["encode_offsets"],
        decode=decode or SOLVED["decode_offsets"],
        seed=seed,
    )
    assert line.startswith("FAIL") and hint in line, line


# --- 13.2
# -----------------------------------------------------------------------------------------


def _decoder(
    *,
    square=True,
    swap=False,
    per_s=True,
    half=True,
    score="both",
    softmax=True,
    every_class=True,
    corners=True,
    order="cell",
):
    """The chapter's decoder with one thing changed."""

    def decode(raw, score_threshold=0.3):
        S = raw.shape[0]
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        if softmax:
            e = np.exp(raw[..., 5:] - raw[..., 5:].max(-1, keepdims=True))
            probs = e / e.sum(-1, keepdims=True)
        else:
            probs = sig(raw[..., 5:])
        conf = sig(raw[..., 4:5])
        all_scores = {
            "both": conf * probs,
            "probs": probs,
            "conf": np.broadcast_to(conf, probs.shape),
        }[score]
        if not every_class:
            best = all_scores.max(-1, keepdims=True)
            all_scores = np.where(all_scores == best, all_scores, 0.0)
        rows, cols, classes = np.nonzero(all_scores >= score_threshold)
        if order == "class":
            o = np.lexsort((cols, rows, classes))
            rows, cols, classes = rows[o], cols[o], classes[o]
        xy = sig(raw[rows, cols, 0:2])
        wh = sig(raw[rows, cols, 2:4]) ** (2 if square else 1)
        grid = np.stack([rows, cols] if swap else [cols, rows], axis=1)
        centre = (grid + xy) / (S if per_s else 1)
        if not corners:
            return np.concatenate([centre, wh], 1), all_scores[rows, cols, classes], classes
        k = 2 if half else 1
        boxes = np.concatenate([centre - wh / k, centre + wh / k], axis=1)
        return boxes, all_scores[rows, cols, classes], classes

    return decode


def decode_empty_as_flat(raw, score_threshold=0.3):
    boxes, scores, classes = SOLVED["decode_grid"](raw, score_threshold)
    return (boxes if len(boxes) else np.array([])), scores, classes


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_decoder(square=False), "square roots"),
        (_decoder(swap=True), "x comes from the column"),
        (_decoder(per_s=False), "(cell + offset) / S"),
        (_decoder(half=False), "HALF"),
        (_decoder(score="probs"), "not the probability alone"),
        (_decoder(score="conf"), "not the confidence alone"),
        (_decoder(softmax=False), "softmax"),
        (_decoder(every_class=False), "one class per cell"),
        (_decoder(corners=False), "not centre and size"),
        (_decoder(order="class"), "order"),
        (decode_empty_as_flat, "shape (0, 4)"),
    ],
    ids=[
        "unsquared",
        "rows_for_x",
        "not_per_S",
        "full_size",
        "prob_only",
        "conf_only",
        "sigmoid_classes",
        "best_class_only",
        "centre_size",
        "class_order",
        "flat_empty",
    ],
)
def test_decode_mistakes_fail(capsys, seed, wrong, hint):
    line = outcome(capsys, ch13.check_decode_grid, wrong, seed=seed)
    assert line.startswith("FAIL") and hint in line, line


# --- 13.3
# -----------------------------------------------------------------------------------------


def easiest_negatives(matches, loss, ratio=3):
    negatives = np.flatnonzero(matches == -1)
    n_keep = min(ratio * np.sum(matches >= 0), len(negatives))
    mask = np.zeros(len(matches), bool)
    mask[negatives[np.argsort(loss[negatives])[:n_keep]]] = True
    return mask


def positives_compete(matches, loss, ratio=3):
    n_keep = min(ratio * np.sum(matches >= 0), np.sum(matches == -1))
    mask = np.zeros(len(matches), bool)
    mask[np.argsort(-loss)[:n_keep]] = True
    return mask


def no_cap(matches, loss, ratio=3):  # more negatives asked for than there are
    negative = matches == -1
    ranked = np.argsort(-np.where(negative, loss, -np.inf))
    mask = np.zeros(len(matches), bool)
    mask[ranked[: ratio * np.sum(~negative)]] = True
    return mask


def object_zero_is_background(matches, loss, ratio=3):  # matches == 0 taken for "none"
    negative = matches <= 0
    n_keep = min(ratio * np.sum(~negative), np.sum(negative))
    mask = np.zeros(len(matches), bool)
    mask[np.argsort(-np.where(negative, loss, -np.inf))[:n_keep]] = True
    return mask


def threshold_with_ties(matches, loss, ratio=3):  # every negative at least the n-th loss
    negative = matches == -1
    n_keep = min(ratio * np.sum(~negative), np.sum(negative))
    if n_keep == 0:
        return np.zeros(len(matches), bool)
    cut = np.sort(loss[negative])[::-1][n_keep - 1]
    return negative & (loss >= cut)


def all_when_no_positive(matches, loss, ratio=3):  # "no positive: keep every negative"
    negative = matches == -1
    n_pos = np.sum(~negative)
    n_keep = min(ratio * n_pos, np.sum(negative)) if n_pos else np.sum(negative)
    mask = np.zeros(len(matches), bool)
    mask[np.argsort(-np.where(negative, loss, -np.inf))[:n_keep]] = True
    return mask


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (easiest_negatives, "largest losses"),
        (positives_compete, "only boxes with matches == -1"),
        (no_cap, "only boxes with matches == -1"),
        (object_zero_is_background, "matched to object 0"),
        (
            threshold_with_ties,
            "ties at the cut (60 default boxes, 5 positive, 55 negative): you keep 17 negatives, "
            "expected 15",
        ),
        (
            all_when_no_positive,
            "no positives (40 default boxes, 0 positive, 40 negative): you keep 40",
        ),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_hard_negative_mistakes_fail(capsys, seed, wrong, hint):
    line = outcome(capsys, ch13.check_hard_negatives, wrong, seed=seed)
    assert line.startswith("FAIL") and hint in line, line
