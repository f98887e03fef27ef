"""The one-object box set: deterministic per seed, and every box holds exactly its object."""

from __future__ import annotations

import numpy as np

from course_utils.datasets import one_object


def test_same_seed_same_images_and_the_seeds_differ():
    x1, b1 = one_object.one_object_images(20, seed=3)
    x2, b2 = one_object.one_object_images(20, seed=3)
    x3, b3 = one_object.one_object_images(20, seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(b1, b2)
    assert not np.array_equal(b1, b3)
    assert x1.shape == (20, 48, 48, 3) and x1.dtype == np.uint8
    assert b1.shape == (20, 4) and b1.dtype == np.float32


def test_boxes_are_valid_corners_inside_the_image_and_of_the_stated_size():
    _, boxes = one_object.one_object_images(300, size=32, seed=0)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 32).all()
    wh = boxes[:, 2:] - boxes[:, :2]
    assert (wh >= 0.25 * 32 - 1e-4).all() and (wh <= 0.9 * 32 + 1e-4).all()


def test_the_object_fills_its_box_and_only_its_box():
    # the object is one colour plus noise of std 8: near that colour in all three channels
    images, boxes = one_object.one_object_images(60, seed=7)
    inside_share, outside_share = [], []
    for image, (x0, y0, x1, y1) in zip(images.astype(float), boxes, strict=True):
        cy, cx = int((y0 + y1) / 2), int((x0 + x1) / 2)
        colour = np.median(image[cy - 1 : cy + 2, cx - 1 : cx + 2].reshape(-1, 3), axis=0)
        close = np.abs(image - colour).max(axis=2) < 30
        core = np.zeros(close.shape, bool)  # the middle of the box: inside both shapes
        core[
            int(y0 + 0.2 * (y1 - y0)) + 1 : int(y1 - 0.2 * (y1 - y0)),
            int(x0 + 0.2 * (x1 - x0)) + 1 : int(x1 - 0.2 * (x1 - x0)),
        ] = True
        outside = np.ones(close.shape, bool)
        outside[
            max(int(y0) - 1, 0) : int(np.ceil(y1)) + 1, max(int(x0) - 1, 0) : int(np.ceil(x1)) + 1
        ] = False
        inside_share.append(close[core].mean())
        outside_share.append(close[outside].mean() if outside.any() else 0.0)
    assert np.mean(inside_share) > 0.98
    assert np.mean(outside_share) < 0.05


def test_load_announces_the_data_and_splits_by_seed(capsys):
    (x_train, b_train), (x_test, b_test) = one_object.load_one_object(30, n_test=10, size=40)
    assert "data: generated" in capsys.readouterr().out
    assert x_train.shape == (30, 40, 40, 3) and x_test.shape == (10, 40, 40, 3)
    np.testing.assert_array_equal(b_train, one_object.one_object_images(30, 40, seed=1)[1])
    np.testing.assert_array_equal(b_test, one_object.one_object_images(10, 40, seed=2)[1])
