"""Segmentation metrics agree with keras.metrics.MeanIoU and fail loudly on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import metrics


def test_confusion_matrix_counts_rows_true_columns_predicted():
    y_true = np.array([[0, 0, 1], [2, 255, 1]])
    y_pred = np.array([[0, 1, 1], [1, 0, 2]])
    cm = metrics.confusion_matrix(y_true, y_pred, 3)
    expected = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 0]])  # the 255 pixel is not counted
    np.testing.assert_array_equal(cm, expected)


def test_iou_by_hand_on_a_worked_example():
    # class 0: TP 1, FP 0, FN 1 -> 1/2; class 1: TP 1, FP 2, FN 1 -> 1/4; class 2: TP 0 -> 0
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 2, 1])
    np.testing.assert_allclose(
        metrics.per_class_iou(metrics.confusion_matrix(y_true, y_pred, 3)), [0.5, 0.25, 0.0]
    )
    assert metrics.mean_iou(y_true, y_pred, 3) == pytest.approx(0.25)


def test_absent_classes_are_left_out_of_the_mean():
    y = np.array([0, 0, 1, 1])
    iou = metrics.per_class_iou(metrics.confusion_matrix(y, y, 4))
    assert np.isnan(iou[2]) and np.isnan(iou[3])
    assert metrics.mean_iou(y, y, 4) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_keras_mean_iou(seed):
    import keras

    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, size=(3, 17, 19))
    y_true[0, :4] = 255
    y_pred = np.where(
        rng.random(y_true.shape) < 0.6, y_true, rng.integers(0, 5, size=y_true.shape)
    )
    y_pred[y_pred == 255] = 0
    m = keras.metrics.MeanIoU(num_classes=5, ignore_class=255)
    m.update_state(y_true, y_pred)
    assert metrics.mean_iou(y_true, y_pred, 5) == pytest.approx(float(m.result()), abs=1e-6)


def test_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="argmax"):
        metrics.confusion_matrix(np.zeros((4, 4)), np.zeros((4, 4, 3)), 3)
    with pytest.raises(ValueError, match="num_classes"):
        metrics.confusion_matrix(np.array([0, 5]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="ignore label"):
        metrics.mean_iou(np.full((2, 2), 255), np.zeros((2, 2), int), 3)


def test_confusion_matrix_in_chunks_equals_one_pass(monkeypatch):
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, size=(5, 30, 30)).astype(np.uint8)
    y_true[1, :7] = 255
    y_pred = rng.integers(0, 4, size=y_true.shape).astype(np.uint8)
    keep = y_true != 255
    expected = np.bincount(y_true[keep].astype(int) * 4 + y_pred[keep], minlength=16).reshape(4, 4)
    monkeypatch.setattr(metrics, "CHUNK_PIXELS", 1000)  # 4,500 pixels: 5 chunks, the last short
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 4), expected)
    y_pred[4, -1, -1] = 7  # a bad label in the last chunk is still found
    with pytest.raises(ValueError, match="num_classes"):
        metrics.confusion_matrix(y_true, y_pred, 4)


def test_confusion_matrix_memory_does_not_grow_with_the_data():
    import tracemalloc

    y = np.zeros((200, 384, 384), np.uint8)  # 29.5 million pixels, 29.5 MB per label set
    tracemalloc.start()
    metrics.confusion_matrix(y, y, 3)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # in one pass, int64 copies of both label sets and their pair codes take 700 MB and more;
    # in chunks, a few int64 arrays of CHUNK_PIXELS (34 MB each)
    assert peak < 250e6, f"{peak / 1e6:.0f} MB"


def test_probabilities_are_refused_with_what_to_pass_instead():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=(2, 8, 8))
    sigmoid = rng.uniform(size=(2, 8, 8)).astype("float32")  # same shape: no shape error to help
    with pytest.raises(ValueError, match=r"y_pred holds .* not a class number.*np\.argmax"):
        metrics.mean_iou(y_true, sigmoid, 2)
    softmax = rng.dirichlet(np.ones(3), size=(2, 8, 8))
    one_hot = np.eye(3, dtype="int64")[rng.integers(0, 3, size=(2, 8, 8))]
    with pytest.raises(ValueError, match="argmax"):
        metrics.mean_iou(one_hot, softmax, 3)
    with pytest.raises(ValueError, match="y_true holds nan"):
        metrics.confusion_matrix(np.array([0.0, np.nan]), np.array([0, 1]), 2)
    # whole numbers stored as floats (a mask read as float32) are labels, and count as such
    as_float = y_true.astype("float32")
    assert metrics.mean_iou(as_float, y_true, 2) == 1.0
    assert metrics.mean_iou(y_true, (sigmoid > 0.5).astype(int), 2) == pytest.approx(
        metrics.mean_iou(y_true, sigmoid.round(), 2)
    )
