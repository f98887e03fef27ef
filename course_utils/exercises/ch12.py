"""Checks for chapter 12's exercises: SSD box offsets by hand, per-class NMS in one call, SSD's
hard negative mining, and Gaussian soft-NMS."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import boxes as bx
from .checking import call, compare, fresh_seed, run, uses_a_loop


def _centre_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """n boxes (cx, cy, w, h) with widths and heights that differ a lot (non-square)."""
    return np.concatenate([rng.uniform(0, 1, (n, 2)), rng.uniform(0.05, 0.3, (n, 1)),
                           rng.uniform(0.4, 0.9, (n, 1))], axis=1)


def check_offsets(encode: Callable, decode: Callable, seed: int | None = None) -> None:
    """Exercise 12.1: encode_offsets and decode_offsets against boxes.encode_offsets and
    boxes.decode_offsets, and decode(encode(box)) == box."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(5, 12))
        defaults, truth = _centre_boxes(rng, n), _centre_boxes(rng, n)[:, [0, 1, 3, 2]]
        expected = bx.encode_offsets(truth, defaults)
        got = call(encode, truth, defaults)
        passed, how = compare(got, expected, rtol=1e-9, what="encode_offsets")
        if not passed:
            g = np.asarray(got, float)
            by_truth = (truth[:, :2] - defaults[:, :2]) / truth[:, 2:]
            if g.shape == expected.shape and np.allclose(g[:, :2], by_truth):
                how += " (the centre shift is measured in units of the default box's size)"
            elif g.shape == expected.shape and np.allclose(g[:, 2:], truth[:, 2:] / defaults[:, 2:]):
                how += " (the size offsets are the log of the size ratio)"
            return False, how
        offsets = rng.normal(0, 0.5, (n, 4))
        passed, how_dec = compare(call(decode, offsets, defaults), bx.decode_offsets(offsets, defaults),
                                  rtol=1e-9, what="decode_offsets on random offsets")
        if not passed:
            return False, how_dec
        passed, how_trip = compare(call(decode, call(encode, truth, defaults), defaults), truth,
                                   rtol=1e-9, what="decode_offsets(encode_offsets(box))")
        return passed, (f"{n} boxes with their default boxes: encode {how}, decode {how_dec}, "
                        f"round trip {how_trip}")

    run("12.1 (box offsets)", body, seed=seed,
        repeat="ch12.check_offsets(encode_offsets, decode_offsets, seed={seed})")


def _clustered_boxes(rng: np.random.Generator, n_objects: int, per_object: int) -> np.ndarray:
    """Corner boxes jittered around a few objects, so that many boxes overlap."""
    centre = np.repeat(rng.uniform(20, 80, (n_objects, 2)), per_object, axis=0)
    centre += rng.normal(0, 3, centre.shape)
    half = np.repeat(rng.uniform(5, 15, (n_objects, 2)), per_object, axis=0) * rng.uniform(0.8, 1.2, centre.shape)
    return np.concatenate([centre - half, centre + half], axis=1)


def _nms_per_class_reference(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray,
                             iou_threshold: float) -> np.ndarray:
    keep = []
    for k in np.unique(classes):
        of_class = np.flatnonzero(classes == k)
        keep.extend(of_class[bx.non_max_suppression(boxes[of_class], scores[of_class], iou_threshold)])
    kept = np.array(keep, dtype=int)
    return kept[np.argsort(-scores[kept], kind="stable")]


def check_nms_per_class(fn: Callable, seed: int | None = None) -> None:
    """Exercise 12.2: per-class NMS, best score first, without a loop, against NMS class by class."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        boxes = _clustered_boxes(rng, 6, 8)
        scores, classes = rng.uniform(0, 1, len(boxes)), rng.integers(0, 3, len(boxes))
        expected = _nms_per_class_reference(boxes, scores, classes, 0.5)
        got = np.asarray(call(fn, boxes, scores, classes, 0.5)).reshape(-1)
        detail = f"48 boxes around 6 objects, 3 classes: {len(expected)} kept"
        if got.shape != expected.shape or set(got.tolist()) != set(expected.tolist()):
            plain = bx.non_max_suppression(boxes, scores, 0.5)
            hint = (" (that is plain NMS: boxes of different classes suppress each other)"
                    if set(got.tolist()) == set(plain.tolist()) else "")
            missing = sorted(set(expected.tolist()) - set(got.tolist()))[:5]
            extra = sorted(set(got.tolist()) - set(expected.tolist()))[:5]
            which = ", ".join(f"{word} for example {ids}" for word, ids in
                              (("missing", missing), ("extra", extra)) if ids)
            return False, f"{detail}; you keep {len(got)} boxes ({which}){hint}"
        if not np.array_equal(got, expected):
            return False, f"{detail}: the right boxes, in the wrong order (best score first, all classes together)"
        if uses_a_loop(fn):
            return False, f"{detail}: right boxes, but {fn.__name__} uses a Python loop or comprehension"
        return True, f"{detail}, the same boxes in the same order as NMS run class by class"

    run("12.2 (per-class NMS in one call)", body, seed=seed,
        repeat="ch12.check_nms_per_class(nms_per_class, seed={seed})")


def _hard_negatives_reference(matches: np.ndarray, loss: np.ndarray, ratio: int) -> np.ndarray:
    negatives = np.flatnonzero(matches == -1)
    n_keep = min(ratio * int(np.sum(matches >= 0)), len(negatives))
    mask = np.zeros(len(matches), bool)
    mask[negatives[np.argsort(-loss[negatives])[:n_keep]]] = True
    return mask


def check_hard_negatives(fn: Callable, seed: int | None = None) -> None:
    """Exercise 12.3: SSD's hard negative mining, on a sparse and on a crowded scene."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        parts = []
        for name, n, n_pos in (("sparse", 500, int(rng.integers(5, 20))), ("crowded", 60, 40)):
            matches = np.full(n, -1)
            matches[rng.choice(n, n_pos, replace=False)] = rng.integers(0, 4, n_pos)
            # a default box on an object has a high background loss once the network sees it
            loss = np.where(matches >= 0, rng.uniform(2, 6, n), rng.exponential(0.7, n))
            expected = _hard_negatives_reference(matches, loss, 3)
            got = np.asarray(call(fn, matches, loss, 3))
            if got.shape != expected.shape or got.dtype != bool:
                return False, (f"{name} scene: your answer has shape {got.shape} and dtype {got.dtype}, "
                               f"expected a boolean mask of shape {expected.shape}")
            if np.array_equal(got, expected):
                parts.append(f"{name}: {n_pos} positives, {expected.sum()} of {n - n_pos} negatives kept")
                continue
            detail = (f"{name} scene ({n} default boxes, {n_pos} positives): you keep {got.sum()} boxes, "
                      f"expected {expected.sum()}")
            if np.any(got & (matches >= 0)):
                detail += "; your mask includes positive default boxes (only background ones compete)"
            elif got.sum() == expected.sum() and loss[got].mean() < loss[expected].mean():
                detail += (f"; mean loss of yours {loss[got].mean():.2f} against {loss[expected].mean():.2f}:"
                           " keep the largest losses")
            return False, detail
        return True, "; ".join(parts)

    run("12.3 (hard negative mining)", body, seed=seed,
        repeat="ch12.check_hard_negatives(hard_negatives, seed={seed})")


def _soft_nms_reference(boxes: np.ndarray, scores: np.ndarray, sigma: float,
                        score_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    scores = np.array(scores, float)
    left = list(range(len(scores)))
    keep, kept_scores = [], []
    while left:
        best = max(left, key=lambda i: (scores[i], -i))
        keep.append(best)
        kept_scores.append(scores[best])
        left.remove(best)
        for i in left:
            scores[i] *= np.exp(-bx.box_iou(boxes[best], boxes[i])[0, 0] ** 2 / sigma)
        left = [i for i in left if scores[i] >= score_threshold]
    return np.array(keep, dtype=int), np.array(kept_scores)


def check_soft_nms(fn: Callable, seed: int | None = None) -> None:
    """Exercise 12.4: Gaussian soft-NMS against a loop-by-loop reference."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        # three boxes far from the others: after the first is picked, the second's score
        # falls below the third's, so the picking order changes
        trio = np.array([[200, 200, 210, 210], [201, 200, 211, 210], [250, 250, 260, 260]], float)
        boxes = np.concatenate([_clustered_boxes(rng, 5, 6), trio])
        scores = np.concatenate([rng.uniform(0.05, 1, 30), [0.9, 0.85, 0.8]])
        keep, kept_scores = _soft_nms_reference(boxes, scores, 0.5, 0.01)
        got = call(fn, boxes, scores.copy(), 0.5, 0.01)
        if not (isinstance(got, tuple) and len(got) == 2):
            return False, "soft_nms should return two arrays: (indices, scores)"
        got_keep = np.asarray(got[0]).reshape(-1)
        detail = f"33 boxes around 6 objects, sigma 0.5, threshold 0.01: {len(keep)} picked"
        if got_keep.shape != keep.shape or not np.array_equal(got_keep, keep):
            first = next((i for i, (a, b) in enumerate(zip(got_keep, keep, strict=False)) if a != b),
                         min(len(got_keep), len(keep)))
            detail += (f"; you pick {len(got_keep)}, first difference at pick {first} "
                       f"(yours {got_keep[first] if first < len(got_keep) else 'none'}, "
                       f"expected {keep[first] if first < len(keep) else 'none'})")
            if [int(i) for i in got_keep if i >= 30] == [30, 31, 32]:
                detail += ("; boxes 30, 31, 32 came out in their original score order: each round "
                           "picks the highest score *after* the decays so far")
            return False, detail
        passed, how = compare(got[1], kept_scores, rtol=1e-9, what="your scores")
        return passed, f"{detail}, same order; scores: {how}"

    run("12.4 (soft-NMS)", body, seed=seed,
        repeat="ch12.check_soft_nms(soft_nms, seed={seed})")
