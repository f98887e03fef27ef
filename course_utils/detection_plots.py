"""Pictures for the detection chapter: detections on an image, with the YOLO grid if wanted."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_utils.boxes import draw_boxes


def draw_grid(ax: plt.Axes, image_size: int, grid_size: int, color: str = "gray") -> None:
    """Draw the lines of a grid_size x grid_size grid over an image_size x image_size image."""
    for k in range(grid_size + 1):
        # imshow puts pixel centres on integers, so pixel edges sit at -0.5
        ax.axhline(k * image_size / grid_size - 0.5, color=color, lw=0.5)
        ax.axvline(k * image_size / grid_size - 0.5, color=color, lw=0.5)


def show_detections(
    image: np.ndarray,
    boxes: np.ndarray,
    scores: Sequence[float],
    classes: Sequence[int],
    class_names: Sequence[str],
    title: str = "",
    grid_size: int | None = None,
) -> plt.Axes:
    """Show an image with its detections (boxes as fractions of the image), each labelled."""
    size = image.shape[0]
    _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(image)
    if grid_size:
        draw_grid(ax, size, grid_size)
    labels = [f"{class_names[c]} {s:.2f}" for c, s in zip(classes, scores)]
    if len(boxes):
        pixels = np.asarray(boxes, dtype=float) * size
        draw_boxes(ax, pixels, color="red", linewidth=1.2, labels=labels)
    ax.set_title(title)
    ax.axis("off")
    return ax
