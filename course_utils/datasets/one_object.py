"""One object per image, with its exact box: the box-regression data set of the detection chapter.

Each image is a random crop of one of the two real photos that ship with scikit-learn
(`load_sample_images`: china.jpg and flower.jpg), halved in resolution, with one rectangle or
ellipse of random size, place and colour pasted on it, plus a little noise. Since the object is
drawn, its box is known exactly. The same data in both run modes; only the count changes.
"""

from __future__ import annotations

import functools

import numpy as np

from course_utils.datasets import Split, announce


@functools.lru_cache(maxsize=1)
def sample_photos() -> tuple[np.ndarray, ...]:
    """The two photos scikit-learn ships (china.jpg, flower.jpg), as uint8 (427, 640, 3) arrays."""
    from sklearn.datasets import load_sample_images

    return tuple(np.asarray(p) for p in load_sample_images().images)


def one_object_images(n: int, size: int = 48, seed: int = 0) -> Split:
    """n images (n, size, size, 3) uint8, one object each, and its box (n, 4) in pixel corners.

    Boxes are (x_min, y_min, x_max, y_max) in pixels, as `course_utils.boxes` takes them; pixel
    (i, j) covers [j, j + 1) x [i, i + 1), and it belongs to the object when its centre does.
    """
    rng = np.random.default_rng(seed)
    photos = sample_photos()
    images, boxes = np.empty((n, size, size, 3), np.uint8), np.empty((n, 4), np.float32)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    for i in range(n):
        photo = photos[rng.integers(len(photos))]
        y0, x0 = (
            rng.integers(0, photo.shape[0] - 2 * size),
            rng.integers(0, photo.shape[1] - 2 * size),
        )
        background = photo[y0 : y0 + 2 * size : 2, x0 : x0 + 2 * size : 2].astype(np.float32)
        w, h = rng.uniform(0.25, 0.9, 2) * size
        cx, cy = rng.uniform(w / 2, size - w / 2), rng.uniform(h / 2, size - h / 2)
        u, v = (xx - cx) / (w / 2), (yy - cy) / (h / 2)
        inside = np.maximum(abs(u), abs(v)) <= 1 if rng.random() < 0.5 else u**2 + v**2 <= 1
        image = np.where(inside[..., None], rng.uniform(0, 255, 3), background)
        images[i] = np.clip(image + rng.normal(0, 8, image.shape), 0, 255)
        boxes[i] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return images, boxes


def load_one_object(n_train: int, n_test: int = 1_000, size: int = 48) -> tuple[Split, Split]:
    """((x_train, box_train), (x_test, box_test)) from two separate seeds, announced."""
    train = one_object_images(n_train, size, seed=1)
    test = one_object_images(n_test, size, seed=2)  # a separate stream: never seen in training
    announce(
        f"generated, a shape on crops of 2 photos, {size}x{size}: "
        f"{n_train:,} train / {n_test:,} test"
    )
    return train, test
