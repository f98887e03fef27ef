"""Checks for chapter 12's exercises: generalised IoU, per-class NMS in one call, COCO's
101-point average precision, and Gaussian soft-NMS.

Every check starts with fixed inputs that tell the usual mistakes apart (boxes apart in one
direction or both, containment, shared edges, negative and large coordinates, a recall level
reached exactly, no detections at all, a box below the threshold from the start, ties), then
adds random ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import boxes as bx
from .checking import call, compare, fresh_seed, run, uses_a_loop


def _random_pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n pairs of corner boxes, some overlapping, some apart, of varied shapes."""
    xy = rng.uniform(0, 60, (n, 2))
    a = np.concatenate([xy, xy + rng.uniform(2, 30, (n, 2))], axis=1)
    xy = xy + rng.normal(0, 12, (n, 2))
    b = np.concatenate([xy, xy + rng.uniform(2, 30, (n, 2))], axis=1)
    return a, b


# --- 12.1 generalised IoU ----------------------------------------------------------------------

GIOU_PAIRS = {  # name: (box a, box b)
    "partial overlap": ([0, 0, 2, 2], [1, 1, 3, 3]),
    "containment": ([0, 0, 4, 4], [1, 1, 3, 3]),
    "identical": ([1, 1, 3, 3], [1, 1, 3, 3]),
    "shared edge": ([0, 0, 2, 2], [2, 0, 4, 2]),
    "apart, side by side": ([0, 0, 2, 4], [3, 1, 5, 3]),
    "apart, diagonally": ([0, 0, 2, 2], [3, 3, 5, 5]),
    "far apart": ([0, 0, 2, 2], [50, 50, 51, 53]),
}


def _area(c: np.ndarray) -> np.ndarray:
    return (c[:, 2] - c[:, 0]) * (c[:, 3] - c[:, 1])


def giou_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """GIoU of a[i] with b[i]: IoU - (enclosing area - union) / enclosing area."""
    iou = bx.box_iou(a, b).diagonal()
    inter_wh = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    union = _area(a) + _area(b) - inter_wh[:, 0] * inter_wh[:, 1]
    enclosing = _area(
        np.concatenate([np.minimum(a[:, :2], b[:, :2]), np.maximum(a[:, 2:], b[:, 2:])], axis=1)
    )
    return iou - (enclosing - union) / enclosing


def _giou_hint(got: np.ndarray, a: np.ndarray, b: np.ndarray) -> str:
    """Name the usual GIoU mistake that gives `got`, if one does."""
    raw_wh = np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2])
    inter = np.clip(raw_wh, 0, None).prod(axis=1)
    union = _area(a) + _area(b) - inter
    enclosing = _area(
        np.concatenate([np.minimum(a[:, :2], b[:, :2]), np.maximum(a[:, 2:], b[:, 2:])], axis=1)
    )
    unclipped = raw_wh.prod(axis=1)
    u2 = _area(a) + _area(b) - unclipped
    guesses = (
        (inter / union, "those are plain IoUs: subtract (enclosing - union) / enclosing"),
        (
            unclipped / u2 - (enclosing - u2) / enclosing,
            "boxes that do not overlap have intersection 0: clip its width and height at 0",
        ),
        (
            inter / union - (enclosing - inter) / enclosing,
            "the penalty is the enclosing box's area outside the UNION, (E - U) / E",
        ),
        (
            inter / union - (enclosing - union) / union,
            "the penalty is divided by the enclosing area",
        ),
        (
            1 - (inter / union - (enclosing - union) / enclosing),
            "that is 1 - GIoU, the GIoU loss, not GIoU",
        ),
    )
    for values, hint in guesses:
        if got.shape == values.shape and np.allclose(got, values):
            return f" ({hint})"
    return ""


def check_giou(fn: Callable, seed: int | None = None) -> None:
    """Exercise 12.1: GIoU of matched pairs, on seven fixed pairs and random ones."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        fixed_a = np.array([a for a, _ in GIOU_PAIRS.values()], float)
        fixed_b = np.array([b for _, b in GIOU_PAIRS.values()], float)
        ra, rb = _random_pairs(rng, 20)
        a, b = np.concatenate([fixed_a, ra]), np.concatenate([fixed_b, rb])
        expected = giou_reference(a, b)
        got = call(fn, a.copy(), b.copy())
        passed, how = compare(got, expected, rtol=1e-9, atol=1e-12, what="your GIoU")
        if passed:
            # the named pairs come first; the random pairs after them have no names
            named = zip(GIOU_PAIRS, expected[: len(GIOU_PAIRS)], strict=True)
            values = ", ".join(f"{name} {v:.3f}" for name, v in named)
            return True, f"{len(a)} pairs; {values}; random pairs: {how}"
        g = np.asarray(got, float) if np.size(got) else np.zeros(0)
        if g.shape == (len(a), len(a)):
            return False, "one GIoU per row pair: shape (N,), not the (N, N) table of all pairs"
        names = list(GIOU_PAIRS) + [f"random pair {i}" for i in range(20)]
        if g.shape == expected.shape:
            i = int(np.argmax(np.abs(g - expected)))
            how = (
                f"{names[i]} {a[i].tolist()} vs {b[i].tolist()}: yours {g[i]:.4f}, expected "
                f"{expected[i]:.4f} ({int(np.sum(~np.isclose(g, expected)))} of {len(a)} "
                "pairs differ)"
            )
        return False, how + _giou_hint(g, a, b)

    run("12.1 (generalised IoU)", body, seed=seed, repeat="ch12.check_giou(giou, seed={seed})")


# --- 12.2 per-class NMS in one call ------------------------------------------------------------


def _clustered_boxes(rng: np.random.Generator, n_objects: int, per_object: int) -> np.ndarray:
    """Corner boxes jittered around a few objects, so that many boxes overlap."""
    centre = np.repeat(rng.uniform(20, 80, (n_objects, 2)), per_object, axis=0)
    centre += rng.normal(0, 3, centre.shape)
    half = np.repeat(rng.uniform(5, 15, (n_objects, 2)), per_object, axis=0) * rng.uniform(
        0.8, 1.2, centre.shape
    )
    return np.concatenate([centre - half, centre + half], axis=1)


def _nms_per_class_reference(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float
) -> np.ndarray:
    keep = []
    for k in np.unique(classes):
        of_class = np.flatnonzero(classes == k)
        keep.extend(
            of_class[bx.non_max_suppression(boxes[of_class], scores[of_class], iou_threshold)]
        )
    kept = np.array(keep, dtype=int)
    return kept[np.argsort(-scores[kept], kind="stable")]


def _nms_scenes(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, boxes, scores, classes): two fixed scenes, then a random one."""
    # Negative coordinates: box 3 (class 1) lies "max + 1" up and left of box 0 (class 0),
    # boxes 0 and 1 are the same box in classes 0 and 2, box 2 overlaps box 0 in class 0.
    boxes = np.array(
        [
            [0, 0, 40, 40],
            [0, 0, 40, 40],
            [4, 2, 42, 40],
            [-201, -201, -161, -161],
            [190, 190, 200, 200],
            [-60, -80, -20, -30],
        ],
        float,
    )
    scores, classes = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]), np.array([0, 2, 0, 1, 0, 1])
    scenes = [("6 boxes, some at negative coordinates", boxes, scores, classes)]
    # Pairs of 500-pixel boxes, class 0 and class 1, the second 1, 10, 100 and 1,000 pixels
    # up and left of the first: a fixed shift of that size puts it back onto the first.
    firsts = np.array(
        [[0, 0, 500, 500], [1000, 0, 1500, 500], [2000, 0, 2500, 500], [4000, 3000, 4500, 3500]],
        float,
    )
    seconds = firsts - np.array([1, 10, 100, 1000])[:, None]
    big = np.stack([firsts, seconds], axis=1).reshape(-1, 4)
    scenes.append(
        (
            "8 boxes on a 5,000-pixel image",
            big,
            np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6]),
            np.tile([0, 1], 4),
        )
    )
    boxes = _clustered_boxes(rng, 6, 8)
    scenes.append(
        (
            "48 random boxes around 6 objects, 3 classes",
            boxes,
            rng.uniform(0, 1, len(boxes)),
            rng.integers(0, 3, len(boxes)),
        )
    )
    return scenes


def check_nms_per_class(fn: Callable, seed: int | None = None) -> None:
    """Exercise 12.2: per-class NMS, best score first, without a loop, against NMS class by
    class."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        parts = []
        for name, boxes, scores, classes in _nms_scenes(rng):
            expected = _nms_per_class_reference(boxes, scores, classes, 0.5)
            got = np.asarray(call(fn, boxes.copy(), scores.copy(), classes.copy(), 0.5)).reshape(
                -1
            )
            if got.shape != expected.shape or set(got.tolist()) != set(expected.tolist()):
                hint = (
                    " (boxes of different classes still suppress each other, as in plain "
                    "NMS: shift each class by more than the spread of all coordinates, "
                    "negative ones included)"
                    if set(got.tolist()) < set(expected.tolist())
                    else ""
                )
                missing = sorted(set(expected.tolist()) - set(got.tolist()))[:5]
                extra = sorted(set(got.tolist()) - set(expected.tolist()))[:5]
                which = ", ".join(
                    f"{word} {ids}"
                    for word, ids in (("missing", missing), ("extra", extra))
                    if ids
                )
                return False, (
                    f"{name}: you keep {len(got)} boxes, expected {len(expected)} "
                    f"{expected.tolist()[:8]} ({which}){hint}"
                )
            if not np.array_equal(got, expected):
                return False, (
                    f"{name}: the right boxes in the wrong order, yours "
                    f"{got.tolist()[:8]}, expected {expected.tolist()[:8]} (best score "
                    "first, all classes together)"
                )
            parts.append(f"{name}: {len(expected)} kept")
        if uses_a_loop(fn):
            return False, f"right boxes, but {fn.__name__} uses a Python loop or comprehension"
        return True, "; ".join(parts) + ", as NMS run class by class"

    run(
        "12.2 (per-class NMS in one call)",
        body,
        seed=seed,
        repeat="ch12.check_nms_per_class(nms_per_class, seed={seed})",
    )


# --- 12.3 COCO's 101-point AP ------------------------------------------------------------------


def ap_101_reference(precision: np.ndarray, recall: np.ndarray) -> float:
    levels = np.linspace(0, 1, 101)
    best = [precision[recall >= r].max() if np.any(recall >= r) else 0.0 for r in levels]
    return float(np.mean(best))


def _curve(tp: np.ndarray, n_truth: int) -> tuple[np.ndarray, np.ndarray]:
    hits = np.cumsum(tp)
    return hits / np.arange(1, len(tp) + 1), hits / n_truth


def _ap_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, precision, recall): three fixed curves, then a random one."""
    cases = []
    # 5 objects: recall steps of exactly 0.2; precision rises again after a dip; 80% found
    cases.append(
        (
            "5 objects, 4 found, recall levels hit exactly",
            *_curve(np.array([1, 0, 1, 1, 0, 0, 1, 0]), 5),
        )
    )
    # 3 objects: a false alarm first, all found in the end; recall steps of 1/3 fall between
    # the levels, unevenly, so sampling 100 or 11 levels gives another number
    cases.append(
        ("3 objects, all found, a false alarm first", *_curve(np.array([0, 1, 1, 0, 0, 1]), 3))
    )
    cases.append(("no detections", np.zeros(0), np.zeros(0)))
    # a number of objects prime to 100, so no recall k/n but 0 and 1 lands on a level, where
    # np.linspace(0, 1, 101) and np.arange(101) / 100 differ in the last bit
    n_truth, n = int(rng.choice([11, 13, 17, 19, 21, 23, 27, 29])), int(rng.integers(30, 60))
    tp = (rng.random(n) < np.linspace(0.75, 0.15, n)).astype(float)
    tp[0] = 0.0  # a false alarm first
    tp[np.flatnonzero(tp)[n_truth:]] = 0  # no more hits than objects
    cases.append((f"random: {n_truth} objects, {n} detections", *_curve(tp, n_truth)))
    return cases


def _ap_guesses(precision: np.ndarray, recall: np.ndarray) -> list[tuple[float, str]]:
    """What the usual mistakes give on one curve, with the hint that names each."""

    def sampled(levels, strict=False, interpolate=True, unreached_last=False):
        out = []
        for r in levels:
            reached = recall > r if strict else recall >= r
            if not reached.any():
                out.append(precision[-1] if unreached_last and len(precision) else 0.0)
            else:
                out.append(precision[reached].max() if interpolate else precision[reached][0])
        return float(np.mean(out))

    p = np.concatenate([[0.0], precision, [0.0]])
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.flatnonzero(r[1:] != r[:-1])
    all_points = float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))
    return [
        (
            all_points,
            "that is the area under the whole curve, section 6's AP: sample it at 101 levels",
        ),
        (
            sampled(np.linspace(0, 1, 101), interpolate=False),
            "take the BEST precision at any recall >= r, not the precision where recall first "
            "reaches r",
        ),
        (sampled(np.linspace(0, 1, 100)), "101 levels: np.linspace(0, 1, 101), 0 and 1 included"),
        (sampled(np.linspace(0, 1, 11)), "COCO uses 101 levels; 11 was PASCAL VOC 2007's"),
        (
            sampled(np.linspace(0, 1, 101), strict=True),
            "a level recall reaches exactly counts: recall >= r",
        ),
        (
            sampled(np.linspace(0, 1, 101), unreached_last=True),
            "a level recall never reaches counts as precision 0",
        ),
    ]


def check_ap_101(fn: Callable, seed: int | None = None) -> None:
    """Exercise 12.3: COCO's 101-point interpolated AP of one precision-recall curve. A hint
    names a mistake only when it explains the answers on every curve."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        cases = _ap_cases(rng)
        answers = [call(fn, precision.copy(), recall.copy()) for _, precision, recall in cases]
        parts, failed = [], None
        for (name, precision, recall), got in zip(cases, answers, strict=True):
            expected = ap_101_reference(precision, recall)
            passed, how = compare(got, expected, rtol=1e-9, atol=1e-12, what="your AP")
            if not passed and failed is None:
                curve = ", ".join(
                    f"({r:.2f}, {p:.2f})" for r, p in zip(recall[:8], precision[:8], strict=True)
                )
                failed = (
                    f"{name}, (recall, precision) = {curve or 'none'}"
                    f"{' ...' if len(recall) > 8 else ''}: {how}"
                )
            parts.append(f"{name}: {expected:.4f}")
        if failed is None:
            return True, "; ".join(parts)
        try:
            values = [float(a) for a in answers]
        except (TypeError, ValueError):
            return False, failed
        guesses = [_ap_guesses(p, r) for _, p, r in cases]
        for k, (_, hint) in enumerate(guesses[0]):
            if all(abs(v - g[k][0]) < 1e-9 for v, g in zip(values, guesses, strict=True)):
                return False, f"{failed} ({hint})"
        return False, failed

    run(
        "12.3 (COCO's 101-point AP)",
        body,
        seed=seed,
        repeat="ch12.check_ap_101(ap_101, seed={seed})",
    )


# --- 12.4 soft-NMS -----------------------------------------------------------------------------


def _soft_nms_reference(
    boxes: np.ndarray, scores: np.ndarray, sigma: float, score_threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Loop by loop: the highest current score first (lower index on a tie); a box below the
    threshold, from the start or after a decay, is dropped."""
    scores = np.array(scores, float)
    left = [i for i in range(len(scores)) if scores[i] >= score_threshold]
    keep, kept_scores = [], []
    while left:
        best = max(left, key=lambda i: (scores[i], -i))
        keep.append(best)
        kept_scores.append(scores[best])
        left.remove(best)
        for i in left:
            scores[i] *= np.exp(-(bx.box_iou(boxes[best], boxes[i])[0, 0] ** 2) / sigma)
        left = [i for i in left if scores[i] >= score_threshold]
    return np.array(keep, dtype=int), np.array(kept_scores)


def _soft_nms_input(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """30 clustered boxes, then fixed ones far from them (indices 30-36):
    30, 31, 32: after 30 is picked, 31's score falls below 32's, so the order changes;
    33: alone, below the threshold of 0.01 from the start (never picked);
    34: alone, exactly at the threshold (picked last, as 0.01 >= 0.01);
    35, 36: alone, the same score (35, the lower index, first);
    37, 38: the same box, both at the threshold, picked after 34 (the lower index first): once
    37 is picked, 38 decays below the threshold and is dropped, though nothing else is left."""
    trio = [[200, 200, 210, 210], [201, 200, 211, 210], [250, 250, 260, 260]]
    alone = [
        [400, 400, 410, 410],
        [500, 500, 510, 510],
        [600, 600, 610, 610],
        [700, 700, 710, 710],
    ]
    twins = [[800, 800, 810, 810], [800, 800, 810, 810]]
    boxes = np.concatenate([_clustered_boxes(rng, 5, 6), np.array(trio + alone + twins, float)])
    scores = np.concatenate(
        [rng.uniform(0.05, 1, 30), [0.9, 0.85, 0.8, 0.005, 0.01, 0.3, 0.3, 0.01, 0.01]]
    )
    return boxes, scores


def check_soft_nms(fn: Callable, seed: int | None = None) -> None:
    """Exercise 12.4: Gaussian soft-NMS against a loop-by-loop reference."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        boxes, scores = _soft_nms_input(rng)
        keep, kept_scores = _soft_nms_reference(boxes, scores, 0.5, 0.01)
        got = call(fn, boxes.copy(), scores.copy(), 0.5, 0.01)
        if not (isinstance(got, tuple) and len(got) == 2):
            return False, "soft_nms should return two arrays: (indices, scores)"
        got_keep = np.asarray(got[0]).reshape(-1)
        detail = (
            f"39 boxes (30 around 5 objects, 9 set apart), sigma 0.5, threshold 0.01: "
            f"{len(keep)} picked"
        )
        if got_keep.shape != keep.shape or not np.array_equal(got_keep, keep):
            first = next(
                (i for i, (a, b) in enumerate(zip(got_keep, keep, strict=False)) if a != b),
                min(len(got_keep), len(keep)),
            )
            detail += (
                f"; you pick {len(got_keep)}; the first difference is pick number "
                f"{first + 1} (counting from 1): yours box "
                f"{got_keep[first] if first < len(got_keep) else 'none'}, expected box "
                f"{keep[first] if first < len(keep) else 'none'}"
            )
            picked = [int(i) for i in got_keep]
            if 33 in picked:
                detail += (
                    "; box 33 starts below the threshold (0.005 < 0.01): it is dropped "
                    "before the first round"
                )
            elif 34 not in picked:
                detail += "; box 34 starts exactly at the threshold: 0.01 >= 0.01 keeps it"
            elif [i for i in picked if i in (35, 36)] == [36, 35]:
                detail += "; boxes 35 and 36 tie at 0.3: the lower index goes first"
            elif 38 in picked:
                detail += (
                    "; box 38 is box 37's twin: once 37 is picked, its score falls to "
                    "0.01 x exp(-1/0.5) = 0.0014, below the threshold: drop it then"
                )
            elif [i for i in picked if i in (30, 31, 32)] == [30, 31, 32]:
                detail += (
                    "; boxes 30, 31, 32 came out in their original score order: each round "
                    "picks the highest score *after* the decays so far"
                )
            return False, detail
        passed, how = compare(got[1], kept_scores, rtol=1e-9, what="your scores")
        return passed, f"{detail}, same order; scores: {how}"

    run("12.4 (soft-NMS)", body, seed=seed, repeat="ch12.check_soft_nms(soft_nms, seed={seed})")
