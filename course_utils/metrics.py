"""Segmentation metrics in NumPy: confusion matrix, IoU per class and mean IoU.

They agree with `keras.metrics.MeanIoU` (tests/test_metrics.py checks it) and work on whole
label maps after the fact, e.g. before and after a CRF, with an ignore label for void pixels.
"""

from __future__ import annotations

import numpy as np

# Pixels counted at a time: a whole validation set (1,000 label maps at 384x384 are 147 million
# pixels) at once would need several GB of int64 temporaries.
CHUNK_PIXELS = 1 << 22


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, ignore_label: int | None = 255
) -> np.ndarray:
    """(num_classes, num_classes) pixel counts: row = true class, column = predicted class.

    Both are label maps of class numbers (integers, or floats holding whole numbers);
    probabilities or scores are refused with an error that says how to turn them into labels.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"label maps differ in shape: y_true {y_true.shape}, y_pred {y_pred.shape}; "
            "take argmax over the class axis of the predictions first"
        )
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if not (np.issubdtype(values.dtype, np.integer) or values.dtype == bool):
            _check_whole_numbers(name, values)
    flat_true, flat_pred = y_true.reshape(-1), y_pred.reshape(-1)
    counts = np.zeros(num_classes**2, np.int64)
    for start in range(0, flat_true.size, CHUNK_PIXELS):
        t, p = flat_true[start : start + CHUNK_PIXELS], flat_pred[start : start + CHUNK_PIXELS]
        if ignore_label is not None:
            keep = t != ignore_label
            t, p = t[keep], p[keep]
        t, p = t.astype(np.int64), p.astype(np.int64)
        for name, values in (("y_true", t), ("y_pred", p)):
            if values.size and (values.min() < 0 or values.max() >= num_classes):
                raise ValueError(
                    f"{name} holds labels outside 0..{num_classes - 1} "
                    f"(found {values.min()}..{values.max()}); is num_classes right?"
                )
        counts += np.bincount(t * num_classes + p, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def _check_whole_numbers(name: str, values: np.ndarray) -> None:
    """Refuse label maps that hold anything but whole class numbers (probabilities, scores)."""
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"{name} has dtype {values.dtype}: pass label maps of class numbers")
    flat = values.reshape(-1)
    for start in range(0, flat.size, CHUNK_PIXELS):
        chunk = flat[start : start + CHUNK_PIXELS]
        bad = ~np.isfinite(chunk) | (chunk != np.round(chunk))
        if bad.any():
            raise ValueError(
                f"{name} holds {chunk[bad][0].item()!r}, which is not a class number "
                "(probabilities or scores?). Pass label maps: "
                "np.argmax(probabilities, axis=-1) for a softmax output, "
                "(probabilities > 0.5).astype(int) for a single sigmoid channel."
            )


def per_class_iou(confusion: np.ndarray) -> np.ndarray:
    """IoU = TP / (TP + FP + FN) per class; NaN for a class absent from truth and prediction."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def mean_iou(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, ignore_label: int | None = 255
) -> float:
    """Mean of the per-class IoUs over the classes that occur (as keras.metrics.MeanIoU does)."""
    iou = per_class_iou(confusion_matrix(y_true, y_pred, num_classes, ignore_label))
    if np.all(np.isnan(iou)):
        raise ValueError("no pixel left to score: every label is the ignore label")
    return float(np.nanmean(iou))
