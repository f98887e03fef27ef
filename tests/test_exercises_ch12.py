"""Chapter 12's exercise checks: the chapter's solutions pass, stubs and planted mistakes do not."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import boxes as bx
from course_utils.exercises import ch12
from exercise_support import chapter_functions, outcome, stub

SOLVED = chapter_functions("12_object_detection_basics")
SEEDS = [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_chapters_solutions_pass(capsys, seed):
    line = outcome(capsys, ch12.check_offsets, SOLVED["encode_offsets"], decode=SOLVED["decode_offsets"], seed=seed)
    assert line.startswith("PASS"), line
    for check, name in ((ch12.check_nms_per_class, "nms_per_class"), (ch12.check_hard_negatives, "hard_negatives"),
                        (ch12.check_soft_nms, "soft_nms")):
        line = outcome(capsys, check, SOLVED[name], seed=seed)
        assert line.startswith("PASS"), line


def test_stubs_are_not_done(capsys):
    assert outcome(capsys, ch12.check_offsets, stub, decode=stub).startswith("NOT DONE")
    assert outcome(capsys, ch12.check_offsets, SOLVED["encode_offsets"], decode=stub).startswith("NOT DONE")
    for check in (ch12.check_nms_per_class, ch12.check_hard_negatives, ch12.check_soft_nms):
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_soft_nms_reference_matches_tensorflow():
    """TensorFlow's soft-NMS decays by exp(-IoU² / (2 sigma)) and also drops boxes whose IoU is
    above iou_threshold: with iou_threshold=1 and half our sigma it is the same algorithm."""
    import tensorflow as tf

    rng = np.random.default_rng(7)
    boxes = ch12._clustered_boxes(rng, 5, 6)
    scores = rng.uniform(0.05, 1, len(boxes))
    keep, kept_scores = ch12._soft_nms_reference(boxes, scores, 0.5, 0.01)
    tf_keep, tf_scores = tf.image.non_max_suppression_with_scores(
        boxes.astype("float32"), scores.astype("float32"), len(boxes), iou_threshold=1.0,
        score_threshold=0.01, soft_nms_sigma=0.25)
    assert np.array_equal(keep, tf_keep.numpy())
    assert np.allclose(kept_scores, tf_scores.numpy(), atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_mistakes_fail(capsys, seed):
    def encode_by_truth_size(g, d):  # shift in units of the true box's size
        return np.concatenate([(g[:, :2] - d[:, :2]) / g[:, 2:], np.log(g[:, 2:] / d[:, 2:])], axis=1)

    def encode_no_log(g, d):
        return np.concatenate([(g[:, :2] - d[:, :2]) / d[:, 2:], g[:, 2:] / d[:, 2:]], axis=1)

    def decode_swapped(t, d):  # x offset scaled by the height and y by the width
        return np.concatenate([d[:, :2] + t[:, :2] * d[:, [3, 2]], d[:, 2:] * np.exp(t[:, 2:])], axis=1)

    line = outcome(capsys, ch12.check_offsets, encode_by_truth_size, decode=SOLVED["decode_offsets"], seed=seed)
    assert line.startswith("FAIL") and "default box's size" in line, line
    line = outcome(capsys, ch12.check_offsets, encode_no_log, decode=SOLVED["decode_offsets"], seed=seed)
    assert line.startswith("FAIL") and "log" in line, line
    line = outcome(capsys, ch12.check_offsets, SOLVED["encode_offsets"], decode=decode_swapped, seed=seed)
    assert line.startswith("FAIL"), line

    def plain_nms(boxes, scores, classes, iou_threshold=0.5):  # forgets the classes
        return bx.non_max_suppression(boxes, scores, iou_threshold)

    def class_by_class(boxes, scores, classes, iou_threshold=0.5):  # a loop, and class order
        keep = []
        for k in np.unique(classes):
            of_class = np.flatnonzero(classes == k)
            keep.extend(of_class[bx.non_max_suppression(boxes[of_class], scores[of_class], iou_threshold)])
        return np.array(keep)

    def class_by_class_sorted(boxes, scores, classes, iou_threshold=0.5):  # right, with a loop
        keep = np.concatenate([np.flatnonzero(classes == k)[bx.non_max_suppression(
            boxes[classes == k], scores[classes == k], iou_threshold)] for k in np.unique(classes)])
        return keep[np.argsort(-scores[keep])]

    def shifted_too_little(boxes, scores, classes, iou_threshold=0.5):  # classes still overlap
        return bx.non_max_suppression(boxes + 5.0 * classes[:, None], scores, iou_threshold)

    line = outcome(capsys, ch12.check_nms_per_class, plain_nms, seed=seed)
    assert line.startswith("FAIL") and "plain NMS" in line, line
    line = outcome(capsys, ch12.check_nms_per_class, class_by_class, seed=seed)
    assert line.startswith("FAIL") and "wrong order" in line, line
    line = outcome(capsys, ch12.check_nms_per_class, class_by_class_sorted, seed=seed)
    assert line.startswith("FAIL") and "loop" in line, line
    assert outcome(capsys, ch12.check_nms_per_class, shifted_too_little, seed=seed).startswith("FAIL")

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

    def no_cap(matches, loss, ratio=3):  # forgets that there may be fewer negatives than asked
        negative = matches == -1
        ranked = np.argsort(-np.where(negative, loss, -np.inf))
        mask = np.zeros(len(matches), bool)
        mask[ranked[:ratio * np.sum(~negative)]] = True
        return mask

    line = outcome(capsys, ch12.check_hard_negatives, easiest_negatives, seed=seed)
    assert line.startswith("FAIL") and "largest losses" in line, line
    line = outcome(capsys, ch12.check_hard_negatives, positives_compete, seed=seed)
    assert line.startswith("FAIL") and "positive default boxes" in line, line
    line = outcome(capsys, ch12.check_hard_negatives, no_cap, seed=seed)
    assert line.startswith("FAIL") and "crowded" in line, line

    def original_order(boxes, scores, sigma=0.5, score_threshold=0.001):  # never re-ranks
        scores = np.array(scores, float)
        keep = []
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] < score_threshold:
                continue
            keep.append(i)
            scores *= np.where(np.arange(len(scores)) == i, 1.0,
                               np.exp(-bx.box_iou(boxes[i], boxes)[0] ** 2 / sigma))
        return np.array(keep), scores[keep]

    def linear_decay(boxes, scores, sigma=0.5, score_threshold=0.001):
        scores, left, keep = np.array(scores, float), np.arange(len(scores)), []
        while len(left):
            best = left[np.argmax(scores[left])]
            keep.append(best)
            left = left[left != best]
            scores[left] *= 1 - bx.box_iou(boxes[best], boxes[left])[0]
            left = left[scores[left] >= score_threshold]
        return np.array(keep), scores[keep]

    def hard_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
        keep = bx.non_max_suppression(boxes, scores, 0.5)
        return keep, np.asarray(scores)[keep]

    line = outcome(capsys, ch12.check_soft_nms, original_order, seed=seed)
    assert line.startswith("FAIL") and "original score order" in line, line
    for wrong in (linear_decay, hard_nms):
        assert outcome(capsys, ch12.check_soft_nms, wrong, seed=seed).startswith("FAIL"), wrong.__name__
