"""Bounding boxes for the detection chapter: IoU, the YOLO output grid, non-max suppression,
SSD default boxes and their matching, box offsets, precision-recall matching and average precision,
and drawing.

Convention: a box is four numbers. "Corners" means (x_min, y_min, x_max, y_max); "centres"
means (cx, cy, w, h). Coordinates may be pixels or fractions of the image, as long as all boxes
in one call use the same unit. Everything is plain NumPy, so each step can be read line by line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _as_boxes(boxes: np.ndarray | Sequence, name: str = "boxes") -> np.ndarray:
    """Return `boxes` as a float (N, 4) array, or raise a ValueError that says what is wrong."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(
            f"{name} must have shape (N, 4) (x_min, y_min, x_max, y_max); got shape {arr.shape}"
        )
    return arr


def _as_corners(boxes: np.ndarray | Sequence, name: str = "boxes") -> np.ndarray:
    """Like `_as_boxes`, and also check that every box has x_min <= x_max and y_min <= y_max."""
    arr = _as_boxes(boxes, name)
    bad = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}[{i}] = {arr[i].tolist()} has a max corner below its min corner: corners "
            "are (x_min, y_min, x_max, y_max). Boxes in (cx, cy, w, h) go through "
            "centers_to_corners first."
        )
    return arr


def corners_to_centers(boxes: np.ndarray) -> np.ndarray:
    """(x_min, y_min, x_max, y_max) -> (cx, cy, w, h)."""
    b = _as_corners(boxes)
    return np.stack(
        [(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]],
        axis=1,
    )


def centers_to_corners(boxes: np.ndarray) -> np.ndarray:
    """(cx, cy, w, h) -> (x_min, y_min, x_max, y_max)."""
    b = _as_boxes(boxes)
    if (b[:, 2:] < 0).any():
        raise ValueError("a box in (cx, cy, w, h) has a negative width or height")
    half = b[:, 2:] / 2
    return np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1)


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Area of each corner box, shape (N,)."""
    b = _as_corners(boxes)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `boxes_a` with every box in `boxes_b`: (N, M)."""
    a, b = _as_corners(boxes_a, "boxes_a"), _as_corners(boxes_b, "boxes_b")
    # The intersection of two axis-aligned boxes is the box between the larger min corner and
    # the smaller max corner; when they do not overlap its width or height goes negative.
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(bottom_right - top_left, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


# --- YOLO (v1) output grid -------------------------------------------------------------------


def yolo_encode(
    boxes: np.ndarray, labels: Sequence[int], grid_size: int, boxes_per_cell: int, num_classes: int
) -> np.ndarray:
    """Target tensor (S, S, B*5 + C) for boxes in corners, as fractions of the image.

    The cell that holds a box's centre is responsible for it. Each cell has B slots of
    (x, y, w, h, confidence): x, y are the centre's offset inside the cell (0..1), w, h the size
    as a fraction of the image; the object fills slot 0 with confidence 1. The last C numbers
    are the cell's class probabilities (one-hot here). YOLO v1 has one set of class
    probabilities per cell, so two objects whose centres share a cell cannot both be encoded.
    """
    S, B, C = grid_size, boxes_per_cell, num_classes
    corners = _as_corners(boxes)
    classes = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(classes) != len(corners):
        raise ValueError(f"{len(corners)} boxes but {len(classes)} labels")
    if corners.size and (corners.min() < 0 or corners.max() > 1):
        raise ValueError(
            "yolo_encode wants corners as fractions of the image (0..1): "
            "divide pixel corners by the image size"
        )
    if ((classes < 0) | (classes >= C)).any():
        raise ValueError(f"labels must be in 0..{C - 1}; got {classes.tolist()}")
    target = np.zeros((S, S, B * 5 + C), dtype=np.float32)
    for (cx, cy, w, h), label in zip(corners_to_centers(corners), classes, strict=True):
        col, row = min(int(cx * S), S - 1), min(int(cy * S), S - 1)
        if target[row, col, 4] > 0:
            raise ValueError(
                f"two objects have their centre in cell (row {row}, col {col}); YOLO v1 predicts "
                "one class per cell. Use a finer grid (larger S)."
            )
        # The object goes in slot 0. (In training, YOLO makes the slot whose prediction overlaps
        # the object most responsible for it; a target tensor only needs one.)
        target[row, col, 0:5] = (cx * S - col, cy * S - row, w, h, 1.0)
        target[row, col, B * 5 + label] = 1.0
    return target


def yolo_decode(
    output: np.ndarray, boxes_per_cell: int, num_classes: int, score_threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (corners, fractions), class scores and class ids from a (S, S, B*5 + C) tensor.

    The class score of a slot is confidence x class probability; a slot is kept when its best
    class score reaches `score_threshold`.
    """
    out = np.asarray(output, dtype=np.float64)
    B, C = boxes_per_cell, num_classes
    if out.ndim != 3 or out.shape[0] != out.shape[1] or out.shape[2] != B * 5 + C:
        raise ValueError(f"expected shape (S, S, B*5 + C) = (S, S, {B * 5 + C}); got {out.shape}")
    S = out.shape[0]
    boxes, scores, classes = [], [], []
    for row in range(S):
        for col in range(S):
            probs = out[row, col, B * 5 :]
            for slot in range(B):
                x, y, w, h, conf = out[row, col, slot * 5 : slot * 5 + 5]
                class_scores = conf * probs
                best = int(np.argmax(class_scores))
                if class_scores[best] >= score_threshold:
                    boxes.append(((col + x) / S, (row + y) / S, w, h))
                    scores.append(class_scores[best])
                    classes.append(best)
    if not boxes:
        return np.zeros((0, 4)), np.zeros((0,)), np.zeros((0,), dtype=np.int64)
    return centers_to_corners(np.array(boxes)), np.array(scores), np.array(classes, dtype=np.int64)


# --- non-max suppression -----------------------------------------------------------------------


def non_max_suppression(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float = 0.5,
    max_output_size: int | None = None,
    score_threshold: float = float("-inf"),
) -> np.ndarray:
    """Greedy NMS: indices of the kept boxes, best score first.

    Take the highest-scoring box left, keep it, drop every remaining box whose IoU with it is
    above `iou_threshold`, repeat. Boxes whose score is not above `score_threshold` are never
    kept. Same rules as `tf.image.non_max_suppression` (equal scores: lower index first).
    """
    b = _as_corners(boxes)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"{len(b)} boxes but {len(s)} scores")
    limit = len(b) if max_output_size is None else max_output_size
    order = np.argsort(-s, kind="stable")
    order = order[s[order] > score_threshold]
    keep: list[int] = []
    while order.size and len(keep) < limit:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlap = box_iou(b[best], b[rest])[0]
        order = rest[overlap <= iou_threshold]
    return np.array(keep, dtype=np.int64)


# --- SSD default boxes, matching and offsets ----------------------------------------------------


def ssd_scales(num_maps: int, s_min: float = 0.2, s_max: float = 0.9) -> np.ndarray:
    """SSD's box scale per feature map: s_k = s_min + (s_max - s_min)(k - 1)/(m - 1)."""
    if num_maps < 1:
        raise ValueError("need at least one feature map")
    if num_maps == 1:
        return np.array([s_min])
    return s_min + (s_max - s_min) * np.arange(num_maps) / (num_maps - 1)


def ssd_default_boxes(
    feature_map_sizes: Sequence[int],
    aspect_ratios: Sequence[float] | Sequence[Sequence[float]] = (1.0, 2.0, 0.5),
    s_min: float = 0.2,
    s_max: float = 0.9,
) -> np.ndarray:
    """SSD default (anchor) boxes in centres (cx, cy, w, h), as fractions of the image.

    For feature map k (size f_k x f_k) every cell centre ((j + 0.5)/f_k, (i + 0.5)/f_k) gets one
    box per aspect ratio a: w = s_k sqrt(a), h = s_k / sqrt(a), plus, for a = 1, one more box
    of scale sqrt(s_k s_{k+1}) (s_{m+1} = 1). `aspect_ratios` is one list for every map or one
    list per map. Order: map, row, column, ratio.
    """
    sizes = list(feature_map_sizes)
    flat = [float(a) for a in aspect_ratios if isinstance(a, (int, float))]
    lists = [[float(a) for a in r] for r in aspect_ratios if not isinstance(r, (int, float))]
    if flat and lists:
        raise ValueError("aspect_ratios: give one list of numbers, or one list per feature map")
    per_map = [flat] * len(sizes) if flat else lists
    if len(per_map) != len(sizes):
        raise ValueError(f"{len(sizes)} feature maps but {len(per_map)} lists of aspect ratios")
    if any(a <= 0 for ratios in per_map for a in ratios):
        raise ValueError(f"aspect ratios must be positive; got {per_map}")
    scales = ssd_scales(len(sizes), s_min, s_max)
    next_scales = np.append(scales[1:], 1.0)
    out = []
    for f, ratios, s, s_next in zip(sizes, per_map, scales, next_scales, strict=True):
        shapes = [(s * np.sqrt(a), s / np.sqrt(a)) for a in ratios]
        if 1.0 in ratios:
            shapes.append((np.sqrt(s * s_next),) * 2)
        for i in range(f):
            for j in range(f):
                for w, h in shapes:
                    out.append(((j + 0.5) / f, (i + 0.5) / f, w, h))
    return np.array(out, dtype=np.float64)


def match_default_boxes(
    default_corners: np.ndarray, gt_corners: np.ndarray, iou_threshold: float = 0.5
) -> np.ndarray:
    """For each default box, the index of the ground-truth box it must predict, or -1 (background).

    As in SSD: first every ground-truth box takes the default box it overlaps most (so no
    object is left without one); then every default box still unmatched whose best IoU is at
    least `iou_threshold` takes its best ground-truth box.
    """
    d = _as_corners(default_corners, "default_corners")
    g = _as_corners(gt_corners, "gt_corners")
    matches = np.full(len(d), -1, dtype=np.int64)
    if len(g) == 0:
        return matches
    iou = box_iou(d, g)  # (D, G)
    for k, best_default in enumerate(iou.argmax(axis=0)):
        matches[best_default] = k  # two objects with the same best default box: the later one
    best_gt = iou.argmax(axis=1)
    rest = (matches == -1) & (iou[np.arange(len(d)), best_gt] >= iou_threshold)
    matches[rest] = best_gt[rest]
    return matches


def encode_offsets(gt_centers: np.ndarray, default_centers: np.ndarray) -> np.ndarray:
    """SSD / Faster R-CNN regression targets: (gx-dx)/dw, (gy-dy)/dh, log(gw/dw), log(gh/dh)."""
    g, d = _as_boxes(gt_centers, "gt_centers"), _as_boxes(default_centers, "default_centers")
    if (g[:, 2:] <= 0).any() or (d[:, 2:] <= 0).any():
        raise ValueError("widths and heights must be positive to take their log")
    return np.concatenate([(g[:, :2] - d[:, :2]) / d[:, 2:], np.log(g[:, 2:] / d[:, 2:])], axis=1)


def decode_offsets(offsets: np.ndarray, default_centers: np.ndarray) -> np.ndarray:
    """Inverse of `encode_offsets`: predicted offsets + default boxes -> boxes in centres."""
    t, d = _as_boxes(offsets, "offsets"), _as_boxes(default_centers, "default_centers")
    return np.concatenate([d[:, :2] + t[:, :2] * d[:, 2:], d[:, 2:] * np.exp(t[:, 2:])], axis=1)


# --- scoring detections ------------------------------------------------------------------------


class Detections(NamedTuple):
    """A detector's output on a set of images, one row per box: corners (fractions of the
    image), score, class id, and the index of the image it was found in."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    image: np.ndarray


class Truth(Protocol):
    """What the scoring needs of the true objects (`datasets.Objects` has it)."""

    boxes: np.ndarray
    labels: np.ndarray
    image: np.ndarray


def match_detections(
    det_boxes: np.ndarray,
    det_scores: np.ndarray,
    det_image: np.ndarray,
    truth_boxes: np.ndarray,
    truth_image: np.ndarray,
    iou_threshold: float = 0.5,
) -> np.ndarray:
    """1.0 (true positive) or 0.0 (false positive) per detection, in order of falling score.

    PASCAL VOC's rule: a detection matches the truth of its image it overlaps most; it is a true
    positive when that IoU reaches `iou_threshold` and that truth was not matched by a
    higher-scored detection already.
    """
    det_boxes, truth_boxes = np.asarray(det_boxes, float), np.asarray(truth_boxes, float)
    det_image, truth_image = np.asarray(det_image), np.asarray(truth_image)
    if not len(det_boxes) == len(det_scores) == len(det_image):
        raise ValueError(
            f"{len(det_boxes)} boxes, {len(det_scores)} scores, {len(det_image)} image ids: "
            "give one score and one image id per detection"
        )
    order = np.argsort(-np.asarray(det_scores, float), kind="stable")
    used: set[int] = set()
    tp = np.zeros(len(order))
    for rank, d in enumerate(order):
        candidates = np.flatnonzero(truth_image == det_image[d])
        if len(candidates) == 0:
            continue
        ious = box_iou(det_boxes[d : d + 1], truth_boxes[candidates])[0]
        best = int(candidates[ious.argmax()])
        if ious.max() >= iou_threshold and best not in used:
            used.add(best)
            tp[rank] = 1.0
    return tp


def average_precision(
    det_boxes: np.ndarray,
    det_scores: np.ndarray,
    det_image: np.ndarray,
    truth_boxes: np.ndarray,
    truth_image: np.ndarray,
    iou_threshold: float = 0.5,
) -> float:
    """AP of one class, PASCAL VOC 2010+ style: the area under the precision-recall curve after
    precision is made non-increasing (all points, no 11-point sampling)."""
    if len(truth_boxes) == 0:
        raise ValueError("no true boxes: AP is undefined for a class that never appears")
    tp = match_detections(
        det_boxes, det_scores, det_image, truth_boxes, truth_image, iou_threshold
    )
    hits = np.cumsum(tp)
    precision = np.concatenate([[0.0], hits / np.arange(1, len(tp) + 1), [0.0]])
    recall = np.concatenate([[0.0], hits / len(truth_boxes), [1.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def average_precision_per_class(
    found: Detections, truth: Truth, num_classes: int, iou_threshold: float = 0.5
) -> np.ndarray:
    """AP of each class (num_classes,): its detections against its true objects; mAP is the
    mean."""
    aps = []
    for k in range(num_classes):
        mine, theirs = found.classes == k, truth.labels == k
        aps.append(
            average_precision(
                found.boxes[mine],
                found.scores[mine],
                found.image[mine],
                truth.boxes[theirs],
                truth.image[theirs],
                iou_threshold,
            )
        )
    return np.array(aps)


# --- drawing ------------------------------------------------------------------------------------


def draw_boxes(
    ax: Axes,
    boxes: np.ndarray,
    color: str = "lime",
    labels: Sequence[str] | None = None,
    linewidth: float = 2.0,
    linestyle: str = "-",
) -> None:
    """Draw corner boxes (in the image's pixel units) on a matplotlib axis."""
    from matplotlib.patches import Rectangle

    for i, (x0, y0, x1, y1) in enumerate(_as_corners(boxes)):
        # imshow puts pixel centres on integers, so pixel edges sit at -0.5
        ax.add_patch(
            Rectangle(
                (x0 - 0.5, y0 - 0.5),
                x1 - x0,
                y1 - y0,
                fill=False,
                edgecolor=color,
                linewidth=linewidth,
                linestyle=linestyle,
            )
        )
        if labels is not None:
            ax.text(
                x0 - 0.5,
                y0 - 1.5,
                str(labels[i]),
                color="white",
                fontsize=8,
                bbox={"facecolor": color, "alpha": 0.8, "pad": 1, "edgecolor": "none"},
            )
