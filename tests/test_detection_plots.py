"""The detection pictures: one rectangle and one label per detection, at the right pixels."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from course_utils import detection_plots  # noqa: E402


def test_show_detections_draws_each_box_in_pixels_with_its_label():
    image = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0.5, 0.5, 0.9, 1.0]])
    ax = detection_plots.show_detections(
        image, boxes, [0.91, 0.4], [1, 0], ("disc", "square"), "t"
    )
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rects) == 2
    np.testing.assert_allclose([rects[0].get_x(), rects[0].get_y()], [10 - 0.5, 20 - 0.5])
    np.testing.assert_allclose([rects[1].get_width(), rects[1].get_height()], [40, 50])
    assert [t.get_text() for t in ax.texts] == ["square 0.91", "disc 0.40"]
    assert ax.get_title() == "t" and not ax.lines  # no grid unless asked
    plt.close("all")


def test_grid_lines_sit_on_cell_edges_and_no_boxes_is_fine():
    image = np.zeros((70, 70, 3), np.uint8)
    ax = detection_plots.show_detections(image, np.zeros((0, 4)), [], [], ("a",), grid_size=7)
    assert len(ax.lines) == 2 * 8 and not ax.patches
    horizontal = sorted(line.get_ydata()[0] for line in ax.lines[::2])
    np.testing.assert_allclose(horizontal, np.arange(8) * 10 - 0.5)
    plt.close("all")


def test_highlight_cell_fills_exactly_that_cell():
    _, ax = plt.subplots()
    ax.imshow(np.zeros((70, 70, 3), np.uint8))
    detection_plots.highlight_cell(ax, row=2, col=5, image_size=70, grid_size=7)
    (cell,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    np.testing.assert_allclose(
        [cell.get_x(), cell.get_y(), cell.get_width()], [50 - 0.5, 20 - 0.5, 10]
    )
    with np.testing.assert_raises(ValueError):
        detection_plots.highlight_cell(ax, row=7, col=0, image_size=70, grid_size=7)
    plt.close("all")


def test_labels_of_near_identical_boxes_are_stacked_not_piled():
    boxes = np.array(
        [[100, 100, 200, 200], [102, 101, 203, 199], [98, 103, 201, 202], [300, 100, 400, 200]]
    )
    positions = detection_plots.label_positions(boxes, line_height=10, label_width=40)
    ys = sorted(y for x, y in positions[:3])
    assert all(b - a >= 10 for a, b in itertools.pairwise(ys))  # a line apart
    assert positions[3] == (299.5, 98.5)  # a box elsewhere keeps its place


def test_detection_grid_shows_truth_and_detections_of_each_image():
    from course_utils.boxes import Detections
    from course_utils.datasets import Objects

    images = np.zeros((3, 50, 50, 3), np.uint8)
    truth = Objects(
        np.array([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.4, 0.6]]), np.array([0, 1]), np.array([0, 2])
    )
    found = Detections(
        np.array([[0.1, 0.1, 0.5, 0.5], [0.5, 0.5, 0.9, 0.9], [0, 0, 1, 1]]),
        np.array([0.9, 0.35, 0.5]),
        np.array([0, 1, 1]),
        np.array([0, 0, 2]),
    )
    fig = detection_plots.show_detection_grid(images, found, truth, ("cat", "dog"), ncols=2)
    axes = fig.axes
    assert len(axes) == 4 and not axes[3].images  # the fourth panel stays empty
    first = [p for p in axes[0].patches if isinstance(p, Rectangle)]
    assert len(first) == 3 and first[0].get_edgecolor()[:3] == (0.0, 1.0, 0.0)  # truth in lime
    np.testing.assert_allclose([first[1].get_x(), first[1].get_width()], [5 - 0.5, 20])
    assert [t.get_text() for t in axes[0].texts] == ["cat 0.90", "dog 0.35"]
    assert (
        axes[1].get_title() == "0 objects, 0 found" and axes[2].get_title() == "1 objects, 1 found"
    )
    plt.close("all")
