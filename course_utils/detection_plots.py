"""Pictures for the detection chapter: detections on an image, with the YOLO grid if wanted."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_utils.boxes import Detections, Truth, draw_boxes


def draw_grid(ax: plt.Axes, image_size: int, grid_size: int, color: str = "gray") -> None:
    """Draw the lines of a grid_size x grid_size grid over an image_size x image_size image."""
    for k in range(grid_size + 1):
        # imshow puts pixel centres on integers, so pixel edges sit at -0.5
        ax.axhline(k * image_size / grid_size - 0.5, color=color, lw=0.5)
        ax.axvline(k * image_size / grid_size - 0.5, color=color, lw=0.5)


def highlight_cell(
    ax: plt.Axes, row: int, col: int, image_size: int, grid_size: int, color: str = "yellow"
) -> None:
    """Fill grid cell (row, col) of a grid_size x grid_size grid over the image, half
    transparent."""
    from matplotlib.patches import Rectangle

    if not (0 <= row < grid_size and 0 <= col < grid_size):
        raise ValueError(f"cell (row {row}, col {col}) is outside a {grid_size}x{grid_size} grid")
    cell = image_size / grid_size
    ax.add_patch(
        Rectangle(
            (col * cell - 0.5, row * cell - 0.5),
            cell,
            cell,
            facecolor=color,
            alpha=0.4,
            edgecolor=color,
            linewidth=1.5,
        )
    )


def label_positions(
    pixels: np.ndarray, line_height: float, label_width: float | None = None
) -> list[tuple[float, float]]:
    """Where each box's label goes (its bottom-left corner): just above the box's top-left corner,
    moved down a line at a time until it overlaps no label placed before it, so near-identical
    boxes get a column of labels, not a pile."""
    pixels = np.asarray(pixels, dtype=float)
    width = label_width if label_width is not None else 4 * line_height
    placed: list[tuple[float, float]] = []
    for x0, y0, _, _ in pixels:
        x, y = x0 - 0.5, y0 - 1.5
        while any(abs(x - px) < width and abs(y - py) < line_height for px, py in placed):
            y += line_height
        placed.append((x, y))
    return placed


def show_detections(
    image: np.ndarray,
    boxes: np.ndarray,
    scores: Sequence[float],
    classes: Sequence[int],
    class_names: Sequence[str],
    title: str = "",
    grid_size: int | None = None,
    figsize: float = 6.5,
) -> plt.Axes:
    """Show an image with its detections (boxes as fractions of the image), each labelled."""
    size = image.shape[0]
    _, ax = plt.subplots(figsize=(figsize, figsize))
    ax.imshow(image)
    if grid_size:
        draw_grid(ax, size, grid_size)
    labels = [f"{class_names[c]} {s:.2f}" for c, s in zip(classes, scores, strict=True)]
    if len(boxes):
        pixels = np.asarray(boxes, dtype=float) * size
        draw_boxes(ax, pixels, color="red", linewidth=1.2)
        for (x, y), label in zip(
            label_positions(pixels, line_height=0.032 * size), labels, strict=True
        ):
            ax.text(
                x,
                y,
                label,
                color="white",
                fontsize=8,
                va="bottom",
                bbox={"facecolor": "red", "alpha": 0.8, "pad": 1, "edgecolor": "none"},
            )
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_detection_grid(
    images: np.ndarray,
    found: Detections,
    truth: Truth,
    class_names: Sequence[str],
    ncols: int = 4,
    title: str = "",
) -> plt.Figure:
    """The first images with their true boxes (green) and the detections (red, dashed, with
    class and score); boxes as fractions of the image."""
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.3 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        size = images[i].shape[0]
        ax.imshow(images[i])
        draw_boxes(ax, truth.boxes[truth.image == i] * size, color="lime", linewidth=1.5)
        mine = np.flatnonzero(found.image == i)
        if len(mine):
            pixels = found.boxes[mine] * size
            draw_boxes(ax, pixels, color="red", linewidth=1.2, linestyle="--")
            for (x, y), k in zip(
                label_positions(pixels, line_height=0.07 * size), mine, strict=True
            ):
                ax.text(
                    x,
                    y,
                    f"{class_names[found.classes[k]]} {found.scores[k]:.2f}",
                    color="white",
                    fontsize=7,
                    va="bottom",
                    bbox={"facecolor": "red", "alpha": 0.7, "pad": 1, "edgecolor": "none"},
                )
        ax.set_title(f"{np.sum(truth.image == i)} objects, {len(mine)} found", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
