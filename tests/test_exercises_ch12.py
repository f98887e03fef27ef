"""Chapter 12's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; each planted mistake FAILs on every seed, with its hint."""

from __future__ import annotations

import math

import numpy as np
import pytest
from exercise_support import chapter_functions, outcome, stub

from course_utils import boxes as bx
from course_utils.exercises import ch12

SOLVED = chapter_functions("12_object_detection_basics")
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


def giou_by_pairs(a, b):  # one pair at a time, with the course's IoU and areas
    out = []
    for p, q in zip(a, b, strict=True):
        enclosing = [min(p[0], q[0]), min(p[1], q[1]), max(p[2], q[2]), max(p[3], q[3])]
        iou = bx.box_iou(p, q)[0, 0]
        inter = iou * (bx.box_area(p)[0] + bx.box_area(q)[0]) / (1 + iou)
        union = bx.box_area(p)[0] + bx.box_area(q)[0] - inter
        out.append(iou - (bx.box_area(enclosing)[0] - union) / bx.box_area(enclosing)[0])
    return np.array(out)


def nms_per_class_x_shift(boxes, scores, classes, iou_threshold=0.5):  # shift x only, by ptp
    shift = np.zeros_like(boxes)
    shift[:, [0, 2]] = (np.ptp(boxes) + 1.0) * classes[:, None]
    return bx.non_max_suppression(boxes + shift, scores, iou_threshold)


def ap_101_vectorised(precision, recall):  # interpolate once, then searchsorted
    if len(recall) == 0:
        return 0.0
    best_after = np.maximum.accumulate(precision[::-1])[::-1]
    first = np.searchsorted(recall, np.arange(101) / 100, side="left")
    padded = np.concatenate([best_after, [0.0]])
    return float(padded[first].mean())


def soft_nms_lists(boxes, scores, sigma=0.5, score_threshold=0.001):  # plain Python lists
    current = {i: float(s) for i, s in enumerate(scores) if s >= score_threshold}
    picked, picked_scores = [], []
    while current:
        best = min(current, key=lambda i: (-current[i], i))
        picked.append(best)
        picked_scores.append(current.pop(best))
        for i in list(current):
            overlap = bx.box_iou(boxes[best], boxes[i])[0, 0]
            current[i] *= math.exp(-(overlap * overlap) / sigma)
            if current[i] < score_threshold:
                del current[i]
    return np.array(picked), np.array(picked_scores)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_solutions_pass(capsys, seed):
    for check, names in (
        (ch12.check_giou, (SOLVED["giou"], giou_by_pairs)),
        (ch12.check_nms_per_class, (SOLVED["nms_per_class"], nms_per_class_x_shift)),
        (ch12.check_ap_101, (SOLVED["ap_101"], ap_101_vectorised)),
        (ch12.check_soft_nms, (SOLVED["soft_nms"], soft_nms_lists)),
    ):
        for fn in names:
            line = outcome(capsys, check, fn, seed=seed)
            assert line.startswith("PASS"), (fn.__name__, line)


def test_stubs_are_not_done(capsys):
    for check in (
        ch12.check_giou,
        ch12.check_nms_per_class,
        ch12.check_ap_101,
        ch12.check_soft_nms,
    ):
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_soft_nms_reference_matches_tensorflow():
    """TensorFlow's soft-NMS decays by exp(-IoU² / (2 sigma)) and also drops boxes whose IoU is
    above iou_threshold: with iou_threshold=1 and half our sigma it is the same algorithm."""
    tf = pytest.importorskip("tensorflow")  # absent on Colab's TPU runtime

    rng = np.random.default_rng(7)
    boxes = ch12._clustered_boxes(rng, 5, 6)
    scores = rng.uniform(0.05, 1, len(boxes))
    keep, kept_scores = ch12._soft_nms_reference(boxes, scores, 0.5, 0.01)
    tf_keep, tf_scores = tf.image.non_max_suppression_with_scores(
        boxes.astype("float32"),
        scores.astype("float32"),
        len(boxes),
        iou_threshold=1.0,
        score_threshold=0.01,
        soft_nms_sigma=0.25,
    )
    assert np.array_equal(keep, tf_keep.numpy())
    assert np.allclose(kept_scores, tf_scores.numpy(), atol=1e-5)


def test_giou_reference_by_hand():
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2]], float)
    b = np.array([[1, 1, 3, 3], [3, 3, 5, 5]], float)
    np.testing.assert_allclose(ch12.giou_reference(a, b), [1 / 7 - 2 / 9, 0 - 17 / 25])


def test_ap_101_reference_by_hand():
    precision, recall = np.array([1.0, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0])
    # levels 0..0.5 (51 of them) have precision 1, levels 0.51..1 (50) have 2/3
    assert ch12.ap_101_reference(precision, recall) == pytest.approx((51 + 50 * 2 / 3) / 101)


# --- 12.1
# -----------------------------------------------------------------------------------------


def _parts(a, b):
    raw_wh = np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2])
    area = lambda c: (c[:, 2] - c[:, 0]) * (c[:, 3] - c[:, 1])  # noqa: E731
    enclosing = area(
        np.concatenate([np.minimum(a[:, :2], b[:, :2]), np.maximum(a[:, 2:], b[:, 2:])], axis=1)
    )
    return raw_wh, area(a) + area(b), enclosing


def iou_only(a, b):
    raw_wh, areas, _ = _parts(a, b)
    inter = np.clip(raw_wh, 0, None).prod(1)
    return inter / (areas - inter)


def unclipped(a, b):
    raw_wh, areas, e = _parts(a, b)
    inter = raw_wh.prod(1)
    return inter / (areas - inter) - (e - (areas - inter)) / e


def minus_intersection(a, b):
    raw_wh, areas, e = _parts(a, b)
    inter = np.clip(raw_wh, 0, None).prod(1)
    return inter / (areas - inter) - (e - inter) / e


def over_union(a, b):
    raw_wh, areas, e = _parts(a, b)
    inter = np.clip(raw_wh, 0, None).prod(1)
    union = areas - inter
    return inter / union - (e - union) / union


def giou_loss(a, b):
    return 1 - SOLVED["giou"](a, b)


def all_pairs(a, b):
    return np.array([[SOLVED["giou"](p[None], q[None])[0] for q in b] for p in a])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (iou_only, "plain IoUs"),
        (unclipped, "clip its width and height"),
        (minus_intersection, "outside the UNION"),
        (over_union, "divided by the enclosing area"),
        (giou_loss, "1 - GIoU"),
        (all_pairs, "shape (N,)"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_giou_mistakes_fail(capsys, seed, wrong, hint):
    line = outcome(capsys, ch12.check_giou, wrong, seed=seed)
    assert line.startswith("FAIL") and hint in line, line


# --- 12.2
# -----------------------------------------------------------------------------------------

nms = SOLVED["nms"]


def plain_nms(boxes, scores, classes, iou_threshold=0.5):  # forgets the classes
    return nms(boxes, scores, iou_threshold)


def class_by_class(boxes, scores, classes, iou_threshold=0.5):  # a loop, and class order
    keep = []
    for k in np.unique(classes):
        of_class = np.flatnonzero(classes == k)
        keep.extend(of_class[nms(boxes[of_class], scores[of_class], iou_threshold)])
    return np.array(keep)


def class_by_class_sorted(boxes, scores, classes, iou_threshold=0.5):  # right, with a loop
    keep = np.concatenate(
        [
            np.flatnonzero(classes == k)[
                nms(boxes[classes == k], scores[classes == k], iou_threshold)
            ]
            for k in np.unique(classes)
        ]
    )
    return keep[np.argsort(-scores[keep])]


def shifted_by(amount):
    def shifted(boxes, scores, classes, iou_threshold=0.5):
        return nms(boxes + amount * classes[:, None], scores, iou_threshold)

    shifted.__name__ = f"shifted_by_{amount}"
    return shifted


def shifted_by_max(boxes, scores, classes, iou_threshold=0.5):  # forgets negative coordinates
    return nms(boxes + (boxes.max() + 1) * classes[:, None], scores, iou_threshold)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (plain_nms, "suppress each other"),
        (class_by_class, "wrong order"),
        (class_by_class_sorted, "loop"),
        (shifted_by(5), "suppress each other"),
        (shifted_by(100), "suppress each other"),
        (shifted_by(1000), "suppress each other"),
        (shifted_by_max, "negative ones included"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_nms_per_class_mistakes_fail(capsys, seed, wrong, hint):
    line = outcome(capsys, ch12.check_nms_per_class, wrong, seed=seed)
    assert line.startswith("FAIL") and hint in line, line


# --- 12.3
# -----------------------------------------------------------------------------------------


def all_point(precision, recall):
    return SOLVED["average_precision"](precision, recall)


def sampled(levels, strict=False, interpolate=True, unreached_last=False):
    def ap(precision, recall):
        out = []
        for r in levels:
            reached = recall > r if strict else recall >= r
            if not reached.any():
                out.append(precision[-1] if unreached_last and len(precision) else 0.0)
            else:
                out.append(precision[reached].max() if interpolate else precision[reached][0])
        return float(np.mean(out))

    return ap


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (all_point, "area under the whole curve"),
        (sampled(np.linspace(0, 1, 101), interpolate=False), "BEST precision"),
        (sampled(np.linspace(0, 1, 100)), "np.linspace(0, 1, 101)"),
        (sampled(np.linspace(0, 1, 11)), "PASCAL VOC 2007"),
        (sampled(np.linspace(0, 1, 101), strict=True), "recall >= r"),
        (
            sampled(np.linspace(0, 1, 101), unreached_last=True),
            "never reaches counts as precision 0",
        ),
    ],
    ids=["all_point", "not_interpolated", "100_levels", "11_levels", "strict", "unreached_last"],
)
def test_ap_101_mistakes_fail(capsys, seed, wrong, hint):
    line = outcome(capsys, ch12.check_ap_101, wrong, seed=seed)
    assert line.startswith("FAIL") and hint in line, line


def test_ap_101_without_a_guard_for_no_detections_fails(capsys):
    def crashes_when_empty(precision, recall):
        return float(
            np.mean(
                [precision[recall >= r].max() for r in np.linspace(0, 1, 101)]
                if recall.max() >= 0
                else 0
            )
        )

    for seed in SEEDS:
        line = outcome(capsys, ch12.check_ap_101, crashes_when_empty, seed=seed)
        assert line.startswith("FAIL"), line


# --- 12.4
# -----------------------------------------------------------------------------------------


def _soft(
    *, rerank=True, decay="gauss", filter_when="after", ties="low", strict=False, hard=False
):
    """The chapter's soft-NMS with one thing changed."""

    def soft(boxes, scores, sigma=0.5, score_threshold=0.001):
        if hard:
            keep = bx.non_max_suppression(boxes, scores, 0.5)
            return keep, np.asarray(scores)[keep]
        scores = np.array(scores, float)
        above = (lambda v: v > score_threshold) if strict else (lambda v: v >= score_threshold)
        left = (
            np.arange(len(scores))
            if filter_when == "decayed_only"
            else np.flatnonzero(above(scores))
        )
        order = list(np.argsort(-scores, kind="stable"))
        keep = []
        while len(left):
            if rerank:
                best_score = scores[left].max()
                tied = left[scores[left] == best_score]
                best = tied.min() if ties == "low" else tied.max()
            else:
                best = next(i for i in order if i in set(left.tolist()))
            keep.append(best)
            left = left[left != best]
            if filter_when == "before":
                left = left[above(scores[left])]
            overlap = bx.box_iou(boxes[best], boxes[left])[0]
            factor = {
                "gauss": np.exp(-(overlap**2) / sigma),
                "linear": 1 - overlap,
                "tf": np.exp(-(overlap**2) / (2 * sigma)),
            }[decay]
            scores[left] *= factor
            if filter_when == "after":
                left = left[above(scores[left])]
            elif filter_when == "decayed_only":
                left = left[above(scores[left]) | (overlap == 0)]
        return np.array(keep, dtype=int), scores[keep]

    return soft


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_soft(rerank=False), "original score order"),
        (_soft(decay="linear"), "first difference is pick number"),
        (_soft(decay="tf"), "first difference is pick number"),
        (_soft(hard=True), "first difference is pick number"),
        (_soft(filter_when="decayed_only"), "box 33 starts below the threshold"),
        (_soft(filter_when="before"), "box 38 is box 37's twin"),
        (_soft(strict=True), "box 34 starts exactly at the threshold"),
        (_soft(ties="high"), "the lower index goes first"),
    ],
    ids=[
        "no_rerank",
        "linear",
        "tf_sigma",
        "hard_nms",
        "starts_below_kept",
        "filter_before_decay",
        "strict_threshold",
        "ties_high_first",
    ],
)
def test_soft_nms_mistakes_fail(capsys, seed, wrong, hint):
    line = outcome(capsys, ch12.check_soft_nms, wrong, seed=seed)
    assert line.startswith("FAIL") and hint in line, line
