"""Tests for course_utils.boxes: IoU on boxes worked out by hand, YOLO and offset round trips,
NMS against its definition and TensorFlow's own (where installed), SSD default boxes against
the paper's formulas."""

from __future__ import annotations

import os

import numpy as np
import pytest

from course_utils import boxes as bx

# --- IoU ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 0, 2, 2), (1, 1, 3, 3), 1 / 7),  # overlap 1, union 4 + 4 - 1
        ((0, 0, 2, 2), (2, 0, 4, 2), 0.0),  # touching edges: no area in common
        ((0, 0, 2, 2), (5, 5, 6, 6), 0.0),  # far apart
        ((0, 0, 4, 4), (1, 1, 3, 3), 4 / 16),  # containment: small area / big area
        ((0, 0, 2, 2), (0, 0, 2, 2), 1.0),  # identical
        ((0, 0, 4, 2), (2, 0, 6, 2), 4 / 12),  # half-overlap along x
    ],
)
def test_iou_on_boxes_worked_out_by_hand(a, b, expected):
    assert bx.box_iou(a, b)[0, 0] == pytest.approx(expected)
    assert bx.box_iou(b, a)[0, 0] == pytest.approx(expected)  # symmetric


def test_iou_matrix_shape_and_values():
    a = np.array([[0, 0, 2, 2], [0, 0, 4, 4]])
    b = np.array([[1, 1, 3, 3], [0, 0, 4, 4], [10, 10, 11, 11]])
    iou = bx.box_iou(a, b)
    assert iou.shape == (2, 3)
    np.testing.assert_allclose(iou, [[1 / 7, 4 / 16, 0], [4 / 16, 1, 0]])


def test_iou_of_empty_boxes_is_zero_not_nan():
    assert bx.box_iou((1, 1, 1, 1), (1, 1, 1, 1))[0, 0] == 0.0


def test_iou_refuses_centre_format_and_bad_shapes():
    with pytest.raises(ValueError, match="max corner below its min corner"):
        bx.box_iou((5, 5, 2, 2), (0, 0, 1, 1))
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        bx.box_iou(np.zeros((3, 5)), np.zeros((1, 4)))


def test_corner_centre_round_trip():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (20, 2))
    corners = np.concatenate([xy, xy + rng.uniform(1, 30, (20, 2))], axis=1)
    np.testing.assert_allclose(bx.centers_to_corners(bx.corners_to_centers(corners)), corners)
    np.testing.assert_allclose(bx.corners_to_centers([0, 0, 4, 2]), [[2, 1, 4, 2]])


# --- YOLO -------------------------------------------------------------------------------------


def test_yolo_encode_puts_the_box_in_the_right_cell():
    # centre (0.5, 0.3) on a 7x7 grid: column int(3.5) = 3, row int(2.1) = 2
    target = bx.yolo_encode(
        [[0.4, 0.2, 0.6, 0.4]], [1], grid_size=7, boxes_per_cell=2, num_classes=3
    )
    assert target.shape == (7, 7, 2 * 5 + 3)
    assert np.count_nonzero(target[..., 4]) == 1 and target[2, 3, 4] == 1.0
    np.testing.assert_allclose(target[2, 3, :5], [0.5, 0.1, 0.2, 0.2, 1.0], atol=1e-6)
    np.testing.assert_array_equal(target[2, 3, 10:], [0, 1, 0])
    assert target[2, 3, 9] == 0  # the second slot stays empty


def test_yolo_round_trip_and_class_score():
    corners = np.array([[0.05, 0.1, 0.3, 0.5], [0.5, 0.5, 0.95, 0.9], [0.6, 0.05, 0.7, 0.25]])
    labels = [2, 0, 1]
    target = bx.yolo_encode(corners, labels, grid_size=4, boxes_per_cell=2, num_classes=3)
    boxes, scores, classes = bx.yolo_decode(target, boxes_per_cell=2, num_classes=3)
    order = np.argsort(boxes[:, 0])
    np.testing.assert_allclose(boxes[order], corners[np.argsort(corners[:, 0])], atol=1e-6)
    np.testing.assert_array_equal(classes[order], np.array(labels)[np.argsort(corners[:, 0])])
    np.testing.assert_allclose(scores, 1.0)
    # class score = confidence x class probability
    target[..., 4] *= 0.8
    target[..., 10:] = np.where(target[..., 10:] > 0, 0.5, target[..., 10:])
    _, scores, _ = bx.yolo_decode(target, 2, 3, score_threshold=0.3)
    np.testing.assert_allclose(scores, 0.4, atol=1e-6)
    assert len(bx.yolo_decode(target, 2, 3, score_threshold=0.41)[0]) == 0


def test_yolo_refuses_two_objects_in_one_cell_and_pixel_boxes():
    with pytest.raises(ValueError, match="two objects have their centre in cell"):
        bx.yolo_encode([[0.1, 0.1, 0.2, 0.2], [0.12, 0.12, 0.18, 0.18]], [0, 1], 7, 2, 3)
    with pytest.raises(ValueError, match="fractions of the image"):
        bx.yolo_encode([[10, 10, 50, 50]], [0], 7, 2, 3)
    with pytest.raises(ValueError, match=r"\(S, S, 13\)"):
        bx.yolo_decode(np.zeros((7, 7, 12)), 2, 3)


# --- NMS --------------------------------------------------------------------------------------


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 80, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(5, 40, (n, 2))], axis=1)


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, to compare with its NMS; skipped where it is absent (Colab's TPU runtime)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("iou_threshold", [0.3, 0.5, 0.7])
def test_nms_follows_its_definition_without_tensorflow(seed, iou_threshold):
    """Greedy NMS, checked by what defines it: going down the scores, a box is kept exactly
    when no box kept before it overlaps it by more than the threshold."""
    rng = np.random.default_rng(seed)
    boxes, scores = _random_boxes(rng, 200), rng.uniform(0, 1, 200)
    keep = bx.non_max_suppression(boxes, scores, iou_threshold)
    assert 5 < len(keep) < 200  # some kept, some dropped
    iou = bx.box_iou(boxes, boxes)
    expected: list[int] = []
    for i in sorted(range(200), key=lambda i: -scores[i]):
        if all(iou[i, k] <= iou_threshold for k in expected):
            expected.append(i)
    np.testing.assert_array_equal(keep, expected)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("iou_threshold", [0.3, 0.5, 0.7])
def test_nms_equals_tensorflow_on_random_boxes(tf, seed, iou_threshold):
    rng = np.random.default_rng(seed)
    boxes, scores = _random_boxes(rng, 200), rng.uniform(0, 1, 200)
    ours = bx.non_max_suppression(
        boxes, scores, iou_threshold, max_output_size=50, score_threshold=0.2
    )
    theirs = tf.image.non_max_suppression(
        boxes.astype("float32"), scores.astype("float32"), 50, iou_threshold, score_threshold=0.2
    ).numpy()
    assert len(ours) > 5  # the comparison means something
    np.testing.assert_array_equal(ours, theirs)


def test_nms_boundaries_follow_tensorflow(tf):
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 0.5]], dtype="float32")  # IoU exactly 0.5
    scores = np.array([0.75, 0.5], dtype="float32")  # exact in float32 and float64
    for kwargs in (
        {"iou_threshold": 0.5},
        {"iou_threshold": 0.49},
        {"iou_threshold": 0.5, "score_threshold": 0.5},
    ):
        theirs = tf.image.non_max_suppression(boxes, scores, 10, **kwargs).numpy()
        np.testing.assert_array_equal(bx.non_max_suppression(boxes, scores, **kwargs), theirs)


def test_nms_keeps_one_of_a_cluster():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 1, 10, 11], [50, 50, 60, 60]])
    keep = bx.non_max_suppression(boxes, [0.6, 0.9, 0.7, 0.5], iou_threshold=0.5)
    np.testing.assert_array_equal(keep, [1, 3])


# --- SSD --------------------------------------------------------------------------------------


def test_ssd_scales_follow_the_paper():
    np.testing.assert_allclose(bx.ssd_scales(6), [0.2, 0.34, 0.48, 0.62, 0.76, 0.9])


def test_ssd_default_boxes_count_and_shapes():
    sizes, ratios = (4, 2, 1), (1.0, 2.0, 0.5)
    d = bx.ssd_default_boxes(sizes, ratios)
    assert d.shape == ((16 + 4 + 1) * (len(ratios) + 1), 4)
    # first cell of the 4x4 map: centre (1/8, 1/8); ratio 2 is wider than tall with area s^2
    s = 0.2
    np.testing.assert_allclose(d[0], [0.125, 0.125, s, s])
    np.testing.assert_allclose(d[1], [0.125, 0.125, s * np.sqrt(2), s / np.sqrt(2)])
    np.testing.assert_allclose(d[1, 2] * d[1, 3], s * s)
    np.testing.assert_allclose(d[3, 2:], [np.sqrt(0.2 * 0.55)] * 2)  # the extra a=1 box
    np.testing.assert_allclose(
        d[-1], [0.5, 0.5, np.sqrt(0.9), np.sqrt(0.9)]
    )  # last map: s_{m+1} = 1
    with pytest.raises(ValueError, match="positive"):
        bx.ssd_default_boxes((2,), (1.0, -2.0))
    with pytest.raises(ValueError, match="3 feature maps but 2 lists"):
        bx.ssd_default_boxes((4, 2, 1), [(1.0,), (1.0, 2.0)])


def test_ssd300_has_8732_default_boxes():
    # SSD300 (Liu et al. 2016): maps 38, 19, 10, 5, 3, 1 with 4 or 6 boxes per cell
    four, six = (1.0, 2.0, 0.5), (1.0, 2.0, 3.0, 0.5, 1 / 3)
    d = bx.ssd_default_boxes((38, 19, 10, 5, 3, 1), [four, six, six, six, four, four])
    assert d.shape == (8732, 4)


def test_matching_gives_every_object_a_default_box():
    defaults = np.array([[0, 0, 10, 10], [0, 0, 12, 12], [20, 20, 30, 30], [40, 40, 42, 42]])
    # object 0 overlaps defaults 0 and 1 well; object 1 overlaps default 3 poorly (IoU 4/100)
    gt = np.array([[0, 0, 11, 11], [40, 40, 50, 50]])
    m = bx.match_default_boxes(defaults, gt, iou_threshold=0.5)
    np.testing.assert_array_equal(m, [0, 0, -1, 1])
    assert (bx.match_default_boxes(defaults, np.zeros((0, 4))) == -1).all()


def test_matching_threshold_is_inclusive_and_best_matches_are_kept():
    # default 1 has IoU exactly 0.5 with the object: matched at threshold 0.5, not above it
    defaults = np.array([[0, 0, 4, 4], [0, 0, 4, 2], [10, 10, 12, 12]])
    gt = np.array([[0, 0, 4, 4]])
    np.testing.assert_array_equal(bx.match_default_boxes(defaults, gt, 0.5), [0, 0, -1])
    np.testing.assert_array_equal(bx.match_default_boxes(defaults, gt, 0.51), [0, -1, -1])
    # default 0 overlaps object 1 most (IoU 0.9, above the threshold) but is object 0's best
    # default box (IoU 0.6, against 0.5 for default 2): it stays object 0's
    defaults = np.array([[0, 0, 10, 10], [40, 40, 50, 50], [0, 1, 10, 10]])
    gt = np.array([[0, 0, 10, 6], [0, 1, 10, 10]])
    np.testing.assert_array_equal(bx.match_default_boxes(defaults, gt), [0, -1, 1])


def test_offsets_round_trip_and_zero_for_a_perfect_default():
    rng = np.random.default_rng(1)
    d = np.concatenate([rng.uniform(0, 1, (30, 2)), rng.uniform(0.05, 0.5, (30, 2))], axis=1)
    g = np.concatenate([rng.uniform(0, 1, (30, 2)), rng.uniform(0.05, 0.5, (30, 2))], axis=1)
    np.testing.assert_allclose(bx.decode_offsets(bx.encode_offsets(g, d), d), g, atol=1e-12)
    np.testing.assert_allclose(bx.encode_offsets(d, d), 0, atol=1e-12)
    np.testing.assert_allclose(
        bx.encode_offsets([0.6, 0.5, 0.4, 0.1], [0.5, 0.5, 0.2, 0.2]),
        [[0.5, 0.0, np.log(2), np.log(0.5)]],
    )


def test_match_detections_follows_voc_rules_by_hand():
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    truth_image = np.array([0, 0])
    dets = np.array(
        [
            [0, 0, 10, 10],  # score .9: hits truth 0
            [1, 0, 11, 10],  # score .8: truth 0 again -> duplicate, false positive
            [20, 20, 26, 30],  # score .7: IoU 0.6 with truth 1 -> true positive
            [40, 40, 50, 50],
        ]
    )  # score .95: nothing there -> false positive
    tp = bx.match_detections(dets, [0.9, 0.8, 0.7, 0.95], [0, 0, 0, 0], truth, truth_image)
    assert tp.tolist() == [0.0, 1.0, 0.0, 1.0]  # by falling score: .95, .9, .8, .7
    assert (
        bx.match_detections(dets, [0.9, 0.8, 0.7, 0.95], [1, 1, 1, 1], truth, truth_image).sum()
        == 0
    )
    # precision 0, 1/2, 1/3, 2/4 at recall 0, .5, .5, 1 -> non-increasing: .5 up to recall 1
    ap = bx.average_precision(dets, [0.9, 0.8, 0.7, 0.95], [0, 0, 0, 0], truth, truth_image)
    assert ap == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    assert bx.average_precision(dets[:1], [1.0], [0], truth[:1], [0]) == 1.0
    assert bx.average_precision(dets[3:], [1.0], [0], truth, truth_image) == 0.0
    with pytest.raises(ValueError, match="one score and one image id"):
        bx.match_detections(dets, [0.9], [0, 0, 0, 0], truth, truth_image)
    with pytest.raises(ValueError, match="no true boxes"):
        bx.average_precision(dets, [0.9] * 4, [0] * 4, np.zeros((0, 4)), [])


def test_average_precision_per_class_scores_each_class_on_its_own():
    from course_utils.datasets import Objects

    truth = Objects(
        np.array([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float),
        np.array([0, 1, 1]),
        np.array([0, 0, 1]),
    )
    found = bx.Detections(
        np.array([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float),
        np.array([0.9, 0.8, 0.7]),
        np.array([0, 0, 1]),
        np.array([0, 0, 1]),
    )
    # class 0: one hit, then a box on a class-1 object (a false positive for class 0): AP 1
    # class 1: one of two objects found: AP 0.5
    np.testing.assert_allclose(bx.average_precision_per_class(found, truth, 2), [1.0, 0.5])
    with pytest.raises(ValueError, match="no true boxes"):
        bx.average_precision_per_class(found, truth, 3)
