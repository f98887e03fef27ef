"""The generated stand-ins: deterministic per seed, well formed, and exact: masks follow the
image edges, boxes hold their objects (as corners, like course_utils.boxes)."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.boxes import box_area
from course_utils.datasets import synthetic


def test_cifar10_standin_classes_are_balanced_and_the_noise_is_smooth():
    images, labels = synthetic.cifar10_standin(100, seed=0)
    assert images.shape == (100, 32, 32, 3) and np.array_equal(
        np.bincount(labels), np.full(10, 10)
    )
    grid = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype(np.float32)
    noise = synthetic.smooth_noise(grid, 32)
    assert noise.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(noise[:, ::31, ::31], grid[:, ::3, ::3], rtol=1e-5)  # corners kept
    assert np.abs(np.diff(noise, axis=1)).max() < np.abs(np.diff(grid, axis=1)).max() / 5


def test_generated_scenes_are_deterministic_and_well_formed():
    x1, y1 = synthetic.shapes_scenes(30, seed=5)
    x2, y2 = synthetic.shapes_scenes(30, seed=5)
    x3, _ = synthetic.shapes_scenes(30, seed=6)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert x1.shape == (30, 64, 64, 3) and x1.dtype == np.uint8
    assert y1.shape == (30, 64, 64) and y1.dtype == np.uint8
    assert set(np.unique(y1)) == {0, 1, 2, 3}
    assert all((m > 0).any() for m in y1), "every scene holds at least one object"


def test_masks_follow_the_image_edges_exactly():
    """Across a mask boundary the colour jumps; inside an object it does not. Shifting the masks
    by one pixel (as a misaligned generator would) destroys that contrast."""
    images, masks = synthetic.shapes_scenes(40, seed=2)

    def edge_contrast(shift: int) -> float:
        m = np.roll(masks, shift, axis=2)
        img = images.astype(np.float32)
        step = np.abs(img[:, :, 1:] - img[:, :, :-1]).sum(
            -1
        )  # colour change to the right neighbour
        boundary = m[:, :, 1:] != m[:, :, :-1]
        inside = (m[:, :, 1:] == m[:, :, :-1]) & (m[:, :, 1:] > 0)
        return float(step[boundary].mean() / step[inside].mean())

    assert edge_contrast(0) > 4.0
    assert edge_contrast(1) < 0.6 * edge_contrast(0)


def test_colour_does_not_name_the_class():
    """Every class draws its colours from one distribution: told each class's mean colour on half
    of the objects, a nearest-mean classifier names the other half's classes no better than
    chance (1 in 3), while the objects still stand out from what they cover (test above)."""
    images, masks = synthetic.shapes_scenes(300, seed=3)
    colours, kinds = [], []
    for image, mask in zip(images, masks, strict=True):
        for kind in (1, 2, 3):
            if (mask == kind).sum() > 30:  # visible enough to have a colour
                colours.append(np.median(image[mask == kind], axis=0))
                kinds.append(kind)
    colours, kinds = np.array(colours, np.float32), np.array(kinds)
    half = len(kinds) // 2
    means = np.stack([colours[:half][kinds[:half] == k].mean(axis=0) for k in (1, 2, 3)])
    guess = 1 + ((colours[half:, None] - means[None]) ** 2).sum(-1).argmin(axis=1)
    assert len(kinds) > 300 and (guess == kinds[half:]).mean() < 0.45


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="n >= 1"):
        synthetic.shapes_scenes(0)


def test_clutter_scenes_put_each_object_inside_its_box():
    images, present, boxes = synthetic.clutter_scenes(80, image_size=48, seed=7)
    again = synthetic.clutter_scenes(80, image_size=48, seed=7)
    np.testing.assert_array_equal(images, again[0])
    assert (box_area(boxes[present == 1]) == 13 * 13).all()  # valid corners for course_utils.boxes
    assert {tuple(p) for p in present.astype(int).tolist()} == {(0, 0), (1, 0), (0, 1), (1, 1)}
    for image, here, scene_boxes in zip(images[..., 0], present, boxes, strict=True):
        object_pixels = image >= 0.95  # objects are drawn at 0.95, clutter at most 0.9
        inside = np.zeros_like(object_pixels)
        for on, (left, top, right, bottom) in zip(
            here, scene_boxes, strict=True
        ):  # corners, as boxes.py
            if not on:
                assert (bottom, right) == (0, 0)
                continue
            assert (bottom - top, right - left) == (13, 13)
            assert object_pixels[top:bottom, left:right].sum() > 20
            inside[top:bottom, left:right] = True
        assert not (object_pixels & ~inside).any()
        if here.all():  # two objects never overlap
            (l0, t0, _, _), (l1, t1, _, _) = scene_boxes
            assert abs(t0 - t1) >= 13 or abs(l0 - l1) >= 13


def test_detector_output_is_reproducible_and_imperfect():
    from course_utils import boxes as bx

    a, b = synthetic.detector_output(30, seed=3), synthetic.detector_output(30, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert len(a["det_boxes"]) == len(a["det_scores"]) == len(a["det_image"])
    assert set(a["truth_image"]) == set(range(30))
    ap = bx.average_precision(
        a["det_boxes"], a["det_scores"], a["det_image"], a["truth_boxes"], a["truth_image"]
    )
    assert 0.3 < ap < 0.95  # some misses, some false alarms: neither useless nor perfect


def test_detection_scenes_are_deterministic_with_one_centre_per_grid_cell():
    x1, o1 = synthetic.detection_scenes(40, seed=3)
    x2, o2 = synthetic.detection_scenes(40, seed=3)
    x3, _ = synthetic.detection_scenes(40, seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(o1.boxes, o2.boxes)
    assert not np.array_equal(x1, x3)
    assert x1.shape == (40, 64, 64, 3) and x1.dtype == np.uint8
    per_image = np.bincount(o1.image, minlength=40)
    assert per_image.min() >= 2 and per_image.max() <= 5
    assert set(o1.labels.tolist()) == {0, 1, 2} and len(synthetic.SCENE_CLASSES) == 3
    assert (o1.boxes >= 0).all() and (o1.boxes <= 1).all() and (box_area(o1.boxes) > 0).all()
    centres = (o1.boxes[:, :2] + o1.boxes[:, 2:]) / 2
    cells = [(i, int(cy * 8), int(cx * 8)) for i, (cx, cy) in zip(o1.image, centres, strict=True)]
    assert len(set(cells)) == len(cells)  # at most one object centre per cell of the 8x8 grid


def test_detection_scene_boxes_hold_their_shapes_exactly():
    """The drawn shape reaches every edge of its box (to within a pixel) and never leaves it:
    on a flat grey background, the pixels far from grey lie inside the boxes."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        background = np.full((64, 64, 3), 128, np.float32)
        image, boxes, labels = synthetic.detection_scene(rng, background, grid=8, n_objects=1)
        changed = np.abs(image.astype(float) - 128).max(axis=2) > 40
        ys, xs = np.nonzero(changed)
        ((x0, y0, x1, y1),) = boxes * 64
        assert xs.min() + 0.5 >= x0 - 0.01 and xs.max() + 0.5 <= x1 + 0.01
        assert ys.min() + 0.5 >= y0 - 0.01 and ys.max() + 0.5 <= y1 + 0.01
        assert xs.min() < x0 + 1.5 and xs.max() > x1 - 2.5 and ys.max() > y1 - 1.5
        if labels[0] != 2:  # a triangle's apex is one point: only discs and squares reach the top
            assert ys.min() < y0 + 1.5
